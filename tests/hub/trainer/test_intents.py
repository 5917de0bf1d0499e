"""hub/services/trainer_intents.py: NLU examples are validated against the whole project before they are saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.exceptions import InvalidTrainingData, TrainerItemNotFound
from hub.services.trainer_intents import IntentService, entity_problems, plain_text, read_examples
from hub.services.trainer_models import TrainingPaths

PROJECT_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def intents(rasa_project: TrainingPaths) -> IntentService:
    return IntentService(rasa_project.data / "nlu", rasa_project.domain, rasa_project.nlu_heldout)


def test_project_intents_are_the_domain_intents_with_examples() -> None:
    service = IntentService(
        PROJECT_ROOT / "bot" / "data" / "nlu",
        PROJECT_ROOT / "bot" / "domain",
        PROJECT_ROOT / "tests" / "bot" / "data" / "nlu_heldout.yml",
    )

    rows = service.intents()

    assert all(row["in_domain"] for row in rows)
    assert {row["name"] for row in rows if row["count"] >= 2} >= {"greet", "faq", "apply_loan", "request_human"}


def test_save_replaces_only_the_intents_block(intents: IntentService, rasa_project: TrainingPaths) -> None:
    file = rasa_project.data / "nlu" / "basics.yml"
    before = file.read_text(encoding="utf-8")

    edit = intents.save("goodbye", ["再见", "拜拜", "下次再聊", "我先下线了"])

    after = file.read_text(encoding="utf-8")
    assert after.split("- intent: goodbye")[0] == before.split("- intent: goodbye")[0]
    assert after.split("- intent: repay")[1] == before.split("- intent: repay")[1]
    assert intents.get("goodbye")["examples"] == ["再见", "拜拜", "下次再聊", "我先下线了"]
    assert "+下次再聊" in edit.diff and "-回头见" in edit.diff


@pytest.mark.parametrize(
    ("examples", "reason"),
    [
        (["再见", "你好"], "已是意图 greet 的样例（basics.yml 第"),
        (["再见", "拜拜", "再见"], "与第"),
        (["再见", "拜拜啦"], "在评测集 nlu_heldout.yml 中"),
        (["再见", "还[5000](money)"], "实体 'money' 不在 domain 中"),
        (["再见", "还[5000(amount)"], "实体标注格式不正确"),
        (["再见"], "至少需要 2 条样例"),
    ],
    ids=["other-intent", "repeated", "held-out", "unknown-entity", "broken-markup", "too-few"],
)
def test_save_invalid_examples_is_refused_with_file_and_line(
    intents: IntentService, rasa_project: TrainingPaths, examples: list[str], reason: str
) -> None:
    file = rasa_project.data / "nlu" / "basics.yml"
    before = file.read_text(encoding="utf-8")

    with pytest.raises(InvalidTrainingData) as caught:
        intents.save("goodbye", examples)

    assert any(reason in problem["reason"] for problem in caught.value.problems), caught.value.problems
    assert all(problem["file"] == "basics.yml" and problem["line"] > 0 for problem in caught.value.problems)
    assert file.read_text(encoding="utf-8") == before


def test_save_problem_points_at_the_line_of_the_example(intents: IntentService) -> None:
    with pytest.raises(InvalidTrainingData) as caught:
        intents.save("goodbye", ["再见", "拜拜", "你好"])

    [problem] = caught.value.problems
    first_line = intents.get("goodbye")["line"]
    assert problem["line"] == first_line + 2 and problem["field"] == "examples[2]"


def test_unknown_intent_is_not_found(intents: IntentService) -> None:
    with pytest.raises(TrainerItemNotFound):
        intents.get("nope")


def test_entity_markup_helpers() -> None:
    assert plain_text('我要借[5000](amount)分[12期]{"entity": "term"}') == "我要借5000分12期"
    assert entity_problems('分[12期]{"entity": "term"}', {"term"}) == []


def test_read_examples_agrees_with_the_heldout_test_reader() -> None:
    from tests.bot.nlu_examples import load_examples

    heldout = PROJECT_ROOT / "tests" / "bot" / "data" / "nlu_heldout.yml"
    assert read_examples(heldout) == load_examples(heldout)
