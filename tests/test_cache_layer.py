"""The caching layer through the whole pipeline: keys, hits, failures, single-flight.

HTTP requests are counted at the test double; stores are real (memory, SQLite files in tmp
dirs, a real redis-server started by the tests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import summarize.assemble
import summarize.cache.layer
import summarize.event_codes
from summarize import ArticleSummary, AuthenticationError, GroundingError, Summarizer
from summarize.cache import Cache, CacheError, MemoryCache, RedisCache, SQLiteCache
from summarize.cache.key import CACHE_FORMAT, KeyMaker, key_fields, normalize_article
from summarize.config import Settings
from summarize.draft import DraftSummary
from summarize.errors import CacheWarning
from summarize.prompts import load_prompt
from summarize.schema import Meta
from summarize.testing import FAKE_BASE_URL, FakeLLM, FakeLLMServer, HTTPFailure

from . import test_cache_stores
from .fixtures_redis import RedisServer
from .test_cache_stores import read_only
from .test_pipeline import INVENTED, good_draft, with_invented_rebuttal

world_dir = test_cache_stores.world_dir  # the fixture, shared


def cached(fake: FakeLLM, store: Cache | str, **options: Any) -> Summarizer:
    return fake.summarizer(cache=store, **options)


def content(summary: ArticleSummary) -> dict[str, Any]:
    return summary.model_dump(exclude={"meta"})


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cache]:
    opened: Cache
    if request.param == "memory":
        opened = MemoryCache()
    elif request.param == "sqlite":
        opened = SQLiteCache(tmp_path / "cache.db")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        opened = RedisCache(server.url, prefix="test:")
    yield opened
    opened.close()


def test_a_hit_makes_no_request_and_returns_an_equal_summary(
    store: Cache, seed_article: str
) -> None:
    fake = FakeLLM(good_draft())
    first = cached(fake, store).summarize(seed_article)
    again = cached(fake, store).summarize(seed_article)  # a new Summarizer: nothing in memory

    assert fake.calls == 1, "the hit reached the model"
    assert not first.meta.cache_hit and again.meta.cache_hit
    assert content(again) == content(first)
    assert (again.meta.attempts, again.meta.usage.total_tokens, again.meta.attempt_log) == (
        0,
        0,
        (),
    )
    assert (again.meta.model, again.meta.prompt) == (first.meta.model, first.meta.prompt)


async def test_async_hit_makes_no_request(store: Cache, seed_article: str) -> None:
    fake = FakeLLM(good_draft())
    summarizer = cached(fake, store)
    first = await summarizer.asummarize(seed_article)
    again = await summarizer.asummarize(seed_article)
    await summarizer.aclose()
    await store.aclose()  # a store we passed in is ours to close
    assert fake.calls == 1 and again.meta.cache_hit and content(again) == content(first)


def test_stored_value_is_a_json_envelope_never_a_pickle(tmp_path: Path, seed_article: str) -> None:
    path = tmp_path / "cache.db"
    cached(FakeLLM(good_draft()), f"sqlite:///{path}").summarize(seed_article)
    with closing(sqlite3.connect(path)) as db:
        (raw,) = [row[0] for row in db.execute("SELECT value FROM entries")]
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    assert not data.startswith(b"\x80"), "pickle protocol header in the stored bytes"
    envelope = json.loads(data)
    assert envelope["format"] == CACHE_FORMAT and len(envelope["schema"]) == 16
    assert DraftSummary.model_validate(envelope["draft"]).venues[0].place == "Moscow"
    assert Meta.model_validate(envelope["meta"]).model == "fake-model"
    assert "api_key" not in data.decode() and "fake-key" not in data.decode()


def test_redis_value_is_json(redis_server: RedisServer, seed_article: str) -> None:
    import redis

    store = RedisCache(redis_server.url, prefix="t:")
    cached(FakeLLM(good_draft()), store).summarize(seed_article)
    store.close()
    client = redis.Redis.from_url(redis_server.url)
    (key,) = client.keys("t:*")
    raw = client.get(key)
    client.close()
    assert isinstance(raw, bytes) and not raw.startswith(b"\x80")
    assert json.loads(raw)["draft"]["venues"][0]["place"] == "Moscow"


# --- keys ------------------------------------------------------------------------------------

BASE = Settings(model="m", base_url=FAKE_BASE_URL, api_key="key-one")
CHANGES: dict[str, dict[str, Any]] = {
    "model": {"model": "m2"},
    "base_url": {"base_url": "http://other-host.test/v1"},
    "temperature": {"temperature": 0.7},
    "max_tokens": {"max_tokens": 1000},
    "mode": {"mode": "json"},
    "max_reasks": {"max_reasks": 0},
    "grounding policy": {"ungrounded": "keep"},
    "seed": {"extra_body": {"seed": 7}},
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_setting_that_changes_output_changes_the_key(change: str, seed_article: str) -> None:
    prompt = load_prompt("article_summary")
    before = KeyMaker(BASE, prompt)(seed_article)
    after = KeyMaker(BASE.replace(**CHANGES[change]), prompt)(seed_article)
    assert before != after, f"changing {change} would hit an entry made without it"


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_changed_setting_is_a_miss_end_to_end(change: str, seed_article: str) -> None:
    fake = FakeLLM(good_draft())
    store = MemoryCache()
    cached(fake, store).summarize(seed_article)
    summary = cached(fake, store, **CHANGES[change]).summarize(seed_article)
    assert not summary.meta.cache_hit and fake.calls == 2


def test_the_api_key_is_not_in_the_key(seed_article: str) -> None:
    prompt = load_prompt("article_summary")
    assert KeyMaker(BASE, prompt)(seed_article) == KeyMaker(
        BASE.replace(api_key="key-two"), prompt
    )(seed_article)
    assert "key-one" not in json.dumps(key_fields(seed_article, BASE, prompt))
    fake, store = FakeLLM(good_draft()), MemoryCache()
    cached(fake, store, api_key="key-one").summarize(seed_article)
    assert cached(fake, store, api_key="key-two").summarize(seed_article).meta.cache_hit


def test_the_prompt_text_schema_and_format_are_in_the_key(
    seed_article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompt = load_prompt("article_summary")
    key = KeyMaker(BASE, prompt)(seed_article)
    edited = replace(prompt, system=prompt.system + " Be brief.")
    assert KeyMaker(BASE, edited)(seed_article) != key, "an edited prompt would hit"
    assert KeyMaker(BASE, replace(prompt, version=2))(seed_article) != key
    import summarize.cache.key as key_module

    monkeypatch.setattr(key_module, "CACHE_FORMAT", CACHE_FORMAT + 1)
    assert KeyMaker(BASE, prompt)(seed_article) != key, "a new cache format would hit"
    monkeypatch.undo()
    key_module.schema_fingerprint.cache_clear()
    monkeypatch.setattr(key_module, "SCHEMA_VERSION", "999")
    try:
        assert KeyMaker(BASE, prompt)(seed_article) != key, "another schema would hit"
    finally:
        key_module.schema_fingerprint.cache_clear()


def test_a_different_article_is_a_miss(seed_article: str) -> None:
    fake, store = FakeLLM(good_draft()), MemoryCache()
    cached(fake, store).summarize(seed_article)
    cached(fake, store).summarize(seed_article.replace("Moscow", "Minsk", 1))
    assert fake.calls == 2


def test_normalized_twins_share_an_entry_with_offsets_for_each_text(seed_article: str) -> None:
    fake, store = FakeLLM(good_draft()), MemoryCache()
    cached(fake, store).summarize(seed_article)
    twin = "\n\n" + seed_article.replace("\n", "  \r\n") + "\r\n"
    assert normalize_article(twin) == normalize_article(seed_article)

    summary = cached(fake, store).summarize(twin)
    assert summary.meta.cache_hit and fake.calls == 1
    exact = [e for item in summary.items() for e in item.evidence if e.match == "exact"]
    assert exact, "no exactly matched quote to check offsets with"
    for e in exact:
        assert e.start is not None and twin[e.start : e.end] == e.quote, "offset not re-based"


# --- what is (not) stored ----------------------------------------------------------------------


def test_nothing_is_cached_after_a_failed_call(seed_article: str) -> None:
    store = MemoryCache()
    fake = FakeLLM(HTTPFailure(401, "bad key"), good_draft())
    with pytest.raises(AuthenticationError):
        cached(fake, store).summarize(seed_article)
    assert store.stats().entries == 0
    assert not cached(fake, store).summarize(seed_article).meta.cache_hit


def test_a_grounding_error_is_not_cached(seed_article: str) -> None:
    store = MemoryCache()
    fake = FakeLLM(with_invented_rebuttal())
    with pytest.raises(GroundingError, match=INVENTED[:20]):
        cached(fake, store, max_reasks=0, ungrounded="raise").summarize(seed_article)
    assert store.stats().entries == 0


@pytest.mark.parametrize(
    "garbage",
    [
        "not json at all",
        '{"format": 0, "summary": {}}',
        '{"format": 1, "schema": "0000000000000000", "summary": {}}',
        "[1, 2, 3]",
        "\x80\x04K\x01.",
    ],
    ids=["not-json", "old-format", "other-schema", "wrong-shape", "pickle-bytes"],
)
def test_an_unusable_entry_is_a_logged_miss_then_overwritten(
    garbage: str, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryCache()
    fake = FakeLLM(good_draft())
    summarizer = cached(fake, store)
    key = summarizer.cache.key(seed_article)
    store.set(key, garbage)
    with caplog.at_level(logging.WARNING, logger="summarize"):
        summary = summarizer.summarize(seed_article)
    assert not summary.meta.cache_hit and fake.calls == 1
    assert any("unusable cache entry" in r.getMessage() for r in caplog.records)
    assert cached(fake, store).summarize(seed_article).meta.cache_hit, "not overwritten"


def test_an_envelope_with_a_corrupted_draft_is_a_miss(seed_article: str) -> None:
    store = MemoryCache()
    fake = FakeLLM(good_draft())
    summarizer = cached(fake, store)
    summarizer.summarize(seed_article)
    key = summarizer.cache.key(seed_article)
    envelope = json.loads(store.get(key) or "")
    envelope["draft"]["venues"][0]["evidence"] = "corrupted"
    store.set(key, json.dumps(envelope))
    assert not summarizer.summarize(seed_article).meta.cache_hit and fake.calls == 2


def attributions(summary: ArticleSummary) -> set[str]:
    return {e.attribution for item in summary.items() for e in item.evidence}


def test_a_hit_follows_todays_rules_not_those_it_was_stored_under(
    store: Cache, seed_article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeLLM(good_draft())
    stored = cached(fake, store).summarize(seed_article)
    assert attributions(stored) == {"direct_quote"} and stored.venues[0].cameo == "036"

    # A later release changes how attribution is checked and which codes fit a venue.
    monkeypatch.setattr(summarize.assemble, "verified_attribution", lambda *_, **__: "indirect")
    monkeypatch.setitem(summarize.event_codes._CAMEO_FIT, "venue", frozenset())
    again = cached(fake, store).summarize(seed_article)

    assert again.meta.cache_hit and fake.calls == 1
    assert attributions(again) == {"indirect"}, "a hit kept the attribution rule it was made by"
    assert again.venues[0].cameo is None, "a hit kept the event-code table it was made with"
    assert (again.meta.model, again.meta.prompt) == (stored.meta.model, stored.meta.prompt)


def test_a_repeat_hit_in_this_process_is_not_assembled_again(
    store: Cache, seed_article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeLLM(good_draft())
    summarizer = cached(fake, store)
    first = summarizer.summarize(seed_article)
    layer = summarizer.cache
    assert layer is not None
    assembled: list[str] = []
    real = layer.reassemble

    def counted(draft: DraftSummary, article: str, meta: Meta) -> ArticleSummary:
        assembled.append(article[-12:])
        return real(draft, article, meta)

    monkeypatch.setattr(layer, "reassemble", counted)
    again = summarizer.summarize(seed_article)
    assert again.meta.cache_hit and content(again) == content(first) and assembled == []
    twin = seed_article.replace("\n", "\r\n")  # the same entry, another text: its own offsets
    other = summarizer.summarize(twin)
    assert other.meta.cache_hit and assembled == [twin[-12:]]
    assert all(twin[e.start : e.end] == e.quote for i in other.items() for e in i.evidence)
    store.clear()  # the store is still asked: a cleared entry is a miss
    summarizer.summarize(seed_article)
    assert fake.calls == 2


def test_what_a_cache_keeps_for_repeat_hits_is_bounded(
    seed_article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summarize.cache.layer, "RECENT_CHARS", 100_000)
    summarizer = cached(FakeLLM(good_draft()), MemoryCache())
    for n in range(40):
        summarizer.summarize(f"{seed_article}\n\n(copy {n})")
    layer = summarizer.cache
    assert layer is not None
    assert 0 < len(layer._recent) < 40
    assert layer._recent_chars == sum(len(r) + len(a) for r, a in layer._recent)
    assert layer._recent_chars <= 100_000


# --- a failing store ---------------------------------------------------------------------------


def test_redis_killed_mid_run_degrades_with_one_warning(
    redis_server: RedisServer, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeLLM(good_draft())
    store = RedisCache(redis_server.url, socket_timeout=0.5)
    summarizer = cached(fake, store)
    summarizer.summarize(seed_article)
    assert summarizer.summarize(seed_article).meta.cache_hit
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="summarize"):
        for _ in range(3):
            summary = summarizer.summarize(seed_article)
            assert not summary.meta.cache_hit and summary.venues[0].place == "Moscow"
    assert fake.calls == 4, "calls did not go on uncached"
    store.close()
    warnings = [r for r in caplog.records if "going on without it" in r.getMessage()]
    assert len(warnings) == 1, f"{len(warnings)} warnings for one outage"


def test_unreachable_redis_can_be_made_to_raise(seed_article: str) -> None:
    from .fixtures_redis import free_port

    store = RedisCache(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    fake = FakeLLM(good_draft())
    with pytest.raises(CacheError):
        cached(fake, store, cache_errors="raise").summarize(seed_article)
    assert fake.calls == 0
    assert cached(fake, store).summarize(seed_article).venues, "warn mode did not degrade"
    store.close()


def test_read_only_sqlite_location_degrades(
    world_dir: Path, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeLLM(good_draft())
    summarizer = cached(fake, f"sqlite:///{world_dir / 'sub' / 'c.db'}")
    with read_only(world_dir), caplog.at_level(logging.WARNING, logger="summarize"):
        first = summarizer.summarize(seed_article)
        again = summarizer.summarize(seed_article)
    assert first.venues[0].place == "Moscow" and not again.meta.cache_hit and fake.calls == 2
    assert not (world_dir / "sub").exists(), "the read-only location was written to"
    warnings = [r for r in caplog.records if "going on without it" in r.getMessage()]
    assert len(warnings) == 1, f"{len(warnings)} warnings: the store did not fail, or too often"
    assert first.meta.cache_error and "could not" in first.meta.cache_error


@pytest.mark.parametrize("url_options", ["", "?mode=ro"], ids=["detected", "mode=ro"])
def test_a_prebuilt_read_only_sqlite_cache_serves_hits(
    world_dir: Path, seed_article: str, url_options: str
) -> None:
    path = world_dir / "prebuilt.db"
    with cached(FakeLLM(good_draft()), f"sqlite:///{path}") as builder:
        builder.summarize(seed_article)
    for built in world_dir.iterdir():
        built.chmod(0o444)
    fake = FakeLLM(good_draft())
    reader = cached(fake, f"sqlite:///{path}{url_options}", cache_errors="raise")
    with read_only(world_dir):
        summary = reader.summarize(seed_article)
        reader.close()
    assert summary.meta.cache_hit and fake.calls == 0, "the read-only cache served no hit"
    assert summary.venues[0].place == "Moscow"


# --- a failed write: the summary is paid for ----------------------------------------------------


@pytest.fixture
def unwritable_redis(redis_server: RedisServer) -> str:
    """A Redis user that may read but not write (as a full or read-only Redis answers)."""
    reply = redis_server.command(
        b"ACL", b"SETUSER", b"reader", b"on", b">pw", b"~*", b"+@all", b"-@write"
    )
    assert reply == b"+OK", reply
    return f"redis://reader:pw@127.0.0.1:{redis_server.port}/0"


def summarize_with(api: str, summarizer: Summarizer, article: str) -> ArticleSummary:
    """Summarize through the sync or the async path (closing what that path opened)."""
    if api == "sync":
        return summarizer.summarize(article)

    async def run() -> ArticleSummary:
        try:
            return await summarizer.asummarize(article)
        finally:
            await summarizer.aclose()
            assert summarizer.cache is not None
            await summarizer.cache.store.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("api", ["sync", "async"])
def test_raise_mode_returns_a_summary_the_store_would_not_take_with_a_warning(
    api: str, unwritable_redis: str, seed_article: str
) -> None:
    fake, store = FakeLLM(good_draft()), RedisCache(unwritable_redis)
    summarizer = cached(fake, store, cache_errors="raise")
    with pytest.warns(CacheWarning, match="not cached: CacheError: .*no permissions") as caught:
        summary = summarize_with(api, summarizer, seed_article)
    store.close()
    assert summary.venues[0].place == "Moscow" and fake.calls == 1, "the paid summary was lost"
    assert len(caught) == 1 and caught[0].filename == __file__, "warned from the wrong place"
    assert summary.meta.cache_error and "no permissions" in summary.meta.cache_error
    assert "\n" not in summary.meta.cache_error


@pytest.mark.parametrize("api", ["sync", "async"])
def test_warn_mode_logs_a_failed_write_once_and_says_so_in_the_meta(
    api: str, unwritable_redis: str, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, store = FakeLLM(good_draft()), RedisCache(unwritable_redis)
    summarizer = cached(fake, store)
    with caplog.at_level(logging.WARNING, logger="summarize"):
        summaries = [summarize_with(api, summarizer, seed_article) for _ in range(2)]
    store.close()
    assert fake.calls == 2 and all(s.venues[0].place == "Moscow" for s in summaries)
    assert all(s.meta.cache_error and "no permissions" in s.meta.cache_error for s in summaries)
    warnings = [r for r in caplog.records if "going on without it" in r.getMessage()]
    assert len(warnings) == 1, f"{len(warnings)} warnings for one failing store"


# --- single-flight ----------------------------------------------------------------------------


def test_fifty_threads_asking_the_same_make_one_request(seed_article: str) -> None:
    fake = FakeLLM(good_draft(), latency=0.3)
    summarizer = cached(fake, MemoryCache())
    results: list[ArticleSummary] = []
    errors: list[BaseException] = []
    start = threading.Barrier(50)

    def ask() -> None:
        start.wait()
        try:
            results.append(summarizer.summarize(seed_article))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and len(results) == 50
    assert fake.calls == 1, f"{fake.calls} requests for 50 identical calls"
    assert sum(not r.meta.cache_hit for r in results) == 1
    assert all(content(r) == content(results[0]) for r in results)


async def test_fifty_tasks_asking_the_same_make_one_request(seed_article: str) -> None:
    with FakeLLMServer(FakeLLM(good_draft(), latency=0.3)) as server:
        summarizer = Summarizer("m", base_url=server.base_url, api_key="k", cache="memory")
        results = await asyncio.gather(*(summarizer.asummarize(seed_article) for _ in range(50)))
        await summarizer.aclose()
    assert server.fake.calls == 1, f"{server.fake.calls} requests for 50 identical calls"
    assert sum(not r.meta.cache_hit for r in results) == 1
    assert all(content(r) == content(results[0]) for r in results)


def twin_of(article: str) -> str:
    """The same article with CRLF line ends and trailing spaces: one cache key, other offsets."""
    return article.replace("\n", "  \r\n")


def spans(summary: ArticleSummary) -> list[tuple[int | None, int | None]]:
    return [(e.start, e.end) for item in summary.items() for e in item.evidence]


def assert_grounded_in(summary: ArticleSummary, text: str) -> None:
    """Offsets index `text` itself: as an uncached call on `text` finds them."""
    alone = FakeLLM(good_draft()).summarizer().summarize(text)
    assert spans(summary) == spans(alone), "offsets index another text than the caller's"
    marks = ' "\u201c\u201d\u00ab\u00bb'
    for e in (e for item in summary.items() for e in item.evidence if e.grounded):
        assert text[e.start : e.end].strip(marks) == e.quote.strip(marks), e


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_twin_arriving_mid_flight_gets_offsets_in_its_own_text(seed_article: str) -> None:
    fake = FakeLLM(good_draft(), latency=0.5)
    summarizer = cached(fake, MemoryCache())
    twin = twin_of(seed_article)
    results: dict[str, ArticleSummary] = {}

    def ask(text: str) -> None:
        results[text] = summarizer.summarize(text)

    leader = threading.Thread(target=ask, args=(seed_article,))
    leader.start()
    wait_for(lambda: fake.calls == 1)
    waiter = threading.Thread(target=ask, args=(twin,))
    waiter.start()
    for thread in (leader, waiter):
        thread.join(timeout=30)

    assert fake.calls == 1 and results[twin].meta.cache_hit
    assert results[twin].meta.latency_s > 0.2, "the twin came too late to wait for the leader"
    assert_grounded_in(results[seed_article], seed_article)
    assert_grounded_in(results[twin], twin)
    assert spans(results[seed_article]) != spans(results[twin])


async def test_a_twin_task_arriving_mid_flight_gets_offsets_in_its_own_text(
    seed_article: str,
) -> None:
    twin = twin_of(seed_article)
    with FakeLLMServer(FakeLLM(good_draft(), latency=0.5)) as server:
        summarizer = Summarizer("m", base_url=server.base_url, api_key="k", cache="memory")
        leader = asyncio.create_task(summarizer.asummarize(seed_article))
        while server.fake.calls == 0:
            await asyncio.sleep(0.005)
        shared = await asyncio.wait_for(summarizer.asummarize(twin), 10)
        first = await asyncio.wait_for(leader, 10)
        await summarizer.aclose()

    assert server.fake.calls == 1 and shared.meta.cache_hit
    assert shared.meta.latency_s > 0.2, "the twin came too late to wait for the leader"
    assert_grounded_in(first, seed_article)
    assert_grounded_in(shared, twin)
    assert spans(first) != spans(shared)


def test_waiters_get_the_leaders_error_and_nothing_is_cached(seed_article: str) -> None:
    fake = FakeLLM(HTTPFailure(400, "bad request"), good_draft(), latency=0.2)
    store = MemoryCache()
    summarizer = cached(fake, store)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            summarizer.summarize(seed_article)
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert fake.calls == 1 and outcomes == ["RequestRejectedError"] * 5
    assert store.stats().entries == 0


async def test_a_cancelled_leader_hands_over_to_a_waiter(seed_article: str) -> None:
    with FakeLLMServer(FakeLLM(good_draft(), latency=0.3)) as server:
        summarizer = Summarizer("m", base_url=server.base_url, api_key="k", cache="memory")
        leader = asyncio.create_task(summarizer.asummarize(seed_article))
        await asyncio.sleep(0.1)
        waiter = asyncio.create_task(summarizer.asummarize(seed_article))
        await asyncio.sleep(0.05)
        leader.cancel()
        summary = await asyncio.wait_for(waiter, 10)
        await summarizer.aclose()
    assert summary.venues[0].place == "Moscow" and not summary.meta.cache_hit
    assert server.fake.calls == 2


# --- CLI ---------------------------------------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from summarize.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_caches_and_manages_the_cache(
    tmp_path: Path, seed_article: str, capsys: pytest.CaptureFixture[str]
) -> None:
    article = tmp_path / "a.txt"
    article.write_text(seed_article, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        base = ["--model", "m", "--base-url", server.base_url, "--cache", url, str(article)]
        assert run_cli(base, capsys)[0] == 0
        code, out, err = run_cli(base, capsys)
        assert code == 0 and "served from the cache" in err and "from cache" in out
        assert run_cli([*base, "--no-cache"], capsys)[0] == 0
        assert server.fake.calls == 2

    code, out, _ = run_cli(["cache", "stats", "--cache", url], capsys)
    assert code == 0 and "sqlite cache at" in out and ": 1 entries" in out
    code, out, _ = run_cli(["cache", "clear", "--cache", url], capsys)
    assert code == 0 and "removed 1 entries" in out
    assert ": 0 entries" in run_cli(["cache", "stats", "--cache", url], capsys)[1]


def test_cli_cache_commands_report_store_failures(capsys: pytest.CaptureFixture[str]) -> None:
    from .fixtures_redis import free_port

    url = f"redis://127.0.0.1:{free_port()}/0?socket_timeout=0.5"
    code, _, err = run_cli(["cache", "stats", "--cache", url], capsys)
    assert code == 1 and err.startswith("summarize: error:") and err.count("\n") == 1


def test_default_cache_is_the_sqlite_file_named_by_the_environment(
    tmp_path: Path, seed_article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env-cache.sqlite3"
    monkeypatch.setenv("SUMMARIZE_CACHE", str(path))
    fake = FakeLLM(good_draft())
    first = Summarizer("m", base_url=FAKE_BASE_URL, api_key="k", transport=fake.transport)
    first.summarize(seed_article)
    assert path.exists(), "the default cache did not use $SUMMARIZE_CACHE"
    again = Summarizer("m", base_url=FAKE_BASE_URL, api_key="k", transport=fake.transport)
    assert again.summarize(seed_article).meta.cache_hit and fake.calls == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("memory", MemoryCache), ("sqlite:///from-env.db", SQLiteCache), ("off", type(None))],
)
def test_summarize_cache_may_name_a_url_or_turn_caching_off(
    value: str, expected: type, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from summarize.cache import open_cache

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUMMARIZE_CACHE", value)
    store = open_cache(None)
    assert isinstance(store, expected)
    if store is not None:
        store.close()


def test_a_corrupted_sqlite_row_is_a_miss_then_repaired(tmp_path: Path, seed_article: str) -> None:
    path = tmp_path / "cache.db"
    fake = FakeLLM(good_draft())
    cached(fake, f"sqlite:///{path}").summarize(seed_article)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE entries SET value = substr(value, 1, 200)")  # a torn write
    summary = cached(fake, f"sqlite:///{path}").summarize(seed_article)
    assert not summary.meta.cache_hit and summary.venues[0].place == "Moscow"
    assert cached(fake, f"sqlite:///{path}").summarize(seed_article).meta.cache_hit
    assert fake.calls == 2
