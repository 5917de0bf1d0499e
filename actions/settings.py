"""Settings of the actions package, read once from the environment with typed conversion.

A malformed value fails at start-up with the variable's name in the message. Keep this module small: one
frozen dataclass, one loader.

| variable | default |
| --- | --- |
| ``KEFU_BANK_BACKEND`` | ``stub`` (or ``http``) |
| ``KEFU_BANK_DATABASE_URL`` | ``sqlite:///<KEFU_VAR_DIR or ./var>/bank.db`` (the stub's database) |
| ``KEFU_BANK_API_URL`` | none; required when the backend is ``http`` |
| ``KEFU_BANK_TIMEOUT_SECONDS`` | ``3`` (per HTTP attempt) |
| ``KEFU_BANK_RETRIES`` | ``2`` (extra attempts after the first) |
| ``KEFU_HUB_SERVICE_TOKEN`` | none; the hub's service token, sent as ``Authorization: Bearer`` (see below) |

The hub token is read per call by :func:`hub_service_token`, apart from the bank settings, like ``KEFU_HUB_URL``:
a handoff is the way out when the bank is misconfigured or down, so it must not depend on the bank's settings.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BANK_BACKENDS = ("stub", "http")
HUB_SERVICE_TOKEN_VARIABLE = "KEFU_HUB_SERVICE_TOKEN"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """The actions' settings.

    Attributes:
        bank_backend: ``stub`` or ``http``.
        bank_database_url: SQLAlchemy URL of the stub's database.
        bank_api_url: Base URL of the core-banking REST API, if any.
        bank_timeout_seconds: Timeout of one HTTP attempt.
        bank_retries: Extra attempts after a connect error, timeout or 5xx.
    """

    bank_backend: str
    bank_database_url: str
    bank_api_url: str | None
    bank_timeout_seconds: float
    bank_retries: int


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more, got {raw!r}")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `environ` (default: the process environment).

    Raises:
        SettingsError: A value is malformed or a required one is missing; the message names it.
    """
    env = os.environ if environ is None else environ
    backend = env.get("KEFU_BANK_BACKEND", "").strip().lower() or "stub"
    if backend not in BANK_BACKENDS:
        raise SettingsError(f"KEFU_BANK_BACKEND must be one of {', '.join(BANK_BACKENDS)}, got {backend!r}")
    var_dir = Path(env.get("KEFU_VAR_DIR", "").strip() or "var")
    database_url = env.get("KEFU_BANK_DATABASE_URL", "").strip() or f"sqlite:///{var_dir / 'bank.db'}"
    if "://" not in database_url:
        raise SettingsError(f"KEFU_BANK_DATABASE_URL must be an SQLAlchemy URL, got {database_url!r}")
    api_url = env.get("KEFU_BANK_API_URL", "").strip() or None
    if api_url is not None and not api_url.startswith(("http://", "https://")):
        raise SettingsError(f"KEFU_BANK_API_URL must start with http:// or https://, got {api_url!r}")
    if backend == "http" and api_url is None:
        raise SettingsError("KEFU_BANK_API_URL is required when KEFU_BANK_BACKEND is http")
    return Settings(
        bank_backend=backend,
        bank_database_url=database_url,
        bank_api_url=api_url,
        bank_timeout_seconds=_float(env, "KEFU_BANK_TIMEOUT_SECONDS", 3.0),
        bank_retries=_int(env, "KEFU_BANK_RETRIES", 2),
    )


def hub_service_token(environ: Mapping[str, str] | None = None) -> str | None:
    """``KEFU_HUB_SERVICE_TOKEN`` from `environ` (default: the process environment), or None when unset."""
    env = os.environ if environ is None else environ
    return env.get(HUB_SERVICE_TOKEN_VARIABLE, "").strip() or None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return load_settings()
