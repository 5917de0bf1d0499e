"""Hub settings, read once from the environment with typed conversion.

A malformed value fails at start-up with :class:`~hub.exceptions.ConfigurationError` naming the variable.
Secrets come only from the environment.

| variable | default | meaning |
| --- | --- | --- |
| KEFU_VAR_DIR | ./var | runtime data (SQLite database) |
| KEFU_HUB_DATABASE_URL | sqlite:///<var>/hub.db | SQLAlchemy URL; ``postgresql://…`` for PostgreSQL |
| KEFU_RASA_URL | http://127.0.0.1:5005 | Rasa server (REST channel + HTTP API) |
| KEFU_HUB_URL | http://127.0.0.1:8000 | where the hub is reachable (used by the action server) |
| KEFU_HUB_SECRET_KEY | random per process | signs agent session cookies; set it to keep sessions across restarts |
| KEFU_HUB_SERVICE_TOKEN | **required** | shared bearer token of the service endpoints (see below); ≥ 16 characters |
| KEFU_HUB_TIMEZONE | Asia/Shanghai | time zone of the business hours |
| KEFU_HUB_HUMAN_HOURS | 08:00-22:00 | when human agents serve (``00:00-24:00`` = always) |
| KEFU_HUB_SIGN_LANGUAGE_HOURS | 09:00-18:00 | when sign-language interpreters serve |
| KEFU_HUB_SEED_DEMO | true | create the demo agents on start-up if they do not exist |
| KEFU_HUB_BCRYPT_ROUNDS | 12 | bcrypt cost for new password hashes (4–31; tests use 4) |
| KEFU_HUB_AUTO_ASSIGN | true | push waiting customers to online agents; otherwise agents only "accept next" |
| KEFU_RASA_TOKEN | none | token of Rasa's HTTP API (``rasa run --auth-token``); sent with every HTTP API call |
| KEFU_HUB_RASA_TIMEOUT | 30 | seconds to wait for Rasa's reply to one message |
| KEFU_HUB_ICE_SERVERS | [] | sign-language video: JSON array of RTCIceServer objects (STUN/TURN), see below |

The service token guards what only our own processes call: ``POST /api/handoffs`` and ``POST /api/unanswered``
(the action server sends ``Authorization: Bearer <token>``), ``GET /metrics`` (Prometheus's ``authorization``
setting; a logged-in trainer may read it too) and ``/ws/echo`` (header, or ``?token=`` where a client cannot set
headers). The hub refuses to start without it rather than leave those endpoints open or silently closed;
``make run`` exports a fresh random one per run to the hub and the action server alike.

ICE servers, e.g. ``[{"urls": "stun:stun.example.com:3478"}, {"urls": ["turns:turn.example.com:443"],
"username": "kefu", "credential": "…"}]``, are handed to the widget and the console as they are. None are needed
when both browsers reach each other directly (one machine, one LAN); across NATs add STUN, behind strict
firewalls TURN (prefer short-lived TURN credentials: every customer's browser receives them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.exceptions import ConfigurationError

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_TRUE = {"1", "true", "yes", "on"}
_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
_ICE_KEYS = {"urls", "username", "credential"}
_FALSE = {"0", "false", "no", "off"}
# 16 characters: far beyond guessing over HTTP, and short enough for any secret store; `make` generates 32.
MIN_SERVICE_TOKEN_CHARS = 16


@dataclass(frozen=True)
class BusinessHours:
    """A daily opening window in local time; ``end`` of 24:00 is written as ``time.max``."""

    start: time
    end: time

    def is_open(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether the aware ``moment`` falls inside the window in ``zone``."""
        local = moment.astimezone(zone).time()
        return self.start <= local < self.end

    def describe(self) -> str:
        """``08:00–22:00`` as shown to customers."""
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}"


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    rasa_url: str
    hub_url: str
    secret_key: str
    timezone: ZoneInfo
    human_hours: BusinessHours
    sign_language_hours: BusinessHours
    seed_demo: bool
    bcrypt_rounds: int
    auto_assign: bool
    rasa_timeout: float
    service_token: str
    rasa_token: str | None = None
    ice_servers: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``KEFU_*`` variable the hub uses; raise ConfigurationError naming a bad one."""
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("KEFU_VAR_DIR", "./var"))
        database_url = env.get("KEFU_HUB_DATABASE_URL") or f"sqlite:///{var_dir / 'hub.db'}"
        if not database_url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg2://")):
            raise ConfigurationError(
                f"KEFU_HUB_DATABASE_URL must be a sqlite:// or postgresql:// URL, got {database_url!r}"
            )
        return cls(
            var_dir=var_dir,
            database_url=database_url,
            rasa_url=_url(env, "KEFU_RASA_URL", "http://127.0.0.1:5005"),
            hub_url=_url(env, "KEFU_HUB_URL", "http://127.0.0.1:8000"),
            secret_key=env.get("KEFU_HUB_SECRET_KEY") or secrets.token_urlsafe(32),
            timezone=_zone(env, "KEFU_HUB_TIMEZONE", "Asia/Shanghai"),
            human_hours=_hours(env, "KEFU_HUB_HUMAN_HOURS", "08:00-22:00"),
            sign_language_hours=_hours(env, "KEFU_HUB_SIGN_LANGUAGE_HOURS", "09:00-18:00"),
            seed_demo=_bool(env, "KEFU_HUB_SEED_DEMO", True),
            bcrypt_rounds=_int(env, "KEFU_HUB_BCRYPT_ROUNDS", 12, low=4, high=31),
            auto_assign=_bool(env, "KEFU_HUB_AUTO_ASSIGN", True),
            rasa_timeout=_float(env, "KEFU_HUB_RASA_TIMEOUT", 30.0, low=0.1),
            service_token=_service_token(env, "KEFU_HUB_SERVICE_TOKEN"),
            rasa_token=env.get("KEFU_RASA_TOKEN") or None,
            ice_servers=_ice_servers(env, "KEFU_HUB_ICE_SERVERS"),
        )


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _service_token(env: Mapping[str, str], name: str) -> str:
    """The shared secret of the service endpoints: required, so they are never open by accident."""
    value = (env.get(name) or "").strip()
    if not value:
        raise ConfigurationError(
            f"{name} is not set: the hub needs the service token the action server sends "
            "(`make run` generates one; otherwise set the same random value for the hub and the action server)"
        )
    if len(value) < MIN_SERVICE_TOKEN_CHARS:
        raise ConfigurationError(f"{name} must be at least {MIN_SERVICE_TOKEN_CHARS} characters long")
    return value


def _zone(env: Mapping[str, str], name: str, default: str) -> ZoneInfo:
    value = env.get(name) or default
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"{name} must be an IANA time zone such as Asia/Shanghai, got {value!r}") from exc


def _hours(env: Mapping[str, str], name: str, default: str) -> BusinessHours:
    value = (env.get(name) or default).strip()
    match = _HOURS.match(value)
    if not match:
        raise ConfigurationError(f"{name} must look like 08:00-22:00, got {value!r}")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if (end_h, end_m) == (24, 0):
        end = time.max
    elif end_h < 24 and end_m < 60:
        end = time(end_h, end_m)
    else:
        raise ConfigurationError(f"{name} has an invalid end time in {value!r}")
    if start_h >= 24 or start_m >= 60:
        raise ConfigurationError(f"{name} has an invalid start time in {value!r}")
    start = time(start_h, start_m)
    if start >= end:
        raise ConfigurationError(f"{name} must start before it ends, got {value!r}")
    return BusinessHours(start=start, end=end)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from exc
    if not low <= number <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _float(env: Mapping[str, str], name: str, default: float, *, low: float) -> float:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from exc
    if number < low:
        raise ConfigurationError(f"{name} must be at least {low}, got {number}")
    return number


def _ice_servers(env: Mapping[str, str], name: str) -> tuple[dict[str, Any], ...]:
    """RTCIceServer objects as browsers take them; a TURN server needs a username and a credential."""
    value = (env.get(name) or "").strip()
    if not value:
        return ()
    try:
        servers = json.loads(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a JSON array of ICE servers, got {value!r}") from exc
    if not isinstance(servers, list):
        raise ConfigurationError(f"{name} must be a JSON array of ICE servers, got {value!r}")
    result = []
    for index, server in enumerate(servers):
        where = f"{name}[{index}]"
        if not isinstance(server, dict) or not server.keys() <= _ICE_KEYS:
            raise ConfigurationError(f"{where} must be an object with urls and optionally username, credential")
        urls = server.get("urls")
        url_list = [urls] if isinstance(urls, str) else urls
        if not isinstance(url_list, list) or not url_list:
            raise ConfigurationError(f"{where}.urls must be a URL or a non-empty list of URLs")
        for url in url_list:
            if not isinstance(url, str) or not url.startswith(_ICE_SCHEMES):
                raise ConfigurationError(f"{where}.urls must start with stun:, stuns:, turn: or turns:, got {url!r}")
        for key in ("username", "credential"):
            if key in server and not isinstance(server[key], str):
                raise ConfigurationError(f"{where}.{key} must be a string")
        if any(url.startswith(("turn:", "turns:")) for url in url_list) and not (
            server.get("username") and server.get("credential")
        ):
            raise ConfigurationError(f"{where} is a TURN server and needs username and credential")
        result.append(dict(server))
    return tuple(result)
