"""Runs an ONNX export of a sentence-transformers encoder (see :mod:`~knowledge_base.embedding.onnx_export`).

:class:`OnnxEncoder` answers the part of ``SentenceTransformer``'s interface that
:class:`~knowledge_base.embedder.Embedder` uses — ``encode`` with prompts, ``prompts``, the embedding dimension
— with ONNX Runtime: tokenise with the exported tokenizer, run the graph, pool (mean over real tokens, or the
first token), normalise to unit length.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge_base.embedding.exceptions import OnnxModelError
from knowledge_base.embedding.onnx_export import FLOAT_FILE, INT8_FILE, ONNX_FOLDER, is_current, read_marker

VARIANT_FILES = {"float32": FLOAT_FILE, "int8": INT8_FILE}


class OnnxEncoder:
    """An exported encoder, with its tokenizer and pooling; thread-safe (ONNX Runtime sessions are)."""

    def __init__(
        self, onnx_dir: Path, *, file: str, description: dict[str, Any] | None = None, threads: int | None = None
    ) -> None:
        """Loads ``onnx_dir/file`` and the tokenizer beside it.

        Args:
            onnx_dir: The ``onnx`` folder of an export.
            file: Which graph: ``model.onnx`` (float32) or ``model_qint8.onnx`` (int8).
            description: The export's description; by default read from its marker file.
            threads: Intra-op threads (``KEFU_KB_TORCH_THREADS``); None lets ONNX Runtime choose.

        Raises:
            OnnxModelError: A file is missing or unreadable.
        """
        import onnxruntime
        from transformers import AutoTokenizer

        marker = description if description is not None else read_marker(onnx_dir.parent)
        if marker is None:
            raise OnnxModelError(f"{onnx_dir} has no ONNX export description; run the ONNX export")
        self.description = marker
        self.prompts: dict[str, str] = dict(marker.get("prompts") or {})
        self.default_prompt_name: str | None = marker.get("default_prompt_name")
        self._inputs: list[str] = list(marker["inputs"])
        self._pooling: str = marker["pooling"]
        self._max_length = int(marker["max_seq_length"])
        self._dimension = int(marker["dimension"])
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Threads that spin while waiting for work steal the core Rasa and the action server need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = onnxruntime.InferenceSession(
                str(onnx_dir / file), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = AutoTokenizer.from_pretrained(str(onnx_dir), local_files_only=True)
        except Exception as error:  # onnxruntime and transformers raise their own types for bad files
            raise OnnxModelError(f"cannot load the ONNX encoder {onnx_dir / file}: {error}") from error

    def get_embedding_dimension(self) -> int:
        """The length of an embedding."""
        return self._dimension

    def encode(
        self,
        sentences: Sequence[str],
        *,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = True,
    ) -> npt.NDArray[np.float32]:
        """Embeds ``sentences`` (with a prompt, as ``SentenceTransformer.encode`` does) as unit-length rows.

        ``convert_to_numpy`` and ``normalize_embeddings`` are accepted for compatibility: the result is always
        a normalised NumPy array.
        """
        from tqdm import tqdm

        if prompt is None:
            name = prompt_name if prompt_name is not None else self.default_prompt_name
            prompt = self.prompts.get(name, "") if name else ""
        texts = [prompt + sentence for sentence in sentences]
        order = np.argsort([-len(text) for text in texts], kind="stable")  # similar lengths pad less
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not show_progress_bar, leave=False):
            rows = order[start : start + batch_size]
            vectors[rows] = self._encode_batch([texts[row] for row in rows])
        return vectors

    def _encode_batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        encoded = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="np"
        )
        feed = {name: encoded[name].astype(np.int64) for name in self._inputs}
        tokens = self._session.run(None, feed)[0]
        if self._pooling == "cls":
            pooled = tokens[:, 0, :]
        else:
            mask = encoded["attention_mask"][..., None].astype(np.float32)
            pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)


def load_onnx_encoder(folder: Path, variant: str, threads: int | None) -> OnnxEncoder:
    """The ``variant`` (``float32`` or ``int8``) ONNX encoder of the model folder ``folder``.

    Raises:
        OnnxModelError: The folder has no export, or an export of other weights than the folder's current ones.
    """
    if not is_current(folder):
        raise OnnxModelError(
            f"{folder} has no current ONNX export (run `python -m knowledge_base.embedding.onnx_export {folder}`,"
            " or set KEFU_KB_EMBEDDING_BACKEND=torch)"
        )
    return OnnxEncoder(folder / ONNX_FOLDER, file=VARIANT_FILES[variant], threads=threads)
