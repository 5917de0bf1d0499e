"""The scope guard: questions about products the knowledge base does not cover are not answered by other FAQs."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.decision import Candidate, DecisionKind
from knowledge_base.exceptions import DataError
from knowledge_base.loader import load_catalog
from knowledge_base.scope import PENALTY, ScopeGuard
from knowledge_base.service import KnowledgeBase
from knowledge_base.settings import DEFAULT_SCOPE_FILE, Settings


def scope_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scope.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_named_product_lowers_faqs_that_never_mention_it(settings: Settings, tmp_path: Path) -> None:
    guard = ScopeGuard.load(scope_file(tmp_path, "not_covered:\n  - 信用卡\n  - 房贷\n"))
    catalog = load_catalog(settings.data_dir)
    candidates = [Candidate("limit-001", "怎么提高额度？", 0.95), Candidate("overdue-001", "逾期会怎么样？", 0.90)]

    adjusted = guard.adjust("怎么提高信用卡额度", candidates, catalog)

    assert [c.faq_id for c in adjusted] == ["limit-001", "overdue-001"]
    assert [c.score for c in adjusted] == pytest.approx([0.95 - PENALTY, 0.90 - PENALTY])
    assert guard.adjust("怎么提高额度", candidates, catalog) == candidates


def test_an_faq_that_mentions_the_product_keeps_its_score(settings: Settings, tmp_path: Path) -> None:
    guard = ScopeGuard.load(scope_file(tmp_path, "not_covered:\n  - 征信\n"))
    catalog = load_catalog(settings.data_dir)  # overdue-001 says 报送征信 in its answer
    candidates = [Candidate("limit-001", "怎么提高额度？", 0.93), Candidate("overdue-001", "逾期会怎么样？", 0.90)]

    adjusted = guard.adjust("查征信会影响额度吗", candidates, catalog)

    assert [(c.faq_id, round(c.score, 4)) for c in adjusted] == [("overdue-001", 0.9), ("limit-001", 0.83)]


def test_traditional_characters_name_the_product_too(tmp_path: Path) -> None:
    guard = ScopeGuard.load(scope_file(tmp_path, "not_covered:\n  - 房贷\n"))

    assert guard.named_in("房貸利率是多少") == ("房贷",)
    assert guard.named_in("微粒贷利率是多少") == ()


def test_the_decision_hands_off_a_question_about_another_product(settings: Settings, tmp_path: Path) -> None:
    guarded = settings.with_changes(scope_file=scope_file(tmp_path, "not_covered:\n  - 信用卡\n"))
    unguarded = settings.with_changes(scope_file=None)

    with_guard = KnowledgeBase.open(guarded).decide("信用卡额度能提升吗")
    without_guard = KnowledgeBase.open(unguarded).decide("信用卡额度能提升吗")

    assert without_guard.kind is DecisionKind.ANSWER and without_guard.faq is not None
    assert with_guard.kind is not DecisionKind.ANSWER


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not_covered: 信用卡\n", "not_covered"),
        ("not_covered:\n  - ''\n", "a term"),
        ("products:\n  - 信用卡\n", "products"),
        ("not_covered: [信用卡\n", "not valid YAML"),
    ],
)
def test_a_malformed_file_is_refused_with_its_line(tmp_path: Path, text: str, reason: str) -> None:
    path = scope_file(tmp_path, text)

    with pytest.raises(DataError) as raised:
        ScopeGuard.load(path)

    assert any(problem.file == path and reason in problem.reason for problem in raised.value.problems)


def test_no_file_means_no_guard(tmp_path: Path) -> None:
    assert ScopeGuard.load(tmp_path / "missing.yml").terms == ()
    assert ScopeGuard.load(None).named_in("信用卡") == ()


def test_the_shipped_file_is_valid_and_leaves_faqs_about_a_product_answerable() -> None:
    guard = ScopeGuard.load(DEFAULT_SCOPE_FILE)
    project = load_catalog(Settings.from_env({}).data_dir)
    about_credit_cards = [faq for faq in project if any("信用卡" in text for text in faq.texts)]
    candidates = [Candidate(faq.id, faq.question, 0.9) for faq in about_credit_cards]

    adjusted = guard.adjust("可以用信用卡还微粒贷吗", candidates, project)

    assert len(guard.terms) >= 10 and "信用卡" in guard.terms
    assert about_credit_cards and [c.score for c in adjusted] == [0.9] * len(candidates)
