"""The bank settings (actions/settings.py) and get_backend() (actions/backends/__init__.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actions import backends, settings
from actions.backends.http_client import HttpBankBackend
from actions.backends.stub import StubBankBackend
from actions.settings import SettingsError, load_settings


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Forget the cached settings and backend before and after the test."""
    for name in ("KEFU_BANK_BACKEND", "KEFU_BANK_DATABASE_URL", "KEFU_BANK_API_URL", "KEFU_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings.get_settings.cache_clear()
    backends.reset_backend()
    yield monkeypatch
    settings.get_settings.cache_clear()
    backends.reset_backend()


def test_load_settings_empty_environment_gives_defaults() -> None:
    loaded = load_settings({})
    assert loaded.bank_backend == "stub"
    assert loaded.bank_database_url == "sqlite:///var/bank.db"
    assert loaded.bank_api_url is None
    assert (loaded.bank_timeout_seconds, loaded.bank_retries) == (3.0, 2)


def test_load_settings_var_dir_moves_the_database() -> None:
    assert load_settings({"KEFU_VAR_DIR": "/srv/kefu"}).bank_database_url == "sqlite:////srv/kefu/bank.db"


def test_load_settings_http_backend_reads_url_timeout_and_retries() -> None:
    loaded = load_settings(
        {
            "KEFU_BANK_BACKEND": "HTTP",
            "KEFU_BANK_API_URL": "https://core.bank.example/api",
            "KEFU_BANK_TIMEOUT_SECONDS": "1.5",
            "KEFU_BANK_RETRIES": "0",
        }
    )
    assert (loaded.bank_backend, loaded.bank_api_url) == ("http", "https://core.bank.example/api")
    assert (loaded.bank_timeout_seconds, loaded.bank_retries) == (1.5, 0)


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"KEFU_BANK_BACKEND": "soap"}, "KEFU_BANK_BACKEND"),
        ({"KEFU_BANK_TIMEOUT_SECONDS": "three"}, "KEFU_BANK_TIMEOUT_SECONDS"),
        ({"KEFU_BANK_TIMEOUT_SECONDS": "0"}, "KEFU_BANK_TIMEOUT_SECONDS"),
        ({"KEFU_BANK_RETRIES": "2.5"}, "KEFU_BANK_RETRIES"),
        ({"KEFU_BANK_RETRIES": "-1"}, "KEFU_BANK_RETRIES"),
        ({"KEFU_BANK_DATABASE_URL": "bank.db"}, "KEFU_BANK_DATABASE_URL"),
        ({"KEFU_BANK_API_URL": "core.bank.example"}, "KEFU_BANK_API_URL"),
        ({"KEFU_BANK_BACKEND": "http"}, "KEFU_BANK_API_URL"),
    ],
)
def test_load_settings_malformed_value_names_the_variable(environ: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(environ)


async def test_get_backend_default_is_one_stub_per_process(fresh_process: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fresh_process.setenv("KEFU_VAR_DIR", str(tmp_path))
    backend = backends.get_backend()
    assert isinstance(backend, StubBankBackend)
    assert backends.get_backend() is backend
    assert (await backend.get_customer("cust-good")).name == "张伟"
    assert (tmp_path / "bank.db").exists()
    await backend.aclose()


async def test_get_backend_http_setting_builds_http_client(fresh_process: pytest.MonkeyPatch) -> None:
    fresh_process.setenv("KEFU_BANK_BACKEND", "http")
    fresh_process.setenv("KEFU_BANK_API_URL", "http://127.0.0.1:9")
    backend = backends.get_backend()
    assert isinstance(backend, HttpBankBackend)
    await backend.aclose()
