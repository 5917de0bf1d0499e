"""Fixtures for the knowledge-base tests: the tiny model (built once per session) and tiny settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.settings import Settings
from tests.knowledge_base.tiny import TINY_FAQS, build_tiny_model, tiny_settings, write_faqs


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sentence-transformers model folder, built once per test session."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    """A folder with the tiny FAQ corpus (two files, three FAQs)."""
    return write_faqs(tmp_path / "faqs", TINY_FAQS)


@pytest.fixture
def settings(tmp_path: Path, tiny_model: Path) -> Settings:
    """Settings pointing at the tiny model, the tiny corpus and a fresh index folder."""
    return tiny_settings(tmp_path, tiny_model)
