"""Evaluating Rasa models for the trainer console, in a subprocess (TensorFlow never loads into the hub)::

    python -m hub.services.trainer_eval --nlu tests/bot/data/nlu_heldout.yml --stories tests/bot/stories \\
        --out evaluation.json MODEL [MODEL ...]

For each model: precision, recall and F1 of every intent and their macro average on the held-out examples (a
prediction of ``nlu_fallback`` counts as a miss, as in ``tests/bot/test_nlu_heldout.py``), and the test stories
— how many conversations the policies predict without an error. Writes ``{model path: evaluation}`` as JSON.
Models are evaluated one after another in this one process, so TensorFlow starts once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROGRESS_EVERY = 50  # examples between two progress lines in the training log


def intent_scores(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-intent precision / recall / F1 / support and the macro-F1, over the intents of ``expected``."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(expected))
    if not labels:
        return {"macro_f1": 0.0, "accuracy": 0.0, "examples": 0, "intents": {}}
    precision, recall, f1, support = precision_recall_fscore_support(
        list(expected), list(predicted), labels=labels, zero_division=0
    )
    intents = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    correct = sum(1 for e, p in zip(expected, predicted, strict=True) if e == p)
    return {
        "macro_f1": round(float(sum(f1) / len(labels)), 4),
        "accuracy": round(correct / len(expected), 4),
        "examples": len(expected),
        "intents": intents,
    }


async def evaluate_model(model: Path, nlu: Path, stories: Path | None) -> dict[str, Any]:
    """One model's held-out intent scores and test-story results."""
    from rasa.core.agent import Agent

    from hub.services.trainer_intents import read_examples

    started = time.monotonic()
    print(f"评测模型 {model.name}：加载中…", flush=True)
    agent = Agent.load(str(model))
    examples = read_examples(nlu)
    expected, predicted = [], []
    for position, (text, intent) in enumerate(examples, start=1):
        parsed = await agent.parse_message(text)
        expected.append(intent)
        predicted.append(str((parsed.get("intent") or {}).get("name")))
        if position % PROGRESS_EVERY == 0 or position == len(examples):
            print(f"评测模型 {model.name}：意图样例 {position}/{len(examples)}", flush=True)
    evaluation: dict[str, Any] = {"model": str(model), **intent_scores(expected, predicted)}
    evaluation["stories"] = await _stories(agent, stories) if stories is not None and stories.exists() else None
    evaluation["seconds"] = round(time.monotonic() - started, 1)
    stories_text = ""
    if evaluation["stories"] is not None:
        stories_text = f"，测试对话 {evaluation['stories']['correct']}/{evaluation['stories']['total']} 通过"
    print(f"评测模型 {model.name}：意图 macro-F1 {evaluation['macro_f1']:.3f}{stories_text}", flush=True)
    return evaluation


async def _stories(agent: Any, stories: Path) -> dict[str, Any]:
    import rasa.core.test

    with tempfile.TemporaryDirectory(prefix="kefu-stories-") as out:
        result = await rasa.core.test.test(
            str(stories), agent, out_directory=out, disable_plotting=True, errors=False, warnings=False
        )
    summary = (result.get("report") or {}).get("conversation_accuracy") or {}
    total = int(summary.get("total", 0))
    correct = int(summary.get("correct", 0))
    return {"correct": correct, "total": total, "failed": total - correct}


async def evaluate_all(models: Sequence[Path], nlu: Path, stories: Path | None) -> dict[str, Any]:
    return {str(model): await evaluate_model(model, nlu, stories) for model in models}


def _quiet() -> None:
    """Rasa's debug output (every policy prediction) would bury the progress lines in the training log."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nlu", type=Path, required=True, help="held-out NLU examples (Rasa YAML)")
    parser.add_argument("--stories", type=Path, default=None, help="test stories (file or folder)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("models", type=Path, nargs="+")
    arguments = parser.parse_args(argv)
    _quiet()
    results = asyncio.run(evaluate_all(arguments.models, arguments.nlu, arguments.stories))
    arguments.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
