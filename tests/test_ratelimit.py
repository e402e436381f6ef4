"""Rate limits and the shared Retry-After pause: on a FakeClock, and over real loopback timing.

Every HTTP request of a `Summarizer` goes through its one `Throttle`: first tries, retries
and re-asks take from the requests-per-minute and tokens-per-minute limits, cache hits never
do, and a Retry-After from the endpoint holds the requests of every call, not only the retry
of the one that got it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from summarize import (
    ConfigError,
    DeadlineExceededError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    Summarizer,
)
from summarize.ratelimit import Throttle, estimate_tokens
from summarize.testing import FakeClock, FakeLLM, FakeLLMServer, HTTPFailure, Reply

from .test_pipeline import good_draft

GOOD = good_draft()
INVALID = '{"summary": "Putin warned'


def timed(clock: FakeClock, *script: Reply) -> tuple[FakeLLM, list[float]]:
    """A fake answering `script` in order that notes the fake time each request arrives."""
    arrivals: list[float] = []
    replies = list(script)

    def reply(body: dict[str, Any]) -> Reply:
        arrivals.append(clock.now)
        return replies[min(len(arrivals), len(replies)) - 1]

    return FakeLLM(reply), arrivals


def test_rpm_is_a_token_bucket_of_one_minute_refilled_continuously(seed_article: str) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, GOOD)
    summarizer = fake.summarizer(retry=clock.policy(), rpm=2)
    for n in range(5):
        summarizer.summarize(f"{seed_article}\n\n({n})")
    assert arrivals == [0.0, 0.0, 30.0, 60.0, 90.0], "requests were not held to 2 per minute"


def test_retries_and_reasks_take_from_the_limit_too(seed_article: str) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, HTTPFailure(503), INVALID, GOOD)
    summarizer = fake.summarizer(retry=clock.policy(jitter=False, initial_wait=0.5), rpm=1)
    summary = summarizer.summarize(seed_article)
    assert [a.outcome for a in summary.meta.attempt_log] == ["unavailable", "invalid_output", "ok"]
    assert arrivals == [0.0, 60.0, 120.0], "a retry or a re-ask skipped the rate limit"


def test_cache_hits_take_nothing_from_the_limit(seed_article: str) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, GOOD)
    summarizer = fake.summarizer(retry=clock.policy(), rpm=1, cache="memory")
    summarizer.summarize(seed_article)
    assert summarizer.summarize(seed_article).meta.cache_hit
    assert clock.sleeps == [], "a cache hit waited for the rate limit"
    summarizer.summarize(seed_article + "\n\nUpdate.")
    assert arrivals == [0.0, 60.0] and fake.calls == 2


def test_a_wait_past_the_deadline_fails_at_once_without_a_request(seed_article: str) -> None:
    clock = FakeClock()
    fake = FakeLLM(GOOD)
    summarizer = fake.summarizer(retry=clock.policy(deadline=10.0), rpm=1)
    summarizer.summarize(seed_article)
    with pytest.raises(DeadlineExceededError, match=r"rate limits hold requests for 60\.00s"):
        summarizer.summarize(seed_article + "\n\nUpdate.")
    assert fake.calls == 1 and clock.sleeps == [], "it waited, or sent, past the deadline"


def test_a_retry_after_holds_the_next_call_too(seed_article: str) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, HTTPFailure(429, headers={"retry-after": "5"}), GOOD)
    summarizer = fake.summarizer(retry=clock.policy(max_attempts=1))
    with pytest.raises(RateLimitError):
        summarizer.summarize(seed_article)  # no retries: the call gives up at once
    summarizer.summarize(seed_article + "\n\nUpdate.")
    assert arrivals == [0.0, 5.0], "another call went before the endpoint's Retry-After"
    assert clock.sleeps == [5.0]


def test_a_retry_after_pause_is_capped_by_max_wait(seed_article: str) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, HTTPFailure(503, headers={"retry-after": "600"}), GOOD)
    summarizer = fake.summarizer(retry=clock.policy(max_attempts=1, max_wait=20.0))
    with pytest.raises(ServiceUnavailableError):
        summarizer.summarize(seed_article)
    summarizer.summarize(seed_article + "\n\nUpdate.")
    assert arrivals == [0.0, 20.0]


@pytest.mark.parametrize("field", ["rpm", "tpm"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ConfigError, match=f"{field} must be at least 1"):
        FakeLLM(GOOD).summarizer(**{field: 0})


# The token limit, on the throttle itself: exact numbers.


def test_tokens_are_taken_by_estimate_and_wait_for_the_refill() -> None:
    clock = FakeClock()
    throttle = Throttle(tpm=1000, clock=clock.monotonic, sleep=clock.sleep)
    throttle.acquire(600)
    throttle.acquire(600)  # 400 left: 200 more refill in 12 s at 1000 per minute
    assert clock.sleeps == [pytest.approx(12.0, abs=0.01)]


def test_usage_below_the_estimate_is_credited_to_the_next_request() -> None:
    clock = FakeClock()
    throttle = Throttle(tpm=1000, clock=clock.monotonic, sleep=clock.sleep)
    throttle.acquire(600)
    throttle.settle(600, 100)  # the answer was short: 500 estimated tokens were not used
    throttle.acquire(600)  # charged 100: fits in the 400 left
    assert clock.sleeps == [], "the unused estimate was not credited"


def test_usage_above_the_estimate_is_charged_to_the_next_request() -> None:
    clock = FakeClock()
    throttle = Throttle(tpm=1000, clock=clock.monotonic, sleep=clock.sleep)
    throttle.acquire(400)
    throttle.settle(400, 1000)  # 600 more than estimated
    throttle.acquire(100)  # charged 700 with 600 left: 100 more refill in 6 s
    assert clock.sleeps == [pytest.approx(6.0, abs=0.01)], "the overrun was not charged"


def test_a_request_larger_than_the_whole_minute_still_goes() -> None:
    clock = FakeClock()
    throttle = Throttle(tpm=1000, clock=clock.monotonic, sleep=clock.sleep)
    throttle.acquire(5000)
    throttle.acquire(10)
    assert clock.sleeps == [pytest.approx(0.6, abs=0.01)], "a big request blocked forever"


def test_the_estimate_counts_the_body_and_the_answer_cap() -> None:
    body = {"messages": [{"role": "user", "content": "x" * 400}]}
    size = len('{"messages": [{"role": "user", "content": ""}]}') + 400
    assert estimate_tokens(body, 2048) == -(-size // 4) + 2048
    assert estimate_tokens(body, None) == -(-size // 4)


def test_tpm_holds_a_summarizer_s_requests(seed_article: str) -> None:
    clock = FakeClock()
    fake, arrivals = timed(clock, GOOD)
    summarizer = fake.summarizer(retry=clock.policy(), tpm=4000, max_tokens=1000)
    for n in range(3):
        summarizer.summarize(f"{seed_article}\n\n({n})")
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals[0] == 0.0 and all(gap > 10 for gap in gaps), f"arrivals {arrivals}"
    unlimited, free = timed(FakeClock(), GOOD)
    unlimited.summarizer(max_tokens=1000).summarize(seed_article)
    assert free == [0.0]


def test_the_estimate_is_corrected_from_the_usage_reported(seed_article: str) -> None:
    clock = FakeClock()
    fake = FakeLLM(GOOD)  # bills a few thousand tokens, far below max_tokens
    summarizer = fake.summarizer(retry=clock.policy(), tpm=12_000, max_tokens=3000)
    for n in range(3):
        summarizer.summarize(f"{seed_article}\n\n({n})")
    assert clock.sleeps == [], "requests waited for tokens they were estimated but never used"
    assert fake.calls == 3


# A Retry-After pause shared by concurrent calls, in real time over loopback HTTP.


@pytest.fixture
def limited_server() -> Iterator[FakeLLMServer]:
    """The first request is answered 429 with Retry-After: 1, every other one at once."""
    with FakeLLMServer(FakeLLM(HTTPFailure(429, headers={"retry-after": "1"}), GOOD)) as server:
        yield server


def answered(server: FakeLLMServer) -> None:
    """Return once the first request was answered (and its answer had time to arrive)."""
    while server.fake.calls < 1:
        time.sleep(0.01)
    time.sleep(0.2)


def arrivals_after_the_429(server: FakeLLMServer) -> list[float]:
    first, *others = server.fake.received_at
    return [round(t - first, 2) for t in others]


async def test_a_retry_after_pauses_every_call_of_a_batch(
    limited_server: FakeLLMServer, seed_article: str
) -> None:
    async def articles() -> AsyncIterator[str]:
        yield seed_article
        await asyncio.to_thread(answered, limited_server)  # the others start after the 429
        for n in range(2):
            yield f"{seed_article}\n\n({n})"

    summarizer = Summarizer(
        "m", base_url=limited_server.base_url, api_key="k", retry=RetryPolicy(jitter=False)
    )
    async with summarizer:
        batch = await summarizer.asummarize_many(articles(), concurrency=3)
    assert not batch.errors and limited_server.fake.calls == 4
    later = arrivals_after_the_429(limited_server)
    assert all(t >= 0.95 for t in later), f"requests went during the 1 s pause: {later}"


def test_a_retry_after_pauses_calls_in_other_threads(
    limited_server: FakeLLMServer, seed_article: str
) -> None:
    summarizer = Summarizer(
        "m", base_url=limited_server.base_url, api_key="k", retry=RetryPolicy(jitter=False)
    )
    first = threading.Thread(target=summarizer.summarize, args=(seed_article,))
    first.start()
    answered(limited_server)
    others = [
        threading.Thread(target=summarizer.summarize, args=(f"{seed_article}\n\n({n})",))
        for n in range(2)
    ]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(timeout=30)
    summarizer.close()
    assert limited_server.fake.calls == 4
    later = arrivals_after_the_429(limited_server)
    assert all(t >= 0.95 for t in later), f"requests went during the 1 s pause: {later}"
