"""The hub's own knowledge base: "Try it", embeddings for the inbox, and the index rebuild after an edit.

The model is loaded on first use (a trainer opening "Try it" or saving an FAQ), never at start-up, so a hub
without an embedding model still serves customers and agents. A rebuild runs in a background thread: it
validates the FAQ files, embeds every wording in steps (the progress the console shows), publishes the new
index version (``current`` moves with one ``rename(2)``) and swaps it in. Until then every question — the
trainer's, and the action server's in its own process — is answered from the previous index; the action
server notices the new ``current`` within ``RELOAD_CHECK_SECONDS`` (actions/faq.py). Saves during a rebuild are
coalesced: one more rebuild runs when the current one ends.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from hub.exceptions import KnowledgeBaseUnavailable
from hub.services.clock import Clock
from knowledge_base.decision import decide
from knowledge_base.editor import problems_as_dicts
from knowledge_base.embedder import BATCH_SIZE, Embedder, Vectors
from knowledge_base.exceptions import DataError, KnowledgeBaseError
from knowledge_base.index import IndexStore
from knowledge_base.service import KnowledgeBase, build_index
from knowledge_base.settings import Settings as KbSettings

log = logging.getLogger(__name__)

# Wordings embedded per rebuild step: e5-small does 64 in about a second on a busy 2-core machine, so the progress
# bar moves every second, and a "Try it" question waits for at most one step for the shared model.
REBUILD_STEP = 64
# Same as the action server: an index rebuilt elsewhere (the CLI, another hub) is picked up within 5 s.
RELOAD_CHECK_SECONDS = 5.0
TOP_CANDIDATES = 5  # "Try it" shows the five closest FAQs
VECTOR_CACHE_SIZE = 2000  # inbox questions' vectors kept (the inbox groups at most 500 open ones at a time)


@dataclass(frozen=True)
class RebuildStatus:
    """What the console shows about the index: the rebuild's progress and the version answering now."""

    state: str = "idle"  # idle | running | done | failed
    phase: str = ""  # loading | embedding | publishing | swapping
    done: int = 0
    total: int = 0
    version: str | None = None
    error: str | None = None
    problems: tuple[dict[str, Any], ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pending: bool = False  # another rebuild will follow (saved while this one ran)
    rebuilds: int = 0  # finished rebuilds since the hub started

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["problems"] = list(self.problems)
        data["started_at"] = self.started_at.isoformat() if self.started_at else None
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return data


class _SteppedEmbedder(Embedder):
    """The loaded embedder (same model, locks and cache: no second copy) embedding in reported steps.

    Between steps the model lock is free, so questions asked during a rebuild are not held up by it.
    """

    def __init__(self, inner: Embedder, report: Callable[[int, int], None]) -> None:  # shares, does not load
        self.__dict__.update(inner.__dict__)
        self._report = report

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE, progress: bool = False) -> Vectors:
        if not texts:
            return super().encode(texts, batch_size=batch_size)
        parts = []
        for start in range(0, len(texts), REBUILD_STEP):
            parts.append(super().encode(texts[start : start + REBUILD_STEP], batch_size=batch_size))
            self._report(min(start + REBUILD_STEP, len(texts)), len(texts))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


class KnowledgeService:
    """One KnowledgeBase for the hub process, opened lazily, with a background rebuild and its status."""

    def __init__(self, settings: KbSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.store = IndexStore(settings.index_dir)
        self._knowledge_base: KnowledgeBase | None = None
        self._embedder: Embedder | None = None
        self._open_lock = threading.Lock()
        self._checked_at = 0.0
        self._status_lock = threading.Lock()
        self._status = RebuildStatus()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._vectors_model = ""
        self._vectors_lock = threading.Lock()

    # -- the knowledge base ----------------------------------------------------------------------------------

    def knowledge_base(self) -> KnowledgeBase:
        """The loaded knowledge base (loads the model and index on first use; blocking).

        Raises:
            KnowledgeBaseUnavailable: The model or the index cannot be loaded, or there is no index and the
                FAQ files are invalid.
        """
        with self._open_lock:
            if self._knowledge_base is None:
                try:
                    self._knowledge_base = self._open()
                except KnowledgeBaseError as error:
                    log.exception("the trainer console cannot open the knowledge base")
                    raise KnowledgeBaseUnavailable(f"知识库暂时不可用：{error}") from error
                self._checked_at = time.monotonic()
            elif time.monotonic() - self._checked_at >= RELOAD_CHECK_SECONDS:
                self._checked_at = time.monotonic()
                try:
                    self._knowledge_base.reload_if_stale()
                except KnowledgeBaseError:
                    log.exception("could not reload the knowledge base; the loaded index stays in use")
            return self._knowledge_base

    def _open(self) -> KnowledgeBase:
        manifest = self.store.read_manifest()
        model = manifest.model if manifest is not None else self.settings.embedding_model
        embedder = Embedder(
            model,
            cache_size=self.settings.query_cache_size,
            threads=self.settings.torch_threads,
            backend=self.settings.embedding_backend,
        )
        self._embedder = embedder
        if self.store.current_version() is None:
            log.warning("no knowledge-base index in %s: building one now", self.store.root)
            with self.store.build_lock():
                if self.store.current_version() is None:
                    self.store.publish(build_index(self.settings, embedder))
        return KnowledgeBase(self.settings, self.store.load(), embedder, self.store.stamp())

    def try_it(self, question: str) -> dict[str, Any]:
        """What the bot would do with ``question``: the decision and the five closest FAQs with their scores."""
        knowledge_base = self.knowledge_base()
        candidates = knowledge_base.search(question, TOP_CANDIDATES)
        kind, chosen = decide(candidates, knowledge_base.thresholds)
        answered = knowledge_base.faq(chosen[0].faq_id) if kind.value == "answer" and chosen else None
        chosen_ids = [candidate.faq_id for candidate in chosen] if kind.value != "no_answer" else []
        rows = []
        for candidate in candidates:
            faq = knowledge_base.faq(candidate.faq_id)
            rows.append(
                {
                    "faq_id": candidate.faq_id,
                    "question": candidate.question,
                    "category": faq.category if faq else "",
                    "score": round(candidate.score, 4),
                    "chosen": candidate.faq_id in chosen_ids,
                }
            )
        return {
            "question": question,
            "decision": kind.value,
            "answer": answered.answer if answered else None,
            "answer_faq_id": answered.id if answered else None,
            "candidates": rows,
            "thresholds": knowledge_base.thresholds.to_dict(),
            "index_version": knowledge_base.manifest.version,
        }

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors of ``texts`` with the knowledge base's model (grouping the inbox by meaning).

        Vectors are kept per text, so reading the inbox again embeds only the questions that arrived since.
        """
        self.knowledge_base()
        embedder = self._embedder
        assert embedder is not None
        with self._vectors_lock:
            if self._vectors_model != embedder.model_id:
                self._vectors.clear()
                self._vectors_model = embedder.model_id
            missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            fresh = embedder.encode(missing)
            with self._vectors_lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > VECTOR_CACHE_SIZE:
                    self._vectors.popitem(last=False)
        with self._vectors_lock:
            found = [self._vectors[text] for text in texts if text in self._vectors]
        if len(found) != len(texts) or not found:  # none asked, or evicted meanwhile: embed them again
            return embedder.encode(list(texts))
        return np.ascontiguousarray(np.stack(found), dtype=np.float32)

    # -- rebuilds --------------------------------------------------------------------------------------------

    def status(self) -> RebuildStatus:
        """The rebuild's progress; ``version`` is the index answering now (before loading: the one on disk)."""
        with self._status_lock:
            status = self._status
        if status.version is None:
            loaded = self._knowledge_base
            version = loaded.manifest.version if loaded is not None else self.store.current_version()
            status = dataclasses.replace(status, version=version)
        return status

    def request_rebuild(self) -> RebuildStatus:
        """Starts a rebuild in the background, or asks for one more if one is running; returns at once."""
        with self._status_lock:
            if self._thread is not None and self._thread.is_alive():
                self._status = dataclasses.replace(self._status, pending=True)
                return self._status
            self._status = RebuildStatus(
                state="running",
                phase="loading",
                version=self._status.version,
                started_at=self.clock.now(),
                rebuilds=self._status.rebuilds,
            )
            self._idle.clear()
            self._thread = threading.Thread(target=self._rebuild_loop, name="trainer-kb-rebuild", daemon=True)
            self._thread.start()
            return self._status

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Blocks until no rebuild is running or pending (tests, shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def _update(self, **changes: Any) -> None:
        with self._status_lock:
            self._status = dataclasses.replace(self._status, **changes)

    def _rebuild_loop(self) -> None:
        try:
            while True:
                self._rebuild_once()
                with self._status_lock:
                    if not self._status.pending:
                        return
                    self._status = dataclasses.replace(
                        self._status,
                        state="running",
                        phase="loading",
                        done=0,
                        total=0,
                        pending=False,
                        started_at=self.clock.now(),
                        finished_at=None,
                    )
        finally:
            self._idle.set()

    def _rebuild_once(self) -> None:
        try:
            knowledge_base = self.knowledge_base()
            assert self._embedder is not None
            if self._embedder.model_name != self.settings.embedding_model:  # the configured model wins, as in
                self._embedder = Embedder(  # KnowledgeBase.rebuild; the swap below loads it for answering too
                    self.settings.embedding_model,
                    cache_size=self.settings.query_cache_size,
                    threads=self.settings.torch_threads,
                    backend=self.settings.embedding_backend,
                )
            embedder = _SteppedEmbedder(self._embedder, lambda done, total: self._update(done=done, total=total))
            self._update(phase="embedding", error=None, problems=())
            with self.store.build_lock():
                index = build_index(self.settings, embedder)
                self._update(phase="publishing")
                self.store.publish(index)
            self._update(phase="swapping")
            knowledge_base.reload_if_stale()
            with self._status_lock:
                self._status = dataclasses.replace(
                    self._status,
                    state="done",
                    phase="",
                    version=knowledge_base.manifest.version,
                    finished_at=self.clock.now(),
                    rebuilds=self._status.rebuilds + 1,
                )
            log.info("knowledge base rebuilt by the trainer console: index %s", index.manifest.version)
        except DataError as error:
            log.warning("knowledge-base rebuild refused: the FAQ files are invalid: %s", error)
            self._update(
                state="failed",
                phase="",
                error="FAQ 文件未通过校验，索引未更新。",
                problems=tuple(problems_as_dicts(error)),
                finished_at=self.clock.now(),
            )
        except Exception as error:  # a background thread has no caller: keep the reason for the console
            log.exception("knowledge-base rebuild failed")
            self._update(state="failed", phase="", error=f"索引重建失败：{error}", finished_at=self.clock.now())
