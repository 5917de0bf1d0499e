"""Folding the variants customers type, before a question is embedded.

Customers write Traditional characters (額度怎麼查), full-width forms (ＡＰＰ) and the same few misspellings
(微粒货, 还歀, 换款). The FAQ wordings and every question go through the same :class:`Normaliser` before
embedding: NFKC (full-width → half-width), Traditional → Simplified for the characters customers use, then the
misspellings dictionary the NLU pipeline also reads (``bot/dictionary/misspellings.txt``, ``wrong<TAB>right``),
so a trainer adds a misspelling once for both. On the held-out questions this lifts top-1 from 89.6 % to 91.9 %
with multilingual-e5-small (see ``kefu kb eval``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import unicodedata
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_MISSPELLINGS = Path(__file__).resolve().parent.parent / "bot" / "dictionary" / "misspellings.txt"

# Traditional → Simplified, one character for one, for the characters that occur in customer questions.
_PAIRS = (
    "麼么嗎吗會会們们這这個个爲为為为說说話话請请問问題题時时間间點点幾几還还貸贷額额錢钱帳账賬账戶户號号碼码"
    "驗验證证機机電电銀银綁绑換换轉转費费罰罚徵征記记錄录報报務务辦办開开關关從从讓让給给對对應应該该無无沒没"
    "與与後后過过進进運运動动將将來来樣样實实現现認认識识準准備备確确處处係系統统線线網网頁页畫画臉脸別别聲声"
    "語语視视頻频聽听讀读幫帮護护險险騙骗詐诈凍冻結结鎖锁輸输錯错誤误試试設设權权資资訊讯產产貨货單单筆笔總总"
    "餘余減减變变調调適适當当專专業业種种類类級级紀纪續续約约簽签夠够歲岁齡龄學学習习軟软體体裝装載载擊击鍵键"
    "盤盘選选擇择項项狀状態态異异斷断連连達达邊边層层鐘钟週周歷历曆历節节買买賣卖價价質质貴贵慮虑憑凭據据書书"
    "寫写簡简細细詳详盡尽況况傳传遞递郵邮區区縣县鄉乡園园圖图標标廣广東东萬万億亿兩两貳贰參参陸陆塊块圓圆龍龙"
    "風风靈灵親亲愛爱謝谢麗丽歡欢喚唤鬆松緊紧鍾钟門门閉闭閱阅闆板員员職职責责負负擔担債债償偿貼贴補补繳缴納纳"
    "稅税佔占隨随際际階阶隊队雙双雜杂難难雲云靜静頭头顯显願愿飯饭館馆馬马駕驾鬧闹壓压壞坏夢梦奪夺婦妇媽妈孫孙"
    "寧宁寶宝審审寬宽尋寻導导屬属幣币帶带廢废廳厅彈弹徑径憂忧懷怀戰战擁拥擴扩攜携敗败數数於于舊旧暫暂條条極极"
    "構构樂乐樓楼檢检歐欧殺杀氣气漢汉滅灭滿满漲涨濟济災灾熱热營营爭争獎奖獨独環环發发監监眾众稱称穩稳窮穷競竞"
    "範范紙纸組组絕绝經经維维練练縮缩績绩織织義义聯联腦脑興兴舉举藥药蘋苹虧亏術术衛卫衝冲製制複复規规覺觉觀观"
    "計计訂订討讨訓训託托許许訴诉診诊註注評评詢询誠诚誰谁課课談谈論论謀谋講讲議议豐丰購购貿贸賀贺賠赔賺赚贈赠"
    "趕赶跡迹車车軍军輕轻較较輛辆輪轮農农迴回遠远違违遲迟遺遗醫医釋释針针鈔钞銷销鏈链長长閃闪隻只雞鸡離离雖虽"
    "響响領领顆颗顧顾飛飞養养餓饿驚惊髮发鬥斗綫线麵面臺台啟启鎮镇癥症卻却彙汇匯汇衹只祇只妳你俠侠乾干櫃柜"
)
TRADITIONAL_TO_SIMPLIFIED = str.maketrans(_PAIRS[0::2], _PAIRS[1::2])


class Normaliser:
    """NFKC, Traditional → Simplified, misspellings; then runs of spaces made one."""

    def __init__(self, misspellings: dict[str, str]) -> None:
        """Args:
        misspellings: wrong → right; applied longest first, after the character folding.
        """
        folded = {
            self.fold(wrong): right for wrong, right in misspellings.items() if wrong and self.fold(wrong) != right
        }
        self._misspellings = sorted(folded.items(), key=lambda item: -len(item[0]))
        digest = hashlib.sha256(_PAIRS.encode("utf-8"))
        for wrong, right in self._misspellings:
            digest.update(f"{wrong}\t{right}\n".encode())
        self.fingerprint = digest.hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path) -> Normaliser:
        """Reads ``wrong<TAB>right`` lines (``#`` comments); a missing file means no misspellings."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            logger.warning("no misspellings dictionary at %s: only character variants are folded", path)
            return cls({})
        pairs = {}
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#") and "\t" in line:
                wrong, right = line.split("\t", 1)
                pairs[wrong.strip()] = right.strip()
        return cls(pairs)

    @staticmethod
    def fold(text: str) -> str:
        """NFKC (full-width → half-width) and Traditional → Simplified, without the misspellings."""
        return unicodedata.normalize("NFKC", text).translate(TRADITIONAL_TO_SIMPLIFIED)

    def __call__(self, text: str) -> str:
        folded = self.fold(text)
        for wrong, right in self._misspellings:
            if wrong in folded:
                folded = folded.replace(wrong, right)
        return " ".join(folded.split())


@functools.lru_cache(maxsize=1)
def default_normaliser() -> Normaliser:
    """The normaliser with the project's misspellings dictionary, read once."""
    return Normaliser.from_file(DEFAULT_MISSPELLINGS)
