"""The report writer on a hand-made result: every file, the numbers in the Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.report import markdown, pct, write_report
from benchmarks.scoring import TurnResult, accuracy_summary
from benchmarks.timing import COMPONENTS


def sample_report() -> dict[str, Any]:
    results = [
        TurnResult("c1", "faq_reworded", "提前还款收费吗", ("faq early-002",), "faq early-002", 120.0),
        TurnResult("c2", "human_request", "转人工", ("handoff explicit_request",), "handoff explicit_request", 90.0),
    ]
    level = {
        "users": 50,
        "bot": {"messages_per_second": 41.5, "mean_ms": 130.0, "p50_ms": 110.0, "p95_ms": 240.0, "p99_ms": 400.0,
                "errors_total": 0, "replies": 2400},
        "echo": {"messages_per_second": 48.0, "mean_ms": 2.0, "p50_ms": 1.5, "p95_ms": 3.0, "p99_ms": 5.0,
                 "errors_total": 0, "replies": 960},
        "ratio_p50": 73.3,
        "ratio_p95": 80.0,
        "goal_met": False,
        "breakdown": {
            "components": {name: 13.0 for name in COMPONENTS},
            "p95_ms": {"Rasa NLU": 30.0},
            "graph_nodes_ms": {"run_DIETClassifier3": 12.5},
            "actions_ms": {"action_answer_faq": 20.0},
            "action_call_ms": {"payload": 0.5, "http": 30.0, "validate": 60.0, "nlg": 0.3},
            "policy_predictions_per_message": 2.67,
            "cpu_ms_per_message": {"hub": 9.0, "rasa": 200.0, "actions": 30.0},
            "cpu_cores_used": {"hub": 0.1, "rasa": 0.9, "actions": 0.2},
        },
    }  # fmt: skip
    return {
        "meta": {
            "date": "2026-11-29T19:00:00+00:00",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "dirty": False,
            "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 24.0, "os": "Linux", "python": "3.10.13"},
            "model": "kefu-abc.tar.gz",
            "kb_index": "v1",
            "command": "python -m benchmarks",
            "load_average_at_start": [1.0, 1.0, 1.0],
            "load_average_at_end": [2.0, 1.5, 1.0],
            "smoke": False,
        },
        "accuracy": {
            "command": "python -m benchmarks --phases accuracy",
            "cases": 2,
            "turns_sent": 2,
            "errors": 0,
            "seconds": 1.0,
            "goals": {"containment": 0.97, "precision": 0.95},
            **accuracy_summary(results),
        },
        "load": {
            "command": "python -m benchmarks --phases load",
            "settings": {"duration_seconds": 60.0, "echo_duration_seconds": 20.0, "think_seconds": 1.0,
                         "messages_per_conversation": 8},
            "goal": {"p95_ms": 150.0, "messages_per_second": 50.0},
            "levels": [level],
        },
    }  # fmt: skip


def test_pct_formats_fractions_and_missing_values() -> None:
    assert pct(0.97123) == "97.1 %" and pct(None) == "–"


def test_markdown_states_machine_commit_commands_and_figures() -> None:
    text = markdown(sample_report())
    assert "0123456789abcdef0123456789abcdef01234567" in text and "Test CPU, 2 cores" in text
    assert "`python -m benchmarks --phases accuracy`" in text and "`python -m benchmarks --phases load`" in text
    assert "| containment, in-scope traffic | 100.0 % | ≥ 97.0 % |" in text
    assert "| 50 | 41.5 | 110.0 | 240.0 | 400.0 | 0 | 1.5 / 3.0 | 73× / 80× | not met |" in text
    assert "run_DIETClassifier3 12.5" in text
    assert "| CPU ms per message: rasa | 200.0 |" in text and "≈ 5.0 messages per second" in text


def test_write_report_writes_json_markdown_and_three_charts(tmp_path: Path) -> None:
    files = write_report(sample_report(), tmp_path / "out")
    names = sorted(path.name for path in files)
    assert names == sorted(
        ["benchmark.json", "summary.md", "accuracy_by_category.png", "load_latency.png", "time_breakdown.png"]
    )
    assert all(path.stat().st_size > 0 for path in files)
