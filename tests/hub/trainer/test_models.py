"""hub/services/trainer_models.py: runs, progress, the activation gate, the models folder and rollback.

Training and evaluation run as real subprocesses of a stand-in ``python`` (tests/hub/trainer/fake_python.py), so
the whole orchestration is tested in seconds; test_training.py does it once with real Rasa.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.exceptions import RasaUnavailable, TrainingInProgress, ValidationFailed
from hub.services import Hub
from hub.services.trainer_eval import intent_scores
from hub.services.trainer_models import F1_TOLERANCE, ModelService, Progress, TrainingPaths, judge

RUN_TIMEOUT_SECONDS = 60
FAKE_PYTHON = Path(__file__).with_name("fake_python.py")


class FakeRasaApi:
    """Rasa's /status and PUT /model, as an httpx transport."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.loaded: list[str] = []
        self.down = False
        self.token: str | None = None  # like `rasa run --auth-token`: every API call needs ?token=

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.token is not None and request.url.params.get("token") != self.token:
            return httpx.Response(401, json={"message": "User is not authenticated."})
        if request.method == "GET" and request.url.path == "/status":
            if self.model is None:
                return httpx.Response(409, json={"message": "No agent loaded"})
            return httpx.Response(200, json={"model_file": Path(self.model).name, "model_id": "x"})
        if request.method == "PUT" and request.url.path == "/model":
            path = json.loads(request.content)["model_file"]
            if not Path(path).exists():
                return httpx.Response(400, json={"message": "no such file"})
            self.loaded.append(path)
            self.model = path
            return httpx.Response(204)
        return httpx.Response(404)


@pytest.fixture
def rasa_api() -> FakeRasaApi:
    return FakeRasaApi()


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    script = tmp_path / "python"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_PYTHON}" "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.fixture
def service(hub: Hub, rasa_project: TrainingPaths, fake_python: str, rasa_api: FakeRasaApi) -> ModelService:
    paths = dataclasses.replace(rasa_project, python=fake_python)
    transport = httpx.MockTransport(rasa_api.handle)
    return ModelService(hub.store, hub.clock, hub.tasks, paths, "http://rasa.test", transport=transport)


async def finished(service: ModelService, run_id: int) -> dict[str, Any]:
    for _ in range(RUN_TIMEOUT_SECONDS * 10):
        run = service.run(run_id)
        if run["finished_at"] is not None and service.current() is None:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {service.run(run_id)}")


def make_worse(paths: TrainingPaths, f1: float) -> None:
    nlu = paths.data / "nlu" / "basics.yml"
    nlu.write_text(nlu.read_text(encoding="utf-8") + f"# fake-f1: {f1}\n", encoding="utf-8")


# -- progress and the gate -----------------------------------------------------------------------------------


def test_progress_reads_component_and_epochs_across_chunk_boundaries() -> None:
    progress = Progress()
    lines = progress.feed("INFO hooks  - Starting to train component 'DIETClassifier'.\nEpochs:  10%|█   | 8/")
    lines += progress.feed("80 [00:03<00:30]\rEpochs:  11%|█   | 9/80 [00:04<00:29]\r")

    assert lines == ["INFO hooks  - Starting to train component 'DIETClassifier'."]
    assert (progress.component, progress.epoch, progress.epochs) == ("DIETClassifier", 9, 80)
    assert progress.current_line.startswith("Epochs:  11%")

    assert progress.feed("Epochs: 100%|████| 80/80 [00:30<00:00]\n") == ["Epochs: 100%|████| 80/80 [00:30<00:00]"]
    assert progress.epoch == 80 and progress.current_line == ""


def test_progress_reads_the_evaluator_and_drops_colour_codes() -> None:
    progress = Progress()
    assert progress.feed("\x1b[92m评测模型 a.tar.gz：意图样例 50/296\x1b[0m\n") == [
        "评测模型 a.tar.gz：意图样例 50/296"
    ]
    assert (progress.evaluated, progress.to_evaluate) == (50, 296)


def evaluation(f1: float, failed: int = 0, **intents: float) -> dict[str, Any]:
    return {
        "macro_f1": f1,
        "intents": {name: {"f1": value} for name, value in intents.items()},
        "stories": {"correct": 10 - failed, "total": 10, "failed": failed},
    }


def test_judge_without_active_model_activates() -> None:
    assert judge(evaluation(0.5), None).activate


def test_judge_equal_or_slightly_lower_activates() -> None:
    assert judge(evaluation(0.92 - F1_TOLERANCE / 2), evaluation(0.92)).activate
    assert judge(evaluation(0.95), evaluation(0.92)).activate


def test_judge_worse_f1_refuses_and_names_the_intents_that_dropped() -> None:
    verdict = judge(evaluation(0.6, greet=0.2, goodbye=0.9), evaluation(0.93, greet=0.95, goodbye=0.92))

    assert not verdict.activate
    assert "意图 macro-F1 0.600 低于线上模型的 0.930" in verdict.message
    assert "greet 0.95→0.20" in verdict.message and "goodbye" not in verdict.message


def test_judge_more_failing_stories_refuses() -> None:
    verdict = judge(evaluation(0.95, failed=2), evaluation(0.93, failed=0))

    assert not verdict.activate and "测试对话失败 2 个，线上模型失败 0 个" in verdict.message


def test_intent_scores_macro_f1_counts_fallback_as_a_miss() -> None:
    scores = intent_scores(["greet", "greet", "bye", "bye"], ["greet", "nlu_fallback", "bye", "bye"])

    assert scores["intents"]["greet"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert scores["macro_f1"] == 0.8333  # (0.667 + 1.0) / 2: bye is perfect, greet missed one
    assert scores["accuracy"] == 0.75 and "nlu_fallback" not in scores["intents"]


# -- runs ----------------------------------------------------------------------------------------------------


async def test_first_run_is_activated_then_a_worse_one_is_refused(
    service: ModelService, rasa_api: FakeRasaApi, hub: Hub, accounts: None
) -> None:
    first = await finished(service, (await service.start("trainer9")).id)

    assert first["status"] == "activated", first
    assert "当前没有可比较的线上模型" in first["message"]
    [loaded] = rasa_api.loaded
    assert Path(loaded).parent == service.paths.models_dir.resolve() and Path(loaded).name == first["model"]

    make_worse(service.paths, 0.4)
    second = await finished(service, (await service.start("trainer9")).id)

    assert second["status"] == "refused", second
    assert "意图 macro-F1 0.400 低于线上模型的 0.900" in second["message"]
    assert second["baseline"]["macro_f1"] == 0.9 and second["evaluation"]["macro_f1"] == 0.4
    assert len(rasa_api.loaded) == 1  # not loaded into Rasa
    assert not (service.paths.models_dir / str(second["model"])).exists()  # and not where a restart would serve it
    log = service.log(second["id"])["text"]
    assert "Starting to train component 'DIETClassifier'" in log and "拒绝上线" in log
    [evaluate] = [line for line in log.splitlines() if line.startswith("$ ") and "trainer_eval" in line]
    assert evaluate.count(".tar.gz") == 1  # the active model's evaluation was cached from the first run

    models = await service.models()
    assert [(m["name"], m["active"], m["location"]) for m in models["models"]] == [
        (first["model"], True, "models"),
        (second["model"], False, "candidate"),
    ]


async def test_rollback_activates_an_older_model(service: ModelService, rasa_api: FakeRasaApi, accounts: None) -> None:
    first = await finished(service, (await service.start("trainer9")).id)
    make_worse(service.paths, 0.95)  # better: goes live
    second = await finished(service, (await service.start("trainer9")).id)
    assert second["status"] == "activated" and rasa_api.model is not None
    assert Path(rasa_api.model).name == second["model"]

    older = service.paths.models_dir / str(first["model"])
    await service.activate("trainer9", str(older))

    assert Path(rasa_api.model).name == first["model"]
    newest = max(service.paths.models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    assert newest.name == first["model"]  # what `rasa run --model models` would serve after a restart
    activations = (await service.models())["activations"]
    assert [(a["model"], a["reason"]) for a in activations][:2] == [
        (first["model"], "rollback"),
        (second["model"], "trained"),
    ]


async def test_failed_training_says_so(service: ModelService, monkeypatch: pytest.MonkeyPatch, accounts: None) -> None:
    monkeypatch.setenv("FAKE_TRAIN_FAIL", "1")

    run = await finished(service, (await service.start("trainer9")).id)

    assert run["status"] == "failed" and "退出码 1" in run["message"]
    assert "YamlSyntaxException" in service.log(run["id"])["text"]


async def test_rasa_down_keeps_the_model_trained_not_active(
    service: ModelService, rasa_api: FakeRasaApi, accounts: None
) -> None:
    rasa_api.down = True

    run = await finished(service, (await service.start("trainer9")).id)

    assert run["status"] == "trained" and "无法确认线上模型" in run["message"]


async def test_second_start_while_running_is_refused(service: ModelService, accounts: None) -> None:
    run = await service.start("trainer9")
    with pytest.raises(TrainingInProgress):
        await service.start("trainer9")
    await finished(service, run.id)


async def test_activate_refuses_files_outside_the_model_folders(service: ModelService, tmp_path: Path) -> None:
    stray = tmp_path / "stray.tar.gz"
    stray.write_text("x")
    with pytest.raises(ValidationFailed):
        await service.activate("trainer9", str(stray))


async def test_activate_when_rasa_refuses_raises(service: ModelService, rasa_api: FakeRasaApi, accounts: None) -> None:
    run = await finished(service, (await service.start("trainer9")).id)
    rasa_api.down = True
    with pytest.raises(RasaUnavailable):
        await service.activate("trainer9", str(service.paths.models_dir / str(run["model"])))


def test_recover_fails_runs_left_by_a_previous_process(service: ModelService, hub: Hub, accounts: None) -> None:
    with hub.store.transaction() as tx:
        run = tx.insert_training_run(agent_id="trainer9", log_file=os.devnull, now=hub.clock.now())

    service.recover()

    recovered = service.run(run.id)
    assert recovered["status"] == "failed" and "重启" in recovered["message"]


async def test_rasa_api_token_is_sent_with_status_and_model_calls(
    hub: Hub, rasa_project: TrainingPaths, fake_python: str, rasa_api: FakeRasaApi, accounts: None
) -> None:
    rasa_api.token = "s3cret"
    paths = dataclasses.replace(rasa_project, python=fake_python)
    transport = httpx.MockTransport(rasa_api.handle)
    service = ModelService(
        hub.store, hub.clock, hub.tasks, paths, "http://rasa.test", token="s3cret", transport=transport
    )

    run = await finished(service, (await service.start("trainer9")).id)

    assert run["status"] == "activated", run["message"]
    assert (await service.models())["active"] == run["model"]
