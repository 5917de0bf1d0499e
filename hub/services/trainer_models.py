"""Training a Rasa model from the console, evaluating it, and putting it live only if it is not worse.

A run (one at a time):

1. snapshots the training inputs (``config.yml``, the domain, the data) into ``<runs>/<id>/project`` so edits
   made meanwhile wait for the next run; the model is named by the content hash ``make model`` uses;
2. runs ``python -m rasa train`` in a subprocess; its output goes to ``<runs>/<id>/train.log``, which the
   console polls — the progress (component, epoch n / N) is read from Rasa's log and epoch bars;
3. evaluates the new model, and once per model file the active one, with :mod:`hub.services.trainer_eval` in
   another subprocess: held-out intent F1 and the test stories;
4. activates it only if :func:`judge` finds it not worse: macro-F1 not lower by more than ``F1_TOLERANCE``,
   not more failing test stories. Activation copies it into the models folder as the newest file (what
   ``rasa run --model models`` serves after a restart) and loads it with ``PUT {KEFU_RASA_URL}/model``.

Older models stay in the models folder: the console lists them and activates any of them again (rollback).
A refused model stays in its run folder, with the reasons shown in the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from hub.exceptions import RasaUnavailable, TrainerItemNotFound, TrainingInProgress, ValidationFailed
from hub.services.background import BackgroundTasks
from hub.services.clock import Clock
from hub.storage import Store
from hub.storage.trainer import TrainingRun

log = logging.getLogger(__name__)

# Retraining on the same data reproduces the F1 (fixed seeds); adding examples moves it by one or two of the ~300
# held-out examples, up to half a point of macro-F1. A bigger drop is a real regression.
F1_TOLERANCE = 0.005
# An intent whose F1 falls by this much is named in a refusal (the trainer sees which examples to look at).
INTENT_DROP_SHOWN = 0.05
# Rasa answers /status at once; loading a model after PUT /model takes tens of seconds for the full pipeline.
RASA_STATUS_TIMEOUT_SECONDS = 5.0
RASA_LOAD_TIMEOUT_SECONDS = 300.0
LOG_PAGE_BYTES = 64 * 1024  # one poll of the log returns at most this much
READ_CHUNK_BYTES = 4096

_COMPONENT = re.compile(r"Starting to train component '([^']+)'")
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_EVALUATED = re.compile(r"意图样例 (\d+)/(\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class TrainingPaths:
    """Where a Rasa project's training inputs, evaluation data and models are."""

    project_root: Path
    config: Path
    domain: Path
    data: Path
    nlu_heldout: Path
    test_stories: Path
    models_dir: Path
    runs_dir: Path
    python: str = sys.executable

    @classmethod
    def for_project(cls, root: Path, runs_dir: Path, models_dir: Path | None = None) -> TrainingPaths:
        """The project's conventional layout (``bot/``, ``tests/bot/``, ``models/``)."""
        return cls(
            project_root=root,
            config=root / "config.yml",
            domain=root / "bot" / "domain",
            data=root / "bot" / "data",
            nlu_heldout=root / "tests" / "bot" / "data" / "nlu_heldout.yml",
            test_stories=root / "tests" / "bot" / "stories",
            models_dir=models_dir or root / "models",
            runs_dir=runs_dir,
        )


@dataclass
class Progress:
    """What a run is doing, read from its output as it arrives."""

    phase: str = "training"  # training | evaluating | activating | finished
    component: str | None = None
    epoch: int = 0
    epochs: int = 0
    evaluated: int = 0
    to_evaluate: int = 0
    current_line: str = ""  # the progress bar being redrawn now (not yet a finished line of the log)
    _redraw: bool = field(default=False, repr=False)

    def feed(self, text: str) -> list[str]:
        """Takes raw output (``\r`` redraws a bar, ``\n`` ends a line); returns the finished lines to log."""
        finished: list[str] = []
        for piece in re.split(r"(\r|\n)", _ANSI.sub("", text)):
            if piece in ("\r", "\n"):
                self._read(self.current_line)  # only whole lines are read: a chunk may end mid-number
                if piece == "\n":
                    finished.append(self.current_line)
                    self.current_line = ""
                else:
                    self._redraw = True
            elif piece:
                self.current_line = piece if self._redraw else self.current_line + piece
                self._redraw = False
        return finished

    def _read(self, line: str) -> None:
        if match := _COMPONENT.search(line):
            self.component, self.epoch, self.epochs = match.group(1), 0, 0
        elif match := _EPOCHS.search(line):
            self.epoch, self.epochs = int(match.group(1)), int(match.group(2))
        elif match := _EVALUATED.search(line):
            self.evaluated, self.to_evaluate = int(match.group(1)), int(match.group(2))

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "component": self.component,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "evaluated": self.evaluated,
            "to_evaluate": self.to_evaluate,
            "current_line": self.current_line,
        }


@dataclass(frozen=True)
class Verdict:
    """Whether a new model may go live, and why (Chinese, shown in the console)."""

    activate: bool
    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        return "；".join(self.reasons)


def _stories_text(evaluation: Mapping[str, Any]) -> str:
    stories = evaluation.get("stories")
    return f"测试对话 {stories['correct']}/{stories['total']} 通过" if stories else "无测试对话"


def judge(candidate: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> Verdict:
    """Compares a new model's evaluation with the active model's (None: nothing to compare with)."""
    new_f1 = float(candidate["macro_f1"])
    if baseline is None:
        return Verdict(True, (f"意图 macro-F1 {new_f1:.3f}，{_stories_text(candidate)}；当前没有可比较的线上模型",))
    old_f1 = float(baseline["macro_f1"])
    reasons: list[str] = []
    if new_f1 < old_f1 - F1_TOLERANCE:
        reasons.append(f"意图 macro-F1 {new_f1:.3f} 低于线上模型的 {old_f1:.3f}")
        old_intents = baseline.get("intents") or {}
        drops = sorted(
            (
                (old_intents[name]["f1"] - scores["f1"], name, old_intents[name]["f1"], scores["f1"])
                for name, scores in (candidate.get("intents") or {}).items()
                if name in old_intents and old_intents[name]["f1"] - scores["f1"] >= INTENT_DROP_SHOWN
            ),
            reverse=True,
        )
        if drops:
            worst = "、".join(f"{name} {old:.2f}→{new:.2f}" for _, name, old, new in drops[:3])
            reasons.append(f"下降最多的意图：{worst}")
    new_stories, old_stories = candidate.get("stories"), baseline.get("stories")
    if new_stories and old_stories and new_stories["failed"] > old_stories["failed"]:
        reasons.append(f"测试对话失败 {new_stories['failed']} 个，线上模型失败 {old_stories['failed']} 个")
    if reasons:
        return Verdict(False, tuple(reasons))
    return Verdict(
        True,
        (f"意图 macro-F1 {new_f1:.3f}（线上模型 {old_f1:.3f}），{_stories_text(candidate)}，不比线上模型差",),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_dict(run: TrainingRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "agent_id": run.agent_id,
        "status": run.status,
        "model": Path(run.model_file).name if run.model_file else None,
        "evaluation": run.evaluation,
        "baseline": run.baseline,
        "message": run.message,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


class ModelService:
    """Training runs, the models folder, and the model the running Rasa server uses."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        tasks: BackgroundTasks,
        paths: TrainingPaths,
        rasa_url: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``token``: Rasa's HTTP API token (``rasa run --auth-token``, ``KEFU_RASA_TOKEN``), sent as ``?token=``."""
        self.store = store
        self.clock = clock
        self.tasks = tasks
        self.paths = paths
        self.rasa_url = rasa_url.rstrip("/")
        self._transport = transport
        self._api_params = {"token": token} if token else {}
        self._current: tuple[int, Progress] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._sha_cache: dict[tuple[str, int, int], str] = {}

    # -- runs ------------------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Marks runs a previous hub process left unfinished as failed (their subprocess died with it)."""
        with self.store.transaction() as tx:
            for run in tx.unfinished_training_runs():
                tx.update_training_run(
                    run.id, status="failed", message="训练中断：hub 在训练期间重启。", finished_at=self.clock.now()
                )

    async def start(self, agent_id: str) -> TrainingRun:
        """Starts a run in the background.

        Raises:
            TrainingInProgress: A run is going on.
        """
        if self._current is not None:
            raise TrainingInProgress()
        self.paths.runs_dir.mkdir(parents=True, exist_ok=True)
        with self.store.transaction() as tx:
            run = tx.insert_training_run(agent_id=agent_id, log_file="", now=self.clock.now())
            folder = self.paths.runs_dir / str(run.id)
            run = tx.update_training_run(run.id, log_file=str(folder / "train.log"))
        folder.mkdir(parents=True, exist_ok=True)
        Path(run.log_file).touch()
        self._current = (run.id, Progress())
        self.tasks.spawn(self._run(run), name=f"training-run-{run.id}")
        return run

    def current(self) -> dict[str, Any] | None:
        """The run going on, with its progress."""
        if self._current is None:
            return None
        run_id, progress = self._current
        with self.store.transaction() as tx:
            run = tx.training_run(run_id)
        return {**run_dict(run), "progress": progress.to_dict()} if run else None

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            return [run_dict(run) for run in tx.training_runs(limit)]

    def run(self, run_id: int) -> dict[str, Any]:
        with self.store.transaction() as tx:
            run = tx.training_run(run_id)
        if run is None:
            raise TrainerItemNotFound(f"训练记录 {run_id} 不存在。")
        found = run_dict(run)
        if self._current is not None and self._current[0] == run_id:
            found["progress"] = self._current[1].to_dict()
        return found

    def log(self, run_id: int, offset: int = 0) -> dict[str, Any]:
        """The run's log from byte ``offset`` (at most ``LOG_PAGE_BYTES``) and the bar being drawn now."""
        run = self.run(run_id)
        with self.store.transaction() as tx:
            stored = tx.training_run(run_id)
        assert stored is not None
        path = Path(stored.log_file)
        size = path.stat().st_size if path.exists() else 0
        offset = min(max(offset, 0), size)
        with contextlib.suppress(FileNotFoundError), path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(LOG_PAGE_BYTES)
            cut = data.rfind(b"\n") + 1 if len(data) == LOG_PAGE_BYTES else len(data)
            return {
                "text": data[:cut].decode("utf-8", errors="replace"),
                "next_offset": offset + cut,
                "done": run["finished_at"] is not None,
                "progress": run.get("progress"),
                "status": run["status"],
            }
        return {"text": "", "next_offset": 0, "done": True, "progress": None, "status": run["status"]}

    async def _run(self, run: TrainingRun) -> None:
        assert self._current is not None
        progress = self._current[1]
        log_path = Path(run.log_file)
        folder = log_path.parent
        try:
            model = await self._train(run.id, folder, log_path, progress)
            if model is None:
                return
            progress.phase = "evaluating"
            self._update(run.id, status="evaluating", model_file=str(model))
            evaluation, baseline, active_note = await self._evaluate(model, folder, log_path, progress)
            if evaluation is None:
                self._finish(run.id, "failed", "评测失败，详见日志。")
                return
            self._update(run.id, evaluation=evaluation, baseline=baseline)
            if active_note:  # the active model exists but cannot be compared: do not replace it blindly
                self._finish(run.id, "trained", f"{active_note}；新模型未自动上线，可在模型列表中手动上线。")
                return
            verdict = judge(evaluation, baseline)
            self._append(log_path, f"评测结论：{'可以上线' if verdict.activate else '拒绝上线'}：{verdict.message}")
            if not verdict.activate:
                self._finish(run.id, "refused", f"新模型未上线：{verdict.message}")
                return
            progress.phase = "activating"
            try:
                await self.activate(run.agent_id, str(model), run_id=run.id, reason="trained")
            except RasaUnavailable as error:
                self._finish(run.id, "trained", f"评测通过（{verdict.message}），但无法上线：{error.message}")
                return
            self._finish(run.id, "activated", f"已上线：{verdict.message}")
        except asyncio.CancelledError:
            self._finish(run.id, "failed", "训练被中止（hub 关闭）。")
            raise
        except Exception as error:  # the background task has no caller: the console shows the reason
            log.exception("training run %s failed", run.id)
            self._finish(run.id, "failed", f"训练失败：{error}")
        finally:
            progress.phase = "finished"
            self._current = None

    async def _train(self, run_id: int, folder: Path, log_path: Path, progress: Progress) -> Path | None:
        from bot.train import MODEL_PREFIX, training_fingerprint

        snapshot = folder / "project"
        paths = self.paths
        await asyncio.to_thread(self._snapshot, snapshot)
        fingerprint = await asyncio.to_thread(training_fingerprint, paths.project_root)
        name = f"{MODEL_PREFIX}{fingerprint}"
        command = [
            paths.python, "-m", "rasa", "train",
            "--config", str(snapshot / "config.yml"),
            "--domain", str(snapshot / "domain"),
            "--data", str(snapshot / "data"),
            "--out", str(folder),
            "--fixed-model-name", name,
        ]  # fmt: skip
        self._append(log_path, f"$ {' '.join(command)}")
        code = await self._subprocess(command, log_path, progress)
        model = folder / f"{name}.tar.gz"
        if code != 0 or not model.exists():
            self._finish(run_id, "failed", f"训练失败（rasa train 退出码 {code}），详见日志。")
            return None
        return model

    def _snapshot(self, snapshot: Path) -> None:
        paths = self.paths
        shutil.rmtree(snapshot, ignore_errors=True)
        snapshot.mkdir(parents=True)
        shutil.copyfile(paths.config, snapshot / "config.yml")
        for source, target in ((paths.domain, snapshot / "domain"), (paths.data, snapshot / "data")):
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
            else:
                target.mkdir()
                shutil.copyfile(source, target / source.name)

    async def _evaluate(
        self, model: Path, folder: Path, log_path: Path, progress: Progress
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
        """The new model's evaluation, the active model's (or None), and why the active one cannot be compared."""
        active_name, active_error = await self.active_model_name()
        active_path = self._locate(active_name) if active_name else None
        note = None
        if active_error is not None:
            note = f"无法确认线上模型（{active_error}）"
        elif active_name and active_path is None:
            note = f"线上模型 {active_name} 不在模型目录中，无法评测比较"
        baseline = None
        models = [model]
        if active_path is not None:
            active_sha = await asyncio.to_thread(self.sha256, active_path)
            with self.store.transaction() as tx:
                baseline = tx.model_evaluation(active_sha)
            if baseline is None:
                models.append(active_path)
        out = folder / "evaluation.json"
        command = [self.paths.python, "-m", "hub.services.trainer_eval", "--nlu", str(self.paths.nlu_heldout)]
        if self.paths.test_stories.exists():
            command += ["--stories", str(self.paths.test_stories)]
        command += ["--out", str(out), *map(str, models)]
        self._append(log_path, f"$ {' '.join(command)}")
        code = await self._subprocess(command, log_path, progress)
        if code != 0 or not out.exists():
            return None, None, note
        results = json.loads(out.read_text(encoding="utf-8"))
        now = self.clock.now()
        for path in models:
            sha = await asyncio.to_thread(self.sha256, path)
            with self.store.transaction() as tx:
                tx.save_model_evaluation(sha, str(path), results[str(path)], now)
        if active_path is not None and baseline is None:
            baseline = results[str(active_path)]
        return results[str(model)], baseline, note

    async def _subprocess(self, command: list[str], log_path: Path, progress: Progress) -> int:
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
        self._process = await asyncio.create_subprocess_exec(
            *command,
            cwd=self.paths.project_root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole on shutdown
        )
        process = self._process
        assert process.stdout is not None
        try:
            with log_path.open("a", encoding="utf-8") as output:
                while chunk := await process.stdout.read(READ_CHUNK_BYTES):
                    for line in progress.feed(chunk.decode("utf-8", errors="replace")):
                        output.write(line + "\n")
                    output.flush()
            return await process.wait()
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(process.wait(), 10)
            self._process = None

    def _append(self, log_path: Path, line: str) -> None:
        with log_path.open("a", encoding="utf-8") as output:
            output.write(line + "\n")

    def _update(self, run_id: int, **values: Any) -> None:
        with self.store.transaction() as tx:
            tx.update_training_run(run_id, **values)

    def _finish(self, run_id: int, status: str, message: str) -> None:
        self._update(run_id, status=status, message=message, finished_at=self.clock.now())
        with self.store.transaction() as tx:
            run = tx.training_run(run_id)
        if run is not None:
            self._append(Path(run.log_file), f"== {message}")

    async def close(self) -> None:
        """Stops a training subprocess (the task itself is cancelled with the hub's background tasks)."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)

    # -- models ----------------------------------------------------------------------------------------------

    def sha256(self, path: Path) -> str:
        """The file's sha256, cached by path, size and modification time (models are tens of megabytes)."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._sha_cache:
            self._sha_cache[key] = file_sha256(path)
        return self._sha_cache[key]

    def _locate(self, name: str) -> Path | None:
        """A model file by the name Rasa reports (``/status`` gives the file name only)."""
        candidate = self.paths.models_dir / name
        if candidate.exists():
            return candidate
        found = sorted(self.paths.runs_dir.glob(f"*/{name}"), key=lambda p: p.stat().st_mtime, reverse=True)
        return found[0] if found else None

    def _client(self, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.rasa_url, timeout=timeout, transport=self._transport)

    async def active_model_name(self) -> tuple[str | None, str | None]:
        """The file name of the model Rasa serves (None: no model loaded), or None and why Rasa was not asked."""
        try:
            async with self._client(RASA_STATUS_TIMEOUT_SECONDS) as client:
                response = await client.get("/status", params=self._api_params)
        except httpx.HTTPError as error:
            return None, f"无法连接 Rasa：{type(error).__name__}"
        if response.status_code == 409:  # Rasa runs without a model ("No agent loaded")
            return None, None
        if response.status_code != 200:
            return None, f"Rasa /status 返回 {response.status_code}"
        model = (response.json() or {}).get("model_file")
        return (Path(str(model)).name if model else None), None

    async def models(self) -> dict[str, Any]:
        """The models folder (newest first) and refused or unactivated candidates, with their evaluations."""
        active_name, active_error = await self.active_model_name()
        with self.store.transaction() as tx:
            runs = tx.training_runs(200)
            activations = tx.model_activations(200)
        by_file = {run.model_file: run for run in runs if run.model_file}
        files = sorted(self.paths.models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        listed = {path.name for path in files}
        files += [Path(run.model_file) for run in runs if run.model_file and Path(run.model_file).name not in listed]
        rows = []
        for path in files:
            if not path.exists():
                continue
            sha = await asyncio.to_thread(self.sha256, path)
            with self.store.transaction() as tx:
                evaluation = tx.model_evaluation(sha)
            run = by_file.get(str(path))
            rows.append(
                {
                    "file": str(path),
                    "name": path.name,
                    "location": "models" if path.parent == self.paths.models_dir else "candidate",
                    "size": path.stat().st_size,
                    "modified_at": self._iso(path.stat().st_mtime),
                    "active": path.name == active_name and path.parent == self.paths.models_dir,
                    "run": run_dict(run) if run else None,
                    "macro_f1": evaluation.get("macro_f1") if evaluation else None,
                    "stories": evaluation.get("stories") if evaluation else None,
                }
            )
        return {
            "active": active_name,
            "rasa_error": active_error,
            "models": rows,
            "activations": [
                {
                    "model": Path(a.model_file).name,
                    "agent_id": a.agent_id,
                    "reason": a.reason,
                    "run_id": a.run_id,
                    "activated_at": a.activated_at.isoformat(),
                }
                for a in activations
            ],
        }

    @staticmethod
    def _iso(timestamp: float) -> str:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()

    async def activate(self, agent_id: str, file: str, *, run_id: int | None = None, reason: str = "rollback") -> str:
        """Copies the model into the models folder as its newest file and loads it into Rasa.

        Raises:
            ValidationFailed: ``file`` is not a model of the models folder or of a run.
            RasaUnavailable: Rasa did not load it.
        """
        source = Path(file)
        allowed = (self.paths.models_dir.resolve(), self.paths.runs_dir.resolve())
        if source.suffixes[-2:] != [".tar", ".gz"] or not any(source.resolve().is_relative_to(a) for a in allowed):
            raise ValidationFailed("只能上线模型目录或训练记录中的模型文件。")
        if not source.exists():
            raise TrainerItemNotFound(f"模型文件 {source.name} 不存在。")
        self.paths.models_dir.mkdir(parents=True, exist_ok=True)
        target = self.paths.models_dir / source.name
        if source.resolve() != target.resolve():
            temporary = target.with_name(f".{target.name}.tmp")
            await asyncio.to_thread(shutil.copyfile, source, temporary)
            os.replace(temporary, target)
        now = time.time()
        os.utime(target, (now, now))  # the newest file is the one `rasa run --model models` serves
        try:
            async with self._client(RASA_LOAD_TIMEOUT_SECONDS) as client:
                response = await client.put(
                    "/model", json={"model_file": str(target.resolve())}, params=self._api_params
                )
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"无法连接 Rasa：{type(error).__name__}") from error
        if response.status_code >= 400:
            raise RasaUnavailable(f"Rasa 未能加载模型（HTTP {response.status_code}）：{response.text[:300]}")
        with self.store.transaction() as tx:
            tx.insert_model_activation(
                model_file=str(target), agent_id=agent_id, run_id=run_id, reason=reason, now=self.clock.now()
            )
        log.info("model %s activated by %s (%s)", target.name, agent_id, reason)
        return str(target)
