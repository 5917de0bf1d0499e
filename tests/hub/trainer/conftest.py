"""Trainer-console fixtures: the tiny embedding model, a tiny FAQ corpus and Rasa project, a console, accounts."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.services import Hub
from hub.services.trainer import Trainer
from hub.services.trainer_models import TrainingPaths
from knowledge_base.settings import Settings as KbSettings
from tests.knowledge_base.tiny import build_tiny_model, tiny_settings

# The tiny character-bag model scores two wordings of one question ~0.9 and unrelated ones below 0.5.
TINY_SIMILARITY = 0.8
PASSWORD = "password-123"

TINY_CONFIG = """\
recipe: default.v1
language: zh
assistant_id: tiny
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 2
  - name: DIETClassifier
    epochs: {epochs}
    entity_recognition: false
    random_seed: 1
policies:
  - name: RulePolicy
"""
TINY_DOMAIN = """\
version: "3.1"
intents: [greet, goodbye, repay]
entities: [amount]
responses:
  utter_greet: [{text: 您好}]
  utter_goodbye: [{text: 再见}]
  utter_repay: [{text: 请在 App 中还款}]
"""
TINY_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好
    - 您好
    - 在吗
    - 哈喽
    - 早上好
    - 嗨你好
- intent: goodbye
  examples: |
    - 再见
    - 拜拜
    - 下次见
    - 回头见
    - 先走了再见
    - 拜拜了
- intent: repay
  examples: |
    - 我要还款
    - 怎么还钱
    - 还款
    - 提前还钱
    - 我想还[5000](amount)
    - 还款怎么操作
"""
TINY_RULES = """\
version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: bye
  steps: [{intent: goodbye}, {action: utter_goodbye}]
- rule: repay
  steps: [{intent: repay}, {action: utter_repay}]
"""
TINY_HELDOUT = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好呀
    - 您好在吗
    - 哈喽你好
- intent: goodbye
  examples: |
    - 再见啦
    - 拜拜啦
    - 回头再见
- intent: repay
  examples: |
    - 我想还钱
    - 还款怎么弄
    - 怎么提前还款
"""
TINY_STORIES = """\
version: "3.1"
stories:
- story: greet
  steps:
  - user: |
      你好
    intent: greet
  - action: utter_greet
- story: repay
  steps:
  - user: |
      我要还款
    intent: repay
  - action: utter_repay
"""


def write_rasa_project(root: Path, *, epochs: int = 10) -> TrainingPaths:
    """A tiny Rasa project in the repository's layout (trains in about a minute on two busy cores)."""
    files = {
        "config.yml": TINY_CONFIG.format(epochs=epochs),
        "bot/domain/core.yml": TINY_DOMAIN,
        "bot/data/nlu/basics.yml": TINY_NLU,
        "bot/data/rules/basics.yml": TINY_RULES,
        "tests/bot/data/nlu_heldout.yml": TINY_HELDOUT,
        "tests/bot/stories/basics.yml": TINY_STORIES,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (root / "models").mkdir(exist_ok=True)
    return TrainingPaths.for_project(root, root / "var" / "trainer" / "runs")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def kb_settings(tmp_path: Path, tiny_model: Path) -> KbSettings:
    return tiny_settings(tmp_path / "kb", tiny_model)


@pytest.fixture
def rasa_project(tmp_path: Path) -> TrainingPaths:
    return write_rasa_project(tmp_path / "project")


@pytest.fixture
def console(hub: Hub, kb_settings: KbSettings, rasa_project: TrainingPaths) -> Iterator[Trainer]:
    trainer = Trainer.build(hub, kb_settings=kb_settings, paths=rasa_project, similarity=TINY_SIMILARITY)
    trainer.start()
    yield trainer
    trainer.knowledge.wait_idle(30)


@pytest.fixture
def accounts(hub: Hub) -> None:
    hub.accounts.create("trainer9", PASSWORD, display_name="训练师九", role="trainer", skills=(), capacity=0)
    hub.accounts.create("agent9", PASSWORD, display_name="坐席九", role="agent", skills=("loan",), capacity=2)


@pytest.fixture
def app_client(hub: Hub, console: Trainer, accounts: None) -> Iterator[TestClient]:
    with TestClient(create_app(hub=hub, console=console), base_url="http://testserver") as client:
        yield client


def log_in(client: TestClient, username: str) -> None:
    response = client.post("/agent/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
