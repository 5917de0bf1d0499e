"""A tiny FAQ corpus and a tiny embedding model built on the spot, for knowledge-base and action tests.

The model is a real sentence-transformers folder (a static character-embedding model with a WordLevel
tokenizer, random weights), so the code under test loads it exactly like multilingual-e5-small, without a
download: sentences that share characters score high, unrelated ones near zero.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from knowledge_base.settings import Settings

TINY_DIMENSION = 48

TINY_FAQS = {
    "limit.yml": """\
        category: 额度
        faqs:
          - id: limit-001
            question: 怎么提高额度？
            paraphrases:
              - 额度能提升吗
              - 提额有什么办法
            answer: 额度由银行评估，保持按时还款有助于提升。
            buttons:
              - title: 查询额度
                intent: check_credit_limit
              - title: 逾期会怎样
                faq: overdue-001
            updated: 2026-11-29
          - id: limit-002
            question: 额度最高是多少？
            paraphrases:
              - 最多能有多少额度
            answer: 授信额度 500 元至 20 万元。
            updated: 2026-11-29
        """,
    "overdue.yml": """\
        category: 逾期
        faqs:
          - id: overdue-001
            question: 逾期会怎么样？
            paraphrases:
              - 晚还款有什么后果
              - 逾期了会上征信吗
            answer: 逾期会计收罚息并报送征信。
            updated: 2026-11-29
        """,
}


# Two more FAQs: fine-tuning needs at least four.
MORE_FAQS = {
    "more.yml": """\
        category: 借款
        faqs:
          - id: borrow-001
            question: 借款多久到账？
            paraphrases:
              - 钱多久能到
              - 到账要多久
            answer: 通常 1 分钟内到账。
            updated: 2026-11-29
          - id: borrow-002
            question: 最少借多少？
            paraphrases:
              - 最低借款金额
              - 起借金额是多少
            answer: 最少 500 元。
            updated: 2026-11-29
        """
}


def write_faqs(folder: Path, files: dict[str, str]) -> Path:
    """Writes FAQ files (dedented) into ``folder`` and returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def build_tiny_model(folder: Path) -> Path:
    """Saves a random static character-embedding sentence-transformers model to ``folder``."""
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    characters = sorted(set("".join(TINY_FAQS.values()) + "今天天气好吗我想订机票你们会唱歌借款到账多久"))
    vocabulary = {"[UNK]": 0}
    for character in characters:
        if "\u4e00" <= character <= "\u9fff":
            vocabulary.setdefault(character, len(vocabulary))
    tokenizer = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    weights = np.random.default_rng(7).standard_normal((len(vocabulary), TINY_DIMENSION)).astype(np.float32)
    weights[0] = 0.0  # unknown characters (the "query: " prefix, punctuation) add nothing
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    model.save(str(folder))
    return folder


def tiny_settings(root: Path, model: Path, **overrides: str) -> Settings:
    """Settings for a tiny corpus written under ``root`` and the tiny model, with a fresh index folder."""
    faqs = write_faqs(root / "faqs", TINY_FAQS)
    heldout = root / "heldout.yml"
    heldout.write_text(TINY_HELDOUT, encoding="utf-8")
    environ = {
        "KEFU_VAR_DIR": str(root / "var"),
        "KEFU_EMBEDDING_MODEL": str(model),
        "KEFU_KB_DATA_DIR": str(faqs),
        "KEFU_KB_HELDOUT": str(heldout),
        "KEFU_KB_ANSWER_THRESHOLD": "0.9",
        "KEFU_KB_ANSWER_MARGIN": "0.05",
        "KEFU_KB_CLARIFY_THRESHOLD": "0.5",
        **overrides,
    }
    return Settings.from_env(environ)


TINY_HELDOUT = """\
questions:
  - {q: 额度怎么提高, faq: limit-001}
  - {q: 最高额度多少, faq: limit-002}
  - {q: 逾期怎么样, faq: overdue-001}
  - {q: 今天天气好吗, faq: null}
"""
