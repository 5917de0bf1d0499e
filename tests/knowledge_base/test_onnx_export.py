"""The ONNX export and its runtime, on a tiny BERT sentence-transformers folder built on the spot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embedder import ONNX_FLOAT, ONNX_INT8, TORCH, Embedder, model_fingerprint, resolve_backend
from knowledge_base.embedding.exceptions import ExportError, OnnxModelError
from knowledge_base.embedding.onnx_encoder import load_onnx_encoder
from knowledge_base.embedding.onnx_export import (
    INT8_FILE,
    MARKER_FILE,
    ONNX_FOLDER,
    export,
    is_current,
    main,
    read_marker,
    weights_fingerprint,
)
from knowledge_base.exceptions import ModelError

SENTENCES = ["怎么提高额度", "逾期会上征信吗", "借款多久到账", "额度最高是多少", "今天天气好吗"]


def build_tiny_bert(folder: Path, *, pooling: str = "mean", seed: int = 3) -> Path:
    """A 2-layer BERT with a character tokenizer, saved as Transformer → Pooling → Normalize."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    characters = sorted(set("".join(SENTENCES) + "query:？ 提前还款手续费"))
    vocabulary = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])}
    for character in characters:
        vocabulary.setdefault(character, len(vocabulary))
    backend = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    hf_folder = folder.parent / f"{folder.name}-hf"
    BertModel(config).save_pretrained(str(hf_folder))
    tokenizer.save_pretrained(str(hf_folder))
    transformer = Transformer(str(hf_folder), max_seq_length=64)
    model = SentenceTransformer(
        modules=[transformer, Pooling(32, pooling_mode=pooling), Normalize()],
        prompts={"query": "query: "},
        default_prompt_name="query",
        device="cpu",
    )
    model.save(str(folder))
    shutil.rmtree(hf_folder)
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_bert(tmp_path_factory.mktemp("onnx") / "tiny-bert")
    result = export(folder)
    assert result.action == "exported"
    return folder


def torch_vectors(folder: Path, sentences: list[str]) -> np.ndarray:
    return Embedder(str(folder), cache_size=0, backend=TORCH).encode(sentences)


def test_float_export_reproduces_pytorch_and_int8_stays_close(exported: Path) -> None:
    reference = torch_vectors(exported, SENTENCES)

    float_vectors = Embedder(str(exported), cache_size=0, backend=ONNX_FLOAT).encode(SENTENCES)
    int8_vectors = Embedder(str(exported), cache_size=0, backend=ONNX_INT8).encode(SENTENCES)

    assert np.einsum("ij,ij->i", reference, float_vectors).min() >= 0.9999
    assert np.einsum("ij,ij->i", reference, int8_vectors).min() >= 0.9
    assert np.allclose(np.linalg.norm(int8_vectors, axis=1), 1.0, atol=1e-5)
    marker = read_marker(exported)
    assert marker is not None and marker["pooling"] == "mean" and marker["float_cosine"] >= 0.9999


def test_batches_of_mixed_lengths_keep_their_order(exported: Path) -> None:
    embedder = Embedder(str(exported), cache_size=0, backend=ONNX_FLOAT)
    one_by_one = np.vstack([embedder.encode([sentence]) for sentence in SENTENCES])

    batched = embedder.encode(SENTENCES, batch_size=2)

    assert np.allclose(one_by_one, batched, atol=1e-5)


def test_auto_picks_int8_for_a_current_export_and_the_id_says_so(exported: Path) -> None:
    embedder = Embedder(str(exported), cache_size=0)

    assert embedder.backend == ONNX_INT8 == resolve_backend(str(exported))
    assert embedder.model_id.endswith("+onnx-int8")
    assert model_fingerprint(str(exported), TORCH) == embedder.model_id.removesuffix("+onnx-int8")


def test_export_is_skipped_when_current(exported: Path) -> None:
    before = (exported / ONNX_FOLDER / INT8_FILE).stat().st_mtime_ns

    result = export(exported)

    assert result.action == "skipped"
    assert (exported / ONNX_FOLDER / INT8_FILE).stat().st_mtime_ns == before


def test_changed_weights_make_the_export_stale_and_auto_falls_back_to_torch(tmp_path: Path) -> None:
    folder = build_tiny_bert(tmp_path / "model")
    export(folder)
    assert is_current(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(build_tiny_bert(tmp_path / "other", seed=11).joinpath("model.safetensors").read_bytes())

    assert not is_current(folder)
    assert resolve_backend(str(folder)) == TORCH
    with pytest.raises(ModelError, match="no current ONNX export"):
        Embedder(str(folder), cache_size=0, backend=ONNX_INT8)
    assert export(folder).action == "exported"
    assert is_current(folder)


def test_the_model_id_ignores_the_export_for_torch(tmp_path: Path) -> None:
    folder = build_tiny_bert(tmp_path / "model")
    before = model_fingerprint(str(folder), TORCH)
    fingerprint = weights_fingerprint(folder)

    export(folder)

    assert model_fingerprint(str(folder), TORCH) == before
    assert weights_fingerprint(folder) == fingerprint


def test_a_torn_marker_is_not_current_and_loading_says_how_to_fix_it(tmp_path: Path) -> None:
    folder = build_tiny_bert(tmp_path / "model")
    export(folder)
    (folder / ONNX_FOLDER / MARKER_FILE).write_text("{not json", encoding="utf-8")

    assert not is_current(folder)
    with pytest.raises(OnnxModelError, match="onnx_export"):
        load_onnx_encoder(folder, "int8", threads=1)


def test_cls_pooling_is_reproduced(tmp_path: Path) -> None:
    folder = build_tiny_bert(tmp_path / "cls", pooling="cls")
    export(folder)

    reference = torch_vectors(folder, SENTENCES)
    vectors = Embedder(str(folder), cache_size=0, backend=ONNX_FLOAT).encode(SENTENCES)

    assert json.loads((folder / ONNX_FOLDER / MARKER_FILE).read_text())["pooling"] == "cls"
    assert np.einsum("ij,ij->i", reference, vectors).min() >= 0.9999


def test_a_model_without_a_transformer_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "static"
    shutil.copytree(tiny_model, folder)

    with pytest.raises(ExportError, match="Transformer"):
        export(folder)
    assert not (folder / ONNX_FOLDER).exists()


def test_the_command_reports_an_unloadable_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()

    status = main([str(tmp_path / "empty")])

    assert status == 1
    assert "cannot load" in capsys.readouterr().err


def test_fine_tuning_needs_the_torch_backend(exported: Path) -> None:
    embedder = Embedder(str(exported), cache_size=0, backend=ONNX_INT8)

    with pytest.raises(ModelError, match="backend='torch'"):
        _ = embedder.model


def test_an_unknown_backend_is_refused(exported: Path) -> None:
    with pytest.raises(ModelError, match="unknown embedding backend"):
        Embedder(str(exported), cache_size=0, backend="tensorrt")
