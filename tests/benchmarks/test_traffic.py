"""The labelled traffic file: its format, its checks, and the shipped set itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.traffic import DEFAULT_CUSTOMER, TrafficError, load_traffic, parse_traffic
from knowledge_base.loader import load_catalog
from knowledge_base.settings import get_settings


def test_parse_reads_single_turns_and_conversations_with_customers() -> None:
    data = {
        "sections": [
            {"category": "faq", "cases": [{"say": " 提前还款收费吗 ", "expect": "faq early-002"}]},
            {
                "category": "chat",
                "customer": "cust-deaf",
                "cases": [{"turns": [{"say": "你好"}, {"say": "手语", "expect": ["handoff sign_language"]}]}],
            },
        ]
    }
    first, second = parse_traffic(data, {"early-002"})
    assert (first.case_id, first.customer, first.turns[0].text) == ("faq-001", DEFAULT_CUSTOMER, "提前还款收费吗")
    assert first.turns[0].expect == ("faq early-002",)
    assert second.customer == "cust-deaf" and second.scored_turns == 1
    assert second.turns[0].expect == ()


def test_parse_lists_every_problem() -> None:
    data = {
        "sections": [
            {
                "category": "bad",
                "cases": [
                    {"say": "a", "expect": "faq no-such"},
                    {"say": "b", "expect": "answer maybe"},
                    {"say": "", "expect": "out_of_scope"},
                    {"turns": [{"say": "c"}]},
                    {"say": "d", "expect": "clarify"},
                ],
            }
        ]
    }
    with pytest.raises(TrafficError) as error:
        parse_traffic(data, {"early-002"})
    message = str(error.value)
    assert "'faq no-such' is not an FAQ" in message
    assert "unknown outcome 'answer maybe'" in message
    assert "non-empty 'say'" in message
    assert "bad-004: no turn has an 'expect'" in message
    assert "unknown outcome 'clarify'" in message


def test_shipped_traffic_is_valid_large_enough_and_covers_every_kind() -> None:
    catalog = load_catalog(get_settings().data_dir)
    cases = load_traffic(faq_ids={faq.id for faq in catalog})
    scored = sum(case.scored_turns for case in cases)
    assert scored >= 500
    categories = {case.category for case in cases}
    assert {"faq_reworded", "faq_typos", "transactional", "small_talk", "out_of_scope", "human_request",
            "complaint", "sign_language", "conversation"} <= categories  # fmt: skip
    expected = {label for case in cases for turn in case.turns for label in turn.expect}
    assert {"handoff explicit_request", "handoff complaint", "handoff sign_language", "out_of_scope"} <= expected


def test_shipped_traffic_shares_no_sentence_with_the_faq_questions() -> None:
    catalog = load_catalog(get_settings().data_dir)
    known = {text.strip() for faq in catalog for text in (faq.question, *faq.paraphrases)}
    said = {turn.text for case in load_traffic() for turn in case.turns}
    assert not said & known


def test_shipped_traffic_overlaps_training_and_test_data_only_in_one_word_messages(project_root: Path) -> None:
    # Written without reading these files; what customers really type as one word (你好, 转人工, 绑卡 …)
    # cannot differ, anything longer must.
    said = {turn.text for case in load_traffic() for turn in case.turns}
    folders = [project_root / "bot" / "data", project_root / "knowledge_base", project_root / "tests" / "bot"]
    lines = {
        re.sub(r"^\s*-\s*", "", line).strip().strip("\"'")
        for folder in folders
        for path in folder.rglob("*.yml")
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    assert sorted(text for text in said & lines if len(text) > 4) == []
