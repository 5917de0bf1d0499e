"""The knowledge base's own figures, by running ``kefu kb eval --json`` and ``kefu kb pairs`` as they ship.

The BQ corpus (``/work/shared/data/bq/BQ.valid.data``, academic licence) is read where it lies at run time and
never copied; without it the pairs figures are reported as skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.stack import COMMON_ENV, PROJECT_ROOT

DEFAULT_PAIRS_FILE = Path("/work/shared/data/bq/BQ.valid.data")
PAIRS_VARIABLE = "KEFU_BENCH_PAIRS_FILE"
# Embedding 20,000 BQ sentences takes a few minutes on one core; an hour means something hangs.
COMMAND_TIMEOUT_SECONDS = 3600

_PAIRS_HEAD = re.compile(r": (?P<pairs>\d+) pairs, model (?P<model>\S+), embedded in (?P<seconds>[\d.]+) s")
_PAIRS_SCORES = re.compile(r"spearman×100 (?P<spearman>-?[\d.]+|nan)\s+roc-auc (?P<auc>[\d.]+|nan)")
_PAIRS_ACCURACY = re.compile(
    r"accuracy (?P<accuracy>[\d.]+)% at the match threshold (?P<threshold>[\d.]+); "
    r"best (?P<best>[\d.]+)% at (?P<best_threshold>[\d.]+)"
)


@dataclass(frozen=True)
class CommandResult:
    """A command, what it printed, and how long it took."""

    command: list[str]
    output: str
    seconds: float


def kefu_command(*args: str) -> list[str]:
    """``kefu …`` as this interpreter runs it (the console script is the same ``main``)."""
    return [sys.executable, "-m", "knowledge_base.cli", *args]


def _run(command: list[str]) -> CommandResult:
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **COMMON_ENV},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {completed.returncode}:\n{completed.stderr[-3000:]}")
    return CommandResult(command, completed.stdout, time.perf_counter() - started)


def parse_pairs_output(text: str) -> dict[str, Any]:
    """The figures ``kefu kb pairs`` prints, as numbers (accuracies as fractions)."""
    figures: dict[str, Any] = {}
    head, scores, accuracy = _PAIRS_HEAD.search(text), _PAIRS_SCORES.search(text), _PAIRS_ACCURACY.search(text)
    if head is None or scores is None or accuracy is None:
        raise ValueError(f"unexpected `kefu kb pairs` output:\n{text}")
    figures["pairs"] = int(head["pairs"])
    figures["model"] = head["model"]
    figures["embed_seconds"] = float(head["seconds"])
    figures["spearman_x100"] = float(scores["spearman"])
    figures["roc_auc"] = float(scores["auc"])
    figures["accuracy"] = round(float(accuracy["accuracy"]) / 100, 4)
    figures["threshold"] = float(accuracy["threshold"])
    figures["best_accuracy"] = round(float(accuracy["best"]) / 100, 4)
    figures["best_threshold"] = float(accuracy["best_threshold"])
    return figures


def kb_eval() -> dict[str, Any]:
    """``kefu kb eval --json``: retrieval and decision figures on the held-out questions."""
    result = _run(kefu_command("kb", "eval", "--json"))
    figures: dict[str, Any] = json.loads(result.output)
    return {"command": "kefu kb eval --json", "seconds": round(result.seconds, 1), "figures": figures}


def kb_pairs(path: Path | None = None, limit: int | None = None) -> dict[str, Any]:
    """``kefu kb pairs <BQ file> [--limit N]``, or why it was skipped."""
    path = path or Path(os.environ.get(PAIRS_VARIABLE) or DEFAULT_PAIRS_FILE)
    shown = f"kefu kb pairs {path}" + (f" --limit {limit}" if limit else "")
    if not path.exists():
        return {"command": shown, "skipped": f"{path} does not exist"}
    args = ["kb", "pairs", str(path), *(["--limit", str(limit)] if limit else [])]
    result = _run(kefu_command(*args))
    return {"command": shown, "seconds": round(result.seconds, 1), "figures": parse_pairs_output(result.output)}
