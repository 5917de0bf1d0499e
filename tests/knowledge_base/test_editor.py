"""knowledge_base/editor.py: FAQ edits are validated as a whole, written atomically, and never corrupt a file."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from knowledge_base.editor import FaqDraft, FaqEditor, faq_version, problems_as_dicts, render_file, scalar
from knowledge_base.exceptions import DataError, EditConflictError, FaqNotFoundError, InvalidEditError
from knowledge_base.loader import data_files, load_catalog
from knowledge_base.schema import Button

TODAY = datetime.date(2026, 12, 1)
PROJECT_FAQS = Path(__file__).resolve().parents[2] / "knowledge_base" / "data" / "faqs"


@pytest.fixture
def editor(faq_dir: Path) -> FaqEditor:
    return FaqEditor(faq_dir, today=lambda: TODAY)


def snapshot(folder: Path) -> dict[str, str]:
    return {file.name: file.read_text(encoding="utf-8") for file in sorted(folder.iterdir())}


def draft(**changes: object) -> FaqDraft:
    values: dict[str, object] = {
        "category": "额度",
        "question": "额度多久评估一次？",
        "paraphrases": ("多久重新评估额度", "额度什么时候会变"),
        "answer": "系统会定期评估。\n按时还款有助于提升。",
    }
    values.update(changes)
    return FaqDraft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("file", data_files(PROJECT_FAQS), ids=lambda path: path.name)
def test_render_file_of_project_data_reproduces_the_file_exactly(file: Path) -> None:
    catalog = load_catalog(PROJECT_FAQS)
    faqs = [faq for faq in catalog if faq.file == file]

    assert render_file(faqs[0].category, faqs) == file.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text", ["yes", "123", "a: b", "#标签", "- 列表", "  前后空格 ", "引号\"和'", "[括号]", "null"]
)
def test_scalar_awkward_text_reads_back_unchanged(text: str) -> None:
    import yaml

    assert yaml.safe_load(f"k: {scalar(text)}") == {"k": text}


def test_create_appends_to_category_file_and_validates(editor: FaqEditor, faq_dir: Path) -> None:
    edit = editor.create("limit-003", draft())

    assert edit.action == "create" and edit.before is None
    assert edit.after is not None and edit.after.updated == TODAY and edit.after.line > 0
    assert edit.file == faq_dir / "limit.yml"
    assert "+    question: 额度多久评估一次？" in edit.diff
    faq = load_catalog(faq_dir).get("limit-003")
    assert faq is not None and faq.answer == "系统会定期评估。\n按时还款有助于提升。"


def test_create_with_wording_of_another_faq_is_refused_with_file_line_and_field(
    editor: FaqEditor, faq_dir: Path
) -> None:
    before = snapshot(faq_dir)

    with pytest.raises(InvalidEditError) as caught:
        editor.create("limit-003", draft(paraphrases=("新的问法", "逾期了会上征信吗")))

    [problem] = problems_as_dicts(caught.value)
    assert problem["file"] == "limit.yml"
    assert "also belongs to overdue-001" in problem["reason"]
    assert problem["field"] == "paraphrases[1]"
    assert problem["line"] > 0
    assert snapshot(faq_dir) == before


def test_create_empty_question_names_the_question_field(editor: FaqEditor) -> None:
    with pytest.raises(InvalidEditError) as caught:
        editor.create("limit-003", draft(question=""))

    assert [(p["field"], p["reason"]) for p in problems_as_dicts(caught.value)] == [("question", "question is empty")]


def test_create_existing_id_is_refused(editor: FaqEditor) -> None:
    with pytest.raises(InvalidEditError, match="limit-001"):
        editor.create("limit-001", draft())


def test_create_new_category_needs_a_file_name_then_creates_the_file(editor: FaqEditor, faq_dir: Path) -> None:
    with pytest.raises(InvalidEditError, match="give its file a name"):
        editor.create("fees-001", draft(category="费用"))

    edit = editor.create("fees-001", draft(category="费用"), new_file="fees")

    assert edit.file == faq_dir / "fees.yml"
    categories = editor.categories()
    assert (categories[0].name, categories[0].file.name) == ("费用", "fees.yml")


def test_update_of_project_file_changes_only_the_edited_lines(tmp_path: Path) -> None:
    import difflib
    import shutil

    folder = tmp_path / "faqs"
    folder.mkdir()
    shutil.copyfile(PROJECT_FAQS / "early_repay.yml", folder / "early_repay.yml")
    original = (folder / "early_repay.yml").read_text(encoding="utf-8")
    editor = FaqEditor(folder, today=lambda: TODAY)
    faq = editor.get("early-002")

    editor.update("early-002", FaqDraft.from_faq(faq))

    changed = (folder / "early_repay.yml").read_text(encoding="utf-8")
    diff = [line for line in difflib.ndiff(original.splitlines(), changed.splitlines()) if line[:1] in "+-"]
    assert diff == [f"-     updated: {faq.updated.isoformat()}", f"+     updated: {TODAY.isoformat()}"]


def test_update_with_stale_version_is_a_conflict(editor: FaqEditor) -> None:
    version = faq_version(editor.get("limit-002"))
    editor.add_paraphrases("limit-002", ["额度上限多少"])

    with pytest.raises(EditConflictError):
        editor.update("limit-002", draft(), expected_version=version)


def test_update_to_another_category_moves_the_faq(editor: FaqEditor, faq_dir: Path) -> None:
    editor.update("limit-002", draft(category="逾期"))

    catalog = load_catalog(faq_dir)
    moved = catalog.get("limit-002")
    assert moved is not None and moved.file == faq_dir / "overdue.yml" and moved.category == "逾期"


def test_add_paraphrases_skips_wordings_the_faq_has(editor: FaqEditor) -> None:
    edit = editor.add_paraphrases("limit-001", ["额度能提升吗？", "  怎么 把额度 弄高 ", "额度怎么才能高一点"])

    assert edit.after is not None
    assert edit.after.paraphrases[-2:] == ("怎么 把额度 弄高", "额度怎么才能高一点")
    assert len(edit.after.paraphrases) == 4


def test_delete_referenced_faq_is_refused(editor: FaqEditor, faq_dir: Path) -> None:
    before = snapshot(faq_dir)

    with pytest.raises(InvalidEditError, match="unknown faq 'overdue-001'"):
        editor.delete("overdue-001")

    assert snapshot(faq_dir) == before


def test_delete_then_restore_puts_the_faq_back(editor: FaqEditor, faq_dir: Path) -> None:
    removed = editor.delete("limit-002")
    assert removed.before is not None and load_catalog(faq_dir).get("limit-002") is None

    restored = editor.restore("limit-002", removed.before.to_dict(), removed.file.name)

    assert restored.after is not None and restored.after.question == removed.before.question


def test_restore_none_removes_a_created_faq(editor: FaqEditor, faq_dir: Path) -> None:
    created = editor.create("limit-003", draft())

    editor.restore("limit-003", None, created.file.name)

    assert load_catalog(faq_dir).get("limit-003") is None


def test_unknown_faq_is_not_found(editor: FaqEditor) -> None:
    with pytest.raises(FaqNotFoundError):
        editor.update("nope-001", draft())


def test_folder_broken_by_hand_refuses_edits(editor: FaqEditor, faq_dir: Path) -> None:
    (faq_dir / "limit.yml").write_text("category: 额度\nfaqs: [\n", encoding="utf-8")

    with pytest.raises(DataError):
        editor.add_paraphrases("overdue-001", ["逾期罚息多少"])


def test_failed_write_leaves_file_and_no_temporary(
    editor: FaqEditor, faq_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(faq_dir)

    def broken_replace(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        editor.add_paraphrases("limit-001", ["额度怎么才能高一点"])

    assert snapshot(faq_dir) == before


def test_buttons_round_trip(editor: FaqEditor) -> None:
    buttons = (Button("查询额度", intent="check_credit_limit"), Button("逾期会怎样", faq="overdue-001"))

    edit = editor.create("limit-003", draft(buttons=buttons))

    assert edit.after is not None and edit.after.buttons == buttons


def test_wording_shared_within_the_file_is_reported_once_with_real_file_names(editor: FaqEditor) -> None:
    with pytest.raises(InvalidEditError) as caught:
        editor.create("limit-003", draft(paraphrases=("新的问法", "额度能提升吗", "新的问法")))

    reasons = [problem["reason"] for problem in problems_as_dicts(caught.value)]
    assert reasons == [
        "limit-003: the wording '额度能提升吗' also belongs to limit-001 (limit.yml:3)",
        "limit-003: the wording '新的问法' appears twice",
    ]
