"""Shared fixtures. Real (non-loopback) network calls fail in every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from summarize.testing import block_network

pytest_plugins = ["tests.fixtures_redis"]

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_ARTICLE = SEEDS / "vladivostok-2025-09-06.txt"


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SUMMARIZE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    with block_network():
        yield


@pytest.fixture(scope="session")
def seed_article() -> str:
    return SEED_ARTICLE.read_text(encoding="utf-8")
