"""The decision rule and calibrating its thresholds."""

from __future__ import annotations

import pytest

from knowledge_base.decision import (
    Candidate,
    DecisionKind,
    LabelledResult,
    Thresholds,
    calibrate,
    decide,
    outcomes,
)

RULE = Thresholds(answer=0.9, margin=0.03, clarify=0.8)


def candidates(*scores: float) -> list[Candidate]:
    return [Candidate(f"faq-{n}", f"问题{n}", score) for n, score in enumerate(scores, start=1)]


def test_decide_confident_top_answers_it() -> None:
    kind, chosen = decide(candidates(0.95, 0.85, 0.5), RULE)

    assert kind is DecisionKind.ANSWER
    assert [c.faq_id for c in chosen] == ["faq-1"]


def test_decide_close_runner_up_clarifies_with_the_close_ones() -> None:
    kind, chosen = decide(candidates(0.95, 0.94, 0.81, 0.80), RULE)

    assert kind is DecisionKind.CLARIFY
    assert [c.faq_id for c in chosen] == ["faq-1", "faq-2", "faq-3"]


def test_decide_top_below_answer_threshold_clarifies() -> None:
    kind, chosen = decide(candidates(0.85, 0.6), RULE)

    assert kind is DecisionKind.CLARIFY
    assert [c.faq_id for c in chosen] == ["faq-1"]


def test_decide_everything_below_clarify_has_no_answer_but_keeps_candidates() -> None:
    kind, chosen = decide(candidates(0.7, 0.6, 0.5, 0.4), RULE)

    assert kind is DecisionKind.NO_ANSWER
    assert len(chosen) == 3


def test_decide_no_candidates_has_no_answer() -> None:
    assert decide([], RULE) == (DecisionKind.NO_ANSWER, [])


def test_decide_single_candidate_above_threshold_answers() -> None:
    kind, _ = decide(candidates(0.91), RULE)

    assert kind is DecisionKind.ANSWER


def test_thresholds_clarify_above_answer_is_rejected() -> None:
    with pytest.raises(ValueError, match="clarify threshold"):
        Thresholds(answer=0.8, margin=0.0, clarify=0.9)


def labelled(gold: str | None, *scored: tuple[str, float]) -> LabelledResult:
    return LabelledResult(gold, [Candidate(faq_id, faq_id, score) for faq_id, score in scored])


def test_calibrate_separable_data_answers_all_in_scope_and_none_out_of_scope() -> None:
    results = [
        labelled("a", ("a", 0.95), ("b", 0.70)),
        labelled("b", ("b", 0.93), ("a", 0.72)),
        labelled("c", ("c", 0.97), ("a", 0.60)),
        labelled(None, ("a", 0.75), ("b", 0.74)),
        labelled(None, ("c", 0.70), ("b", 0.65)),
    ]

    chosen = calibrate(results)

    assert chosen.outcomes.correct == 3
    assert chosen.outcomes.wrong == 0
    assert 0.75 < chosen.thresholds.answer <= 0.93
    assert outcomes(results, chosen.thresholds).abstain_recall == 1.0


def test_calibrate_wrong_answer_above_limit_is_excluded() -> None:
    # Answering at 0.9 would answer one out-of-scope question wrongly among four: 25 % > 2 %.
    results = [
        labelled("a", ("a", 0.95), ("b", 0.5)),
        labelled("b", ("b", 0.96), ("a", 0.5)),
        labelled("c", ("c", 0.91), ("a", 0.5)),
        labelled(None, ("a", 0.92), ("b", 0.5)),
    ]

    chosen = calibrate(results)

    assert chosen.outcomes.wrong == 0
    assert chosen.outcomes.correct == 2
    assert 0.92 < chosen.thresholds.answer <= 0.95


def test_calibrate_nothing_feasible_answers_nothing() -> None:
    results = [labelled(None, ("a", 0.99), ("b", 0.1)), labelled("b", ("a", 0.98), ("b", 0.2))]

    chosen = calibrate(results)

    assert chosen.outcomes.answered == 0


def test_outcomes_rates_count_answers_clarifications_and_abstentions() -> None:
    results = [
        labelled("a", ("a", 0.95), ("b", 0.5)),  # answered right
        labelled("b", ("a", 0.95), ("b", 0.5)),  # answered wrong
        labelled("c", ("a", 0.85), ("c", 0.82)),  # clarified, helpful
        labelled(None, ("a", 0.5)),  # abstained, out of scope
        labelled("d", ("a", 0.5)),  # abstained, in scope
    ]

    result = outcomes(results, RULE)

    assert (result.answered, result.correct, result.wrong) == (2, 1, 1)
    assert result.wrong_rate == 0.5
    assert (result.clarified, result.clarified_helpful) == (1, 1)
    assert result.abstain_precision == 0.5
    assert result.abstain_recall == 1.0
    assert result.coverage == 0.25
