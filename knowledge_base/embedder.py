"""Sentence embeddings for questions: one model, one prefix convention, unit-length float32 vectors.

E5 models expect a role prefix. FAQ matching compares a question with questions, so both sides get the same
``"query: "`` prefix (E5's convention for symmetric tasks): through the folder's registered ``"query"`` prompt
when it has one (the converted multilingual-e5-small does, see :mod:`knowledge_base.embedding`), otherwise
written in front of the text here — never both. Every text is first folded by the
:class:`~knowledge_base.text.Normaliser` (Traditional characters, full-width forms, common misspellings), so the
index, the bot and ``kefu kb pairs`` all embed exactly the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge_base.exceptions import ModelError
from knowledge_base.text import Normaliser, default_normaliser

QUERY_PROMPT_NAME = "query"
QUERY_PREFIX = "query: "
BATCH_SIZE = 32  # e5-small on two CPU cores: larger batches are no faster and use more memory
_SMALL_FILE_BYTES = 8 << 20  # hashed whole; larger weight files are sampled (see model_fingerprint)
_SAMPLES = 16
_SAMPLE_BYTES = 256 << 10

Vectors = npt.NDArray[np.float32]


TORCH = "torch"
ONNX_FLOAT = "onnx"
ONNX_INT8 = "onnx-int8"
AUTO = "auto"
BACKENDS = (AUTO, TORCH, ONNX_FLOAT, ONNX_INT8)
ONNX_VARIANTS = {ONNX_FLOAT: "float32", ONNX_INT8: "int8"}


def resolve_backend(model: str, backend: str = AUTO) -> str:
    """The backend that runs ``model``: ``auto`` takes the int8 ONNX export when the folder has a current one.

    ``torch`` runs the sentence-transformers model itself (any name or folder, and what fine-tuning needs);
    ``onnx`` and ``onnx-int8`` run the folder's ONNX export (:mod:`knowledge_base.embedding.onnx_export`).
    """
    if backend != AUTO:
        return backend
    from knowledge_base.embedding.onnx_export import is_current

    folder = Path(model)
    if folder.is_dir() and is_current(folder) and importlib.util.find_spec("onnxruntime") is not None:
        return ONNX_INT8
    return TORCH


def model_fingerprint(model: str, backend: str = TORCH) -> str:
    """A stable id of a model as a backend runs it: folder name and a hash of its files, or the hub name.

    Small files are hashed whole, large weight files by size and 16 evenly spaced samples, so the id is cheap
    to compute at every start and still changes when a model is fine-tuned or re-converted differently. The
    ONNX export is derived from the weights and left out of the hash; an ONNX backend adds its name
    (``…+onnx-int8``), because its vectors differ slightly from PyTorch's and an index must not mix them.
    """
    resolved = resolve_backend(model, backend)
    suffix = "" if resolved == TORCH else f"+{resolved}"
    folder = Path(model)
    if not folder.is_dir():
        return model + suffix
    digest = hashlib.sha256()
    for file in sorted(path for path in folder.rglob("*") if path.is_file() and _is_model_file(folder, path)):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(folder).as_posix()}\0{size}\0".encode())
        with file.open("rb") as handle:
            if size <= _SMALL_FILE_BYTES:
                digest.update(handle.read())
                continue
            for sample in range(_SAMPLES):
                handle.seek((size - _SAMPLE_BYTES) * sample // (_SAMPLES - 1))
                digest.update(handle.read(_SAMPLE_BYTES))
    return f"{folder.resolve().name}@{digest.hexdigest()[:16]}{suffix}"


def _is_model_file(folder: Path, path: Path) -> bool:
    from knowledge_base.embedding.onnx_export import ONNX_FOLDER, STAGING_PREFIX

    first = path.relative_to(folder).parts[0]
    return first != ONNX_FOLDER and not first.startswith(STAGING_PREFIX)


class Embedder:
    """A sentence encoder (PyTorch or ONNX) with the prefix convention, normalised float32 output and a cache."""

    def __init__(
        self,
        model: str,
        *,
        cache_size: int = 1024,
        model_object: Any = None,
        normaliser: Normaliser | None = None,
        threads: int | None = None,
        backend: str = AUTO,
    ) -> None:
        """Loads the model from a local folder or the local cache (never downloads).

        Args:
            model: A sentence-transformers folder, or a model name already in the local cache.
            cache_size: How many recent single-question embeddings to keep.
            model_object: An already loaded SentenceTransformer (fine-tuning passes its own).
            normaliser: How texts are folded before embedding (default: the project's).
            threads: CPU threads for the model (``KEFU_KB_TORCH_THREADS``); None leaves the library's default.
            backend: ``auto``, ``torch``, ``onnx`` or ``onnx-int8`` (``KEFU_KB_EMBEDDING_BACKEND``, see
                :func:`resolve_backend`); a ``model_object`` is always run by PyTorch.

        Raises:
            ModelError: The model cannot be loaded.
        """
        if backend not in BACKENDS:
            raise ModelError(f"unknown embedding backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        self.model_name = model
        self.normaliser = normaliser or default_normaliser()
        self.backend = TORCH if model_object is not None else resolve_backend(model, backend)
        self.model_id = model_fingerprint(model, self.backend)
        if model_object is not None:
            self._model = model_object
        elif self.backend == TORCH:
            if threads is not None:
                import torch

                torch.set_num_threads(threads)
            self._model = _load(model)
        else:
            self._model = _load_onnx(model, self.backend, threads)
        prompts = getattr(self._model, "prompts", None) or {}
        if prompts.get(QUERY_PROMPT_NAME):
            self._prefix, self._prompt_options = "", {"prompt_name": QUERY_PROMPT_NAME}
        else:  # also switches off any other default prompt the folder has
            self._prefix, self._prompt_options = QUERY_PREFIX, {"prompt": ""}
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()  # torch modules are not safe to call from two threads at once
        # sentence-transformers 5 renamed get_sentence_embedding_dimension; older releases only have that name
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        dimension = get_dimension() if get_dimension else self._model.get_sentence_embedding_dimension()
        self.dimension = int(dimension) if dimension else int(self.encode(["维度"]).shape[1])

    def model_input(self, text: str) -> str:
        """Exactly the string the model reads for ``text``, prefix included (what fine-tuning trains on)."""
        prompt = self._prompt_options.get("prompt_name")
        return (self._model.prompts[prompt] if prompt else self._prefix) + self.normaliser(text)

    @property
    def model(self) -> Any:
        """The underlying SentenceTransformer (fine-tuning trains it in place; PyTorch backend only)."""
        if self.backend != TORCH:
            raise ModelError(f"the {self.backend} backend has no trainable model: use backend='torch'")
        return self._model

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE, progress: bool = False) -> Vectors:
        """Embeds texts as rows of unit length.

        Args:
            texts: Questions, in any number.
            batch_size: Texts per forward pass.
            progress: Show a progress bar (long runs in the CLI).

        Returns:
            A ``(len(texts), dimension)`` float32 array.
        """
        if not texts:
            return np.zeros((0, getattr(self, "dimension", 0)), dtype=np.float32)
        with self._encode_lock:
            vectors = self._model.encode(
                [self._prefix + self.normaliser(text) for text in texts],
                **self._prompt_options,
                batch_size=batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> Vectors:
        """Embeds one question, from the cache when it was asked recently; returns a read-only vector."""
        key = self.normaliser(text)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        vector = self.encode([text])[0]
        vector.setflags(write=False)
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def clear_cache(self) -> None:
        """Forgets cached question embeddings (after the model's weights change)."""
        with self._lock:
            self._cache.clear()


def hub_downloads_allowed() -> bool:
    """Whether a model *name* may be fetched from a model hub: only when ``HF_HUB_OFFLINE`` is set to 0/false.

    The default model is a local folder and never needs the network; a deployment that can reach a hub and
    names a hub model sets ``HF_HUB_OFFLINE=0`` on purpose.
    """
    return os.environ.get("HF_HUB_OFFLINE", "1").strip().lower() in {"0", "false", "no", "off"}


def _load_onnx(model: str, backend: str, threads: int | None) -> Any:
    from knowledge_base.embedding.exceptions import EmbeddingError
    from knowledge_base.embedding.onnx_encoder import load_onnx_encoder

    try:
        return load_onnx_encoder(Path(model), ONNX_VARIANTS[backend], threads)
    except (EmbeddingError, ImportError) as error:
        raise ModelError(f"cannot load the {backend} encoder of {model!r}: {error}") from error


def _load(model: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:  # pragma: no cover - a dependency of the project
        raise ModelError(f"sentence-transformers is not installed: {error}") from error
    try:
        return SentenceTransformer(model, device="cpu", local_files_only=not hub_downloads_allowed())
    except Exception as error:  # the library raises OSError, ValueError, HF errors … for a bad folder
        raise ModelError(
            f"cannot load the embedding model {model!r} (set KEFU_EMBEDDING_MODEL, or run "
            f"`make embedding-model`): {type(error).__name__}: {error}"
        ) from error
