"""Answer, clarify or say "no answer": the decision rule, and calibrating its thresholds from labelled questions.

The rule (scores are cosine similarities of the question to each FAQ's best-matching question):

* **answer** the top FAQ when its score ≥ ``answer`` and it leads the runner-up by ≥ ``margin``;
* **clarify** with up to three FAQs scoring ≥ ``clarify`` when the top is not certain enough;
* otherwise **no answer**.

Calibration picks the thresholds that answer the most in-scope questions correctly while at most
``max_wrong_rate`` of the answers given are wrong (an out-of-scope question answered counts as wrong).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

CLARIFY_OPTIONS = 3  # buttons in a clarifying question: more than three is a menu, not a question
MAX_WRONG_RATE = 0.02  # at most 2 % of the answers given may be wrong (issue "Knowledge base")


class Candidate(NamedTuple):
    """One FAQ found for a question: its id, canonical question and score (best of its questions)."""

    faq_id: str
    question: str
    score: float


class DecisionKind(str, enum.Enum):
    """What the bot does with a question."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class Thresholds:
    """The decision rule's three numbers, all cosine similarities in [0, 1]."""

    answer: float
    margin: float
    clarify: float

    def __post_init__(self) -> None:
        for name in ("answer", "margin", "clarify"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold {name} must be within [0, 1], got {value}")
        if self.clarify > self.answer:
            raise ValueError(f"clarify threshold {self.clarify} is above the answer threshold {self.answer}")

    def to_dict(self) -> dict[str, float]:
        """The thresholds as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        """Reads thresholds written by :meth:`to_dict`."""
        return cls(answer=float(data["answer"]), margin=float(data["margin"]), clarify=float(data["clarify"]))


def decide(candidates: Sequence[Candidate], thresholds: Thresholds) -> tuple[DecisionKind, list[Candidate]]:
    """Applies the decision rule to candidates sorted by descending score.

    Args:
        candidates: The FAQs found for a question, best first.
        thresholds: The rule's thresholds.

    Returns:
        The decision and the candidates it is about: the answered FAQ alone, the clarifying options, or the
        top candidates for the record (a handoff packet shows what was close).
    """
    if not candidates:
        return DecisionKind.NO_ANSWER, []
    top = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else -1.0
    if top.score >= thresholds.answer and top.score - runner_up >= thresholds.margin:
        return DecisionKind.ANSWER, [top]
    options = [candidate for candidate in candidates[:CLARIFY_OPTIONS] if candidate.score >= thresholds.clarify]
    if options:
        return DecisionKind.CLARIFY, options
    return DecisionKind.NO_ANSWER, list(candidates[:CLARIFY_OPTIONS])


@dataclass(frozen=True)
class Outcomes:
    """How a set of labelled questions fares under one set of thresholds."""

    in_scope: int
    out_of_scope: int
    answered: int
    correct: int
    clarified: int
    clarified_helpful: int
    abstained: int
    abstained_out_of_scope: int

    @property
    def wrong(self) -> int:
        """Answers given that were not the labelled FAQ (every answer to an out-of-scope question)."""
        return self.answered - self.correct

    @property
    def wrong_rate(self) -> float:
        """Wrong answers as a share of the answers given."""
        return self.wrong / self.answered if self.answered else 0.0

    @property
    def coverage(self) -> float:
        """Correct answers as a share of the in-scope questions."""
        return self.correct / self.in_scope if self.in_scope else 0.0

    @property
    def abstain_precision(self) -> float:
        """Of the questions the bot said "no answer" to, the share that really were out of scope."""
        return self.abstained_out_of_scope / self.abstained if self.abstained else 0.0

    @property
    def abstain_recall(self) -> float:
        """Of the out-of-scope questions, the share the bot said "no answer" to."""
        return self.abstained_out_of_scope / self.out_of_scope if self.out_of_scope else 0.0

    def to_dict(self) -> dict[str, float]:
        """Counts and rates as a JSON-ready dict."""
        counts = asdict(self)
        rates = {
            "wrong": self.wrong,
            "wrong_rate": self.wrong_rate,
            "coverage": self.coverage,
            "abstain_precision": self.abstain_precision,
            "abstain_recall": self.abstain_recall,
        }
        return {**counts, **rates}


class LabelledResult(NamedTuple):
    """The candidates found for one labelled question and its label (None: out of scope)."""

    gold: str | None
    candidates: Sequence[Candidate]


def outcomes(results: Sequence[LabelledResult], thresholds: Thresholds) -> Outcomes:
    """Counts answers, clarifications and abstentions for labelled questions under ``thresholds``."""
    counts = dict.fromkeys(
        ("answered", "correct", "clarified", "clarified_helpful", "abstained", "abstained_out_of_scope"), 0
    )
    for result in results:
        kind, chosen = decide(result.candidates, thresholds)
        if kind is DecisionKind.ANSWER:
            counts["answered"] += 1
            counts["correct"] += int(chosen[0].faq_id == result.gold)
        elif kind is DecisionKind.CLARIFY:
            counts["clarified"] += 1
            counts["clarified_helpful"] += int(any(c.faq_id == result.gold for c in chosen))
        else:
            counts["abstained"] += 1
            counts["abstained_out_of_scope"] += int(result.gold is None)
    in_scope = sum(1 for result in results if result.gold is not None)
    return Outcomes(in_scope=in_scope, out_of_scope=len(results) - in_scope, **counts)


@dataclass(frozen=True)
class Calibration:
    """Thresholds chosen from labelled questions and how those questions fare under them."""

    thresholds: Thresholds
    outcomes: Outcomes
    max_wrong_rate: float


ANSWER_GRID = np.round(np.arange(0.30, 1.0001, 0.0025), 4)  # fine enough that a step moves a handful of questions
MARGIN_GRID = np.round(np.arange(0.0, 0.0801, 0.0025), 4)
CLARIFY_GRID = np.round(np.arange(0.30, 1.0001, 0.0025), 4)


def calibrate(results: Sequence[LabelledResult], max_wrong_rate: float = MAX_WRONG_RATE) -> Calibration:
    """Picks the thresholds that answer the most in-scope questions correctly with few wrong answers.

    The answer threshold and margin maximise correct answers subject to wrong answers ≤ ``max_wrong_rate`` of
    the answers given (ties: fewer wrong answers, then the smallest margin, then the middle of the tied range
    of answer thresholds, so the threshold does not sit on the edge of the labelled data). The clarify
    threshold then maximises helpful clarifications (the labelled FAQ is among the options) minus unhelpful
    ones (it is not, or the question is out of scope).

    Args:
        results: Each labelled question's candidates (at least the top three) and label.
        max_wrong_rate: The largest acceptable share of wrong answers among the answers given.

    Returns:
        The calibration; if no threshold meets the constraint, the strictest one (answers nothing).
    """
    golds = [result.gold for result in results]
    top = np.array([r.candidates[0].score if r.candidates else -1.0 for r in results])
    second = np.array([r.candidates[1].score if len(r.candidates) > 1 else -1.0 for r in results])
    top_right = np.array(
        [bool(r.candidates) and r.candidates[0].faq_id == g for r, g in zip(results, golds, strict=True)]
    )
    lead = top - second

    feasible: list[tuple[int, int, float, float]] = []  # (correct, -wrong, answer, margin)
    for margin in MARGIN_GRID:
        leads = lead >= margin
        for answer in ANSWER_GRID:
            answered = (top >= answer) & leads
            n_answered = int(answered.sum())
            correct = int((answered & top_right).sum())
            wrong = n_answered - correct
            if n_answered and wrong <= max_wrong_rate * n_answered:
                feasible.append((correct, -wrong, float(answer), float(margin)))
    if feasible:
        best = max(item[:2] for item in feasible)
        margin_threshold = min(item[3] for item in feasible if item[:2] == best)
        tied = sorted(item[2] for item in feasible if item[:2] == best and item[3] == margin_threshold)
        answer_threshold = tied[len(tied) // 2]
    else:
        answer_threshold, margin_threshold = 1.0, float(MARGIN_GRID[-1])

    best_gain, clarify_threshold = None, answer_threshold
    for clarify in CLARIFY_GRID[answer_threshold >= CLARIFY_GRID]:
        gain = 0
        for result in results:
            kind, chosen = decide(result.candidates, Thresholds(answer_threshold, margin_threshold, clarify))
            if kind is DecisionKind.CLARIFY:
                gain += 1 if any(c.faq_id == result.gold for c in chosen) else -1
        if best_gain is None or gain > best_gain:
            best_gain, clarify_threshold = gain, float(clarify)
    thresholds = Thresholds(answer_threshold, margin_threshold, clarify_threshold)
    return Calibration(thresholds, outcomes(results, thresholds), max_wrong_rate)
