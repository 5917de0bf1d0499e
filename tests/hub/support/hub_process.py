"""The hub as a real subprocess (``python -m uvicorn hub.app:create_app --factory``), killable with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import HUB_SERVICE_TOKEN
from tests.support.servers import PROJECT_ROOT, free_port, wait_until_ready


class HubProcess:
    def __init__(self, var_dir: Path, env: Mapping[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var_dir = var_dir
        self.env = {
            **os.environ,
            "KEFU_VAR_DIR": str(var_dir),
            "KEFU_HUB_SECRET_KEY": "e2e-secret-key",  # fixed, so agent sessions survive a restart
            "KEFU_HUB_BCRYPT_ROUNDS": "4",
            "KEFU_HUB_HUMAN_HOURS": "00:00-24:00",  # the suite may run at night
            "KEFU_HUB_SIGN_LANGUAGE_HOURS": "00:00-24:00",
            "KEFU_HUB_SERVICE_TOKEN": HUB_SERVICE_TOKEN,  # the same as the action servers' in this test run
            **env,
        }
        self.log = var_dir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> HubProcess:
        command = [
            sys.executable, "-m", "uvicorn", "hub.app:create_app", "--factory", "--ws", "wsproto",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        wait_until_ready(f"{self.url}/healthz", self.process, self.log)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; only what was committed survives."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
