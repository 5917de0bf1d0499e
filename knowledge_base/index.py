"""The FAQ vector index: build, search, persist, version and swap.

Every FAQ's canonical question and paraphrases are embedded and stored in one FAISS index over unit vectors,
so inner product is cosine similarity. An FAQ's score for a question is the best score of its wordings.
``flat`` is exact (fine up to ~100k vectors); ``hnsw`` and ``ivf`` are approximate, for larger corpora.

On disk (``KEFU_KB_INDEX_DIR``)::

    kb_index/
      current -> 20261129T181500-3f2a9c1e-5b0d7e11    symlink, replaced atomically
      20261129T181500-3f2a9c1e-5b0d7e11/
        manifest.json   model id, data hash, counts, thresholds, calibration, build time
        vectors.faiss   the FAISS index
        rows.json       the FAQ id of each vector
        faqs.json       the FAQs the index was built from (answers come from here, so they match the vectors)

A build writes a new version folder under a temporary name, renames it into place, then points ``current`` at
it with one ``rename(2)``: a reader sees the old complete index or the new complete one, never a mix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge_base.decision import Candidate, Thresholds
from knowledge_base.embedder import Embedder, Vectors
from knowledge_base.exceptions import IndexIncompatibleError, IndexUnavailableError
from knowledge_base.loader import FaqCatalog
from knowledge_base.schema import Faq
from knowledge_base.settings import IndexKind

FORMAT_VERSION = 1
CURRENT = "current"
KEEP_VERSIONS = 3  # the current one and two before it: a reader that just resolved `current` still finds its folder
HNSW_NEIGHBOURS = 32  # FAISS's usual M for a few hundred thousand vectors
HNSW_EF_SEARCH = 128  # recall ≈ 1.0 at this size; costs well under a millisecond
FETCH_PER_RESULT = 10  # vectors fetched per FAQ asked for: an FAQ has ≤ 8 wordings, so the top k FAQs are exact


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and how its scores are to be read."""

    version: str
    model_id: str
    model: str
    data_hash: str
    index_kind: str
    dimension: int
    vector_count: int
    faq_count: int
    thresholds: Thresholds
    calibration: dict[str, Any] | None
    built_at: str
    build_seconds: float
    normaliser_id: str = ""
    format: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["thresholds"] = self.thresholds.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Reads a manifest written by :meth:`to_dict`."""
        fields = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in fields}
        values["thresholds"] = Thresholds.from_dict(data["thresholds"])
        return cls(**values)


def stale_reasons(
    manifest: Manifest | None, *, data_hash: str, model_id: str, index_kind: IndexKind, normaliser_id: str
) -> list[str]:
    """Why an index no longer matches the data, model and index kind; empty when it is fresh."""
    if manifest is None:
        return ["no index has been built"]
    reasons = []
    if manifest.format != FORMAT_VERSION:
        reasons.append(f"index format {manifest.format} is not the current {FORMAT_VERSION}")
    if manifest.data_hash != data_hash:
        reasons.append("the FAQ data changed")
    if manifest.model_id != model_id:
        reasons.append(f"the embedding model changed ({manifest.model_id} → {model_id})")
    if manifest.normaliser_id != normaliser_id:
        reasons.append("the text normalisation (misspellings dictionary) changed")
    if manifest.index_kind != index_kind.value:
        reasons.append(f"the index kind changed ({manifest.index_kind} → {index_kind.value})")
    return reasons


class FaqIndex:
    """An immutable in-memory index: vectors, the FAQ of each vector, and the FAQs themselves."""

    def __init__(self, manifest: Manifest, catalog: FaqCatalog, vectors: Any, rows: list[str]) -> None:
        self.manifest = manifest
        self.catalog = catalog
        self._vectors = vectors
        self._rows = rows

    @classmethod
    def build(
        cls,
        catalog: FaqCatalog,
        embedder: Embedder,
        *,
        kind: IndexKind = IndexKind.FLAT,
        thresholds: Thresholds,
        calibration: dict[str, Any] | None = None,
        progress: bool = False,
    ) -> FaqIndex:
        """Embeds every wording of every FAQ and indexes the vectors.

        Args:
            catalog: The FAQs.
            embedder: The model that will also embed the questions asked.
            kind: Exact or approximate index.
            thresholds: Decision thresholds to store with the index.
            calibration: How the thresholds were obtained (kept in the manifest).
            progress: Show a progress bar while embedding.
        """
        started = time.monotonic()
        rows = [faq.id for faq in catalog for _ in faq.texts]
        texts = [text for faq in catalog for text in faq.texts]
        vectors = embedder.encode(texts, progress=progress)
        faiss_index = _new_faiss_index(kind, embedder.dimension, len(texts))
        if not faiss_index.is_trained:
            faiss_index.train(vectors)
        faiss_index.add(vectors)
        now = datetime.datetime.now(datetime.timezone.utc)
        model_hash = hashlib_short(embedder.model_id)
        manifest = Manifest(
            version=f"{now:%Y%m%dT%H%M%S%f}-{catalog.data_hash[:8]}-{model_hash}-{uuid.uuid4().hex[:4]}",
            model_id=embedder.model_id,
            model=embedder.model_name,
            data_hash=catalog.data_hash,
            index_kind=kind.value,
            dimension=embedder.dimension,
            vector_count=len(texts),
            faq_count=len(catalog),
            thresholds=thresholds,
            calibration=calibration,
            built_at=now.isoformat(timespec="seconds"),
            build_seconds=round(time.monotonic() - started, 3),
            normaliser_id=embedder.normaliser.fingerprint,
        )
        return cls(manifest, catalog, faiss_index, rows)

    def with_manifest(self, manifest: Manifest) -> FaqIndex:
        """The same vectors under another manifest (new thresholds after calibration)."""
        return FaqIndex(manifest, self.catalog, self._vectors, self._rows)

    @property
    def thresholds(self) -> Thresholds:
        """The decision thresholds stored with this index."""
        return self.manifest.thresholds

    def faq(self, faq_id: str) -> Faq | None:
        """The FAQ with this id as the index knows it, or None."""
        return self.catalog.get(faq_id)

    def search(self, vector: Vectors, k: int = 5) -> list[Candidate]:
        """The ``k`` FAQs closest to a unit query vector, best first; each scored by its best wording."""
        if k <= 0 or not self._rows:
            return []
        if vector.shape[-1] != self.manifest.dimension:
            raise IndexIncompatibleError(
                f"a {vector.shape[-1]}-dimensional question vector cannot search an index of "
                f"{self.manifest.dimension}-dimensional vectors (built by {self.manifest.model_id})"
            )
        fetch = min(len(self._rows), max(k * FETCH_PER_RESULT, 50))
        scores, positions = self._vectors.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), fetch)
        best: dict[str, float] = {}
        for score, position in zip(scores[0], positions[0], strict=True):
            if position < 0:
                continue
            faq_id = self._rows[position]
            if faq_id not in best:  # results arrive best first, so the first score is the FAQ's best
                best[faq_id] = float(score)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:k]
        return [Candidate(faq_id, self.catalog.get(faq_id).question, score) for faq_id, score in ranked]  # type: ignore[union-attr]

    def save(self, folder: Path) -> None:
        """Writes the index files into ``folder`` (which must exist)."""
        faiss.write_index(self._vectors, str(folder / "vectors.faiss"))
        _write_json(folder / "rows.json", self._rows)
        _write_json(folder / "faqs.json", [faq.to_dict() for faq in self.catalog])
        _write_json(folder / "manifest.json", self.manifest.to_dict())

    @classmethod
    def load(cls, folder: Path) -> FaqIndex:
        """Reads an index written by :meth:`save`.

        Raises:
            IndexUnavailableError: The folder is missing or incomplete.
            IndexIncompatibleError: It was written in another format.
        """
        try:
            manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
            if manifest.format != FORMAT_VERSION:
                raise IndexIncompatibleError(f"index {folder} has format {manifest.format}, not {FORMAT_VERSION}")
            catalog = FaqCatalog(
                tuple(Faq.from_dict(item) for item in json.loads((folder / "faqs.json").read_text("utf-8")))
            )
            rows = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
            vectors = faiss.read_index(str(folder / "vectors.faiss"))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise IndexUnavailableError(f"cannot read the index in {folder}: {error}") from error
        if isinstance(vectors, faiss.IndexHNSWFlat):
            vectors.hnsw.efSearch = HNSW_EF_SEARCH
        elif isinstance(vectors, faiss.IndexIVF):
            vectors.nprobe = max(1, vectors.nlist // 4)
        return cls(manifest, catalog, vectors, rows)


class IndexStore:
    """The index folder: versioned indexes and the ``current`` pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current_version(self) -> str | None:
        """The version ``current`` points to, or None before the first build."""
        try:
            return os.readlink(self.root / CURRENT)
        except (FileNotFoundError, OSError):
            return None

    def stamp(self) -> tuple[str, int] | None:
        """Changes whenever ``current`` moves or its manifest is rewritten; cheap enough to poll."""
        version = self.current_version()
        if version is None:
            return None
        try:
            return version, (self.root / version / "manifest.json").stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def read_manifest(self) -> Manifest | None:
        """The current index's manifest, or None when there is none."""
        version = self.current_version()
        if version is None:
            return None
        try:
            return Manifest.from_dict(json.loads((self.root / version / "manifest.json").read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load(self) -> FaqIndex:
        """Loads the current index.

        Raises:
            IndexUnavailableError: No index has been built yet, or it cannot be read.
        """
        for _ in range(3):  # `current` may move between reading it and opening its folder
            version = self.current_version()
            if version is None:
                raise IndexUnavailableError(f"no knowledge-base index in {self.root}: run `kefu kb build`")
            try:
                return FaqIndex.load(self.root / version)
            except IndexIncompatibleError:
                raise
            except IndexUnavailableError:
                if self.current_version() == version:
                    raise
        raise IndexUnavailableError(f"the index in {self.root} kept changing while it was being read")

    def publish(self, index: FaqIndex) -> str:
        """Saves ``index`` as a new version and makes it current atomically; returns the version."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = index.manifest.version
        staging = self.root / f".staging-{version}"
        staging.mkdir()
        try:
            index.save(staging)
            staging.rename(self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._point_current_at(version)
        self._prune()
        return version

    def write_manifest(self, manifest: Manifest) -> None:
        """Replaces the manifest of the version it names (thresholds after calibration), atomically."""
        folder = self.root / manifest.version
        if not folder.is_dir():
            raise IndexUnavailableError(f"index version {manifest.version} is not in {self.root}")
        _write_json(folder / "manifest.json", manifest.to_dict())

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """Held while building, so two processes never build into the same folder at once."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".build.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def versions(self) -> list[str]:
        """Every complete version folder, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and (p / "manifest.json").exists()
        )

    def _point_current_at(self, version: str) -> None:
        link = self.root / f".{CURRENT}-{uuid.uuid4().hex}"
        os.symlink(version, link)
        os.replace(link, self.root / CURRENT)

    def _prune(self) -> None:
        current = self.current_version()
        for version in self.versions()[:-KEEP_VERSIONS]:
            if version != current:
                shutil.rmtree(self.root / version, ignore_errors=True)


def limit_search_threads(threads: int) -> None:
    """Caps FAISS's OpenMP threads for this process.

    One question is one query vector: more threads do not make it faster, and on a two-core machine shared with
    Rasa they spin against each other (HNSW search p95 went from 2 ms to 13 ms with two threads under load).
    """
    faiss.omp_set_num_threads(max(1, threads))


def hashlib_short(text: str) -> str:
    """Eight hex digits identifying ``text`` (a model id) in a version name."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _new_faiss_index(kind: IndexKind, dimension: int, count: int) -> Any:
    if kind is IndexKind.HNSW:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index
    if kind is IndexKind.IVF:
        lists = max(1, min(int(math.sqrt(count)), count // 39))  # FAISS wants ≥ 39 training points per list
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = max(1, lists // 4)
        return index
    return faiss.IndexFlatIP(dimension)


def _write_json(path: Path, data: object) -> None:
    """Writes JSON atomically: to a temporary file, then renamed over ``path``."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)
