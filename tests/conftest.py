"""Fixtures shared across the suite: the trained Rasa model and a running Rasa + action server stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.train import model_path, train, training_fingerprint
from knowledge_base.settings import default_embedding_model
from tests.support.servers import PROJECT_ROOT, VENV_BIN, free_port, running

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


RASA_TOKEN = "test-rasa-token"  # Rasa's HTTP API token in the test stack; the hub sends it
# The hub's service token (KEFU_HUB_SERVICE_TOKEN): `make test` exports a random one; a bare pytest run uses this
# one. Set in this process's environment, so every hub and action server the tests start (in-process or as a
# subprocess) shares it.
os.environ.setdefault("KEFU_HUB_SERVICE_TOKEN", "test-hub-service-token")
HUB_SERVICE_TOKEN = os.environ["KEFU_HUB_SERVICE_TOKEN"]


@dataclass(frozen=True)
class RasaStack:
    """URLs of a Rasa server and its action server started for the test session."""

    rasa_url: str
    action_url: str
    var_dir: Path
    hub_port: int  # reserved for a hub a test may start: the action server posts handoffs there

    @property
    def rest_webhook(self) -> str:
        """Rasa's REST channel endpoint."""
        return f"{self.rasa_url}/webhooks/rest/webhook"


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current training inputs, trained now if `make` has not trained it yet."""
    target = model_path(training_fingerprint())
    return target if target.exists() else train()


@pytest.fixture(scope="session")
def rasa_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """A real Rasa server (REST channel, HTTP API) and action server on free ports, with their own state."""
    var_dir = tmp_path_factory.mktemp("rasa-stack")
    rasa_port, action_port, hub_port = free_port(), free_port(), free_port()
    action_url = f"http://127.0.0.1:{action_port}"
    project_var = Path(os.environ.get("KEFU_VAR_DIR", PROJECT_ROOT / "var"))
    env = {
        "KEFU_VAR_DIR": str(var_dir),  # the bank stub's and the trackers' state start empty
        "KEFU_ACTION_URL": f"{action_url}/webhook",
        "KEFU_RASA_TRACKER_DB": str(var_dir / "rasa_tracker.db"),
        "KEFU_HUB_URL": f"http://127.0.0.1:{hub_port}",  # nothing listens unless a test starts a hub
        "KEFU_HUB_SERVICE_TOKEN": HUB_SERVICE_TOKEN,  # the action server sends it to that hub
        # the knowledge base prepared by `make index`
        "KEFU_EMBEDDING_MODEL": os.environ.get("KEFU_EMBEDDING_MODEL", default_embedding_model(project_var)),
        "KEFU_KB_INDEX_DIR": os.environ.get("KEFU_KB_INDEX_DIR", str(project_var / "kb_index")),
    }
    actions = [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(action_port)]
    rasa = [
        str(VENV_BIN / "rasa"), "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(rasa_port),
        "--auth-token", RASA_TOKEN,
        "--model", str(trained_model), "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml",
    ]  # fmt: skip
    with (
        running(actions, f"{action_url}/health", var_dir / "actions.log", env),
        running(rasa, f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", var_dir / "rasa.log", env),
    ):
        yield RasaStack(
            rasa_url=f"http://127.0.0.1:{rasa_port}", action_url=action_url, var_dir=var_dir, hub_port=hub_port
        )


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository's root folder."""
    return PROJECT_ROOT
