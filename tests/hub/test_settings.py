"""Settings: defaults, typed values, and errors that name the variable."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from hub.exceptions import ConfigurationError
from hub.settings import Settings

TOKEN = {"KEFU_HUB_SERVICE_TOKEN": "0123456789abcdef"}  # required; 16 characters is the shortest accepted


def test_defaults() -> None:
    settings = Settings.from_env({**TOKEN, "KEFU_VAR_DIR": "/tmp/kefu"})
    assert settings.database_url == "sqlite:////tmp/kefu/hub.db"
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert (settings.human_hours.start, settings.human_hours.end) == (time(8), time(22))
    assert settings.sign_language_hours.describe() == "09:00–18:00"
    assert settings.auto_assign and settings.seed_demo and settings.bcrypt_rounds == 12
    assert len(settings.secret_key) >= 32
    assert settings.service_token == "0123456789abcdef"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_service_token_refuses_to_start(value: str | None) -> None:
    env = {} if value is None else {"KEFU_HUB_SERVICE_TOKEN": value}
    with pytest.raises(ConfigurationError, match="KEFU_HUB_SERVICE_TOKEN is not set"):
        Settings.from_env(env)


def test_a_short_service_token_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="KEFU_HUB_SERVICE_TOKEN must be at least 16 characters"):
        Settings.from_env({"KEFU_HUB_SERVICE_TOKEN": "0123456789abcde"})


def test_business_hours_follow_the_configured_time_zone() -> None:
    settings = Settings.from_env(TOKEN)
    eight_in_shanghai = datetime(2024, 5, 6, 0, 0, tzinfo=timezone.utc)
    assert settings.human_hours.is_open(eight_in_shanghai, settings.timezone)
    assert not settings.sign_language_hours.is_open(eight_in_shanghai, settings.timezone)
    always = Settings.from_env({**TOKEN, "KEFU_HUB_HUMAN_HOURS": "00:00-24:00"})
    assert always.human_hours.is_open(datetime(2024, 5, 6, 15, 59, 59, tzinfo=timezone.utc), always.timezone)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEFU_HUB_DATABASE_URL", "mysql://x"),
        ("KEFU_RASA_URL", "localhost:5005"),
        ("KEFU_HUB_URL", "ftp://hub"),
        ("KEFU_HUB_TIMEZONE", "Mars/Olympus"),
        ("KEFU_HUB_HUMAN_HOURS", "8-22"),
        ("KEFU_HUB_HUMAN_HOURS", "22:00-08:00"),
        ("KEFU_HUB_SIGN_LANGUAGE_HOURS", "09:00-25:00"),
        ("KEFU_HUB_SEED_DEMO", "maybe"),
        ("KEFU_HUB_BCRYPT_ROUNDS", "3"),
        ("KEFU_HUB_BCRYPT_ROUNDS", "twelve"),
        ("KEFU_HUB_AUTO_ASSIGN", "2"),
        ("KEFU_HUB_RASA_TIMEOUT", "-1"),
    ],
)
def test_a_malformed_value_fails_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**TOKEN, name: value})


def test_ice_servers_default_to_none_and_take_stun_and_turn() -> None:
    assert Settings.from_env(TOKEN).ice_servers == ()
    servers = (
        '[{"urls": "stun:stun.example.com:3478"},'
        ' {"urls": ["turn:turn.example.com:3478", "turns:turn.example.com:443"], "username": "u", "credential": "p"}]'
    )
    settings = Settings.from_env({**TOKEN, "KEFU_HUB_ICE_SERVERS": servers})
    assert settings.ice_servers[0] == {"urls": "stun:stun.example.com:3478"}
    assert settings.ice_servers[1]["username"] == "u"


@pytest.mark.parametrize(
    "value",
    [
        "stun:stun.example.com",  # not JSON
        '{"urls": "stun:stun.example.com"}',  # not an array
        '[{"urls": "http://stun.example.com"}]',
        '[{"urls": []}]',
        '[{"urls": "turn:turn.example.com"}]',  # TURN without credentials
        '[{"urls": "stun:stun.example.com", "password": "p"}]',
    ],
)
def test_malformed_ice_servers_fail_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigurationError, match="KEFU_HUB_ICE_SERVERS"):
        Settings.from_env({**TOKEN, "KEFU_HUB_ICE_SERVERS": value})
