"""The trainer console's services, wired together (one per app, next to :class:`hub.services.Hub`).

Settings come from the knowledge base's own (``KEFU_KB_*``, ``KEFU_EMBEDDING_MODEL``: the FAQ files, the index,
the model) and the hub's (``KEFU_RASA_URL``; training runs go to ``<KEFU_VAR_DIR>/trainer/runs``). The Rasa
project is this repository (``config.yml``, ``bot/``, ``tests/bot/``, ``models/``). Nothing heavy happens when
it is built: the embedding model loads on first use, training only when a trainer starts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.train import PROJECT_ROOT
from hub.services import Hub
from hub.services.trainer_faqs import FaqService
from hub.services.trainer_inbox import CLUSTER_SIMILARITY, InboxService
from hub.services.trainer_intents import IntentService
from hub.services.trainer_kb import KnowledgeService
from hub.services.trainer_models import ModelService, TrainingPaths
from hub.services.trainer_report import ReportService
from knowledge_base.editor import FaqEditor
from knowledge_base.settings import Settings as KbSettings
from knowledge_base.settings import get_settings


@dataclass
class Trainer:
    knowledge: KnowledgeService
    faqs: FaqService
    inbox: InboxService
    intents: IntentService
    models: ModelService
    report: ReportService

    @classmethod
    def build(
        cls,
        hub: Hub,
        *,
        kb_settings: KbSettings | None = None,
        paths: TrainingPaths | None = None,
        similarity: float = CLUSTER_SIMILARITY,
    ) -> Trainer:
        """Wires the console for ``hub``; tests pass temporary FAQ data, index and Rasa project."""
        kb_settings = kb_settings or get_settings()
        paths = paths or TrainingPaths.for_project(PROJECT_ROOT, Path(hub.settings.var_dir) / "trainer" / "runs")
        knowledge = KnowledgeService(kb_settings, hub.clock)
        faqs = FaqService(hub.store, hub.clock, FaqEditor(kb_settings.data_dir), knowledge)
        return cls(
            knowledge=knowledge,
            faqs=faqs,
            inbox=InboxService(hub.store, hub.clock, knowledge, faqs, similarity=similarity),
            intents=IntentService(paths.data / "nlu", paths.domain, paths.nlu_heldout),
            models=ModelService(
                hub.store, hub.clock, hub.tasks, paths, hub.settings.rasa_url, token=hub.settings.rasa_token
            ),
            report=ReportService(hub.store, hub.clock, knowledge, hub.settings.timezone),
        )

    def start(self) -> None:
        """After the hub's schema exists: close the books on runs a previous process left unfinished."""
        self.models.recover()

    async def close(self) -> None:
        await self.models.close()
