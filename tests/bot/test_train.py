"""Training only when the inputs changed: the content hash that names the model."""

from __future__ import annotations

from pathlib import Path

from bot.train import model_path, training_fingerprint

INPUTS = ("config.yml", "bot/data")


def _project(root: Path) -> Path:
    (root / "bot" / "data").mkdir(parents=True)
    (root / "config.yml").write_text("language: zh\n", encoding="utf-8")
    (root / "bot" / "data" / "nlu.yml").write_text("nlu: []\n", encoding="utf-8")
    return root


def test_fingerprint_same_inputs_same_hash(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert training_fingerprint(root, INPUTS) == training_fingerprint(root, INPUTS)


def test_fingerprint_changed_data_changes_hash(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root, INPUTS)
    (root / "bot" / "data" / "nlu.yml").write_text("nlu: [x]\n", encoding="utf-8")
    assert training_fingerprint(root, INPUTS) != before


def test_fingerprint_renamed_file_changes_hash(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root, INPUTS)
    (root / "bot" / "data" / "nlu.yml").rename(root / "bot" / "data" / "other.yml")
    assert training_fingerprint(root, INPUTS) != before


def test_fingerprint_changed_config_changes_hash(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root, INPUTS)
    (root / "config.yml").write_text("language: en\n", encoding="utf-8")
    assert training_fingerprint(root, INPUTS) != before


def test_fingerprint_ignores_bytecode_caches(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = training_fingerprint(root, INPUTS)
    cache = root / "bot" / "data" / "__pycache__"
    cache.mkdir()
    (cache / "x.pyc").write_bytes(b"\0")
    assert training_fingerprint(root, INPUTS) == before


def test_model_path_is_named_by_fingerprint(tmp_path: Path) -> None:
    assert model_path("abc", tmp_path) == tmp_path / "kefu-abc.tar.gz"
