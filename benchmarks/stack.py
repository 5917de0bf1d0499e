"""The stack under test, started on free loopback ports with a temporary var folder of its own.

* Rasa (``python -m benchmarks.rasa_probe run …``: ``rasa run`` with timing probes and a metrics port);
* the action server (``python -m actions.server``, with ``/metrics``);
* the hub (uvicorn with wsproto websockets, with ``/metrics`` and ``/ws/echo``);
* a handoff recorder (``python -m benchmarks.recorder``) standing in for the hub's ``POST /api/handoffs``: the
  action server posts its context packets there, so the benchmark knows each handoff's reason, and a
  conversation handed off stays with the bot (the load test keeps measuring the bot; the hub's handoff path is
  covered by its own tests).

The knowledge-base index and the embedding model are the project's (``KEFU_KB_INDEX_DIR``,
``KEFU_EMBEDDING_MODEL``); the databases (Rasa's trackers, the bank stub, the hub) are created fresh.

Rasa gets ``bot/endpoints.yml`` with its ``${VARIABLES}`` already filled in (:func:`resolved_endpoints`): Rasa
only expands them in unquoted YAML scalars, and the benchmark must not depend on how the file quotes them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from knowledge_base.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Rasa imports TensorFlow and loads the model: ~40 s on an idle 2-core machine, far more on a busy one.
STARTUP_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 20  # then SIGKILL
COMMON_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "SANIC_HOST": "127.0.0.1",  # the action server listens on loopback only
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def current_model(models_dir: Path = PROJECT_ROOT / "models") -> Path:
    """The model for the current training inputs if trained, else the newest ``kefu-*.tar.gz``.

    Raises:
        FileNotFoundError: No model has been trained (``make model``).
    """
    from bot.train import model_path, training_fingerprint

    wanted = model_path(training_fingerprint())
    if wanted.exists():
        return wanted
    models = sorted(models_dir.glob("kefu-*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {models_dir}: run `make model`")
    return models[-1]


def resolved_endpoints(source: Path, target: Path, env: Mapping[str, str]) -> Path:
    """Writes ``source`` to ``target`` with every ``${NAME}`` replaced by ``env[NAME]``; returns ``target``.

    Raises:
        KeyError: The file names a variable ``env`` does not have.
    """
    text = re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], source.read_text(encoding="utf-8"))
    target.write_text(text, encoding="utf-8")
    return target


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Polls ``url`` until it answers 200; fails with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.name}: process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout} s:\n{log.read_text()[-4000:]}")


@contextmanager
def process(command: list[str], log: Path, env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Runs ``command`` from the project root until the block ends (terminate, then kill)."""
    with log.open("wb") as output:
        child = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env={**os.environ, **COMMON_ENV, **env}, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass(frozen=True)
class Stack:
    """Where everything runs."""

    rasa_url: str
    rasa_metrics_url: str
    action_url: str
    hub_url: str
    recorder_url: str
    rasa_token: str  # Rasa's HTTP API token (``--auth-token``), as in the Procfile; the REST channel needs none
    var_dir: Path
    model: Path

    def handoff_reasons(self, conversation_id: str) -> list[str]:
        """The reasons of the handoffs the action server asked for in a conversation, oldest first."""
        response = httpx.get(f"{self.recorder_url}/records/{conversation_id}", timeout=10)
        response.raise_for_status()
        return [str(record["reason"]) for record in response.json()]

    @property
    def metrics_urls(self) -> dict[str, str]:
        """The Prometheus endpoint of each process."""
        return {
            "hub": f"{self.hub_url}/metrics",
            "actions": f"{self.action_url}/metrics",
            "rasa": self.rasa_metrics_url,
        }


@contextmanager
def running_stack(model: Path | None = None, *, with_hub: bool = True, keep_var_dir: bool = False) -> Iterator[Stack]:
    """Starts Rasa, the action server, (the hub) and the handoff recorder; stops them when the block ends."""
    model = model or current_model()
    kb = get_settings()
    var_dir = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    ports = {name: free_port() for name in ("rasa", "rasa_metrics", "actions", "hub", "recorder")}
    rasa_url = f"http://127.0.0.1:{ports['rasa']}"
    action_url = f"http://127.0.0.1:{ports['actions']}"
    hub_url = f"http://127.0.0.1:{ports['hub']}"
    recorder_url = f"http://127.0.0.1:{ports['recorder']}"
    rasa_token = secrets.token_hex(16)
    # The hub refuses to start without a service token; `make bench` exports one, a direct run gets its own. It
    # goes into this process's environment too, where the load generator and the metrics probe read it.
    service_token = os.environ.setdefault("KEFU_HUB_SERVICE_TOKEN", secrets.token_hex(16))
    try:
        with ExitStack() as stack:
            env = {
                "KEFU_VAR_DIR": str(var_dir),
                "KEFU_ACTION_URL": f"{action_url}/webhook",
                "KEFU_RASA_TRACKER_DB": str(var_dir / "rasa_tracker.db"),
                "KEFU_RASA_URL": rasa_url,
                "KEFU_RASA_TOKEN": rasa_token,
                "KEFU_HUB_SERVICE_TOKEN": service_token,
                "KEFU_HUB_URL": recorder_url,
                "KEFU_EMBEDDING_MODEL": str(kb.embedding_model),
                "KEFU_KB_INDEX_DIR": str(kb.index_dir),
                "KEFU_BENCH_RASA_METRICS_PORT": str(ports["rasa_metrics"]),
                "KEFU_HUB_SEED_DEMO": "false",
                "KEFU_HUB_SECRET_KEY": secrets.token_hex(16),
                "KEFU_HUB_HUMAN_HOURS": "00:00-24:00",  # a benchmark may run at night
                "KEFU_HUB_SIGN_LANGUAGE_HOURS": "00:00-24:00",
            }
            endpoints = resolved_endpoints(PROJECT_ROOT / "bot" / "endpoints.yml", var_dir / "endpoints.yml", env)
            python = sys.executable
            commands = {
                "recorder": [python, "-m", "benchmarks.recorder", str(ports["recorder"])],
                "actions": [python, "-m", "actions.server", "--actions", "actions", "--port", str(ports["actions"])],
                "rasa": [
                    python, "-m", "benchmarks.rasa_probe", "run", "--enable-api", "--interface", "127.0.0.1",
                    "--auth-token", rasa_token, "--port", str(ports["rasa"]), "--model", str(model),
                    "--endpoints", str(endpoints), "--credentials", "bot/credentials.yml",
                ],
            }  # fmt: skip
            ready = {
                "recorder": f"{recorder_url}/healthz",
                "actions": f"{action_url}/health",
                "rasa": f"{rasa_url}/status?token={rasa_token}",
            }
            if with_hub:
                commands["hub"] = [
                    python, "-m", "uvicorn", "hub.app:create_app", "--factory", "--ws", "wsproto",
                    "--host", "127.0.0.1", "--port", str(ports["hub"]), "--log-level", "warning", "--no-access-log",
                ]  # fmt: skip
                ready["hub"] = f"{hub_url}/healthz"
            children = {
                name: stack.enter_context(process(cmd, var_dir / f"{name}.log", env)) for name, cmd in commands.items()
            }
            for name, url in ready.items():
                wait_until_ready(url, children[name], var_dir / f"{name}.log", STARTUP_TIMEOUT_SECONDS)
            yield Stack(
                rasa_url=rasa_url,
                rasa_metrics_url=f"http://127.0.0.1:{ports['rasa_metrics']}/metrics",
                action_url=action_url,
                hub_url=hub_url,
                recorder_url=recorder_url,
                rasa_token=rasa_token,
                var_dir=var_dir,
                model=model,
            )
    finally:
        if not keep_var_dir:
            shutil.rmtree(var_dir, ignore_errors=True)
