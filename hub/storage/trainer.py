"""The trainer console's records and queries: FAQ change history, the unanswered inbox, training runs, models.

:class:`TrainerQueries` is a base of :class:`~hub.storage.repository.Transaction`, so these run inside the same
short transactions as everything else (``with store.transaction() as tx: tx.insert_faq_change(...)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.engine import Connection, Row

from hub.storage.models import (
    conversations,
    faq_changes,
    handoffs,
    messages,
    model_activations,
    model_evaluations,
    training_runs,
    unanswered_questions,
)


@dataclass(frozen=True)
class FaqChange:
    id: int
    faq_id: str
    action: str
    file: str
    agent_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    diff: str
    reverts: int | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> FaqChange:
        return cls(**dict(row._mapping))


@dataclass(frozen=True)
class UnansweredQuestion:
    id: int
    conversation_id: str
    text: str
    outcome: str
    reason: str | None
    candidates: list[dict[str, Any]]
    status: str
    faq_id: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> UnansweredQuestion:
        values = dict(row._mapping)
        values["candidates"] = list(values["candidates"] or [])
        return cls(**values)


@dataclass(frozen=True)
class TrainingRun:
    id: int
    agent_id: str
    status: str
    model_file: str | None
    log_file: str
    evaluation: dict[str, Any] | None
    baseline: dict[str, Any] | None
    message: str
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> TrainingRun:
        return cls(**dict(row._mapping))


@dataclass(frozen=True)
class ModelActivation:
    id: int
    model_file: str
    agent_id: str
    run_id: int | None
    reason: str
    activated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> ModelActivation:
        return cls(**dict(row._mapping))


@dataclass(frozen=True)
class ConversationOutcome:
    """One conversation for the containment chart: when it started and whether people were involved."""

    created_at: datetime
    customer_wrote: bool
    with_people: bool  # a stay with agents, or a leave-a-message offer (the customer wanted a person)


class TrainerQueries:
    """Mixed into :class:`~hub.storage.repository.Transaction`; ``_c`` is its connection."""

    _c: Connection

    # -- FAQ change history ----------------------------------------------------------------------------------

    def insert_faq_change(
        self,
        *,
        faq_id: str,
        action: str,
        file: str,
        agent_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        diff: str,
        now: datetime,
        reverts: int | None = None,
    ) -> FaqChange:
        result = self._c.execute(
            insert(faq_changes).values(
                faq_id=faq_id,
                action=action,
                file=file,
                agent_id=agent_id,
                before=dict(before) if before is not None else None,
                after=dict(after) if after is not None else None,
                diff=diff,
                reverts=reverts,
                created_at=now,
            )
        )
        (change_id,) = result.inserted_primary_key
        created = self.faq_change(change_id)
        assert created is not None
        return created

    def faq_change(self, change_id: int) -> FaqChange | None:
        row = self._c.execute(select(faq_changes).where(faq_changes.c.id == change_id)).first()
        return FaqChange.from_row(row) if row else None

    def faq_changes(self, faq_id: str | None = None, limit: int = 100) -> list[FaqChange]:
        """The latest changes first, of one FAQ or of all."""
        query = select(faq_changes)
        if faq_id is not None:
            query = query.where(faq_changes.c.faq_id == faq_id)
        query = query.order_by(faq_changes.c.id.desc()).limit(limit)
        return [FaqChange.from_row(row) for row in self._c.execute(query)]

    # -- unanswered questions --------------------------------------------------------------------------------

    def insert_unanswered(
        self,
        *,
        conversation_id: str,
        text: str,
        outcome: str,
        reason: str | None,
        candidates: Sequence[Mapping[str, Any]],
        now: datetime,
    ) -> UnansweredQuestion:
        result = self._c.execute(
            insert(unanswered_questions).values(
                conversation_id=conversation_id,
                text=text,
                outcome=outcome,
                reason=reason,
                candidates=[dict(c) for c in candidates],
                status="open",
                created_at=now,
            )
        )
        (question_id,) = result.inserted_primary_key
        row = self._c.execute(select(unanswered_questions).where(unanswered_questions.c.id == question_id)).one()
        return UnansweredQuestion.from_row(row)

    def unanswered_logged(self, conversation_id: str, text: str) -> bool:
        """Whether this conversation's question was logged already (the action and the handoff both report)."""
        query = select(unanswered_questions.c.id).where(
            and_(unanswered_questions.c.conversation_id == conversation_id, unanswered_questions.c.text == text)
        )
        return self._c.execute(query.limit(1)).first() is not None

    def unanswered(
        self, *, status: str = "open", ids: Iterable[int] | None = None, limit: int = 1000
    ) -> list[UnansweredQuestion]:
        """Questions with this status (all statuses when ``ids`` are given), latest first."""
        query = select(unanswered_questions)
        if ids is not None:
            query = query.where(unanswered_questions.c.id.in_(list(ids)))
        else:
            query = query.where(unanswered_questions.c.status == status)
        query = query.order_by(unanswered_questions.c.created_at.desc(), unanswered_questions.c.id.desc())
        return [UnansweredQuestion.from_row(row) for row in self._c.execute(query.limit(limit))]

    def close_unanswered(
        self, ids: Iterable[int], *, status: str, faq_id: str | None, agent_id: str, now: datetime
    ) -> int:
        """Marks open questions resolved (answered by ``faq_id``) or dismissed; returns how many changed."""
        result = self._c.execute(
            update(unanswered_questions)
            .where(and_(unanswered_questions.c.id.in_(list(ids)), unanswered_questions.c.status == "open"))
            .values(status=status, faq_id=faq_id, resolved_by=agent_id, resolved_at=now)
        )
        return int(result.rowcount or 0)

    # -- training runs and models ----------------------------------------------------------------------------

    def insert_training_run(self, *, agent_id: str, log_file: str, now: datetime) -> TrainingRun:
        result = self._c.execute(
            insert(training_runs).values(
                agent_id=agent_id, status="training", log_file=log_file, message="", started_at=now
            )
        )
        (run_id,) = result.inserted_primary_key
        created = self.training_run(run_id)
        assert created is not None
        return created

    def training_run(self, run_id: int) -> TrainingRun | None:
        row = self._c.execute(select(training_runs).where(training_runs.c.id == run_id)).first()
        return TrainingRun.from_row(row) if row else None

    def update_training_run(self, run_id: int, **values: Any) -> TrainingRun:
        self._c.execute(update(training_runs).where(training_runs.c.id == run_id).values(**values))
        updated = self.training_run(run_id)
        assert updated is not None
        return updated

    def training_runs(self, limit: int = 20) -> list[TrainingRun]:
        query = select(training_runs).order_by(training_runs.c.id.desc()).limit(limit)
        return [TrainingRun.from_row(row) for row in self._c.execute(query)]

    def unfinished_training_runs(self) -> list[TrainingRun]:
        query = select(training_runs).where(training_runs.c.finished_at.is_(None)).order_by(training_runs.c.id)
        return [TrainingRun.from_row(row) for row in self._c.execute(query)]

    def model_evaluation(self, sha256: str) -> dict[str, Any] | None:
        row = self._c.execute(
            select(model_evaluations.c.evaluation).where(model_evaluations.c.sha256 == sha256)
        ).first()
        return dict(row[0]) if row else None

    def save_model_evaluation(self, sha256: str, model_file: str, evaluation: Mapping[str, Any], now: datetime) -> None:
        if self.model_evaluation(sha256) is None:
            self._c.execute(
                insert(model_evaluations).values(
                    sha256=sha256, model_file=model_file, evaluation=dict(evaluation), evaluated_at=now
                )
            )

    def insert_model_activation(
        self, *, model_file: str, agent_id: str, run_id: int | None, reason: str, now: datetime
    ) -> ModelActivation:
        result = self._c.execute(
            insert(model_activations).values(
                model_file=model_file, agent_id=agent_id, run_id=run_id, reason=reason, activated_at=now
            )
        )
        (activation_id,) = result.inserted_primary_key
        row = self._c.execute(select(model_activations).where(model_activations.c.id == activation_id)).one()
        return ModelActivation.from_row(row)

    def model_activations(self, limit: int = 50) -> list[ModelActivation]:
        query = select(model_activations).order_by(model_activations.c.id.desc()).limit(limit)
        return [ModelActivation.from_row(row) for row in self._c.execute(query)]

    # -- report ----------------------------------------------------------------------------------------------

    def conversation_outcomes(self, since: datetime) -> list[ConversationOutcome]:
        """Every conversation started at or after ``since``: did the customer write, were people involved."""
        wrote = exists().where(and_(messages.c.conversation_id == conversations.c.id, messages.c.sender == "customer"))
        offered = exists().where(
            and_(messages.c.conversation_id == conversations.c.id, messages.c.kind == "ticket_offer")
        )
        handed = exists().where(handoffs.c.conversation_id == conversations.c.id)
        query = (
            select(conversations.c.created_at, wrote.label("wrote"), handed.label("handed"), offered.label("offered"))
            .where(conversations.c.created_at >= since)
            .order_by(conversations.c.created_at)
        )
        return [
            ConversationOutcome(created_at, bool(wrote_), bool(handed_) or bool(offered_))
            for created_at, wrote_, handed_, offered_ in self._c.execute(query)
        ]
