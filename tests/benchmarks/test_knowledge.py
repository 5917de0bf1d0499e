"""Reading what ``kefu kb pairs`` prints."""

from __future__ import annotations

import pytest

from benchmarks.knowledge import parse_pairs_output

OUTPUT = """/data/BQ.valid.data: 10000 pairs, model e5-small-3f2a, embedded in 123.4 s
spearman×100 45.67   roc-auc 0.8123
accuracy 71.20% at the match threshold 0.9450; best 74.85% at 0.9012
"""


def test_parse_pairs_output_reads_every_figure() -> None:
    figures = parse_pairs_output(OUTPUT)
    assert figures == {
        "pairs": 10000,
        "model": "e5-small-3f2a",
        "embed_seconds": 123.4,
        "spearman_x100": 45.67,
        "roc_auc": 0.8123,
        "accuracy": 0.712,
        "threshold": 0.945,
        "best_accuracy": 0.7485,
        "best_threshold": 0.9012,
    }


def test_parse_pairs_output_refuses_something_else() -> None:
    with pytest.raises(ValueError):
        parse_pairs_output("kefu: error: no such file")
