"""Reads Rasa NLU YAML files into (text, intent) pairs with the entity markup removed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ENTITY_MARKUP = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)|\[([^\]]+)\]\{[^}]+\}")


def plain_text(example: str) -> str:
    """``我要借[5000](amount)`` → ``我要借5000``."""
    return ENTITY_MARKUP.sub(lambda match: match.group(1) or match.group(2), example)


def load_examples(path: Path) -> list[tuple[str, str]]:
    """Every example of every intent block in ``path``."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs: list[tuple[str, str]] = []
    for block in document.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((plain_text(line[2:].strip()), block["intent"]))
    return pairs
