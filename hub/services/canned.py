"""Canned replies (快捷回复) for the agent console, read from ``hub/data/canned_replies.yml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from hub.exceptions import ConfigurationError

CANNED_REPLIES_PATH = Path(__file__).resolve().parent.parent / "data" / "canned_replies.yml"


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


def load_canned_replies(path: Path = CANNED_REPLIES_PATH) -> list[CannedReply]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path} must be a YAML list of {{title, text}}")
    replies = []
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("title"), str)
            or not isinstance(entry.get("text"), str)
        ):
            raise ConfigurationError(f"{path}: every canned reply needs a title and a text, got {entry!r}")
        replies.append(CannedReply(entry["title"], entry["text"]))
    return replies
