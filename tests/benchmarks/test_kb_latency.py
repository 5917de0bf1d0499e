"""benchmarks/kb_latency.py: the synthetic corpus, the figures, the report files, and a quick run end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.kb_latency import (
    KINDS,
    PROJECT_ROOT,
    QUICK_QUERIES,
    QUICK_VECTORS,
    SYNTHETIC_FAQ_WORDINGS,
    VECTORS,
    Options,
    build_corpus,
    cpu_model,
    decorate,
    markdown,
    options_from,
    run,
    run_meta,
    spread,
    summary_ms,
    synthetic_variants,
    write_report,
)
from knowledge_base.loader import load_catalog
from knowledge_base.schema import text_key
from knowledge_base.settings import Settings
from tests.knowledge_base.tiny import build_tiny_model, tiny_settings

WORDINGS = [("怎么提高额度？", "limit-001"), ("额度能提升吗", "limit-001"), ("逾期会怎么样？", "overdue-001")]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def settings(tmp_path: Path, tiny_model: Path) -> Settings:
    return tiny_settings(tmp_path, tiny_model)


def test_cpu_model_reads_the_first_model_name() -> None:
    cpuinfo = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n\nprocessor\t: 1\nmodel name\t: Other\n"
    assert cpu_model(cpuinfo) == "Intel(R) Xeon(R) Processor"


def test_cpu_model_without_model_name_is_unknown() -> None:
    assert cpu_model("processor\t: 0\nHardware\t: BCM2835\n") == "unknown"


def test_run_meta_names_machine_commit_and_exact_command() -> None:
    meta = run_meta("benchmarks.kb_latency", ["--quick", "--out", "my reports"])
    assert meta["command"] == "python -m benchmarks.kb_latency --quick --out 'my reports'"
    assert meta["machine"]["nproc"] >= 1 and meta["machine"]["cpu"]
    assert meta["date"].endswith("+00:00") and meta["commit"]


def test_summary_ms_interpolates_percentiles_in_milliseconds() -> None:
    summary = summary_ms([0.004, 0.001, 0.003, 0.002])
    assert summary["count"] == 4
    assert summary["p50_ms"] == 2.5
    assert summary["p95_ms"] == pytest.approx(3.85)
    assert summary["p99_ms"] == pytest.approx(3.97)
    assert summary["max_ms"] == 4.0 and summary["mean_ms"] == 2.5


def test_summary_ms_of_nothing_has_no_figures() -> None:
    summary = summary_ms([])
    assert summary["count"] == 0 and summary["p95_ms"] is None


def test_decorate_drops_the_question_mark_only_when_adding_an_ending() -> None:
    assert decorate("怎么提高额度？", "你好，", "", "，谢谢") == "你好，怎么提高额度，谢谢"
    assert decorate("怎么提高额度？", "请问", "我是老用户了，", "") == "请问我是老用户了，怎么提高额度？"


def test_synthetic_variants_same_seed_gives_same_variants() -> None:
    assert synthetic_variants(WORDINGS, 50, seed=1) == synthetic_variants(WORDINGS, 50, seed=1)


def test_synthetic_variants_other_seed_gives_other_variants() -> None:
    assert synthetic_variants(WORDINGS, 50, seed=1) != synthetic_variants(WORDINGS, 50, seed=2)


def test_synthetic_variants_are_new_distinct_and_avoid_excluded_texts() -> None:
    excluded = decorate("额度能提升吗", "你好，", "", "")
    variants = synthetic_variants(WORDINGS, 300, seed=1, exclude=[excluded])
    keys = [text_key(text) for text, _ in variants]
    assert len(set(keys)) == 300
    assert not set(keys) & {text_key(text) for text, _ in WORDINGS}
    assert text_key(excluded) not in keys


def test_synthetic_variants_each_round_gives_every_wording_one_variant() -> None:
    variants = synthetic_variants(WORDINGS, 6, seed=1)
    assert [faq_id for _, faq_id in variants] == [faq_id for _, faq_id in WORDINGS] * 2
    assert all(core.rstrip("？") in text for (text, _), (core, _) in zip(variants, WORDINGS * 2, strict=True))


def test_synthetic_variants_more_than_the_decorations_allow_raises() -> None:
    with pytest.raises(ValueError, match="distinct variants"):
        synthetic_variants(WORDINGS[:1], 10_000, seed=1)


def test_build_corpus_pads_to_the_exact_size_with_faq_sized_synthetic_faqs(settings: Settings) -> None:
    real = load_catalog(settings.data_dir)
    corpus = build_corpus(real, 60, seed=3)
    assert corpus.size == 60 and corpus.real_wordings == real.text_count
    assert corpus.synthetic_wordings == 60 - real.text_count
    synthetic = [faq for faq in corpus.catalog if faq.id in corpus.source]
    assert all(len(faq.texts) <= SYNTHETIC_FAQ_WORDINGS for faq in synthetic)
    assert {corpus.source[faq.id] for faq in synthetic} == {faq.id for faq in real}
    assert all(real.get(corpus.source[faq.id]).answer == faq.answer for faq in synthetic)  # type: ignore[union-attr]


def test_build_corpus_smaller_than_the_real_wordings_keeps_the_first_ones(settings: Settings) -> None:
    real = load_catalog(settings.data_dir)
    corpus = build_corpus(real, 4, seed=3)
    assert corpus.size == 4 and corpus.synthetic_wordings == 0 and not corpus.source
    assert [text for faq in corpus.catalog for text in faq.texts] == [t for faq in real for t in faq.texts][:4]


def test_build_corpus_same_seed_gives_the_same_catalog(settings: Settings) -> None:
    real = load_catalog(settings.data_dir)
    assert build_corpus(real, 40, seed=5).catalog.data_hash == build_corpus(real, 40, seed=5).catalog.data_hash


def test_spread_picks_evenly_spaced_items() -> None:
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread([1, 2], 5) == [1, 2]


def test_options_quick_uses_the_small_settings() -> None:
    options = options_from(["--quick", "--out", "somewhere"])
    assert (options.vectors, options.queries, options.out) == (QUICK_VECTORS, QUICK_QUERIES, Path("somewhere"))
    assert options_from([]).vectors == VECTORS and options_from([]).queries is None
    assert options_from([]).faiss_threads is None and options_from(["--faiss-threads", "1"]).faiss_threads == 1


def test_write_report_writes_json_with_chinese_and_markdown(tmp_path: Path) -> None:
    json_path, markdown_path = write_report("demo", {"问题": "提前还款"}, "## 标题\n\n", tmp_path / "new")
    assert "提前还款" in json_path.read_text(encoding="utf-8")
    assert json.loads(json_path.read_text(encoding="utf-8")) == {"问题": "提前还款"}
    assert markdown_path.read_text(encoding="utf-8") == "## 标题\n"


def test_run_with_the_tiny_model_times_every_question_on_every_kind(settings: Settings) -> None:
    figures = run(Options(vectors=60, queries=None, out=Path("unused"), seed=3, quick=True), settings)
    assert figures["corpus"]["vectors"] == 60 and figures["queries"]["count"] == 4
    assert set(figures["indexes"]) == {kind.value for kind in KINDS}
    for kind, index in figures["indexes"].items():
        for stage in ("total", "embed", "search"):
            assert index["latency_ms"][stage]["count"] == 4, (kind, stage)
            assert _is_number(index["latency_ms"][stage]["p95_ms"])
        assert index["latency_ms"]["total"]["p50_ms"] >= index["latency_ms"]["search"]["p50_ms"]
        assert index["vs_flat"] is None if kind == "flat" else 0 <= index["vs_flat"]["top1_agreement"] <= 1
    report = {"meta": run_meta("benchmarks.kb_latency", ["--quick"]), **figures}
    assert "| hnsw (M 32, efSearch 128) |" in markdown(report)


@pytest.mark.slow
def test_main_quick_writes_a_report_with_numbers(tmp_path: Path) -> None:
    model = Path(Settings.from_env().embedding_model)
    if not (PROJECT_ROOT / model).is_dir():
        pytest.skip(f"no embedding model at {model}: run `make embedding-model`")
    out = tmp_path / "reports"
    command = [sys.executable, "-m", "benchmarks.kb_latency", "--quick", "--out", str(out)]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=900)

    report = json.loads((out / "kb_latency.json").read_text(encoding="utf-8"))
    assert report["corpus"]["vectors"] == QUICK_VECTORS and report["queries"]["count"] == QUICK_QUERIES
    assert report["meta"]["machine"]["nproc"] >= 1
    for kind in ("flat", "hnsw", "ivf"):
        index = report["indexes"][kind]
        assert _is_number(index["build_seconds"]["total"])
        for stage in ("total", "embed", "search"):
            for figure in ("p50_ms", "p95_ms", "p99_ms"):
                assert _is_number(index["latency_ms"][stage][figure]), (kind, stage, figure)
    assert _is_number(report["indexes"]["hnsw"]["vs_flat"]["top1_agreement"])
    assert "kb_latency --quick" in (out / "kb_latency.md").read_text(encoding="utf-8")
