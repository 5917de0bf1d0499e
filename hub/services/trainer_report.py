"""The trainer console's report: knowledge-base quality, intent F1, and containment per day.

* Knowledge base: top-1, recall@3 and abstain precision (plus coverage and wrong answers) of the loaded index on
  the held-out questions (``knowledge_base/eval/heldout.yml``), from :mod:`knowledge_base.evaluation`. Computed
  in a background thread and cached per index version and held-out file, since it embeds every question.
* Intents: F1 per intent from the last evaluation of a trained model (training runs store it).
* Containment: of the conversations where the customer wrote something, the share that ended without a person
  (no stay with agents, no leave-a-message offer), per local day, from the hub's own database.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.services.clock import Clock
from hub.services.trainer_kb import KnowledgeService
from hub.storage import Store
from knowledge_base.decision import outcomes
from knowledge_base.evaluation import load_heldout, rank_questions, ranking_report

log = logging.getLogger(__name__)

CONTAINMENT_DAYS = 14  # two weeks: enough to see a weekly pattern and the effect of last week's training


def containment_by_day(
    rows: list[tuple[datetime, bool, bool]], zone: ZoneInfo, first: date, last: date
) -> list[dict[str, Any]]:
    """``(started, customer wrote, people involved)`` per conversation → one entry per local day, gaps as zero."""
    total: Counter[date] = Counter()
    contained: Counter[date] = Counter()
    for started, wrote, with_people in rows:
        if not wrote:
            continue  # opened the widget and left: not a conversation the bot could contain
        day = started.astimezone(zone).date()
        total[day] += 1
        contained[day] += int(not with_people)
    days = []
    day = first
    while day <= last:
        count = total[day]
        days.append(
            {
                "date": day.isoformat(),
                "conversations": count,
                "contained": contained[day],
                "rate": round(contained[day] / count, 4) if count else None,
            }
        )
        day += timedelta(days=1)
    return days


class ReportService:
    def __init__(self, store: Store, clock: Clock, knowledge: KnowledgeService, zone: ZoneInfo) -> None:
        self.store = store
        self.clock = clock
        self.knowledge = knowledge
        self.zone = zone
        self._lock = threading.Lock()
        self._kb_key: tuple[str, int] | None = None
        self._kb_result: dict[str, Any] | None = None
        self._kb_error: str | None = None
        self._kb_thread: threading.Thread | None = None

    def report(self) -> dict[str, Any]:
        return {"knowledge_base": self.kb_metrics(), "intents": self.intents(), "containment": self.containment()}

    # -- knowledge base --------------------------------------------------------------------------------------

    def kb_metrics(self) -> dict[str, Any]:
        """The cached figures for the index answering now, or ``{"state": "computing"}`` while they are made."""
        with self._lock:
            if self._kb_thread is not None and self._kb_thread.is_alive():
                return {"state": "computing"}
            # Before the model is loaded the version is unknown; the figures computed last are for the loaded one.
            version = self.knowledge.status().version or (self._kb_key[0] if self._kb_key else "")
            key = (version, self._heldout_mtime())
            if self._kb_result is not None and self._kb_key == key:
                return {"state": "ready", **self._kb_result}
            if self._kb_error is not None and self._kb_key == key:
                return {"state": "failed", "error": self._kb_error}
            self._kb_key = key
            self._kb_result = self._kb_error = None
            self._kb_thread = threading.Thread(target=self._compute_kb, name="trainer-kb-eval", daemon=True)
            self._kb_thread.start()
            return {"state": "computing"}

    def wait_kb_metrics(self, timeout: float | None = None) -> None:
        """Blocks until a computation started by :meth:`kb_metrics` ends (tests)."""
        thread = self._kb_thread
        if thread is not None:
            thread.join(timeout)

    def _heldout_mtime(self) -> int:
        try:
            return self.knowledge.settings.heldout_path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def _compute_kb(self) -> None:
        try:
            knowledge_base = self.knowledge.knowledge_base()
            questions = load_heldout(self.knowledge.settings.heldout_path, knowledge_base.index.catalog)
            results, _ = rank_questions(questions, knowledge_base.search)
            ranking = ranking_report(questions, results)
            decided = outcomes(results, knowledge_base.thresholds)
            result = {
                "index_version": knowledge_base.manifest.version,
                "questions": len(questions),
                "in_scope": ranking.in_scope,
                "top1": round(ranking.top1, 4),
                "recall_at_3": round(ranking.recall_at_3, 4),
                "abstain_precision": round(decided.abstain_precision, 4),
                "abstain_recall": round(decided.abstain_recall, 4),
                "coverage": round(decided.coverage, 4),
                "wrong_rate": round(decided.wrong_rate, 4),
                "computed_at": self.clock.now().isoformat(),
            }
            with self._lock:
                self._kb_result = result
                self._kb_key = (knowledge_base.manifest.version, self._kb_key[1] if self._kb_key else 0)
        except Exception as error:  # shown in the report instead of the figures
            log.exception("knowledge-base evaluation for the report failed")
            with self._lock:
                self._kb_error = str(error)

    # -- intents and containment -----------------------------------------------------------------------------

    def intents(self) -> dict[str, Any] | None:
        """The last evaluated training run's per-intent F1 (and the active model's it was compared with)."""
        with self.store.transaction() as tx:
            runs = tx.training_runs(50)
        run = next((run for run in runs if run.evaluation), None)
        if run is None or run.evaluation is None:
            return None
        return {
            "run_id": run.id,
            "status": run.status,
            "model": run.evaluation.get("model", ""),
            "macro_f1": run.evaluation.get("macro_f1"),
            "intents": {name: scores["f1"] for name, scores in (run.evaluation.get("intents") or {}).items()},
            "baseline_macro_f1": run.baseline.get("macro_f1") if run.baseline else None,
            "baseline_intents": {
                name: scores["f1"] for name, scores in ((run.baseline or {}).get("intents") or {}).items()
            },
            "evaluated_at": (run.finished_at or run.started_at).isoformat(),
        }

    def containment(self, days: int = CONTAINMENT_DAYS) -> list[dict[str, Any]]:
        today = self.clock.now().astimezone(self.zone).date()
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, time(0), tzinfo=self.zone)
        with self.store.transaction() as tx:
            rows = tx.conversation_outcomes(since)
        return containment_by_day(
            [(row.created_at, row.customer_wrote, row.with_people) for row in rows], self.zone, first, today
        )
