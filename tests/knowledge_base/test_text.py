"""Folding what customers type: Traditional characters, full-width forms, misspellings."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.text import DEFAULT_MISSPELLINGS, Normaliser


def test_normaliser_traditional_and_full_width_are_folded() -> None:
    assert Normaliser({})("  額度怎麼查　ＡＰＰ１２３  ") == "额度怎么查 APP123"


def test_normaliser_misspellings_are_corrected_longest_first() -> None:
    normalise = Normaliser({"微粒货": "微粒贷", "还歀": "还款", "歀": "款"})

    assert normalise("微粒货还歀失败") == "微粒贷还款失败"


def test_normaliser_traditional_misspelling_key_still_matches() -> None:
    assert Normaliser({"還歀": "还款"})("我想還歀") == "我想还款"


def test_normaliser_from_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "misspellings.txt"
    path.write_text("# wrong<TAB>right\n\n微利贷\t微粒贷\n", encoding="utf-8")

    assert Normaliser.from_file(path)("微利贷额度") == "微粒贷额度"


def test_normaliser_missing_file_folds_characters_only(tmp_path: Path) -> None:
    assert Normaliser.from_file(tmp_path / "missing.txt")("微利貸") == "微利贷"


def test_normaliser_fingerprint_changes_with_the_dictionary() -> None:
    assert Normaliser({"a": "b"}).fingerprint != Normaliser({"a": "c"}).fingerprint


def test_project_misspellings_dictionary_is_readable() -> None:
    assert Normaliser.from_file(DEFAULT_MISSPELLINGS)("微粒货") == "微粒贷"
