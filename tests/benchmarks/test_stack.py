"""Pieces of the benchmark stack that need no server: the endpoints file and the newest model."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.stack import resolved_endpoints


def test_resolved_endpoints_fills_in_quoted_and_bare_variables(tmp_path: Path) -> None:
    source = tmp_path / "endpoints.yml"
    source.write_text('action_endpoint:\n  url: "${ACTION}"\ntracker_store:\n  db: ${DB}\n', encoding="utf-8")
    target = resolved_endpoints(source, tmp_path / "out.yml", {"ACTION": "http://127.0.0.1:1/webhook", "DB": "/t.db"})
    assert target.read_text(encoding="utf-8") == (
        'action_endpoint:\n  url: "http://127.0.0.1:1/webhook"\ntracker_store:\n  db: /t.db\n'
    )


def test_resolved_endpoints_names_a_missing_variable(tmp_path: Path) -> None:
    source = tmp_path / "endpoints.yml"
    source.write_text("url: ${NOPE}\n", encoding="utf-8")
    with pytest.raises(KeyError, match="NOPE"):
        resolved_endpoints(source, tmp_path / "out.yml", {})
