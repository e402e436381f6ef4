"""A Summarizer travels to other processes as its config: what goes along and what stays.

Pickled copies are checked in this process (what they hold) and, once, in a spawned process
against `FakeLLMServer` on loopback (that the copy works with its own connections).
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from summarize import ArticleSummary, ConfigError, RetryPolicy, Summarizer
from summarize.cache import MemoryCache, RedisCache, SQLiteCache
from summarize.config import SummarizerConfig, TravelWarning
from summarize.schema import Attempt
from summarize.testing import FakeLLM, FakeLLMServer

from .test_pipeline import good_draft

SECRET = "sk-explicit-0123456789abcdef"


def on_retry(attempt: Attempt) -> None:
    """An importable hook: it travels by reference."""


def copied(summarizer: Summarizer) -> Summarizer:
    copy = pickle.loads(pickle.dumps(summarizer))
    assert isinstance(copy, Summarizer)
    return copy


def test_a_pickled_summarizer_summarizes_in_another_process(seed_article: str) -> None:
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        summarizer = Summarizer("m", base_url=server.base_url, api_key="k", cache=False)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            summary = pool.submit(summarizer.summarize, seed_article).result(timeout=120)
        assert server.fake.calls == 1, "the copy did not reach the server"
    assert isinstance(summary, ArticleSummary) and summary.warnings


def test_the_copy_has_the_same_settings_strategy_and_limits() -> None:
    original = Summarizer(
        "m", base_url="http://127.0.0.1:9/v1", api_key="k", cache=False, strategy="sentences",
        rpm=120, max_reasks=1, retry=RetryPolicy(max_attempts=2, on_retry=on_retry),
    )  # fmt: skip
    copy = copied(original)
    assert copy.settings == original.settings
    assert copy.settings.retry.on_retry is on_retry, "an importable hook did not travel"
    assert copy.strategy.name == "sentences" and copy.throttle.rpm == 120
    assert Summarizer.from_config(original.config).settings == original.settings


def test_an_api_key_from_the_environment_stays_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    data = pickle.dumps(Summarizer(base_url="http://127.0.0.1:9/v1", cache=False))
    assert SECRET.encode() not in data, "the environment's API key is in the pickle"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-workers-own")
    copy = pickle.loads(data)
    assert copy.settings.api_key == "sk-the-workers-own", "the copy did not read its own key"
    assert b"sk-the-workers-own" not in pickle.dumps(copy), "a copy's copy carries its key"
    monkeypatch.delenv("OPENAI_API_KEY")
    keyless = pickle.loads(pickle.dumps(Summarizer(cache=False)))
    assert keyless.settings.is_local


def test_without_its_environment_key_the_copy_stays_on_the_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    data = pickle.dumps(Summarizer(cache=False))  # OpenAI, chosen by the key
    monkeypatch.delenv("OPENAI_API_KEY")
    copy = pickle.loads(data)
    assert not copy.settings.is_local, "a copy without a key fell back to the local model"
    assert copy.settings.model_name == "gpt-4o-mini"


def test_an_explicit_api_key_travels_and_never_shows() -> None:
    original = Summarizer("m", base_url="http://127.0.0.1:9/v1", api_key=SECRET, cache=False)
    copy = copied(original)
    assert copy.settings.api_key == SECRET, "the key handed to the Summarizer did not travel"
    for text in (repr(original), repr(original.config), repr(copy), repr(copy.settings)):
        assert SECRET not in text


def test_a_lambda_hook_is_dropped_with_a_warning() -> None:
    original = Summarizer(
        "m", base_url="http://127.0.0.1:9/v1", api_key="k", cache=False,
        retry=RetryPolicy(max_attempts=3, on_retry=lambda attempt: None),
        on_progress=lambda done, total: None,
    )  # fmt: skip
    with pytest.warns(TravelWarning) as caught:
        copy = copied(original)
    said = " ".join(str(w.message) for w in caught)
    assert "RetryPolicy.on_retry" in said and "on_progress" in said and "without it" in said
    assert copy.settings.retry.on_retry is None and copy.on_progress is None
    assert copy.settings.retry.max_attempts == 3


@pytest.mark.model
def test_the_local_model_travels_as_its_name_not_its_weights() -> None:
    original = Summarizer("local:smollm2", cache=False)
    data = pickle.dumps(original)
    assert len(data) < 10_000, f"a {len(data)}-byte pickle carries more than the config"
    copy = pickle.loads(data)
    assert copy.backend.kind == "local" and copy.settings == original.settings


def test_a_summarizer_with_a_transport_cannot_travel() -> None:
    summarizer = FakeLLM(good_draft()).summarizer()
    with pytest.raises(ConfigError, match=r"transport=.*FakeLLMServer"):
        pickle.dumps(summarizer)


def test_a_sqlite_store_travels_as_its_file(tmp_path: Path, seed_article: str) -> None:
    store = SQLiteCache(tmp_path / "my cache.db", max_entries=None, read_only=False)
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        original = Summarizer("m", base_url=server.base_url, api_key="k", cache=store)
        original.summarize(seed_article)
        copy = copied(original)
        assert copy.summarize(seed_article).meta.cache_hit, "the copy uses another cache"
        assert server.fake.calls == 1
    assert copy.cache is not None and isinstance(copy.cache.store, SQLiteCache)
    assert copy.cache.store.path == store.path and copy.cache.store.max_entries is None


def test_a_redis_store_travels_with_its_password_and_prefix() -> None:
    store = RedisCache("redis://:pw-123@127.0.0.1:9/2", prefix="news:", default_ttl=60)
    original = Summarizer("m", base_url="http://127.0.0.1:9/v1", api_key="k", cache=store)
    copy = copied(original)
    assert copy.cache is not None and isinstance(copy.cache.store, RedisCache)
    assert (copy.cache.store.url, copy.cache.store.prefix) == (store.url, "news:")
    assert copy.cache.store.default_ttl == 60
    assert "pw-123" in str(copy.config.cache), "the copy cannot log in to Redis"
    assert "pw-123" not in repr(copy.config) + repr(copy)


def test_a_memory_cache_becomes_a_fresh_one_in_the_copy() -> None:
    store = MemoryCache(max_entries=7)
    store.set("k", "v")
    original = Summarizer("m", base_url="http://127.0.0.1:9/v1", api_key="k", cache=store)
    copy = copied(original)
    assert copy.cache is not None and isinstance(copy.cache.store, MemoryCache)
    assert copy.cache.store.max_entries == 7 and copy.cache.store.get("k") is None


def test_the_default_cache_is_the_copys_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = pickle.dumps(Summarizer("m", base_url="http://127.0.0.1:9/v1", api_key="k"))
    monkeypatch.setenv("SUMMARIZE_CACHE", str(tmp_path / "worker.db"))
    copy = pickle.loads(data)
    assert copy.cache is not None and isinstance(copy.cache.store, SQLiteCache)
    assert copy.cache.store.path == tmp_path / "worker.db"


def test_share_divides_rate_limits_among_copies() -> None:
    config = SummarizerConfig(settings=Summarizer("m", api_key="k", rpm=100, tpm=9).settings)
    shared = config.share(4).settings
    assert (shared.rpm, shared.tpm) == (25, 2)
    assert config.share(100).settings.tpm == 1, "a share rounded to no requests at all"
