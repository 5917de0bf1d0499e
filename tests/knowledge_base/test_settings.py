"""Settings from the environment: defaults, typed values, malformed values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.exceptions import SettingsError
from knowledge_base.settings import DEFAULT_DATA_DIR, DEFAULT_THRESHOLDS, IndexKind, Settings


def test_settings_empty_environment_uses_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.embedding_model == str(Path("var") / "models" / "multilingual-e5-small")
    assert settings.data_dir == DEFAULT_DATA_DIR
    assert settings.index_dir == Path("var") / "kb_index"
    assert settings.index_kind is IndexKind.FLAT
    assert settings.thresholds == DEFAULT_THRESHOLDS


def test_settings_var_dir_moves_model_and_index() -> None:
    settings = Settings.from_env({"KEFU_VAR_DIR": "/srv/kefu"})

    assert settings.embedding_model == "/srv/kefu/models/multilingual-e5-small"
    assert settings.index_dir == Path("/srv/kefu/kb_index")


def test_settings_values_are_converted() -> None:
    settings = Settings.from_env(
        {"KEFU_KB_INDEX_KIND": "HNSW", "KEFU_KB_ANSWER_THRESHOLD": "0.93", "KEFU_KB_QUERY_CACHE_SIZE": "10"}
    )

    assert settings.index_kind is IndexKind.HNSW
    assert settings.thresholds.answer == 0.93
    assert settings.query_cache_size == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEFU_KB_INDEX_KIND", "annoy"),
        ("KEFU_KB_ANSWER_THRESHOLD", "high"),
        ("KEFU_KB_ANSWER_MARGIN", "1.5"),
        ("KEFU_KB_QUERY_CACHE_SIZE", "-1"),
    ],
)
def test_settings_malformed_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_settings_clarify_above_answer_fails() -> None:
    with pytest.raises(SettingsError, match="KEFU_KB_CLARIFY_THRESHOLD"):
        Settings.from_env({"KEFU_KB_ANSWER_THRESHOLD": "0.8", "KEFU_KB_CLARIFY_THRESHOLD": "0.9"})
