"""The figures of the accuracy benchmark and of the load test, computed from plain results.

Definitions (each over scored turns, see :class:`TurnResult`):

* **in scope**: every acceptable outcome is a bot answer (``faq …`` / ``intent …``); out-of-scope questions and
  requests for a person are not in scope.
* **containment**: share of turns not handed off to a person.
* **answer precision**: of the turns the bot answered (``faq`` / ``intent``), the share answered right.
* **wrong-answer rate**: turns answered wrongly, over all scored turns.
* **handoff precision / recall per reason**: of the handoffs with reason *r*, the share where *r* was expected;
  of the turns expecting *r*, the share handed off with *r*.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from benchmarks.outcomes import HANDOFF, coarse, is_answer, is_handoff, kind_of


@dataclass(frozen=True)
class TurnResult:
    """One scored customer turn: what was acceptable, what the bot did."""

    case_id: str
    category: str
    text: str
    expected: tuple[str, ...]
    actual: str
    latency_ms: float = 0.0

    @property
    def correct(self) -> bool:
        return self.actual in self.expected

    @property
    def in_scope(self) -> bool:
        return bool(self.expected) and all(is_answer(label) for label in self.expected)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide (shown as "–", never as 0 %)."""
    return part / whole if whole else None


def containment(results: Sequence[TurnResult]) -> float | None:
    """Share of turns not handed off."""
    return ratio(sum(1 for r in results if not is_handoff(r.actual)), len(results))


def answer_precision(results: Sequence[TurnResult]) -> float | None:
    """Of the turns the bot answered, the share answered right."""
    answered = [r for r in results if is_answer(r.actual)]
    return ratio(sum(1 for r in answered if r.correct), len(answered))


def wrong_answer_rate(results: Sequence[TurnResult]) -> float | None:
    """Turns answered wrongly, over all turns."""
    return ratio(sum(1 for r in results if is_answer(r.actual) and not r.correct), len(results))


def accuracy(results: Sequence[TurnResult]) -> float | None:
    """Share of turns whose outcome was one of the acceptable ones."""
    return ratio(sum(1 for r in results if r.correct), len(results))


@dataclass(frozen=True)
class ReasonScore:
    """Handoff precision and recall for one reason."""

    reason: str
    expected: int  # turns expecting this reason
    handed_off: int  # turns handed off with this reason
    right: int  # both
    precision: float | None
    recall: float | None


def handoff_scores(results: Sequence[TurnResult]) -> list[ReasonScore]:
    """Precision and recall of handoffs per reason, for every reason expected or seen, sorted by name."""
    prefix = f"{HANDOFF} "
    reasons = sorted(
        {label[len(prefix) :] for r in results for label in (*r.expected, r.actual) if label.startswith(prefix)}
    )
    scores = []
    for reason in reasons:
        label = prefix + reason
        expected = sum(1 for r in results if label in r.expected)
        handed_off = sum(1 for r in results if r.actual == label)
        right = sum(1 for r in results if r.actual == label and label in r.expected)
        scores.append(
            ReasonScore(reason, expected, handed_off, right, ratio(right, handed_off), ratio(right, expected))
        )
    return scores


def confusion(results: Iterable[TurnResult], *, detailed: bool = False) -> list[tuple[str, str, int]]:
    """The misses as (expected, actual, count), most frequent first.

    Coarse by default (``faq`` → ``clarify``, ``intent`` → ``handoff fallback`` …); ``detailed`` keeps FAQ ids
    and intent names. The expected side of a turn with several acceptable outcomes shows them joined by ``|``.
    """
    shape = (lambda label: label) if detailed else coarse
    counts: Counter[tuple[str, str]] = Counter()
    for r in results:
        if r.correct:
            continue
        expected = "|".join(dict.fromkeys(shape(label) for label in r.expected))
        actual = shape(r.actual)
        if not detailed and kind_of(r.actual) in ("faq", "intent") and shape(r.actual) in expected.split("|"):
            actual += " (other)"  # the right kind, the wrong FAQ or intent
        counts[(expected, actual)] += 1
    return [(expected, actual, n) for (expected, actual), n in counts.most_common()]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0–100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | None]:
    """Count, mean, p50, p95, p99 and max of latencies in milliseconds."""
    return {
        "count": float(len(values_ms)),
        "mean_ms": sum(values_ms) / len(values_ms) if values_ms else None,
        "p50_ms": percentile(values_ms, 50),
        "p95_ms": percentile(values_ms, 95),
        "p99_ms": percentile(values_ms, 99),
        "max_ms": max(values_ms) if values_ms else None,
    }


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile``: ``q`` (0–1) from cumulative (upper bound, count) buckets.

    Linear interpolation inside the bucket where the rank falls; the +Inf bucket yields the last finite bound.
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def accuracy_summary(results: Sequence[TurnResult]) -> dict[str, object]:
    """Every accuracy figure of a run, JSON-ready (categories in order of first appearance)."""
    in_scope = [r for r in results if r.in_scope]
    categories = list(dict.fromkeys(r.category for r in results))
    by_category = []
    for category in categories:
        rows = [r for r in results if r.category == category]
        by_category.append(
            {
                "category": category,
                "turns": len(rows),
                "accuracy": accuracy(rows),
                "containment": containment(rows),
                "precision": answer_precision(rows),
                "wrong_answers": sum(1 for r in rows if is_answer(r.actual) and not r.correct),
            }
        )
    return {
        "scored_turns": len(results),
        "in_scope_turns": len(in_scope),
        "containment_in_scope": containment(in_scope),
        "precision_in_scope": answer_precision(in_scope),
        "containment_all": containment(results),
        "precision_all": answer_precision(results),
        "wrong_answer_rate": wrong_answer_rate(results),
        "accuracy": accuracy(results),
        "latency": latency_summary([r.latency_ms for r in results if r.latency_ms > 0]),
        "by_category": by_category,
        "handoff": [asdict(score) for score in handoff_scores(results)],
        "confusion": [list(row) for row in confusion(results)],
        "confusion_detailed": [list(row) for row in confusion(results, detailed=True)],
        "misses": [
            {"case": r.case_id, "text": r.text, "expected": list(r.expected), "actual": r.actual}
            for r in results
            if not r.correct
        ],
    }
