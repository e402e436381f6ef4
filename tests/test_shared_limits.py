"""Rate limits and Retry-After pauses shared through a real redis-server.

``limits="redis://..."`` puts a summarizer's requests-per-minute and tokens-per-minute buckets
and its pause in Redis: summarizers in other processes (or in this one) that name the same
Redis and prefix share them. First on a FakeClock (exact times, several summarizers in one
process), then two real worker processes against one loopback FakeLLMServer.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from summarize import ConfigError, RateLimitError, Settings
from summarize.cache.key import KeyMaker
from summarize.prompts import load_prompt
from summarize.ratelimit import RedisLimits, Throttle
from summarize.testing import FakeClock, FakeLLM, FakeLLMServer, HTTPFailure, Reply

from .fixtures_redis import RedisServer
from .test_pipeline import good_draft
from .test_ratelimit import timed

ROOT = Path(__file__).resolve().parent.parent
GOOD = good_draft()


def test_summarizers_naming_one_redis_share_one_rpm_limit(
    redis_server: RedisServer, seed_article: str
) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, GOOD)
    workers = [
        fake.summarizer(retry=clock.policy(), rpm=2, limits=redis_server.url) for _ in range(2)
    ]
    for n in range(3):
        for worker in workers:
            worker.summarize(f"{seed_article}\n\n({n} {id(worker)})")
    for worker in workers:
        worker.close()
    assert arrivals == [0.0, 0.0, 30.0, 60.0, 90.0, 120.0], (
        "two summarizers on one Redis did not share one 2-per-minute bucket"
    )


def test_a_retry_after_seen_by_one_summarizer_holds_the_other(
    redis_server: RedisServer, seed_article: str
) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, HTTPFailure(429, headers={"retry-after": "5"}), GOOD)
    first, second = (
        fake.summarizer(retry=clock.policy(max_attempts=1), limits=redis_server.url)
        for _ in range(2)
    )
    with pytest.raises(RateLimitError):
        first.summarize(seed_article)
    second.summarize(seed_article)
    first.close()
    second.close()
    assert arrivals == [0.0, 5.0], "the other summarizer went before the endpoint's Retry-After"


def test_tokens_per_minute_are_shared_and_prefixes_keep_limits_apart(
    redis_server: RedisServer,
) -> None:
    clock = FakeClock()

    def throttle(prefix: str) -> Throttle:
        shared = RedisLimits(redis_server.url, rpm=None, tpm=1000, prefix=prefix)
        return Throttle(tpm=1000, clock=clock.monotonic, sleep=clock.sleep, shared=shared)

    one, same, other = throttle("a:"), throttle("a:"), throttle("b:")
    one.acquire(600)
    other.acquire(600)
    assert clock.sleeps == [], "a throttle under another prefix took from the same bucket"
    same.acquire(600)  # 400 left under "a:": 200 more refill in 12 s at 1000 per minute
    assert clock.sleeps == [pytest.approx(12.0, abs=0.01)], "tokens were not shared"
    for t in (one, same, other):
        t.close()


def test_the_default_prefix_names_the_model(redis_server: RedisServer, seed_article: str) -> None:
    summarizer = FakeLLM(GOOD).summarizer(rpm=10, limits=redis_server.url)
    summarizer.summarize(seed_article)
    summarizer.close()
    assert redis_server.command(b"EXISTS", b"summarize:limits:fake-model:requests") == b":1"


def test_when_redis_fails_each_process_keeps_to_its_own_limits(
    redis_server: RedisServer, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, GOOD)
    url = f"redis://:s3cret@127.0.0.1:{redis_server.port}/0"
    redis_server.command(b"CONFIG", b"SET", b"requirepass", b"s3cret")
    summarizer = fake.summarizer(retry=clock.policy(), rpm=1, limits=url)
    summarizer.summarize(seed_article)
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="summarize.ratelimit"):
        summarizer.summarize(seed_article + "\n\nUpdate.")
    summarizer.close()
    assert arrivals == [0.0, 60.0], "without Redis the summarizer's own rpm limit was not kept"
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "keeps to its own limits" in warned[0], warned
    assert "s3cret" not in warned[0], "the Redis password was logged"


def test_limits_take_only_a_redis_url_and_stay_a_plain_picklable_setting() -> None:
    with pytest.raises(ConfigError, match="limits must be a redis:// or rediss:// URL"):
        FakeLLM(GOOD).summarizer(limits="memory")
    settings = Settings(model="m", limits="redis://:pw@cache:6379/0?prefix=x:")
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert "pw" not in repr(settings), "the limits URL (and its password) is in a repr"
    prompt = load_prompt("article_summary")
    keys = [KeyMaker(s, prompt)("An article.") for s in (settings, settings.replace(limits=None))]
    assert keys[0] == keys[1], "where the limits live changed the cache key"


# Two real processes, one redis-server, one loopback endpoint; real time.


WORKER_TAG = re.compile(r"\((a|b)[ -]")
PAUSE_KEY = b"summarize:limits:fake-model:pause"


@pytest.fixture
def endpoint() -> Iterator[FakeLLMServer]:
    """Answers every request; the first one, if from worker "a-pause", gets 429 Retry-After: 2."""
    seen: list[bool] = []

    def reply(body: dict[str, Any]) -> Reply:
        seen.append(True)
        if len(seen) == 1 and "(a-pause" in json.dumps(body["messages"]):
            return HTTPFailure(429, headers={"retry-after": "2"})
        return GOOD

    with FakeLLMServer(FakeLLM(reply)) as server:
        yield server


def senders(server: FakeLLMServer) -> list[str]:
    """Which worker sent each request, by the tag in its article."""
    return [WORKER_TAG.findall(json.dumps(b["messages"]))[-1] for b in server.fake.requests]


Worker = subprocess.Popen[str]


@pytest.fixture
def spawn(endpoint: FakeLLMServer, redis_server: RedisServer) -> Iterator[Callable[..., Worker]]:
    """Starts worker processes on `endpoint` and `redis_server`; kills any left at the end."""
    started: list[Worker] = []

    def start(*, rpm: int, count: int, tag: str) -> Worker:
        args = [endpoint.base_url, redis_server.url, str(rpm), str(count), tag]
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.shared_limits_worker", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def go(*processes: Worker) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def finish(process: Worker) -> dict[str, Any]:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, f"worker exited with {process.returncode}"
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_two_processes_stay_within_the_rpm_limit_together(
    spawn: Callable[..., Worker], endpoint: FakeLLMServer
) -> None:
    # A bucket of 30 refilled at one every 2 s: of 34 requests, the 31st may start 2 s after
    # the first, the 34th 8 s after. Each process alone would send its 17 at once.
    rpm, each = 30, 17
    processes = [spawn(rpm=rpm, count=each, tag=tag) for tag in ("a", "b")]
    started = time.monotonic()  # no earlier than the buckets' first take
    go(*processes)
    assert all(finish(p)["errors"] == [] for p in processes)
    since = [t - started for t in sorted(endpoint.fake.received_at)]
    assert len(since) == 2 * each
    early = [(k, round(t, 2)) for k, t in enumerate(since, 1) if t < 2.0 * (k - rpm) - 0.05]
    assert not early, f"requests arrived before the shared bucket allowed (k, seconds): {early}"
    assert sorted(senders(endpoint)) == ["a"] * each + ["b"] * each, "a worker sent nothing"


def test_a_retry_after_in_one_process_pauses_the_other(
    spawn: Callable[..., Worker], endpoint: FakeLLMServer, redis_server: RedisServer
) -> None:
    first = spawn(rpm=0, count=1, tag="a-pause")
    second = spawn(rpm=0, count=1, tag="b-later")
    go(first)
    deadline = time.monotonic() + 30
    while redis_server.command(b"EXISTS", PAUSE_KEY) != b":1" and time.monotonic() < deadline:
        time.sleep(0.01)  # the first worker got its 429 (Retry-After: 2) and stored the pause
    go(second)
    assert finish(first)["errors"] == [] and finish(second)["errors"] == []
    pause, *later = endpoint.fake.received_at
    waited = [round(t - pause, 2) for t in later]
    assert len(waited) == 2 and all(w >= 1.95 for w in waited), (
        f"a request went during the other process's 2 s pause: {waited}"
    )
