"""hub/services/trainer_faqs.py: FAQ edits from the console are validated, recorded, rolled back and re-indexed."""

from __future__ import annotations

import pytest

from hub.exceptions import EditConflict, InvalidTrainingData, TrainerItemNotFound
from hub.services.trainer import Trainer
from knowledge_base.editor import FaqDraft
from knowledge_base.loader import load_catalog

REBUILD_TIMEOUT_SECONDS = 60


def draft(**changes: object) -> FaqDraft:
    values: dict[str, object] = {
        "category": "额度",
        "question": "借款多久到账？",
        "paraphrases": ("借款到账要多久", "钱什么时候到账"),
        "answer": "审批通过后一般几分钟内到账。",
    }
    values.update(changes)
    return FaqDraft(**values)  # type: ignore[arg-type]


def test_search_filters_by_text_and_category(console: Trainer) -> None:
    everything = console.faqs.search()
    by_text = console.faqs.search("征信")
    by_category = console.faqs.search(category="逾期")

    assert everything["total"] == 3 and len(everything["faqs"]) == 3
    assert [faq["id"] for faq in by_text["faqs"]] == ["overdue-001"]
    assert [faq["id"] for faq in by_category["faqs"]] == ["overdue-001"]
    assert {c["name"]: c["count"] for c in everything["categories"]} == {"额度": 2, "逾期": 1}


def test_create_records_history_and_rebuilds_index(console: Trainer, accounts: None) -> None:
    result = console.faqs.create("trainer9", "", draft())

    assert result["faq"]["id"] == "limit-003"  # the next number of the category
    assert result["change"]["action"] == "create" and result["change"]["agent_id"] == "trainer9"
    assert "+    question: 借款多久到账？" in result["change"]["diff"]
    assert result["rebuild"]["state"] == "running"
    assert console.knowledge.wait_idle(REBUILD_TIMEOUT_SECONDS)
    assert console.knowledge.status().state == "done"
    assert console.knowledge.try_it("借款到账要多久")["answer_faq_id"] == "limit-003"


def test_invalid_edit_lists_file_line_field_and_changes_nothing(console: Trainer, accounts: None) -> None:
    data_dir = console.faqs.editor.data_dir
    before = {path.name: path.read_text(encoding="utf-8") for path in data_dir.iterdir()}

    with pytest.raises(InvalidTrainingData) as caught:
        console.faqs.create("trainer9", "limit-009", draft(paraphrases=("逾期了会上征信吗",)))

    [problem] = caught.value.problems
    assert problem["file"] == "limit.yml" and problem["line"] > 0
    assert problem["field"] == "paraphrases[0]" and "overdue-001" in problem["reason"]
    assert {path.name: path.read_text(encoding="utf-8") for path in data_dir.iterdir()} == before
    assert console.faqs.history() == []
    assert console.knowledge.status().state == "idle"


def test_update_with_stale_version_is_a_conflict(console: Trainer, accounts: None) -> None:
    stale = console.faqs.get("limit-002")["version"]
    console.faqs.add_paraphrases("trainer9", "limit-002", ["额度上限多少"])

    with pytest.raises(EditConflict):
        console.faqs.update("trainer9", "limit-002", draft(), stale)


def test_rollback_restores_the_faq_and_is_recorded(console: Trainer, accounts: None) -> None:
    original = console.faqs.get("limit-002")
    edit = console.faqs.update("trainer9", "limit-002", draft(question="额度上限是多少？"), original["version"])

    result = console.faqs.rollback("trainer9", edit["change"]["id"])

    restored = console.faqs.get("limit-002")
    assert restored["question"] == original["question"] and restored["answer"] == original["answer"]
    assert result["change"]["action"] == "restore" and result["change"]["reverts"] == edit["change"]["id"]
    assert [change["action"] for change in console.faqs.history("limit-002")] == ["restore", "update"]


def test_rollback_of_delete_brings_the_faq_back(console: Trainer, accounts: None) -> None:
    deleted = console.faqs.delete("trainer9", "limit-002", None)
    assert load_catalog(console.faqs.editor.data_dir).get("limit-002") is None

    console.faqs.rollback("trainer9", deleted["change"]["id"])

    assert load_catalog(console.faqs.editor.data_dir).get("limit-002") is not None


def test_unknown_faq_and_change_are_not_found(console: Trainer, accounts: None) -> None:
    with pytest.raises(TrainerItemNotFound):
        console.faqs.get("nope-001")
    with pytest.raises(TrainerItemNotFound):
        console.faqs.rollback("trainer9", 999)


def test_saves_during_a_rebuild_are_coalesced_into_one_more(console: Trainer, accounts: None) -> None:
    console.faqs.add_paraphrases("trainer9", "limit-001", ["额度怎么才能高一点"])
    console.faqs.add_paraphrases("trainer9", "limit-002", ["额度上限多少"])

    assert console.knowledge.wait_idle(REBUILD_TIMEOUT_SECONDS)
    status = console.knowledge.status()
    assert status.state == "done" and not status.pending
    assert status.rebuilds == 2  # one each, or one plus the coalesced one: never a rebuild lost
    answered = console.knowledge.try_it("额度上限多少")
    assert answered["answer_faq_id"] == "limit-002"
