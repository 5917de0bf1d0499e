"""Trains the Rasa model only when its inputs changed.

The inputs are ``config.yml``, the domain, the training data, the jieba dictionaries and the custom components.
Their content hash names the model (``models/kefu-<hash>.tar.gz``), so an unchanged project never retrains and a
changed one always does. Prints how long training took.

Usage: ``python -m bot.train [--force]``
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_PREFIX = "kefu-"
TRAINING_INPUTS = ("config.yml", "bot/domain", "bot/data", "bot/dictionary", "bot/components")
HASH_LENGTH = 16  # 64 bits of the sha256: collisions between two versions of one project are not a concern


def _input_files(root: Path, inputs: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for name in inputs:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts))
    return files


def training_fingerprint(root: Path = PROJECT_ROOT, inputs: Iterable[str] = TRAINING_INPUTS) -> str:
    """Hashes the path and content of every training input."""
    digest = hashlib.sha256()
    for path in _input_files(root, inputs):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:HASH_LENGTH]


def model_path(fingerprint: str, models_dir: Path = MODELS_DIR) -> Path:
    """Where the model trained from inputs with this fingerprint lives."""
    return models_dir / f"{MODEL_PREFIX}{fingerprint}.tar.gz"


def train(force: bool = False) -> Path:
    """Trains unless a model for the current inputs exists; returns the model's path."""
    fingerprint = training_fingerprint()
    target = model_path(fingerprint)
    if target.exists() and not force:
        target.touch()  # the newest model is the one `rasa run --model models` serves
        print(f"Rasa model is up to date: {target.relative_to(PROJECT_ROOT)}")
        return target
    print(f"Training the Rasa model for inputs {fingerprint} …", flush=True)
    started = time.monotonic()
    command = [
        sys.executable, "-m", "rasa", "train",
        "--config", "config.yml", "--domain", "bot/domain", "--data", "bot/data",
        "--out", str(MODELS_DIR), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)
    elapsed = time.monotonic() - started
    print(f"Rasa model trained in {elapsed / 60:.1f} min ({elapsed:.0f} s): {target.relative_to(PROJECT_ROOT)}")
    return target


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="train even if the model is up to date")
    arguments = parser.parse_args()
    try:
        train(force=arguments.force)
    except subprocess.CalledProcessError as error:
        sys.exit(f"Rasa training failed with exit code {error.returncode}")


if __name__ == "__main__":
    main()
