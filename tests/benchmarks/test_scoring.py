"""The accuracy and latency figures, on hand-made results whose answers are worked out in the comments."""

from __future__ import annotations

import pytest

from benchmarks.scoring import (
    TurnResult,
    accuracy,
    accuracy_summary,
    answer_precision,
    confusion,
    containment,
    handoff_scores,
    histogram_quantile,
    latency_summary,
    percentile,
    wrong_answer_rate,
)


def result(expected: str | tuple[str, ...], actual: str, category: str = "faq") -> TurnResult:
    labels = (expected,) if isinstance(expected, str) else expected
    return TurnResult("case", category, "text", labels, actual)


# Ten turns: 4 FAQ (2 right, 1 wrong FAQ, 1 clarify), 2 intents (1 right, 1 handed off by fallback),
# 1 out of scope declined, 3 handoff requests (explicit right, complaint handed off as explicit, sign right).
RESULTS = [
    result("faq limit-001", "faq limit-001"),
    result("faq limit-002", "faq limit-002"),
    result("faq repay-001", "faq repay-002"),
    result("faq early-001", "clarify"),
    result("intent greet", "intent greet", "small_talk"),
    result("intent apply_loan", "handoff fallback", "transactional"),
    result("out_of_scope", "out_of_scope", "out_of_scope"),
    result("handoff explicit_request", "handoff explicit_request", "human"),
    result("handoff complaint", "handoff explicit_request", "complaint"),
    result("handoff sign_language", "handoff sign_language", "sign"),
]


def test_containment_counts_turns_not_handed_off() -> None:
    assert containment(RESULTS) == pytest.approx(6 / 10)  # four handoffs out of ten


def test_containment_of_in_scope_turns_excludes_handoff_and_out_of_scope_requests() -> None:
    in_scope = [r for r in RESULTS if r.in_scope]
    assert len(in_scope) == 6
    assert containment(in_scope) == pytest.approx(5 / 6)  # only the loan request was handed off


def test_answer_precision_is_right_answers_over_answers() -> None:
    # answered: limit-001 ✓, limit-002 ✓, repay-002 ✗, greet ✓ (clarify, decline and handoffs are not answers)
    assert answer_precision(RESULTS) == pytest.approx(3 / 4)


def test_wrong_answer_rate_is_wrong_answers_over_all_turns() -> None:
    assert wrong_answer_rate(RESULTS) == pytest.approx(1 / 10)


def test_accuracy_accepts_any_of_several_expected_outcomes() -> None:
    either = result(("faq limit-003", "intent check_credit_limit"), "intent check_credit_limit")
    assert either.correct
    assert accuracy([either, result("faq limit-003", "clarify")]) == pytest.approx(0.5)


def test_figures_of_nothing_are_none_not_zero() -> None:
    assert containment([]) is None
    assert answer_precision([result("faq a-1", "clarify")]) is None


def test_handoff_scores_give_precision_and_recall_per_reason() -> None:
    scores = {score.reason: score for score in handoff_scores(RESULTS)}
    assert sorted(scores) == ["complaint", "explicit_request", "fallback", "sign_language"]
    explicit = scores["explicit_request"]
    # handed off as explicit twice, once rightly; expected once, found once
    assert (explicit.expected, explicit.handed_off, explicit.right) == (1, 2, 1)
    assert explicit.precision == pytest.approx(0.5) and explicit.recall == pytest.approx(1.0)
    complaint = scores["complaint"]
    assert (complaint.precision, complaint.recall) == (None, 0.0)  # never handed off as complaint; one missed
    fallback = scores["fallback"]
    assert (fallback.precision, fallback.recall) == (0.0, None)  # a handoff nobody expected
    assert scores["sign_language"].precision == scores["sign_language"].recall == 1.0


def test_confusion_lists_misses_coarsely_most_frequent_first() -> None:
    misses = [*RESULTS, result("faq repay-005", "faq repay-006")]
    assert confusion(misses) == [
        ("faq", "faq (other)", 2),
        ("faq", "clarify", 1),
        ("intent", "handoff fallback", 1),
        ("handoff complaint", "handoff explicit_request", 1),
    ]


def test_confusion_detailed_keeps_ids_and_joins_alternatives() -> None:
    misses = [result(("faq limit-003", "intent check_credit_limit"), "faq limit-004")]
    assert confusion(misses, detailed=True) == [("faq limit-003|intent check_credit_limit", "faq limit-004", 1)]


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(48.0)  # rank 3.8: 40 + 0.8 × 10
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 50.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_percentile_ignores_input_order() -> None:
    assert percentile([50.0, 10.0, 40.0, 20.0, 30.0], 25) == 20.0


def test_latency_summary_reports_mean_and_tail() -> None:
    summary = latency_summary([float(v) for v in range(1, 101)])  # 1 … 100 ms
    assert summary["mean_ms"] == pytest.approx(50.5)
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert summary["p95_ms"] == pytest.approx(95.05)
    assert summary["p99_ms"] == pytest.approx(99.01)
    assert summary["max_ms"] == 100.0
    assert latency_summary([])["p95_ms"] is None


def test_histogram_quantile_interpolates_inside_the_bucket() -> None:
    # 100 observations: 50 ≤ 0.1 s, 90 ≤ 0.2 s, all ≤ 0.5 s
    buckets = [(0.1, 50.0), (0.2, 90.0), (0.5, 100.0), (float("inf"), 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.15)  # 20 of the 40 in (0.1, 0.2]
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.35)  # 5 of the 10 in (0.2, 0.5]
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.99, [(0.1, 1.0), (float("inf"), 100.0)]) == 0.1  # in +Inf: the last finite bound


def test_accuracy_summary_groups_by_category_in_order_of_appearance() -> None:
    summary = accuracy_summary(RESULTS)
    categories = summary["by_category"]
    assert isinstance(categories, list)
    assert [row["category"] for row in categories][:3] == ["faq", "small_talk", "transactional"]
    faq = categories[0]
    assert (faq["turns"], faq["accuracy"], faq["wrong_answers"]) == (4, 0.5, 1)
    assert summary["in_scope_turns"] == 6 and summary["scored_turns"] == 10
    assert summary["containment_in_scope"] == pytest.approx(5 / 6)
