"""Loads every FAQ file of the data folder, all or nothing.

Each file is validated on its own (:mod:`knowledge_base.schema`), then across files: ids are unique, no wording
(question or paraphrase) belongs to two FAQs, every button points to an existing FAQ. Any problem anywhere
raises one :class:`~knowledge_base.exceptions.DataError` that lists them all; nothing is half-loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge_base.exceptions import DataError, Problem
from knowledge_base.schema import Faq, NodeReader, read_file_node, text_key

FILE_PATTERN = "*.yml"


@dataclass(frozen=True)
class FaqCatalog:
    """Every FAQ, in file order, with a hash of their content (what an index is versioned by)."""

    faqs: tuple[Faq, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {faq.id: faq for faq in self.faqs})

    def __len__(self) -> int:
        return len(self.faqs)

    def __iter__(self) -> Iterator[Faq]:
        return iter(self.faqs)

    def get(self, faq_id: str) -> Faq | None:
        """The FAQ with this id, or None."""
        by_id: dict[str, Faq] = getattr(self, "_by_id")  # noqa: B009 - set in __post_init__ of a frozen class
        return by_id.get(faq_id)

    @property
    def data_hash(self) -> str:
        """SHA-256 of the FAQs' content: comments and formatting in the files do not change it."""
        canonical = json.dumps([faq.to_dict() for faq in self.faqs], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def text_count(self) -> int:
        """Questions plus paraphrases: the number of vectors an index holds."""
        return sum(len(faq.texts) for faq in self.faqs)


def data_files(data_dir: Path) -> list[Path]:
    """The FAQ files of ``data_dir``, sorted by name."""
    return sorted(data_dir.glob(FILE_PATTERN))


def load_catalog(data_dir: Path) -> FaqCatalog:
    """Loads and validates every FAQ file in ``data_dir``.

    Raises:
        DataError: Listing every problem found, each with file and line.
    """
    files = data_files(data_dir)
    if not files:
        raise DataError([Problem(data_dir, 0, f"no FAQ files ({FILE_PATTERN}) in this folder")])
    problems: list[Problem] = []
    faqs: list[Faq] = []
    for file in files:
        file_faqs, file_problems = read_file(file)
        faqs.extend(file_faqs)
        problems.extend(file_problems)
    problems.extend(cross_file_problems(faqs))
    if problems:
        raise DataError(problems)
    return FaqCatalog(tuple(faqs))


def read_file(file: Path) -> tuple[list[Faq], list[Problem]]:
    """Parses and validates one file; returns its valid FAQs and the problems found."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [Problem(file, 0, f"cannot read the file: {error}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        return [], [Problem(file, line, f"not valid YAML: {error.problem or error}")]
    except yaml.YAMLError as error:
        return [], [Problem(file, 0, f"not valid YAML: {error}")]
    reader = NodeReader(file)
    faqs = read_file_node(reader, root)
    return faqs, reader.problems


def cross_file_problems(faqs: Sequence[Faq]) -> list[Problem]:
    """Duplicate ids, wordings shared by two FAQs, and buttons to unknown FAQs."""
    problems: list[Problem] = []
    first_by_id: dict[str, Faq] = {}
    for faq in faqs:
        if faq.id in first_by_id:
            first = first_by_id[faq.id]
            problems.append(
                Problem(faq.file, faq.line, f"duplicate id {faq.id!r} (first at {first.file}:{first.line})")
            )
        else:
            first_by_id[faq.id] = faq
    owner_by_text: dict[str, Faq] = {}
    for faq in faqs:
        seen_here: set[str] = set()
        for position, text in enumerate(faq.texts):
            key, line = text_key(text), faq.text_line(position)
            owner = owner_by_text.get(key)
            if key in seen_here:
                problems.append(Problem(faq.file, line, f"{faq.id}: the wording {text!r} appears twice"))
            elif owner is not None:
                where = f"{owner.file}:{owner.line}"
                problems.append(
                    Problem(faq.file, line, f"{faq.id}: the wording {text!r} also belongs to {owner.id} ({where})")
                )
            else:
                owner_by_text[key] = faq
            seen_here.add(key)
    for faq in faqs:
        for position, button in enumerate(faq.buttons):
            line = faq.button_line(position)
            if button.faq is not None and button.faq not in first_by_id:
                reason = f"{faq.id}: button {button.title!r} points to an unknown faq {button.faq!r}"
                problems.append(Problem(faq.file, line, reason))
            elif button.faq == faq.id:
                problems.append(Problem(faq.file, line, f"{faq.id}: button {button.title!r} points to its own FAQ"))
    return problems
