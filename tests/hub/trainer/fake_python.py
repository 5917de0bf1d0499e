"""Stands in for ``python`` in training runs: ``-m rasa train …`` and ``-m hub.services.trainer_eval …`` in a second.

``rasa train`` prints Rasa's component lines and epoch bars and writes ``<out>/<fixed-model-name>.tar.gz``
(its content is the training data, so different data makes a different file); with ``FAKE_TRAIN_FAIL`` set it
exits 1. The evaluator gives a model the macro-F1 written in its training data as ``# fake-f1: 0.4`` (default
0.9), so a test makes a model worse by writing that line into an NLU file; two test stories always pass.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path


def option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def train(arguments: list[str]) -> int:
    print("2026-11-29 10:00:00 INFO     rasa.engine.training.hooks  - Starting to train component 'DIETClassifier'.")
    for epoch in range(1, 4):
        print(f"Epochs:  {epoch * 33}%|███       | {epoch}/3 [00:0{epoch}<00:00, 5.00it/s]", end="\r", flush=True)
    print()
    if os.environ.get("FAKE_TRAIN_FAIL"):
        print("rasa.shared.exceptions.YamlSyntaxException: broken", flush=True)
        return 1
    out, name = Path(option(arguments, "--out")), option(arguments, "--fixed-model-name")
    data = Path(option(arguments, "--data"))
    content = "".join(path.read_text(encoding="utf-8") for path in sorted(data.rglob("*.yml")))
    (out / f"{name}.tar.gz").write_text(content, encoding="utf-8")
    print(f"Your Rasa model is trained and saved at '{out / name}.tar.gz'.")
    return 0


def evaluate(arguments: list[str]) -> int:
    out = Path(option(arguments, "--out"))
    models = [arg for arg in arguments if arg.endswith(".tar.gz")]
    results = {}
    for model in models:
        marked = re.search(r"# fake-f1: ([0-9.]+)", Path(model).read_text(encoding="utf-8"))
        f1 = float(marked.group(1)) if marked else 0.9
        print(f"评测模型 {Path(model).name}：意图样例 3/3", flush=True)
        results[model] = {
            "model": model,
            "macro_f1": f1,
            "accuracy": f1,
            "examples": 3,
            "intents": {"greet": {"f1": f1}, "goodbye": {"f1": f1}},
            "stories": {"correct": 2, "total": 2, "failed": 0},
        }
    out.write_text(json.dumps(results), encoding="utf-8")
    return 0


def main() -> int:
    arguments = sys.argv[1:]
    if arguments[:3] == ["-m", "rasa", "train"]:
        return train(arguments)
    if arguments[:2] == ["-m", "hub.services.trainer_eval"]:
        return evaluate(arguments)
    print(f"unexpected command {arguments}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
