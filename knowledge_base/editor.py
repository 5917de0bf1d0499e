"""Editing the FAQ files one FAQ at a time (the trainer console), never leaving a file half-written or invalid.

An edit is rendered into its category file's canonical text (the layout of the files in ``data/faqs``, so an
untouched FAQ keeps its exact lines and a diff shows only what changed), then the whole data folder is validated
with the edit applied — in a scratch copy, by the same :func:`~knowledge_base.loader.load_catalog` that
``kefu kb validate`` runs — and only then is the file replaced atomically (a temporary file beside it, fsync,
``rename(2)``). An edit that fails validation raises :class:`~knowledge_base.exceptions.DataError` whose problems
name the real file, the line the FAQ would have, and the reason; every file stays as it was.

Edits are serialised by a lock on the data folder (threads and processes), and an editor may pass the version
of the FAQ it started from (:func:`faq_version`) so that two trainers cannot overwrite each other unknowingly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import difflib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.exceptions import DataError, EditConflictError, FaqNotFoundError, InvalidEditError, Problem
from knowledge_base.loader import FaqCatalog, data_files, load_catalog, read_file
from knowledge_base.schema import Button, Faq, text_key

FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # a new category file: ``<name>.yml``
ACTIONS = ("create", "update", "delete", "restore")

_lock = threading.Lock()  # one edit at a time in this process; the folder lock covers other processes


@dataclass(frozen=True)
class FaqDraft:
    """What a trainer typed for an FAQ; ``updated`` is set to the day of the edit."""

    category: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    buttons: tuple[Button, ...] = ()

    @classmethod
    def from_faq(cls, faq: Faq) -> FaqDraft:
        """The draft that would write ``faq`` back unchanged (apart from the date)."""
        return cls(faq.category, faq.question, faq.paraphrases, faq.answer, faq.buttons)


@dataclass(frozen=True)
class FaqEdit:
    """One applied edit: what the FAQ was and is (None: did not / no longer exists) and a unified diff."""

    action: str
    faq_id: str
    file: Path
    before: Faq | None
    after: Faq | None
    diff: str


@dataclass(frozen=True)
class Category:
    """A category and the file that holds it."""

    name: str
    file: Path
    count: int


def faq_version(faq: Faq) -> str:
    """A short hash of an FAQ's content: what an editor started from, checked before its edit is saved."""
    canonical = json.dumps(faq.to_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


# -- rendering ---------------------------------------------------------------------------------------------


def _round_trips(line: str, key: str, value: str) -> bool:
    try:
        loaded = yaml.safe_load(line)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get(key) == value


def scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back as the same text, else double-quoted."""
    if value and "\n" not in value and value == value.strip() and _round_trips(f"k: {value}", "k", value):
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid double-quoted YAML scalar


def _answer_lines(answer: str) -> list[str]:
    block = ["    answer: |-", *[f"      {line}" if line else "" for line in answer.split("\n")]]
    if answer and not answer[0].isspace() and _round_trips("\n".join(block), "answer", answer):
        return block
    return [f"    answer: {json.dumps(answer, ensure_ascii=False)}"]


def render_faq(faq: Faq) -> list[str]:
    """One FAQ as the lines of a category file's ``faqs`` list."""
    lines = [f"  - id: {scalar(faq.id)}", f"    question: {scalar(faq.question)}", "    paraphrases:"]
    lines += [f"      - {scalar(text)}" for text in faq.paraphrases] or ["      []"]
    lines += _answer_lines(faq.answer)
    if faq.buttons:
        lines.append("    buttons:")
        for button in faq.buttons:
            lines.append(f"      - title: {scalar(button.title)}")
            if button.faq is not None:
                lines.append(f"        faq: {scalar(button.faq)}")
            if button.intent is not None:
                lines.append(f"        intent: {scalar(button.intent)}")
    lines.append(f"    updated: {faq.updated.isoformat()}")
    return lines


def render_file(category: str, faqs: Sequence[Faq]) -> str:
    """A whole category file: the category, then its FAQs separated by blank lines."""
    lines = [f"category: {scalar(category)}", "faqs:"]
    for position, faq in enumerate(faqs):
        if position:
            lines.append("")
        lines += render_faq(faq)
    return "\n".join(lines) + "\n"


def entry_text(faq: Faq | None) -> str:
    """An FAQ's lines in its file, for diffs and history (empty for None)."""
    return "\n".join(render_faq(faq)) + "\n" if faq is not None else ""


def _diff(before: Faq | None, after: Faq | None, name: str) -> str:
    lines = difflib.unified_diff(
        entry_text(before).splitlines(keepends=True),
        entry_text(after).splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(lines)


def field_names(faq: Faq) -> list[str]:
    """The field on each line of :func:`render_faq` (``question``, ``paraphrases[2]``, ``buttons[0]`` …)."""
    names = ["id", "question", "paraphrases"]
    names += [f"paraphrases[{n}]" for n in range(len(faq.paraphrases))] or ["paraphrases"]
    names += ["answer"] * len(_answer_lines(faq.answer))
    if faq.buttons:
        names.append("buttons")
        for n, button in enumerate(faq.buttons):
            names += [f"buttons[{n}]"] * (1 + (button.faq is not None) + (button.intent is not None))
    names.append("updated")
    return names


# -- the editor ----------------------------------------------------------------------------------------------


@dataclass
class _Folder:
    """The data folder as the loader sees it: each file's category and FAQs, in order."""

    categories: dict[Path, str]
    faqs: dict[Path, list[Faq]]

    def locate(self, faq_id: str) -> tuple[Path, int] | None:
        for file, faqs in self.faqs.items():
            for position, faq in enumerate(faqs):
                if faq.id == faq_id:
                    return file, position
        return None

    def file_of_category(self, category: str) -> Path | None:
        return next((file for file, name in self.categories.items() if name == category), None)


class FaqEditor:
    """Create, update, delete and restore FAQs in the files of one data folder."""

    def __init__(self, data_dir: Path, *, today: Callable[[], datetime.date] | None = None) -> None:
        """Args:
        data_dir: The folder of FAQ files (``KEFU_KB_DATA_DIR``).
        today: The date written to ``updated`` (tests pass a fixed one).
        """
        self.data_dir = data_dir
        self._today = today or datetime.date.today
        self._cache: tuple[tuple[tuple[str, int, int], ...], FaqCatalog] | None = None

    def catalog(self) -> FaqCatalog:
        """Every FAQ as the loader reads them (with file and line), re-read only when a file changed.

        Raises:
            DataError: The files are invalid right now (edited by hand); edits are refused until fixed.
        """
        signature = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in data_files(self.data_dir))
        cached = self._cache
        if cached is not None and cached[0] == signature:
            return cached[1]
        catalog = load_catalog(self.data_dir)
        self._cache = (signature, catalog)
        return catalog

    def categories(self) -> list[Category]:
        """The categories, one per file, in file order."""
        folder = self._read()
        return [Category(folder.categories[file], file, len(folder.faqs[file])) for file in folder.categories]

    def get(self, faq_id: str) -> Faq:
        """The FAQ with this id.

        Raises:
            FaqNotFoundError: There is none.
        """
        faq = self.catalog().get(faq_id)
        if faq is None:
            raise FaqNotFoundError(f"FAQ {faq_id!r} does not exist")
        return faq

    def create(self, faq_id: str, draft: FaqDraft, *, new_file: str | None = None) -> FaqEdit:
        """Adds an FAQ at the end of its category's file (``new_file``: the name of a new category's file).

        Raises:
            DataError: The FAQ, or the folder with it, is invalid (an existing id, a wording of another FAQ …).
        """
        with self._locked():
            folder = self._read()
            file = folder.file_of_category(draft.category)
            if file is None:
                file = self._new_file(draft.category, new_file)
                folder.categories[file] = draft.category
                folder.faqs[file] = []
            where = folder.locate(faq_id)
            if where is not None:
                existing = folder.faqs[where[0]][where[1]]
                reason = f"id {faq_id!r} is taken by {existing.question!r}"
                raise InvalidEditError([Problem(where[0], existing.line, reason)])
            after = self._faq(faq_id, draft)
            folder.faqs[file].append(after)
            written = self._write(folder, {file}, focus=(file, faq_id))
            return FaqEdit("create", faq_id, file, None, written, _diff(None, written, file.name))

    def update(self, faq_id: str, draft: FaqDraft, *, expected_version: str | None = None) -> FaqEdit:
        """Replaces an FAQ's content in place (a new category moves it to the end of that category's file).

        Raises:
            FaqNotFoundError: No FAQ has this id.
            EditConflictError: The FAQ changed since ``expected_version`` was read.
            DataError: The edit is invalid.
        """
        with self._locked():
            folder = self._read()
            file, position = self._find(folder, faq_id, expected_version)
            before = folder.faqs[file][position]
            after = self._faq(faq_id, draft)
            target = folder.file_of_category(draft.category) or file
            if draft.category != before.category and folder.file_of_category(draft.category) is None:
                raise InvalidEditError([Problem(file, before.line, f"unknown category {draft.category!r}")])
            if target == file:
                folder.faqs[file][position] = after
            else:
                del folder.faqs[file][position]
                folder.faqs[target].append(after)
            written = self._write(folder, {file, target}, focus=(target, faq_id))
            return FaqEdit("update", faq_id, target, before, written, _diff(before, written, target.name))

    def add_paraphrases(self, faq_id: str, texts: Sequence[str]) -> FaqEdit:
        """Adds wordings to an FAQ (those it already has, in any spacing or punctuation, are skipped)."""
        with self._locked():
            folder = self._read()
            file, position = self._find(folder, faq_id, None)
            before = folder.faqs[file][position]
            known = {text_key(text) for text in before.texts}
            added: list[str] = []
            for text in texts:
                key = text_key(text)
                if text.strip() and key not in known:
                    known.add(key)
                    added.append(" ".join(text.split()))
            draft = FaqDraft.from_faq(before)
            after = self._faq(faq_id, dataclasses.replace(draft, paraphrases=(*draft.paraphrases, *added)))
            folder.faqs[file][position] = after
            written = self._write(folder, {file}, focus=(file, faq_id))
            return FaqEdit("update", faq_id, file, before, written, _diff(before, written, file.name))

    def delete(self, faq_id: str, *, expected_version: str | None = None) -> FaqEdit:
        """Removes an FAQ (refused while another FAQ's button points to it).

        Raises:
            FaqNotFoundError: No FAQ has this id.
            EditConflictError: The FAQ changed since ``expected_version`` was read.
            DataError: The folder would be invalid without it.
        """
        with self._locked():
            folder = self._read()
            file, position = self._find(folder, faq_id, expected_version)
            before = folder.faqs[file].pop(position)  # the last FAQ of a category takes its file with it
            self._write(folder, {file}, focus=None)
            return FaqEdit("delete", faq_id, file, before, None, _diff(before, None, file.name))

    def restore(self, faq_id: str, snapshot: dict[str, Any] | None, file_name: str) -> FaqEdit:
        """Puts an FAQ back as ``snapshot`` (:meth:`Faq.to_dict`), or removes it for None: a rollback.

        The FAQ keeps its place when it exists; otherwise it goes to the end of ``file_name`` (created if gone).
        """
        with self._locked():
            folder = self._read()
            where = folder.locate(faq_id)
            before = folder.faqs[where[0]][where[1]] if where else None
            if snapshot is None:
                if where is None:
                    raise FaqNotFoundError(f"FAQ {faq_id!r} does not exist")
                del folder.faqs[where[0]][where[1]]
                self._write(folder, {where[0]}, focus=None)
                return FaqEdit("restore", faq_id, where[0], before, None, _diff(before, None, where[0].name))
            restored = dataclasses.replace(Faq.from_dict(snapshot), id=faq_id)
            restored = dataclasses.replace(restored, updated=self._today())
            if where is not None and folder.categories[where[0]] == restored.category:
                file = where[0]
                folder.faqs[file][where[1]] = restored
            else:
                if where is not None:
                    del folder.faqs[where[0]][where[1]]
                file = folder.file_of_category(restored.category) or self.data_dir / file_name
                folder.categories.setdefault(file, restored.category)
                folder.faqs.setdefault(file, []).append(restored)
            changed = {file} | ({where[0]} if where else set())
            written = self._write(folder, changed, focus=(file, faq_id))
            return FaqEdit("restore", faq_id, file, before, written, _diff(before, written, file.name))

    # -- internals -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with _lock:
            descriptor = os.open(self.data_dir, os.O_RDONLY)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)

    def _read(self) -> _Folder:
        catalog = self.catalog()  # refuses to edit a folder that is invalid already
        categories: dict[Path, str] = {}
        faqs: dict[Path, list[Faq]] = {}
        for faq in catalog:  # every valid file holds at least one FAQ, which carries the file's category
            categories.setdefault(faq.file, faq.category)
            faqs.setdefault(faq.file, []).append(faq)
        return _Folder(categories, faqs)

    def _find(self, folder: _Folder, faq_id: str, expected_version: str | None) -> tuple[Path, int]:
        where = folder.locate(faq_id)
        if where is None:
            raise FaqNotFoundError(f"FAQ {faq_id!r} does not exist")
        current = folder.faqs[where[0]][where[1]]
        if expected_version is not None and faq_version(current) != expected_version:
            raise EditConflictError(f"FAQ {faq_id!r} was changed by someone else since it was opened")
        return where

    def _faq(self, faq_id: str, draft: FaqDraft) -> Faq:
        return Faq(
            id=faq_id.strip(),
            category=draft.category.strip(),
            question=draft.question.strip(),
            paraphrases=tuple(text.strip() for text in draft.paraphrases),
            answer=draft.answer.strip().replace("\r\n", "\n"),
            buttons=tuple(draft.buttons),
            updated=self._today(),
        )

    def _new_file(self, category: str, name: str | None) -> Path:
        if not category.strip():
            raise InvalidEditError([Problem(self.data_dir, 0, "the category is empty")])
        if name is None or not FILE_NAME.match(name):
            reason = f"category {category!r} is new: give its file a name of lowercase letters, digits, '-' and '_'"
            raise InvalidEditError([Problem(self.data_dir, 0, reason)])
        file = self.data_dir / f"{name}.yml"
        if file.exists():
            raise InvalidEditError([Problem(file, 1, f"the file {file.name} exists and holds another category")])
        return file

    def _write(self, folder: _Folder, files: set[Path], *, focus: tuple[Path, str] | None) -> Faq | None:
        """Validates the folder with ``files`` re-rendered, then replaces them; returns the focused FAQ as read.

        Raises:
            InvalidEditError: The folder would be invalid; its problems name the real files.
        """
        texts = {file: render_file(folder.categories[file], folder.faqs[file]) for file in files if folder.faqs[file]}
        removed = {file for file in files if not folder.faqs[file]}
        with tempfile.TemporaryDirectory(prefix="kb-edit-") as scratch:
            scratch_dir = Path(scratch)
            for file in data_files(self.data_dir):
                if file not in texts and file not in removed:
                    shutil.copyfile(file, scratch_dir / file.name)
            for file, text in texts.items():
                (scratch_dir / file.name).write_text(text, encoding="utf-8")
            try:
                catalog = load_catalog(scratch_dir)
            except DataError as error:
                where = f"{scratch_dir}/"  # the loader names other files by path in its reasons: show the real names
                problems = [
                    Problem(self.data_dir / p.file.name, p.line, p.reason.replace(where, "")) for p in error.problems
                ]
                raise self._invalid(problems, folder, focus) from None
        written = None
        if focus is not None:
            faq = catalog.get(focus[1])
            written = dataclasses.replace(faq, file=focus[0]) if faq is not None else None
        for file, text in texts.items():
            atomic_write(file, text)
        for file in removed:
            file.unlink(missing_ok=True)
        return written

    @staticmethod
    def _invalid(problems: list[Problem], folder: _Folder, focus: tuple[Path, str] | None) -> InvalidEditError:
        """The error for a refused edit, with the edited FAQ's field on each of its lines.

        A wording shared with another FAQ is reported at the edited FAQ (the loader reports it at whichever of
        the two comes later in file order), since that is the one the trainer can change.
        """
        if focus is None:
            return InvalidEditError(problems)
        file, faq_id = focus
        line = 3  # "category:", "faqs:", then the first FAQ
        for faq in folder.faqs.get(file, []):
            names = field_names(faq)
            if faq.id == faq_id:
                fields = {line + offset: name for offset, name in enumerate(names)}
                lines = {name: number for number, name in sorted(fields.items(), reverse=True)}
                kept = [p for p in problems if not _about_shared_wording(p.reason, faq_id)]
                kept += _shared_wordings(folder, faq, file, lines)
                return InvalidEditError(sorted(set(kept)), file, fields)
            line += len(names) + 1  # and the blank line between FAQs
        return InvalidEditError(problems)


def _about_shared_wording(reason: str, faq_id: str) -> bool:
    """Whether the loader's ``reason`` is a wording shared between ``faq_id`` and another FAQ (either side)."""
    mine = reason.startswith(f"{faq_id}: the wording ") and " also belongs to " in reason
    return mine or f" also belongs to {faq_id} (" in reason


def _shared_wordings(folder: _Folder, edited: Faq, file: Path, lines: dict[str, int]) -> list[Problem]:
    """The edited FAQ's wordings that another FAQ has, each at the line of the edited wording."""
    owners: dict[str, Faq] = {}
    for faqs in folder.faqs.values():
        for faq in faqs:
            if faq.id != edited.id:
                owners.update((text_key(text), faq) for text in faq.texts)
    problems = []
    for position, text in enumerate(edited.texts):
        owner = owners.get(text_key(text))
        if owner is not None:
            field = "question" if position == 0 else f"paraphrases[{position - 1}]"
            where = f"{owner.file.name}:{owner.line}"
            reason = f"{edited.id}: the wording {text!r} also belongs to {owner.id} ({where})"
            problems.append(Problem(file, lines.get(field, 0), reason))
    return problems


def atomic_write(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text``: a reader sees the old file or the new one, never a part of either."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself survives a power cut
    finally:
        os.close(descriptor)


def problems_as_dicts(error: DataError) -> list[dict[str, Any]]:
    """A DataError's problems for a JSON reply: file name, line, reason, and the edited FAQ's field if known."""
    fields = error.fields if isinstance(error, InvalidEditError) else {}
    edited = error.file if isinstance(error, InvalidEditError) else None
    return [
        {
            "file": problem.file.name,
            "line": problem.line,
            "reason": problem.reason,
            "field": fields.get(problem.line) if problem.file == edited else None,
        }
        for problem in error.problems
    ]


def check_file(file: Path) -> list[Problem]:
    """The problems of one file on its own (what a hand edit broke), without cross-file checks."""
    return read_file(file)[1]
