"""Length-preserving folding of the character variants customers type.

Customers mix traditional and simplified characters (尾號 / 尾号, 兩萬 / 两万) and full-width and half-width
forms (１２３４ / 1234). The entity rules are written once, for simplified characters and ASCII digits, and
run over the folded text. Folding maps every character to exactly one character, so a span found in the
folded text has the same offsets in the original text.
"""

from __future__ import annotations

# Traditional characters that occur in the entity rules or their context words, and their simplified form.
_TRADITIONAL = "號個萬億貳兩塊圓週後禮這貸還轉額錢幣點陸叄驗證碼機話電帳賬張筆歲鐘時結餘單會數"
_SIMPLIFIED = "号个万亿贰两块圆周后礼这贷还转额钱币点陆叁验证码机话电账账张笔岁钟时结余单会数"

# Full-width ASCII (U+FF01 … U+FF5E) sits at a fixed offset from its half-width form.
_FULL_WIDTH_OFFSET = 0xFEE0
_FULL_WIDTH = "".join(chr(code) for code in range(0xFF01, 0xFF5F))
_HALF_WIDTH = "".join(chr(code - _FULL_WIDTH_OFFSET) for code in range(0xFF01, 0xFF5F))

_IDEOGRAPHIC_SPACE = "\u3000"
_FOLD_TABLE = str.maketrans(_TRADITIONAL + _FULL_WIDTH + _IDEOGRAPHIC_SPACE, _SIMPLIFIED + _HALF_WIDTH + " ")


def fold(text: str) -> str:
    """Folds traditional characters to simplified and full-width forms to half-width, one for one.

    Args:
        text: Any text.

    Returns:
        The folded text, always exactly as long as ``text``.

    Example:
        >>> fold("尾號１２３４")
        '尾号1234'
    """
    return text.translate(_FOLD_TABLE)
