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
def _no_real_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SUMMARIZE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    # The default cache is a SQLite file in the user's cache dir: never the real one here.
    monkeypatch.setenv("SUMMARIZE_CACHE", str(tmp_path / "default-cache.sqlite3"))
    with block_network():
        yield


@pytest.fixture(scope="session")
def seed_article() -> str:
    return SEED_ARTICLE.read_text(encoding="utf-8")
