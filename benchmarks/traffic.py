"""The labelled traffic: ``data/traffic.yml`` read into cases of one or more customer turns.

File format::

    sections:
      - category: faq_reworded            # what kind of traffic (a row of the report)
        customer: cust-good               # optional, default cust-good: the demo customer sending it
        cases:
          - {say: 提前还钱要收手续费不, expect: faq early-002}
          - {say: 帮我查下额度, expect: [intent check_credit_limit, faq limit-003]}   # either is right
          - turns:                        # a short conversation; turns without ``expect`` only set context
              - {say: 你好}
              - {say: 我要投诉你们, expect: handoff complaint}

An expected outcome is ``faq <id>``, ``intent <name>``, ``handoff <reason>`` or ``out_of_scope`` (the bot says
it cannot help, without handing off). :func:`load_traffic` checks every label and every FAQ id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.outcomes import KINDS, OUT_OF_SCOPE, kind_of

TRAFFIC_FILE = Path(__file__).resolve().parent / "data" / "traffic.yml"
DEFAULT_CUSTOMER = "cust-good"


class TrafficError(ValueError):
    """The traffic file is malformed; the message lists every problem."""


@dataclass(frozen=True)
class Turn:
    """One customer message and the outcomes that count as right (empty: context only, not scored)."""

    text: str
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """One conversation (often a single turn) sent by one customer."""

    case_id: str
    category: str
    customer: str
    turns: tuple[Turn, ...] = field(default_factory=tuple)

    @property
    def scored_turns(self) -> int:
        """How many of its turns carry an expected outcome."""
        return sum(1 for turn in self.turns if turn.expect)


def _labels(value: Any, where: str, faq_ids: Collection[str], problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    labels = []
    for item in items:
        label = " ".join(str(item).split())
        kind = kind_of(label)
        if kind not in KINDS or (kind == OUT_OF_SCOPE) != (label == OUT_OF_SCOPE) or kind == "clarify":
            problems.append(f"{where}: unknown outcome {label!r}")
        elif kind == "faq" and faq_ids and label.split(" ", 1)[1] not in faq_ids:
            problems.append(f"{where}: {label!r} is not an FAQ of the knowledge base")
        else:
            labels.append(label)
    return tuple(labels)


def _turn(item: Any, where: str, faq_ids: Collection[str], problems: list[str]) -> Turn | None:
    if not isinstance(item, dict) or not isinstance(item.get("say"), str) or not item["say"].strip():
        problems.append(f"{where}: a turn needs a non-empty 'say'")
        return None
    unknown = set(item) - {"say", "expect"}
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    return Turn(item["say"].strip(), _labels(item.get("expect"), where, faq_ids, problems))


def parse_traffic(data: Any, faq_ids: Collection[str] = ()) -> list[Case]:
    """The cases in ``data`` (the parsed YAML); with ``faq_ids``, every ``faq`` label must name one of them.

    Raises:
        TrafficError: Listing every problem found.
    """
    problems: list[str] = []
    cases: list[Case] = []
    sections = data.get("sections") if isinstance(data, dict) else None
    if not isinstance(sections, list):
        raise TrafficError("the file needs a 'sections' list")
    for number, section in enumerate(sections, start=1):
        if not isinstance(section, dict) or not isinstance(section.get("category"), str):
            problems.append(f"section {number}: needs a 'category'")
            continue
        category = section["category"]
        customer = str(section.get("customer") or DEFAULT_CUSTOMER)
        for position, item in enumerate(section.get("cases") or [], start=1):
            case_id = f"{category}-{position:03d}"
            if isinstance(item, dict) and "turns" in item:
                raw_turns = item["turns"] if isinstance(item["turns"], list) else []
                turns = [_turn(t, f"{case_id} turn {i}", faq_ids, problems) for i, t in enumerate(raw_turns, 1)]
                customer_here = str(item.get("customer") or customer)
            else:
                turns = [_turn(item, case_id, faq_ids, problems)]
                customer_here = customer
            kept = tuple(turn for turn in turns if turn is not None)
            if kept and not any(turn.expect for turn in kept):
                problems.append(f"{case_id}: no turn has an 'expect'")
            cases.append(Case(case_id, category, customer_here, kept))
    if problems:
        raise TrafficError("\n".join(problems))
    return cases


def load_traffic(path: Path = TRAFFIC_FILE, faq_ids: Collection[str] = ()) -> list[Case]:
    """Reads and checks the traffic file (see :func:`parse_traffic`)."""
    return parse_traffic(yaml.safe_load(path.read_text(encoding="utf-8")), faq_ids)
