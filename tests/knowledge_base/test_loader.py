"""Loading and validating FAQ files: every problem reported with file and line, nothing half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.exceptions import DataError
from knowledge_base.loader import load_catalog
from knowledge_base.settings import DEFAULT_DATA_DIR
from tests.knowledge_base.tiny import TINY_FAQS, write_faqs

GOOD_FAQ = """\
  - id: {id}
    question: {question}
    paraphrases:
      - {paraphrase}
    answer: 答案
    updated: 2026-11-29
"""


def faq_file(*entries: str, category: str = "额度") -> str:
    return f"category: {category}\nfaqs:\n" + "".join(entries)


def problems_of(folder: Path) -> list[tuple[str, int, str]]:
    with pytest.raises(DataError) as caught:
        load_catalog(folder)
    return [(problem.file.name, problem.line, problem.reason) for problem in caught.value.problems]


def test_load_catalog_tiny_corpus_loads_every_faq(faq_dir: Path) -> None:
    catalog = load_catalog(faq_dir)

    assert [faq.id for faq in catalog] == ["limit-001", "limit-002", "overdue-001"]
    limit = catalog.get("limit-001")
    assert limit is not None and limit.category == "额度"
    assert limit.texts == ("怎么提高额度？", "额度能提升吗", "提额有什么办法")
    assert [button.payload for button in limit.buttons] == ["/check_credit_limit", '/faq{"faq_id":"overdue-001"}']
    assert catalog.text_count == 8


def test_data_hash_comment_change_stays_the_same(faq_dir: Path) -> None:
    before = load_catalog(faq_dir).data_hash
    path = faq_dir / "limit.yml"
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")

    assert load_catalog(faq_dir).data_hash == before


def test_data_hash_answer_change_changes(faq_dir: Path) -> None:
    before = load_catalog(faq_dir).data_hash
    path = faq_dir / "limit.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("有助于提升", "有助于评估"), encoding="utf-8")

    assert load_catalog(faq_dir).data_hash != before


def test_load_catalog_duplicate_id_reports_both_places(tmp_path: Path) -> None:
    write_faqs(
        tmp_path,
        {
            "a.yml": faq_file(GOOD_FAQ.format(id="x-001", question="问题一", paraphrase="说法一")),
            "b.yml": faq_file(GOOD_FAQ.format(id="x-001", question="问题二", paraphrase="说法二")),
        },
    )

    assert problems_of(tmp_path) == [("b.yml", 3, "duplicate id 'x-001' (first at " + str(tmp_path / "a.yml") + ":3)")]


def test_load_catalog_paraphrase_under_two_faqs_reports_its_line(tmp_path: Path) -> None:
    write_faqs(
        tmp_path,
        {
            "a.yml": faq_file(
                GOOD_FAQ.format(id="x-001", question="问题一", paraphrase="同一个说法"),
                GOOD_FAQ.format(id="x-002", question="问题二", paraphrase="同一个说法？"),
            )
        },
    )

    [(name, line, reason)] = problems_of(tmp_path)
    assert (name, line) == ("a.yml", 12)
    assert "'同一个说法？' also belongs to x-001" in reason


def test_load_catalog_empty_answer_reports_its_line(tmp_path: Path) -> None:
    entry = GOOD_FAQ.format(id="x-001", question="问题", paraphrase="说法").replace("answer: 答案", 'answer: "  "')
    write_faqs(tmp_path, {"a.yml": faq_file(entry)})

    assert problems_of(tmp_path) == [("a.yml", 7, "answer is empty")]


def test_load_catalog_unknown_field_reports_its_line(tmp_path: Path) -> None:
    entry = GOOD_FAQ.format(id="x-001", question="问题", paraphrase="说法") + "    answr: 拼错的字段\n"
    write_faqs(tmp_path, {"a.yml": faq_file(entry)})

    [(name, line, reason)] = problems_of(tmp_path)
    assert (name, line) == ("a.yml", 9)
    assert reason.startswith("unknown field 'answr' in an FAQ")


def test_load_catalog_button_to_unknown_faq_reports_its_line(tmp_path: Path) -> None:
    entry = GOOD_FAQ.format(id="x-001", question="问题", paraphrase="说法") + (
        "    buttons:\n      - title: 看看别的\n        faq: x-404\n"
    )
    write_faqs(tmp_path, {"a.yml": faq_file(entry)})

    assert problems_of(tmp_path) == [("a.yml", 10, "x-001: button '看看别的' points to an unknown faq 'x-404'")]


def test_load_catalog_wrong_types_reports_each(tmp_path: Path) -> None:
    entry = (
        "  - id: x-001\n    question: [不是, 文本]\n    paraphrases: 不是列表\n    answer: 答案\n    updated: 明天\n"
    )
    write_faqs(tmp_path, {"a.yml": faq_file(entry)})

    assert problems_of(tmp_path) == [
        ("a.yml", 4, "question must be text, got a list"),
        ("a.yml", 5, "paraphrases must be a list, got text '不是列表'"),
        ("a.yml", 7, "updated must be a date written YYYY-MM-DD, got text '明天'"),
    ]


def test_load_catalog_missing_fields_reports_the_entry(tmp_path: Path) -> None:
    write_faqs(tmp_path, {"a.yml": faq_file("  - id: x-001\n    question: 问题\n")})

    assert problems_of(tmp_path) == [
        ("a.yml", 3, "an FAQ is missing the field 'answer'"),
        ("a.yml", 3, "an FAQ is missing the field 'paraphrases'"),
        ("a.yml", 3, "an FAQ is missing the field 'updated'"),
    ]


def test_load_catalog_bad_yaml_reports_the_line(tmp_path: Path) -> None:
    write_faqs(tmp_path, {"a.yml": "category: 额度\nfaqs:\n  - id: [unclosed\n"})

    [(name, line, reason)] = problems_of(tmp_path)
    assert name == "a.yml" and line == 4 and reason.startswith("not valid YAML")


def test_load_catalog_problems_in_two_files_lists_all_and_loads_nothing(tmp_path: Path) -> None:
    files = dict(TINY_FAQS)
    files["broken.yml"] = "category: 坏\nfaqs: []\n"
    files["limit.yml"] = files["limit.yml"].replace("faq: overdue-001", "faq: overdue-999")
    write_faqs(tmp_path, files)

    with pytest.raises(DataError) as caught:
        load_catalog(tmp_path)

    assert [problem.file.name for problem in caught.value.problems] == ["broken.yml", "limit.yml"]
    assert "2 problems" in str(caught.value)
    assert str(tmp_path / "broken.yml") + ":2: faqs is empty" in str(caught.value)


def test_load_catalog_empty_folder_fails(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no FAQ files"):
        load_catalog(tmp_path)


def test_load_catalog_project_data_is_valid() -> None:
    catalog = load_catalog(DEFAULT_DATA_DIR)

    assert len({faq.category for faq in catalog}) == 12
    assert len(catalog) >= 100
