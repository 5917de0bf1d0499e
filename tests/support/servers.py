"""Starts project processes (Rasa, the action server) as real subprocesses for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_SECONDS = 240  # Rasa imports TensorFlow and loads the model: ~40 s here, more on a busy machine


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Polls ``url`` until it answers 200; fails with the process log if the process dies or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {STARTUP_TIMEOUT_SECONDS} s:\n{log.read_text()[-4000:]}")


@contextmanager
def running(command: list[str], ready_url: str, log: Path, env: Mapping[str, str]) -> Iterator[None]:
    """Runs ``command`` until the block ends; yields once ``ready_url`` answers."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_ready(ready_url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
