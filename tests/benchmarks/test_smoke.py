"""``make bench-smoke`` end to end: the real stack, a few turns, a few seconds of load, a complete report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.report import CHART_ACCURACY, CHART_BREAKDOWN, CHART_LATENCY, JSON_NAME, MARKDOWN_NAME

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
def test_bench_smoke_writes_a_report_with_numbers(trained_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert main(["--smoke", "--out", str(out)]) == 0

    for chart in (CHART_ACCURACY, CHART_LATENCY, CHART_BREAKDOWN):
        assert (out / chart).read_bytes()[:8] == PNG_SIGNATURE
    report = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    meta = report["meta"]
    assert meta["smoke"] is True and len(meta["commit"]) == 40 and meta["machine"]["cores"]
    accuracy = report["accuracy"]
    assert accuracy["scored_turns"] >= 10 and accuracy["errors"] == 0
    for key in ("containment_in_scope", "precision_in_scope", "containment_all", "wrong_answer_rate"):
        assert _is_number(accuracy[key]), key
    assert accuracy["handoff"] and all(_is_number(row["recall"]) for row in accuracy["handoff"] if row["expected"])
    kb = report["knowledge_base"]
    assert _is_number(kb["eval"]["figures"]["top1"])
    assert "skipped" in kb["pairs"] or _is_number(kb["pairs"]["figures"]["roc_auc"])
    level = report["load"]["levels"][0]
    assert level["bot"]["replies"] > 0 and level["echo"]["replies"] > 0
    for key in ("p50_ms", "p95_ms", "p99_ms", "messages_per_second"):
        assert _is_number(level["bot"][key]) and _is_number(level["echo"][key]), key
    components = level["breakdown"]["components"]
    assert _is_number(components["Rasa NLU"]) and components["Rasa NLU"] > 0
    assert level["breakdown"]["graph_nodes_ms"], "Rasa's graph nodes were not timed"
    assert level["breakdown"]["actions_ms"], "the action server's /metrics were not read"
    summary = (out / MARKDOWN_NAME).read_text(encoding="utf-8")
    assert "## Containment and precision" in summary and "## Load through the hub" in summary
    assert meta["commit"] in summary
