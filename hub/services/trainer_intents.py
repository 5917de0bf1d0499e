"""Intents in the trainer console: the NLU examples of each intent, edited and validated before they are saved.

The NLU files (``bot/data/nlu/<area>.yml``) hold one ``examples`` block per intent. Saving replaces only that
block's lines (the rest of the file stays byte for byte), after these checks, each reported with the file and
the line the example would have:

* the intent is in the domain; it keeps at least ``MIN_EXAMPLES`` examples; an example is one line;
* no example is repeated, or also an example of another intent (the classifier could not tell them apart);
* entity markup is well formed (``[5000](amount)``) and names an entity of the domain;
* no example is in the held-out set (``tests/bot/data/nlu_heldout.yml``): it would stop measuring anything.

The file is then replaced atomically, like the FAQ files.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hub.exceptions import InvalidTrainingData, TrainerItemNotFound, ValidationFailed
from knowledge_base.editor import atomic_write

MIN_EXAMPLES = 2  # DIET needs two examples of an intent to train on it
MAX_EXAMPLE_CHARS = 300
MAX_EXAMPLES = 2000
ENTITY_MARKUP = re.compile(r"\[([^\[\]]+)\]\(([^()]+)\)|\[([^\[\]]+)\]\{([^{}]+)\}")
_ENTITY_JSON_NAME = re.compile(r'"entity"\s*:\s*"([^"]+)"')
_lock = threading.Lock()


def plain_text(example: str) -> str:
    """``我要借[5000](amount)`` → ``我要借5000``: the text the classifier sees."""
    return ENTITY_MARKUP.sub(lambda match: match.group(1) or match.group(3), example)


def example_key(example: str) -> str:
    """How two examples are compared: the plain text, lowercase, without spaces."""
    return "".join(plain_text(example).lower().split())


@dataclass(frozen=True)
class IntentBlock:
    """One intent's examples in one NLU file, with the line of the first example."""

    name: str
    file: Path
    examples: tuple[str, ...]
    first_line: int
    span: tuple[int, int]  # character offsets of the examples block (from its "|" to the next key)


@dataclass(frozen=True)
class IntentEdit:
    name: str
    file: Path
    before: tuple[str, ...]
    after: tuple[str, ...]
    diff: str


def read_blocks(file: Path) -> list[IntentBlock]:
    """The intent blocks of an NLU file (synonym, regex and lookup blocks are left alone)."""
    text = file.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    nlu = next((value for key, value in root.value if key.value == "nlu"), None)
    if not isinstance(nlu, yaml.SequenceNode):
        return []
    blocks = []
    for item in nlu.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        fields = {key.value: value for key, value in item.value}
        name, examples = fields.get("intent"), fields.get("examples")
        if not isinstance(name, yaml.ScalarNode) or not isinstance(examples, yaml.ScalarNode):
            continue
        lines = [line.strip()[2:].strip() for line in str(examples.value).splitlines() if line.strip()[:2] == "- "]
        blocks.append(
            IntentBlock(
                name=str(name.value),
                file=file,
                examples=tuple(lines),
                first_line=examples.start_mark.line + 2,
                span=(examples.start_mark.index, examples.end_mark.index),
            )
        )
    return blocks


def read_examples(file: Path) -> list[tuple[str, str]]:
    """Every ``(plain text, intent)`` of an NLU file (the held-out set has the same format)."""
    return [(plain_text(example), block.name) for block in read_blocks(file) for example in block.examples]


def domain_names(domain: Path) -> tuple[set[str], set[str]]:
    """The intents and entities a domain (one file or a folder of them) declares."""
    files = sorted(domain.glob("*.yml")) if domain.is_dir() else [domain]
    intents: set[str] = set()
    entities: set[str] = set()
    for file in files:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for item in document.get("intents") or []:
            intents.add(next(iter(item)) if isinstance(item, dict) else str(item))
        for item in document.get("entities") or []:
            entities.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return intents, entities


def _render_block(examples: Sequence[str]) -> str:
    return "|\n" + "".join(f"    - {example}\n" for example in examples)


def _problem(file: Path, line: int, reason: str, field: str | None = None) -> dict[str, Any]:
    return {"file": file.name, "line": line, "reason": reason, "field": field}


def entity_problems(example: str, entities: set[str]) -> list[str]:
    """What is wrong with an example's entity markup (empty when it is fine)."""
    problems = []
    for match in ENTITY_MARKUP.finditer(example):
        if match.group(2) is not None:
            name = match.group(2).split(":")[0].strip()
        else:
            found = _ENTITY_JSON_NAME.search("{" + match.group(4) + "}")
            name = found.group(1) if found else ""
        if name not in entities:
            known = "、".join(sorted(entities)) or "无"
            problems.append(f"实体 {name!r} 不在 domain 中（可用：{known}）")
    if any(mark in ENTITY_MARKUP.sub("", example) for mark in "[]"):
        problems.append("实体标注格式不正确，应写作 [文字](实体名)，例如 我要借[5000](amount)")
    return problems


class IntentService:
    """Reads and edits the NLU examples of a Rasa project's intents."""

    def __init__(self, nlu_dir: Path, domain: Path, heldout: Path | None = None) -> None:
        self.nlu_dir = nlu_dir
        self.domain = domain
        self.heldout = heldout

    def blocks(self) -> list[IntentBlock]:
        return [block for file in sorted(self.nlu_dir.glob("*.yml")) for block in read_blocks(file)]

    def intents(self) -> list[dict[str, Any]]:
        """Every intent of the domain with its file and number of examples."""
        intents, _ = domain_names(self.domain)
        by_name = {block.name: block for block in self.blocks()}
        rows = []
        for name in sorted(intents | set(by_name)):
            block = by_name.get(name)
            rows.append(
                {
                    "name": name,
                    "file": block.file.name if block else None,
                    "count": len(block.examples) if block else 0,
                    "in_domain": name in intents,
                }
            )
        return rows

    def get(self, name: str) -> dict[str, Any]:
        block = self._block(name)
        return {"name": name, "file": block.file.name, "examples": list(block.examples), "line": block.first_line}

    def save(self, name: str, examples: Iterable[Any]) -> IntentEdit:
        """Validates the intent's new examples against the whole project, then replaces its block atomically.

        Raises:
            TrainerItemNotFound: The intent has no examples block.
            InvalidTrainingData: The examples fail a check; each problem has file, line and reason.
        """
        cleaned = self._clean(examples)
        with _lock:
            block = self._block(name)
            problems = self._check(block, cleaned)
            if problems:
                raise InvalidTrainingData(problems)
            text = block.file.read_text(encoding="utf-8")
            start, end = block.span
            atomic_write(block.file, text[:start] + _render_block(cleaned) + text[end:])
        diff = "".join(
            difflib.unified_diff(
                [f"{line}\n" for line in block.examples],
                [f"{line}\n" for line in cleaned],
                fromfile=f"a/{block.file.name} ({name})",
                tofile=f"b/{block.file.name} ({name})",
            )
        )
        return IntentEdit(name, block.file, block.examples, tuple(cleaned), diff)

    # -- internals -------------------------------------------------------------------------------------------

    def _block(self, name: str) -> IntentBlock:
        block = next((block for block in self.blocks() if block.name == name), None)
        if block is None:
            raise TrainerItemNotFound(f"意图 {name} 没有训练样例。")
        return block

    @staticmethod
    def _clean(examples: Iterable[Any]) -> list[str]:
        if isinstance(examples, str):
            examples = examples.splitlines()
        cleaned = []
        for example in examples:
            if not isinstance(example, str):
                raise ValidationFailed("examples must be strings")
            if example.strip():
                cleaned.append(example.strip())
        if len(cleaned) > MAX_EXAMPLES:
            raise ValidationFailed(f"at most {MAX_EXAMPLES} examples per intent")
        return cleaned

    def _check(self, block: IntentBlock, examples: Sequence[str]) -> list[dict[str, Any]]:
        intents, entities = domain_names(self.domain)
        file = block.file
        problems = []
        if block.name not in intents:
            problems.append(_problem(file, block.first_line - 1, f"意图 {block.name} 不在 domain 中"))
        if len(examples) < MIN_EXAMPLES:
            problems.append(_problem(file, block.first_line - 1, f"每个意图至少需要 {MIN_EXAMPLES} 条样例"))
        elsewhere: dict[str, tuple[str, Path, int]] = {}
        for other in self.blocks():
            if other.name != block.name:
                for position, example in enumerate(other.examples):
                    elsewhere.setdefault(example_key(example), (other.name, other.file, other.first_line + position))
        heldout = {example_key(text) for text, _ in read_examples(self.heldout)} if self.heldout else set()
        seen: dict[str, int] = {}
        for position, example in enumerate(examples):
            line = block.first_line + position
            field = f"examples[{position}]"
            key = example_key(example)
            if len(example) > MAX_EXAMPLE_CHARS:
                problems.append(_problem(file, line, f"样例超过 {MAX_EXAMPLE_CHARS} 字", field))
            if example.startswith(("- ", "#")) or "\t" in example:
                problems.append(_problem(file, line, "样例不能以“- ”或“#”开头，也不能包含制表符", field))
            for reason in entity_problems(example, entities):
                problems.append(_problem(file, line, reason, field))
            if key in seen:
                problems.append(_problem(file, line, f"与第 {seen[key]} 行的样例重复：{example}", field))
                continue
            seen[key] = line
            if key in elsewhere:
                other_name, other_file, other_line = elsewhere[key]
                reason = f"“{plain_text(example)}”已是意图 {other_name} 的样例（{other_file.name} 第 {other_line} 行）"
                problems.append(_problem(file, line, reason, field))
            if key in heldout:
                assert self.heldout is not None
                reason = f"“{plain_text(example)}”在评测集 {self.heldout.name} 中，不能用作训练样例"
                problems.append(_problem(file, line, reason, field))
        return problems
