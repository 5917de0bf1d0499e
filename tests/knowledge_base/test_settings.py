"""Settings from the environment: defaults, typed values, malformed values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.exceptions import SettingsError
from knowledge_base.settings import DEFAULT_DATA_DIR, DEFAULT_THRESHOLDS, IndexKind, Settings


def test_settings_empty_environment_uses_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # a var/ folder of its own: the project's may hold a tuned model
    settings = Settings.from_env({})

    assert settings.embedding_model == str(Path("var") / "models" / "multilingual-e5-small")
    assert settings.embedding_backend == "auto"
    assert settings.tuning_base_model == settings.embedding_model
    assert settings.data_dir == DEFAULT_DATA_DIR
    assert settings.index_dir == Path("var") / "kb_index"
    assert settings.index_kind is IndexKind.FLAT
    assert settings.thresholds == DEFAULT_THRESHOLDS


def test_settings_var_dir_moves_model_and_index() -> None:
    settings = Settings.from_env({"KEFU_VAR_DIR": "/srv/kefu"})

    assert settings.embedding_model == "/srv/kefu/models/multilingual-e5-small"
    assert settings.index_dir == Path("/srv/kefu/kb_index")


def test_settings_prefer_the_tuned_model_once_it_exists(tmp_path: Path) -> None:
    tuned = tmp_path / "models" / "kefu-e5-small-tuned"
    tuned.mkdir(parents=True)
    assert Settings.from_env({"KEFU_VAR_DIR": str(tmp_path)}).embedding_model.endswith("multilingual-e5-small")

    (tuned / "modules.json").write_text("[]", encoding="utf-8")
    settings = Settings.from_env({"KEFU_VAR_DIR": str(tmp_path)})

    assert settings.embedding_model == str(tuned)
    assert settings.tuning_base_model == str(tmp_path / "models" / "multilingual-e5-small")


def test_settings_explicit_model_is_used_and_tuned_from(tmp_path: Path) -> None:
    settings = Settings.from_env({"KEFU_VAR_DIR": str(tmp_path), "KEFU_EMBEDDING_MODEL": "/srv/other-model"})

    assert settings.embedding_model == settings.tuning_base_model == "/srv/other-model"


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
        ("KEFU_KB_EMBEDDING_BACKEND", "tensorrt"),
    ],
)
def test_settings_malformed_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_settings_clarify_above_answer_fails() -> None:
    with pytest.raises(SettingsError, match="KEFU_KB_CLARIFY_THRESHOLD"):
        Settings.from_env({"KEFU_KB_ANSWER_THRESHOLD": "0.8", "KEFU_KB_CLARIFY_THRESHOLD": "0.9"})
