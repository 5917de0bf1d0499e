"""The loan and account backends: the interface (`base`), a persistent stub and an HTTP client.

`get_backend()` builds the backend the settings (`actions.settings`) choose, once per process.
"""

from __future__ import annotations

import threading

from actions.backends.base import BankBackend
from actions.settings import Settings, get_settings

_backend: BankBackend | None = None
_lock = threading.Lock()


def build_backend(settings: Settings) -> BankBackend:
    """A new backend as `settings` describe: the stub (default) or the HTTP client."""
    if settings.bank_backend == "http":
        from actions.backends.http_client import HttpBankBackend

        assert settings.bank_api_url is not None  # load_settings requires it for http
        return HttpBankBackend(
            settings.bank_api_url, timeout_seconds=settings.bank_timeout_seconds, retries=settings.bank_retries
        )
    from actions.backends.stub import StubBankBackend

    return StubBankBackend(settings.bank_database_url)


def get_backend() -> BankBackend:
    """The process's backend, built on first use from the environment's settings."""
    global _backend
    with _lock:
        if _backend is None:
            _backend = build_backend(get_settings())
        return _backend


def reset_backend() -> None:
    """Forget the process's backend (tests that change the settings call this, with get_settings.cache_clear)."""
    global _backend
    with _lock:
        _backend = None


__all__ = ["BankBackend", "build_backend", "get_backend", "reset_backend"]
