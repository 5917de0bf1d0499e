"""The embedder: prefix convention, unit float32 vectors, the query cache, model fingerprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embedder import QUERY_PREFIX, Embedder, model_fingerprint
from knowledge_base.exceptions import ModelError


@pytest.fixture(scope="module")
def embedder(tiny_model: Path) -> Embedder:
    return Embedder(str(tiny_model), cache_size=2)


def test_encode_batch_returns_unit_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.encode(["怎么提高额度", "逾期会怎么样", "额度"])

    assert vectors.dtype == np.float32
    assert vectors.shape == (3, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encode_query_same_text_comes_from_the_cache(embedder: Embedder) -> None:
    first = embedder.encode_query("怎么提高额度")
    second = embedder.encode_query("怎么提高额度")

    assert first is second
    assert not first.flags.writeable


def test_encode_query_cache_keeps_only_the_most_recent(embedder: Embedder) -> None:
    first = embedder.encode_query("问题一")
    embedder.encode_query("问题二")
    embedder.encode_query("问题三")

    assert embedder.encode_query("问题一") is not first


def test_model_input_without_query_prompt_gets_the_e5_prefix(embedder: Embedder) -> None:
    assert embedder.model_input("額度") == QUERY_PREFIX + "额度"


def test_encode_query_variants_of_a_question_share_one_embedding(embedder: Embedder) -> None:
    assert embedder.encode_query("額度怎麼提高") is embedder.encode_query("额度怎么提高")


def test_model_input_with_query_prompt_uses_it_once(tiny_model: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model), device="cpu", prompts={"query": "query: "})
    embedder = Embedder(str(tiny_model), model_object=model)

    assert embedder.model_input("额度") == "query: 额度"
    assert np.allclose(embedder.encode(["额度"])[0], Embedder(str(tiny_model)).encode(["额度"])[0], atol=1e-6)


def test_model_fingerprint_changes_with_the_weights(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0" * 100)
    before = model_fingerprint(str(folder))
    (folder / "weights.bin").write_bytes(b"\1" * 100)

    assert model_fingerprint(str(folder)) != before
    assert before.startswith("model@")


def test_model_fingerprint_hub_name_is_the_name() -> None:
    assert model_fingerprint("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"


def test_embedder_missing_model_fails_with_the_setting_name(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="KEFU_EMBEDDING_MODEL"):
        Embedder(str(tmp_path / "no-such-model"))


@pytest.mark.parametrize(
    ("value", "allowed"), [(None, False), ("1", False), ("true", False), ("0", True), ("false", True)]
)
def test_hub_downloads_allowed_only_when_offline_mode_is_switched_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, allowed: bool
) -> None:
    from knowledge_base.embedder import hub_downloads_allowed

    if value is None:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert hub_downloads_allowed() is allowed
