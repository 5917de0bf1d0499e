"""`kefu kb …` on the tiny corpus: output, files written, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base import cli
from knowledge_base.index import IndexStore
from knowledge_base.settings import Settings
from tests.knowledge_base.tiny import MORE_FAQS, write_faqs


@pytest.fixture
def kefu(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Runs ``kefu`` with the tiny settings; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(cli, "get_settings", lambda: settings)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_validate_valid_data_reports_counts(kefu) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = kefu("kb", "validate")

    assert code == 0
    assert "2 files, 3 FAQs, 8 questions: valid" in out
    assert "4 questions (1 out of scope): valid" in out


def test_validate_invalid_data_exits_1_with_file_and_line(kefu, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    (settings.data_dir / "broken.yml").write_text("category: 坏\nfaqs: []\n", encoding="utf-8")

    code, _, err = kefu("kb", "validate")

    assert code == 1
    assert f"{settings.data_dir / 'broken.yml'}:2: faqs is empty" in err


def test_build_if_stale_second_run_does_nothing(kefu, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = kefu("kb", "build", "--if-stale")
    assert code == 0 and "built index" in out
    version = IndexStore(settings.index_dir).current_version()

    code, out, _ = kefu("kb", "build", "--if-stale")

    assert code == 0 and "up to date" in out
    assert IndexStore(settings.index_dir).current_version() == version


def test_build_kind_hnsw_is_recorded(kefu, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    code, _, _ = kefu("kb", "build", "--kind", "hnsw")

    manifest = IndexStore(settings.index_dir).read_manifest()
    assert code == 0 and manifest is not None and manifest.index_kind == "hnsw"


def test_search_prints_decision_and_candidates(kefu) -> None:  # type: ignore[no-untyped-def]
    kefu("kb", "build")

    code, out, _ = kefu("kb", "search", "提额有什么办法", "-k", "2")

    assert code == 0
    assert out.startswith("decision: answer → limit-001")
    assert "怎么提高额度？" in out


def test_search_without_index_exits_1(kefu) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kefu("kb", "search", "额度")

    assert code == 1
    assert "kefu kb build" in err


def test_eval_json_reports_every_figure(kefu) -> None:  # type: ignore[no-untyped-def]
    kefu("kb", "build")

    code, out, _ = kefu("kb", "eval", "--json")

    figures = json.loads(out)
    assert code == 0
    assert figures["top1"] == 1.0 and figures["recall_at_3"] == 1.0
    assert {"wrong_rate", "coverage", "abstain_precision", "abstain_recall", "latency"} <= figures.keys()


def test_calibrate_stores_thresholds_in_the_manifest(kefu, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    kefu("kb", "build")

    code, out, _ = kefu("kb", "calibrate")

    manifest = IndexStore(settings.index_dir).read_manifest()
    assert code == 0 and "-fold cross-validation" in out
    assert manifest is not None and manifest.calibration is not None
    assert manifest.calibration["questions"] == 4
    assert f"answer {manifest.thresholds.answer:.4f}" in out


def test_calibrate_dry_run_stores_nothing(kefu, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    kefu("kb", "build")

    kefu("kb", "calibrate", "--dry-run")

    manifest = IndexStore(settings.index_dir).read_manifest()
    assert manifest is not None and manifest.calibration is None


def test_pairs_prints_spearman_auc_and_accuracy(kefu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "pairs.tsv"
    path.write_text(
        "额度怎么提高\t怎么提高额度\t1\n今天天气好吗\t逾期会怎么样\t0\n逾期了\t逾期会怎样\t1\n", encoding="utf-8"
    )

    code, out, _ = kefu("kb", "pairs", str(path), "--threshold", "0.35")

    assert code == 0
    assert "3 pairs" in out
    assert "roc-auc 1.0000" in out
    assert "accuracy 100.00% at the match threshold 0.3500" in out


def test_pairs_missing_file_exits_1(kefu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kefu("kb", "pairs", str(tmp_path / "missing.tsv"))

    assert code == 1 and "cannot read the file" in err


def test_unknown_command_exits_2(kefu) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as caught:
        kefu("kb", "frobnicate")

    assert caught.value.code == 2


def test_calibrate_if_uncalibrated_calibrates_once(kefu, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    kefu("kb", "build")

    first_code, first, _ = kefu("kb", "calibrate", "--if-uncalibrated")
    stored = IndexStore(settings.index_dir).read_manifest()
    second_code, second, _ = kefu("kb", "calibrate", "--if-uncalibrated")

    assert first_code == second_code == 0
    assert "-fold cross-validation" in first and "already calibrated" in second
    assert stored is not None and stored.calibration is not None
    assert IndexStore(settings.index_dir).read_manifest() == stored


def test_tune_if_stale_runs_once_per_base_and_options(kefu, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_faqs(settings.data_dir, MORE_FAQS)  # fine-tuning needs a few more FAQs than the tiny corpus has
    out = tmp_path / "tuned"
    options = ("--epochs", "1", "--batch-size", "2", "--learning-rate", "0.05")

    first_code, first, _ = kefu("kb", "tune", "--if-stale", "--out", str(out), *options)
    record = json.loads((tmp_path / "tuned.tuning.json").read_text(encoding="utf-8"))
    second_code, second, _ = kefu("kb", "tune", "--if-stale", "--out", str(out), *options)
    third_code, third, _ = kefu("kb", "tune", "--if-stale", "--out", str(out), "--seed", "8", *options)

    assert first_code == second_code == third_code == 0
    assert "held-out paraphrases top-1" in first and out.exists() == record["kept"]
    assert "already tuned with these options" in second
    assert "held-out paraphrases top-1" in third  # other options: tuned again
