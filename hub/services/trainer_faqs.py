"""FAQs in the trainer console: list and search, create / edit / delete, history with diffs, rollback.

Every change goes through :class:`knowledge_base.editor.FaqEditor` (validated as a whole, written atomically),
is recorded in ``faq_changes`` (who, when, the FAQ before and after, the diff), and starts an index rebuild.
A rollback restores the FAQ as it was before a change, and is itself a recorded change, so it can be undone too.
The editor's blocking file work runs in the caller's thread: routes call these methods via ``asyncio.to_thread``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.exceptions import EditConflict, InvalidTrainingData, TrainerItemNotFound, ValidationFailed
from hub.services.clock import Clock
from hub.services.trainer_kb import KnowledgeService
from hub.storage import Store
from hub.storage.trainer import FaqChange
from knowledge_base.editor import FaqDraft, FaqEdit, FaqEditor, faq_version, problems_as_dicts
from knowledge_base.exceptions import DataError, EditConflictError, FaqNotFoundError
from knowledge_base.loader import FaqCatalog
from knowledge_base.schema import Button, Faq, text_key

MAX_TEXT_CHARS = 2000  # an answer; questions and paraphrases are far shorter
MAX_PARAPHRASES = 50
_NUMBERED_ID = re.compile(r"^(?P<prefix>.*?)-(?P<number>\d+)$")


def faq_summary(faq: Faq) -> dict[str, Any]:
    """One row of the FAQ list."""
    return {
        "id": faq.id,
        "category": faq.category,
        "question": faq.question,
        "paraphrase_count": len(faq.paraphrases),
        "updated": faq.updated.isoformat(),
        "file": faq.file.name,
        "version": faq_version(faq),
    }


def faq_detail(faq: Faq) -> dict[str, Any]:
    """An FAQ with everything the edit form shows."""
    return {**faq.to_dict(), "file": faq.file.name, "line": faq.line, "version": faq_version(faq)}


def change_dict(change: FaqChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "faq_id": change.faq_id,
        "action": change.action,
        "file": change.file,
        "agent_id": change.agent_id,
        "question": (change.after or change.before or {}).get("question", ""),
        "diff": change.diff,
        "reverts": change.reverts,
        "created_at": change.created_at.isoformat(),
    }


def parse_draft(body: Mapping[str, Any]) -> FaqDraft:
    """An FAQ draft from the console's JSON (paraphrases as a list, or one per line)."""
    category = _text(body, "category", required=True)
    question = _text(body, "question")
    answer = _text(body, "answer", limit=MAX_TEXT_CHARS)
    raw = body.get("paraphrases", [])
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ValidationFailed("paraphrases must be a list of strings")
    paraphrases = tuple(item.strip() for item in raw if item.strip())
    if len(paraphrases) > MAX_PARAPHRASES:
        raise ValidationFailed(f"at most {MAX_PARAPHRASES} paraphrases")
    buttons = []
    for item in body.get("buttons") or []:
        if not isinstance(item, Mapping):
            raise ValidationFailed("buttons must be objects with title and faq or intent")
        title, faq, intent = item.get("title"), item.get("faq") or None, item.get("intent") or None
        if not isinstance(title, str) or not all(v is None or isinstance(v, str) for v in (faq, intent)):
            raise ValidationFailed("a button needs a title and an faq id or an intent name")
        buttons.append(Button(title=title.strip(), faq=faq, intent=intent))
    return FaqDraft(category, question, paraphrases, answer, tuple(buttons))


def _text(body: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 500) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise ValidationFailed(f"{key} must be a string")
    if required and not value.strip():
        raise ValidationFailed(f"{key} is required")
    if len(value) > limit:
        raise ValidationFailed(f"{key} is longer than {limit} characters")
    return value


class FaqService:
    def __init__(self, store: Store, clock: Clock, editor: FaqEditor, knowledge: KnowledgeService) -> None:
        self.store = store
        self.clock = clock
        self.editor = editor
        self.knowledge = knowledge

    # -- reading ---------------------------------------------------------------------------------------------

    def search(self, query: str = "", category: str = "") -> dict[str, Any]:
        """FAQs whose id, question, paraphrases or answer contain ``query``, optionally in one category."""
        catalog = self._catalog()
        needle = text_key(query) if query.strip() else ""
        rows = []
        for faq in catalog:
            if category and faq.category != category:
                continue
            if needle and not any(needle in text_key(text) for text in (faq.id, *faq.texts, faq.answer)):
                continue
            rows.append(faq_summary(faq))
        categories = Counter(faq.category for faq in catalog)
        return {
            "faqs": rows,
            "total": len(catalog),
            "categories": [
                {"name": c.name, "file": c.file.name, "count": categories.get(c.name, 0)}
                for c in self.editor.categories()
            ],
        }

    def get(self, faq_id: str) -> dict[str, Any]:
        catalog = self._catalog()
        faq = catalog.get(faq_id)
        if faq is None:
            raise TrainerItemNotFound(f"FAQ {faq_id} 不存在。")
        return faq_detail(faq)

    def suggest_id(self, category: str) -> str:
        """The next free id in the category's numbering (``repay-020`` after ``repay-019``)."""
        catalog = self._catalog()
        numbered = [m for faq in catalog if faq.category == category and (m := _NUMBERED_ID.match(faq.id))]
        if not numbered:
            return ""
        prefix = Counter(m["prefix"] for m in numbered).most_common(1)[0][0]
        width = max(len(m["number"]) for m in numbered if m["prefix"] == prefix)
        taken = {faq.id for faq in catalog}
        number = max(int(m["number"]) for m in numbered if m["prefix"] == prefix) + 1
        while f"{prefix}-{number:0{width}d}" in taken:
            number += 1
        return f"{prefix}-{number:0{width}d}"

    def history(self, faq_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            return [change_dict(change) for change in tx.faq_changes(faq_id, limit)]

    # -- changes ---------------------------------------------------------------------------------------------

    def create(self, agent_id: str, faq_id: str, draft: FaqDraft, *, new_file: str | None = None) -> dict[str, Any]:
        if not faq_id.strip():
            faq_id = self.suggest_id(draft.category)
        return self._apply(agent_id, lambda: self.editor.create(faq_id.strip(), draft, new_file=new_file))

    def update(self, agent_id: str, faq_id: str, draft: FaqDraft, expected_version: str | None) -> dict[str, Any]:
        return self._apply(agent_id, lambda: self.editor.update(faq_id, draft, expected_version=expected_version))

    def delete(self, agent_id: str, faq_id: str, expected_version: str | None) -> dict[str, Any]:
        return self._apply(agent_id, lambda: self.editor.delete(faq_id, expected_version=expected_version))

    def add_paraphrases(self, agent_id: str, faq_id: str, texts: Sequence[str]) -> dict[str, Any]:
        return self._apply(agent_id, lambda: self.editor.add_paraphrases(faq_id, texts))

    def rollback(self, agent_id: str, change_id: int) -> dict[str, Any]:
        """Restores the FAQ a change touched to how it was before that change."""
        with self.store.transaction() as tx:
            change = tx.faq_change(change_id)
        if change is None:
            raise TrainerItemNotFound(f"修改记录 {change_id} 不存在。")
        return self._apply(
            agent_id, lambda: self.editor.restore(change.faq_id, change.before, change.file), reverts=change.id
        )

    def _apply(self, agent_id: str, edit: Callable[[], FaqEdit], *, reverts: int | None = None) -> dict[str, Any]:
        try:
            done = edit()
        except FaqNotFoundError as error:
            raise TrainerItemNotFound(f"FAQ 不存在：{error}") from error
        except EditConflictError as error:
            raise EditConflict() from error
        except DataError as error:
            raise InvalidTrainingData(problems_as_dicts(error)) from error
        with self.store.transaction() as tx:
            change = tx.insert_faq_change(
                faq_id=done.faq_id,
                action=done.action,
                file=done.file.name,
                agent_id=agent_id,
                before=done.before.to_dict() if done.before else None,
                after=done.after.to_dict() if done.after else None,
                diff=done.diff,
                now=self.clock.now(),
                reverts=reverts,
            )
        rebuild = self.knowledge.request_rebuild()
        return {
            "change": change_dict(change),
            "faq": faq_detail(done.after) if done.after else None,
            "rebuild": rebuild.to_dict(),
        }

    def _catalog(self) -> FaqCatalog:
        try:
            return self.editor.catalog()
        except DataError as error:
            raise InvalidTrainingData(problems_as_dicts(error), "FAQ 文件当前未通过校验，请先修复。") from error
