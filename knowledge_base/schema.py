"""The FAQ file format, and validation of one file's YAML node tree with line numbers.

A file holds one category::

    category: 额度
    faqs:
      - id: limit-001                      # lowercase letters, digits, '-' and '_'
        question: 怎么提高额度？             # the canonical question
        paraphrases: [额度能提高吗, ...]     # other wordings customers use (at least one)
        answer: |-
          ...
        buttons:                           # optional follow-ups
          - {title: 额度多久评估一次, faq: limit-004}
          - {title: 查询我的额度, intent: check_credit_limit}
        updated: 2026-11-29

Validation works on ``yaml.compose`` nodes, so every problem is reported with its file and line. Checks that
need every file (duplicate ids and questions, buttons to unknown FAQs) live in :mod:`knowledge_base.loader`.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.exceptions import Problem

FAQ_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
INTENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FILE_FIELDS = {"category", "faqs"}
FAQ_FIELDS = {"id", "question", "paraphrases", "answer", "buttons", "updated"}
REQUIRED_FAQ_FIELDS = FAQ_FIELDS - {"buttons"}
BUTTON_FIELDS = {"title", "faq", "intent"}

_STR = "tag:yaml.org,2002:str"
_TEXT_TAGS = {_STR, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}  # unquoted numbers read as text
_KIND_NAMES = {
    "tag:yaml.org,2002:null": "nothing",
    "tag:yaml.org,2002:bool": "a yes/no value (quote it)",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:map": "a mapping",
    "tag:yaml.org,2002:seq": "a list",
}


@dataclass(frozen=True)
class Button:
    """A follow-up button under an answer: it opens another FAQ or starts an intent."""

    title: str
    faq: str | None = None
    intent: str | None = None

    @property
    def payload(self) -> str:
        """The message Rasa receives when the customer taps the button."""
        if self.faq is not None:
            return f'/faq{{"faq_id":"{self.faq}"}}'
        return f"/{self.intent}"


@dataclass(frozen=True)
class Faq:
    """One question and its answer, with the wordings that should find it."""

    id: str
    category: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    buttons: tuple[Button, ...] = ()
    updated: datetime.date = datetime.date(1970, 1, 1)
    file: Path = field(default=Path("<memory>"), compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)
    text_lines: tuple[int, ...] = field(default=(), compare=False, repr=False)  # line of each of `texts`
    button_lines: tuple[int, ...] = field(default=(), compare=False, repr=False)  # line of each button

    def text_line(self, position: int) -> int:
        """The line of ``texts[position]`` in its file (the FAQ's line when unknown)."""
        return self.text_lines[position] if position < len(self.text_lines) else self.line

    def button_line(self, position: int) -> int:
        """The line of ``buttons[position]`` in its file (the FAQ's line when unknown)."""
        return self.button_lines[position] if position < len(self.button_lines) else self.line

    @property
    def texts(self) -> tuple[str, ...]:
        """Every wording that should find this FAQ: the question first, then the paraphrases."""
        return (self.question, *self.paraphrases)

    def to_dict(self) -> dict[str, Any]:
        """The FAQ as JSON-ready data (what an index stores next to its vectors)."""
        return {
            "id": self.id,
            "category": self.category,
            "question": self.question,
            "paraphrases": list(self.paraphrases),
            "answer": self.answer,
            "buttons": [
                {key: value for key, value in vars(button).items() if value is not None} for button in self.buttons
            ],
            "updated": self.updated.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faq:
        """Reads an FAQ written by :meth:`to_dict`."""
        return cls(
            id=data["id"],
            category=data["category"],
            question=data["question"],
            paraphrases=tuple(data["paraphrases"]),
            answer=data["answer"],
            buttons=tuple(Button(**button) for button in data["buttons"]),
            updated=datetime.date.fromisoformat(data["updated"]),
        )


class NodeReader:
    """Converts YAML nodes of one file to values, collecting a :class:`Problem` for each mismatch."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node, reason: str) -> None:
        """Records a problem at ``node``'s line."""
        self.problems.append(Problem(self.file, node.start_mark.line + 1, reason))

    def mapping(self, node: yaml.Node, what: str, allowed: set[str], required: set[str]) -> dict[str, Any] | None:
        """The mapping's key → value node, or None; reports unknown, repeated and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping, got {self.kind(node)}")
            return None
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                self.problem(key_node, f"unknown field {key!r} in {what} (allowed: {', '.join(sorted(allowed))})")
            elif key in fields:
                self.problem(key_node, f"field {key!r} appears twice in {what}")
            else:
                fields[key] = value_node
        for missing in sorted(required - fields.keys()):
            self.problem(node, f"{what} is missing the field {missing!r}")
        return fields

    def text(self, node: yaml.Node, what: str) -> str | None:
        """Non-empty text, or None."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _TEXT_TAGS:
            self.problem(node, f"{what} must be text, got {self.kind(node)}")
            return None
        value = str(node.value).strip()
        if not value:
            self.problem(node, f"{what} is empty")
            return None
        return value

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        """A non-empty list's item nodes, or None."""
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list, got {self.kind(node)}")
            return None
        if not node.value:
            self.problem(node, f"{what} is empty")
            return None
        return list(node.value)

    def date(self, node: yaml.Node, what: str) -> datetime.date | None:
        """A YYYY-MM-DD date, quoted or not."""
        raw = node.value if isinstance(node, yaml.ScalarNode) else None
        if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            try:
                return datetime.date.fromisoformat(raw.strip())
            except ValueError:
                pass
        self.problem(node, f"{what} must be a date written YYYY-MM-DD, got {self.kind(node)}")
        return None

    @staticmethod
    def kind(node: yaml.Node) -> str:
        """A reader's name for a node's type, with its value for short scalars."""
        if isinstance(node, yaml.ScalarNode):
            name = _KIND_NAMES.get(node.tag, "text" if node.tag in _TEXT_TAGS else node.tag)
            return f"{name} {node.value!r}" if node.value else name
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        return "a list"


def read_file_node(reader: NodeReader, root: yaml.Node | None) -> list[Faq]:
    """Validates one file's node tree; returns its FAQs (meaningful only when ``reader`` found no problem)."""
    if root is None:
        reader.problems.append(Problem(reader.file, 1, "the file is empty"))
        return []
    fields = reader.mapping(root, "the file", FILE_FIELDS, FILE_FIELDS)
    if fields is None:
        return []
    category = reader.text(fields["category"], "category") if "category" in fields else None
    items = reader.sequence(fields["faqs"], "faqs") if "faqs" in fields else None
    return [faq for item in items or [] if (faq := read_faq_node(reader, item, category or "")) is not None]


def read_faq_node(reader: NodeReader, node: yaml.Node, category: str) -> Faq | None:
    """Validates one FAQ entry; None when it has a problem."""
    before = len(reader.problems)
    fields = reader.mapping(node, "an FAQ", FAQ_FIELDS, REQUIRED_FAQ_FIELDS)
    if fields is None:
        return None
    faq_id = reader.text(fields["id"], "id") if "id" in fields else None
    if faq_id is not None and not FAQ_ID.match(faq_id):
        reader.problem(fields["id"], f"id {faq_id!r} may use only lowercase letters, digits, '-' and '_'")
    question = reader.text(fields["question"], "question") if "question" in fields else None
    answer = reader.text(fields["answer"], "answer") if "answer" in fields else None
    updated = reader.date(fields["updated"], "updated") if "updated" in fields else None
    paraphrases: list[str] = []
    text_lines = [_line(fields["question"]) if "question" in fields else 0]
    if "paraphrases" in fields:
        for item in reader.sequence(fields["paraphrases"], "paraphrases") or []:
            text = reader.text(item, "a paraphrase")
            if text is not None:
                paraphrases.append(text)
                text_lines.append(_line(item))
    buttons: list[Button] = []
    button_lines: list[int] = []
    if "buttons" in fields:
        for item in reader.sequence(fields["buttons"], "buttons") or []:
            button = read_button_node(reader, item)
            if button is not None:
                buttons.append(button)
                button_lines.append(_line(item))
    if len(reader.problems) > before or None in (faq_id, question, answer, updated):
        return None
    assert faq_id is not None and question is not None and answer is not None and updated is not None
    return Faq(
        id=faq_id,
        category=category,
        question=question,
        paraphrases=tuple(paraphrases),
        answer=answer,
        buttons=tuple(buttons),
        updated=updated,
        file=reader.file,
        line=_line(node),
        text_lines=tuple(text_lines),
        button_lines=tuple(button_lines),
    )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def read_button_node(reader: NodeReader, node: yaml.Node) -> Button | None:
    """Validates one button: a title and exactly one of ``faq`` or ``intent``."""
    fields = reader.mapping(node, "a button", BUTTON_FIELDS, {"title"})
    if fields is None:
        return None
    title = reader.text(fields["title"], "button title") if "title" in fields else None
    targets = [key for key in ("faq", "intent") if key in fields]
    if len(targets) != 1:
        reader.problem(node, "a button needs exactly one of 'faq' (an FAQ id) or 'intent' (an intent name)")
        return None
    target = reader.text(fields[targets[0]], f"button {targets[0]}")
    if target is None or title is None:
        return None
    if targets[0] == "intent" and not INTENT_NAME.match(target):
        reader.problem(fields["intent"], f"button intent {target!r} is not an intent name")
        return None
    return Button(title=title, faq=target) if targets[0] == "faq" else Button(title=title, intent=target)


def text_key(text: str) -> str:
    """The form two wordings are compared in: no spaces or end punctuation, lowercase, full-width folded."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s?？!！。.,，~～、]+", "", folded)
