"""Intent quality on examples written separately from the training data (tests/bot/data/nlu_heldout.yml)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import classification_report, f1_score

from tests.bot.nlu_examples import load_examples

pytestmark = pytest.mark.slow

HELDOUT = Path(__file__).parent / "data" / "nlu_heldout.yml"
MACRO_F1_BAR = 0.90


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Any:
    from rasa.core.agent import Agent

    return Agent.load(str(trained_model))


async def test_heldout_intents_macro_f1_reaches_bar(agent: Any) -> None:
    examples = load_examples(HELDOUT)
    expected, predicted = [], []
    for text, intent in examples:
        parsed = await agent.parse_message(text)
        expected.append(intent)
        predicted.append(parsed["intent"]["name"])
    intents = sorted(set(expected))  # a prediction of nlu_fallback counts as a miss, not as a class of its own
    macro_f1 = f1_score(expected, predicted, labels=intents, average="macro", zero_division=0)
    misses = Counter((e, p) for e, p in zip(expected, predicted, strict=True) if e != p)
    print(classification_report(expected, predicted, labels=intents, zero_division=0))
    print("most frequent confusions (expected → predicted):", misses.most_common(10))
    print(f"held-out intent macro-F1 = {macro_f1:.3f} on {len(examples)} examples (bar {MACRO_F1_BAR})")
    assert macro_f1 >= MACRO_F1_BAR


def test_heldout_examples_are_not_in_training_data(project_root: Path) -> None:
    training = {text for path in (project_root / "bot/data/nlu").glob("*.yml") for text, _ in load_examples(path)}
    leaked = [text for text, _ in load_examples(HELDOUT) if text in training]
    assert leaked == []
