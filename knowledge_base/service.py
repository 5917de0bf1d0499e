"""The knowledge base as the action server and the hub use it: search, decide, reload, rebuild.

A :class:`KnowledgeBase` holds one loaded index and the model that built it. Questions are answered from
whatever index is loaded; a rebuild (in a background thread or another process) publishes a complete new
index, and the reference is swapped under a lock, so a question asked during a rebuild is still answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from knowledge_base.decision import Candidate, DecisionKind, Thresholds, decide
from knowledge_base.embedder import Embedder, model_fingerprint
from knowledge_base.exceptions import IndexUnavailableError
from knowledge_base.index import FaqIndex, IndexStore, Manifest, limit_search_threads, stale_reasons
from knowledge_base.loader import load_catalog
from knowledge_base.schema import Faq
from knowledge_base.scope import ScopeGuard
from knowledge_base.settings import Settings, get_settings
from knowledge_base.text import default_normaliser

logger = logging.getLogger(__name__)

# An optional timing hook, called with ("embed" | "search", seconds) for every question: the query embedding,
# then the FAISS search. The action server sets one to feed its Prometheus histograms (actions/server.py).
QueryTimer = Callable[[str, float], None]
_query_timer: QueryTimer | None = None


def set_query_timer(timer: QueryTimer | None) -> None:
    """Installs ``timer`` for every knowledge base in this process (None removes it)."""
    global _query_timer
    _query_timer = timer


@dataclass(frozen=True)
class Decision:
    """What to do with a question: answer ``faq``, clarify between ``candidates``, or no answer."""

    kind: DecisionKind
    faq: Faq | None = None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    def candidates_as_dicts(self) -> list[dict[str, Any]]:
        """The candidates as JSON-ready dicts (a tracker slot, the handoff packet)."""
        return [{"faq_id": c.faq_id, "question": c.question, "score": round(c.score, 4)} for c in self.candidates]


@dataclass(frozen=True)
class _Loaded:
    index: FaqIndex
    embedder: Embedder
    stamp: tuple[str, int] | None


def build_index(settings: Settings, embedder: Embedder, *, progress: bool = False) -> FaqIndex:
    """Builds an index of the current data; keeps the current index's calibration if the model is the same.

    Raises:
        DataError: The FAQ files are invalid.
    """
    catalog = load_catalog(settings.data_dir)
    previous = IndexStore(settings.index_dir).read_manifest()
    thresholds, calibration = settings.thresholds, None
    if previous is not None and previous.calibration and previous.model_id == embedder.model_id:
        thresholds, calibration = previous.thresholds, previous.calibration
    return FaqIndex.build(
        catalog, embedder, kind=settings.index_kind, thresholds=thresholds, calibration=calibration, progress=progress
    )


def _ranked(loaded: _Loaded, question: str, k: int, scope: ScopeGuard) -> list[Candidate]:
    timer = _query_timer
    if timer is None:
        candidates = loaded.index.search(loaded.embedder.encode_query(question), k)
        return scope.adjust(question, candidates, loaded.index.catalog)
    started = time.perf_counter()
    vector = loaded.embedder.encode_query(question)
    embedded = time.perf_counter()
    candidates = scope.adjust(question, loaded.index.search(vector, k), loaded.index.catalog)
    timer("embed", embedded - started)
    timer("search", time.perf_counter() - embedded)
    return candidates


class KnowledgeBase:
    """Search and decisions over the current index, with reload and background rebuild."""

    def __init__(self, settings: Settings, index: FaqIndex, embedder: Embedder, stamp: tuple[str, int] | None) -> None:
        """Wraps an index already loaded; use :meth:`open` to load one from disk."""
        self.settings = settings
        self.store = IndexStore(settings.index_dir)
        self._loaded = _Loaded(index, embedder, stamp)
        self.scope = ScopeGuard.load(settings.scope_file, embedder.normaliser)
        limit_search_threads(settings.torch_threads)
        self._swap_lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        self.last_rebuild_error: BaseException | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, *, build_if_missing: bool = True) -> KnowledgeBase:
        """Loads the current index and its model; builds one first when none exists yet.

        Raises:
            IndexUnavailableError: No index exists and ``build_if_missing`` is false.
            ModelError: The embedding model cannot be loaded.
            DataError: An index had to be built and the FAQ files are invalid.
        """
        settings = settings or get_settings()
        store = IndexStore(settings.index_dir)
        if store.current_version() is None:
            if not build_if_missing:
                raise IndexUnavailableError(f"no knowledge-base index in {store.root}: run `kefu kb build`")
            logger.warning("no knowledge-base index in %s: building one now", store.root)
            embedder = Embedder(
                settings.embedding_model,
                cache_size=settings.query_cache_size,
                threads=settings.torch_threads,
                backend=settings.embedding_backend,
            )
            with store.build_lock():
                if store.current_version() is None:
                    store.publish(build_index(settings, embedder))
            stamp, index = store.stamp(), store.load()
            return cls(settings, index, embedder, stamp)
        stamp, index = store.stamp(), store.load()
        embedder = Embedder(
            index.manifest.model,
            cache_size=settings.query_cache_size,
            threads=settings.torch_threads,
            backend=settings.embedding_backend,
        )
        return cls(settings, index, embedder, stamp)

    @property
    def index(self) -> FaqIndex:
        """The index questions are answered from right now."""
        return self._loaded.index

    @property
    def manifest(self) -> Manifest:
        """The loaded index's manifest."""
        return self._loaded.index.manifest

    @property
    def thresholds(self) -> Thresholds:
        """The decision thresholds in force (the calibration stored with the index, else the defaults)."""
        return self._loaded.index.thresholds

    def faq(self, faq_id: str) -> Faq | None:
        """The FAQ with this id in the loaded index, or None."""
        return self._loaded.index.faq(faq_id)

    def search(self, question: str, k: int = 5) -> list[Candidate]:
        """The ``k`` FAQs closest to ``question``, best first."""
        if not question.strip():
            return []
        return _ranked(self._loaded, question, k, self.scope)  # one consistent (index, model) pair, even during a swap

    def decide(self, question: str) -> Decision:
        """Answer, clarify or no answer for ``question`` under the loaded index's thresholds."""
        loaded = self._loaded
        candidates = _ranked(loaded, question, 5, self.scope) if question.strip() else []
        kind, chosen = decide(candidates, loaded.index.thresholds)
        faq = loaded.index.faq(chosen[0].faq_id) if kind is DecisionKind.ANSWER else None
        return Decision(kind=kind, faq=faq, candidates=tuple(chosen))

    def is_stale(self) -> list[str]:
        """Why the loaded index no longer matches the FAQ files and configured model; empty when fresh."""
        catalog = load_catalog(self.settings.data_dir)
        configured = self._loaded.embedder
        model_id = configured.model_id
        if self.settings.embedding_model != configured.model_name:
            model_id = model_fingerprint(self.settings.embedding_model, self.settings.embedding_backend)
        return stale_reasons(
            self.manifest,
            data_hash=catalog.data_hash,
            model_id=model_id,
            index_kind=self.settings.index_kind,
            normaliser_id=default_normaliser().fingerprint,
        )

    def reload_if_stale(self) -> bool:
        """Loads the index on disk if it is not the one in memory (rebuilt or recalibrated elsewhere).

        Returns:
            Whether a new index was swapped in.
        """
        stamp = self.store.stamp()
        if stamp is None or stamp == self._loaded.stamp:
            return False
        index = self.store.load()
        embedder = self._loaded.embedder
        if index.manifest.model_id != embedder.model_id:
            embedder = Embedder(
                index.manifest.model, cache_size=self.settings.query_cache_size, threads=self.settings.torch_threads
            )
        self._swap(_Loaded(index, embedder, stamp))
        logger.info("knowledge base reloaded: index %s", index.manifest.version)
        return True

    def rebuild(self, *, progress: bool = False) -> Manifest:
        """Builds an index of the current FAQ files, publishes it and swaps it in.

        Raises:
            DataError: The FAQ files are invalid (the loaded index stays in use).
            ModelError: The configured model cannot be loaded.
        """
        with self._rebuild_lock:
            embedder = self._loaded.embedder
            if self.settings.embedding_model != embedder.model_name:
                embedder = Embedder(
                    self.settings.embedding_model,
                    cache_size=self.settings.query_cache_size,
                    threads=self.settings.torch_threads,
                    backend=self.settings.embedding_backend,
                )
            with self.store.build_lock():
                index = build_index(self.settings, embedder, progress=progress)
                self.store.publish(index)
                stamp = self.store.stamp()
            self._swap(_Loaded(index, embedder, stamp))
            logger.info("knowledge base rebuilt: index %s", index.manifest.version)
            return index.manifest

    def rebuild_in_background(self) -> threading.Thread:
        """Starts :meth:`rebuild` in a daemon thread and returns it; a failure lands in ``last_rebuild_error``."""

        def run() -> None:
            try:
                self.rebuild()
                self.last_rebuild_error = None
            except Exception as error:  # logged and kept: a background thread has no caller to raise to
                logger.exception("knowledge-base rebuild failed")
                self.last_rebuild_error = error

        thread = threading.Thread(target=run, name="kb-rebuild", daemon=True)
        thread.start()
        return thread

    def _swap(self, loaded: _Loaded) -> None:
        with self._swap_lock:
            self._loaded = loaded
