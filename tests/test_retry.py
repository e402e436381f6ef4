"""The retry layer's fault matrix, over real HTTP on loopback, run sync and async alike.

Each case scripts a `FakeLLMServer`, then checks the outcome (a summary or the right typed
error), the exact number of HTTP requests, the waits slept (on a `FakeClock`), and that
usage is summed over every attempt.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from summarize import (
    ArticleSummary,
    AuthenticationError,
    BackendError,
    DeadlineExceededError,
    InvalidOutputError,
    MalformedResponseError,
    RateLimitError,
    RefusalError,
    RequestRejectedError,
    RequestTimeoutError,
    RetryPolicy,
    ServiceUnavailableError,
    Summarizer,
    TruncatedError,
)
from summarize.testing import (
    CutOff,
    Disconnect,
    EmptyChoices,
    FakeClock,
    FakeLLM,
    FakeLLMServer,
    HTTPFailure,
    RawBody,
    Refusal,
    Reply,
    Stall,
    Truncated,
)

from .test_pipeline import good_draft, with_invented_rebuttal

Flavour = Literal["sync", "async"]
GOOD = good_draft()
SCHEMA_INVALID = {"summary": "x", "venues": [{"place": 7, "evidence": "not a list"}]}


@dataclass(frozen=True)
class Case:
    """One row of the matrix: what the server answers and what the caller must see."""

    script: tuple[Reply, ...]
    requests: int
    error: type[BackendError] | None = None
    sleeps: tuple[float, ...] = ()
    outcomes: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    jittered: bool = False  # sleeps are ceilings: full jitter sleeps anywhere below them


def ok_after(failure: Reply, outcome: str, retry_after: float | None = None) -> Case:
    if retry_after is not None:
        return Case((failure, GOOD), 2, sleeps=(retry_after,), outcomes=(outcome, "ok"))
    return Case((failure, GOOD), 2, sleeps=(0.5,), outcomes=(outcome, "ok"), jittered=True)


NO_JITTER = {"jitter": False}
MATRIX: dict[str, Case] = {
    "429 Retry-After: 1": ok_after(
        HTTPFailure(429, headers={"retry-after": "1"}), "rate_limited", retry_after=1.0
    ),
    "429 retry-after-ms": ok_after(
        HTTPFailure(429, headers={"retry-after-ms": "1500"}), "rate_limited", retry_after=1.5
    ),
    "429 Retry-After over max_wait": Case(
        (HTTPFailure(429, headers={"retry-after": "120"}), GOOD), 2, sleeps=(30.0,)
    ),
    "429 without header": ok_after(HTTPFailure(429), "rate_limited"),
    "408": ok_after(HTTPFailure(408), "unavailable"),
    "409": ok_after(HTTPFailure(409), "unavailable"),
    "500": ok_after(HTTPFailure(500), "unavailable"),
    "502": ok_after(HTTPFailure(502), "unavailable"),
    "503": ok_after(HTTPFailure(503), "unavailable"),
    "504": ok_after(HTTPFailure(504), "unavailable"),
    "connection dropped before answering": ok_after(Disconnect(), "unavailable"),
    "connection reset mid-body": ok_after(CutOff(GOOD), "unavailable"),
    "read timeout": ok_after(Stall(seconds=3.0), "timeout"),
    "truncated JSON body": ok_after(
        RawBody('{"id": "chatcmpl-1", "choices": [{"ind'), "unavailable"
    ),
    "invalid JSON output, re-asked": Case(
        ('{"summary": "Putin warned', GOOD), 2, outcomes=("invalid_output", "ok")
    ),
    "schema-invalid output, re-asked": Case(
        (SCHEMA_INVALID, GOOD), 2, outcomes=("invalid_output", "ok")
    ),
    "503 twice then success": Case(
        (HTTPFailure(503), HTTPFailure(503), GOOD), 3, sleeps=(0.5, 1.0), options=NO_JITTER
    ),
    "finish_reason=length": Case((Truncated('{"summary": "Putin'),), 1, TruncatedError),
    "finish_reason=length, retry_truncated": Case(
        (Truncated('{"summary": "Putin'), GOOD),
        2,
        sleeps=(0.0,),
        outcomes=("truncated", "ok"),
        options={"retry_truncated": True},
    ),
    "finish_reason=length twice, retry_truncated": Case(
        (Truncated("{"), Truncated("{")),
        2,
        TruncatedError,
        (0.0,),
        options={"retry_truncated": True},
    ),
    "refusal": Case((Refusal("I can't help with that."),), 1, RefusalError),
    "content filter": Case((Refusal(filtered=True),), 1, RefusalError),
    "empty choices": Case((EmptyChoices(),), 1, MalformedResponseError),
    "HTML instead of a completion": Case(
        (RawBody("<html>proxy</html>", content_type="text/html"),), 1, MalformedResponseError
    ),
    "401": Case((HTTPFailure(401, "invalid key"),), 1, AuthenticationError),
    "403": Case((HTTPFailure(403),), 1, AuthenticationError),
    "400": Case((HTTPFailure(400),), 1, RequestRejectedError),
    "404": Case((HTTPFailure(404),), 1, RequestRejectedError),
    "422": Case((HTTPFailure(422),), 1, RequestRejectedError),
    "invalid output after every re-ask": Case(('{"summary": ',), 3, InvalidOutputError),
    "persistent 503 until max_attempts": Case(
        (HTTPFailure(503),), 4, ServiceUnavailableError, (0.5, 1.0, 2.0), options=NO_JITTER
    ),
    "persistent 503 until the deadline": Case(
        (HTTPFailure(503),),
        4,
        ServiceUnavailableError,
        (1.0, 2.0, 4.0),  # the next wait (8 s) would end past the 10 s deadline
        options={"jitter": False, "initial_wait": 1.0, "max_attempts": 50, "deadline": 10.0},
    ),
    "503 Retry-After: 20": ok_after(
        HTTPFailure(503, headers={"retry-after": "20"}), "unavailable", retry_after=20.0
    ),
    "502 retry-after-ms": ok_after(
        HTTPFailure(502, headers={"retry-after-ms": "2500"}), "unavailable", retry_after=2.5
    ),
    "500 Retry-After over max_wait": Case(
        (HTTPFailure(500, headers={"retry-after": "120"}), GOOD), 2, sleeps=(30.0,)
    ),
    "503 Retry-After past the deadline": Case(
        (HTTPFailure(503, headers={"retry-after": "20"}), GOOD),
        1,
        ServiceUnavailableError,
        options={"deadline": 10.0},
    ),
    "persistent 429 honours Retry-After each time": Case(
        (HTTPFailure(429, headers={"retry-after": "2"}),),
        3,
        RateLimitError,
        (2.0, 2.0),
        options={"max_attempts": 3},
    ),
}


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    return request.param  # type: ignore[no-any-return]


def run(summarizer: Summarizer, text: str, flavour: Flavour) -> ArticleSummary:
    """Summarize through the sync or the async path, closing the clients afterwards."""
    if flavour == "sync":
        with summarizer:
            return summarizer.summarize(text)

    async def go() -> ArticleSummary:
        async with summarizer:
            return await summarizer.asummarize(text)

    return asyncio.run(go())


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[FakeLLMServer] = []

    def start(*script: Reply) -> FakeLLMServer:
        server = FakeLLMServer(FakeLLM(*script))
        servers.append(server.__enter__())
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.mark.parametrize("name", list(MATRIX))
def test_fault_matrix(name: str, flavour: Flavour, serve: Any, seed_article: str) -> None:
    case = MATRIX[name]
    server = serve(*case.script)
    clock = FakeClock()
    options = {"max_attempts": 4, "initial_wait": 0.5, **case.options}
    summarizer = Summarizer(
        "m",
        base_url=server.base_url,
        api_key="k",
        timeout=1.0,
        retry=clock.policy(**options),
    )

    if case.error is None:
        summary = run(summarizer, seed_article, flavour)
        assert summary.venues[0].place == "Moscow", "a partial or wrong summary came back"
        meta = summary.meta
        attempts, usage, log = meta.attempts, meta.usage, meta.attempt_log
    else:
        with pytest.raises(case.error) as info:
            run(summarizer, seed_article, flavour)
        error = info.value
        assert type(error) is case.error, f"{type(error).__name__} is too vague"
        attempts, usage, log = error.attempts, error.usage, error.attempt_log
        assert error.message and "\n" not in str(error)

    fake = server.fake
    assert fake.calls == case.requests, f"{fake.calls} HTTP requests, expected {case.requests}"
    assert attempts == case.requests == len(log)
    assert usage.total_tokens == fake.billed_tokens == sum(a.usage.total_tokens for a in log)
    assert [a.number for a in log] == list(range(1, case.requests + 1))
    if case.jittered:
        assert len(clock.sleeps) == len(case.sleeps), f"slept {clock.sleeps}"
        assert all(0 <= s <= c for s, c in zip(clock.sleeps, case.sleeps, strict=True))
    else:
        assert clock.sleeps == list(case.sleeps), f"slept {clock.sleeps}"
    # Full jitter may draw a wait under a millisecond: the log keeps milliseconds.
    slept = [round(s, 3) for s in clock.sleeps if round(s, 3) > 0]
    assert [a.wait_s for a in log if a.wait_s > 0] == slept, "attempt_log lies about waits"
    if case.outcomes:
        assert tuple(a.outcome for a in log) == case.outcomes


def test_truncation_retry_doubles_max_tokens(serve: Any, seed_article: str) -> None:
    server = serve(Truncated('{"summary": "Putin'), GOOD)
    policy = FakeClock().policy(retry_truncated=True)
    summarizer = Summarizer(
        "m", base_url=server.base_url, api_key="k", max_tokens=300, retry=policy
    )
    run(summarizer, seed_article, "sync")
    assert [r["max_tokens"] for r in server.fake.requests] == [300, 600]


def test_truncated_error_says_to_raise_max_tokens(serve: Any, seed_article: str) -> None:
    server = serve(Truncated("{"))
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", max_tokens=300)
    with pytest.raises(TruncatedError, match=r"max_tokens=300.*raise max_tokens"):
        run(summarizer, seed_article, "sync")


def test_retry_after_wait_is_really_slept(serve: Any, seed_article: str) -> None:
    server = serve(HTTPFailure(429, headers={"retry-after": "1"}), GOOD)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k")
    summary = run(summarizer, seed_article, "sync")
    gap = server.fake.received_at[1] - server.fake.received_at[0]
    assert 1.0 <= gap < 2.0, f"waited {gap:.2f}s for Retry-After: 1"
    assert summary.meta.attempt_log[0].wait_s == 1.0


def test_retry_after_http_date(serve: Any, seed_article: str) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    server = serve(HTTPFailure(429, headers={"retry-after": when}), GOOD)
    clock = FakeClock()
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=clock.policy())
    run(summarizer, seed_article, "sync")
    (slept,) = clock.sleeps
    assert 1.0 < slept <= 3.0, f"slept {slept}s for a date 3 s ahead"


def test_deadline_shrinks_the_request_timeout(serve: Any, seed_article: str) -> None:
    """A stalled server cannot hold the call past its deadline, whatever `timeout` says."""
    server = serve(Stall(seconds=5.0))
    policy = RetryPolicy(deadline=0.6, initial_wait=0.05)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", timeout=60, retry=policy)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as info:
        run(summarizer, seed_article, "sync")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"the 0.6 s deadline let the call run {elapsed:.1f}s"
    assert info.value.attempts == 1


def test_retries_are_logged_at_info_with_wait_and_reason(
    serve: Any, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(HTTPFailure(503, "overloaded"), GOOD)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=FakeClock().policy())
    with caplog.at_level(logging.INFO, logger="summarize"):
        run(summarizer, seed_article, "sync")
    records = [r for r in caplog.records if r.name.startswith("summarize")]
    (record,) = records
    assert record.levelno == logging.INFO
    assert "503" in record.getMessage() and "overloaded" in record.getMessage()
    assert "retry 1 in" in record.getMessage()
    instructor_errors = [r for r in caplog.records if r.name.startswith("instructor")]
    assert not instructor_errors, "instructor logs failures the retry layer owns"


def test_on_retry_hook_sees_each_failed_attempt(serve: Any, seed_article: str) -> None:
    seen: list[Any] = []
    server = serve(HTTPFailure(502), Disconnect(), GOOD)
    policy = FakeClock().policy(on_retry=seen.append, jitter=False, initial_wait=0.25)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=policy)
    run(summarizer, seed_article, "sync")
    assert [(a.number, a.outcome, a.status, a.wait_s) for a in seen] == [
        (1, "unavailable", 502, 0.25),
        (2, "unavailable", None, 0.5),
    ]


def test_request_ids_are_recorded(serve: Any, seed_article: str) -> None:
    server = serve(HTTPFailure(400, "bad"))
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k")
    with pytest.raises(RequestRejectedError) as info:
        run(summarizer, seed_article, "sync")
    assert info.value.request_id == "req_fake_1" and info.value.status == 400
    assert info.value.attempt_log[0].request_id == "req_fake_1"


def test_invalid_output_names_the_last_request(serve: Any, seed_article: str) -> None:
    server = serve('{"summary": ')
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", max_reasks=1)
    with pytest.raises(InvalidOutputError) as info:
        run(summarizer, seed_article, "sync")
    assert info.value.request_id == "req_fake_2"


def test_the_sdk_never_retries_on_its_own(serve: Any, seed_article: str) -> None:
    server = serve(HTTPFailure(503))
    policy = FakeClock().policy(max_attempts=1)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=policy)
    with pytest.raises(ServiceUnavailableError):
        run(summarizer, seed_article, "sync")
    assert server.fake.calls == 1


SECRET = "sk-test-Zq81vX0pLm22NnB7"


@pytest.mark.parametrize(
    "failure",
    [
        HTTPFailure(401, f"Incorrect API key provided: {SECRET}"),
        HTTPFailure(503, f"upstream rejected Bearer {SECRET}"),
        Refusal(f"I won't reveal {SECRET}"),
    ],
    ids=["401", "503", "refusal"],
)
def test_api_key_never_leaks(
    failure: Reply,
    flavour: Flavour,
    serve: Any,
    seed_article: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = serve(failure)
    policy = FakeClock().policy(max_attempts=2)
    summarizer = Summarizer("m", base_url=server.base_url, api_key=SECRET, retry=policy)
    assert SECRET not in repr(summarizer) and SECRET not in repr(summarizer.settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendError) as info:
        run(summarizer, seed_article, flavour)

    for record in caplog.records:
        assert SECRET not in record.getMessage(), f"key in a log line of {record.name}"
    assert SECRET not in repr(pickle.loads(pickle.dumps(info.value)).__dict__)
    seen: set[int] = set()
    error: BaseException | None = info.value
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        assert SECRET not in str(error) and SECRET not in repr(error)
        assert SECRET not in repr(vars(error)), f"key in an attribute of {type(error).__name__}"
        for name in ("request", "response"):
            thing = getattr(error, name, None)
            request = getattr(thing, "request", thing)
            headers = getattr(request, "headers", {})
            assert SECRET not in repr(dict(headers)), f"key in {name} headers"
        error = error.__cause__ or error.__context__


def _chain(error: BaseException) -> Iterator[BaseException]:
    """Every exception reachable through __cause__, __context__ and instructor's attempts."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) not in seen:
            seen.add(id(current))
            yield current
            attempts = getattr(current, "failed_attempts", None) or []
            linked = [current.__cause__, current.__context__, *(a.exception for a in attempts)]
            pending += [e for e in linked if isinstance(e, BaseException)]


def _assert_acyclic(error: BaseException, path: tuple[int, ...] = ()) -> None:
    assert id(error) not in path, f"{type(error).__name__} is its own cause or context"
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            _assert_acyclic(linked, (*path, id(error)))


@pytest.mark.parametrize(
    "failure",
    [
        HTTPFailure(401, "bad key"),
        HTTPFailure(503, "overloaded"),
        Refusal("no"),
        SCHEMA_INVALID,
        Stall(seconds=5.0),
    ],
    ids=["401", "503", "refusal", "invalid", "timeout"],
)
def test_an_error_has_no_cycle_and_pickles_as_dask_pickles_it(
    failure: Reply, flavour: Flavour, serve: Any, seed_article: str
) -> None:
    """Dask installs tblib, which pickles causes and contexts by recursion: a cycle never ends."""
    tblib = pytest.importorskip("tblib.pickling_support")
    server = serve(*[failure] * 4)
    policy = FakeClock().policy(max_attempts=2)
    summarizer = Summarizer(
        "m", base_url=server.base_url, api_key="k", retry=policy, max_reasks=1, timeout=0.3
    )
    with pytest.raises(BackendError) as info:
        run(summarizer, seed_article, flavour)
    _assert_acyclic(info.value)
    tblib.install(*{type(e) for e in _chain(info.value)})
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value) and str(copy) == str(info.value)


def test_a_failing_on_retry_hook_does_not_fail_the_call(
    serve: Any, seed_article: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(attempt: Any) -> None:
        raise RuntimeError("metrics backend down")

    server = serve(HTTPFailure(503), GOOD)
    policy = FakeClock().policy(on_retry=broken)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=policy)
    with caplog.at_level(logging.WARNING, logger="summarize"):
        summary = run(summarizer, seed_article, "sync")
    assert summary.meta.attempts == 2
    assert any("on_retry hook raised" in r.getMessage() for r in caplog.records)


# --- the call's budget: re-asks, requests, deadline --------------------------------------------


def slow(*script: Reply, latency: float) -> FakeLLMServer:
    return FakeLLMServer(FakeLLM(*script, latency=latency))


def messages(server: FakeLLMServer, request: int) -> list[dict[str, Any]]:
    return server.fake.requests[request - 1]["messages"]  # type: ignore[no-any-return]


def test_a_transient_failure_during_a_reask_retries_that_reask(
    serve: Any, flavour: Flavour, seed_article: str
) -> None:
    """The conversation goes on where it failed: the retried request is the re-ask itself."""
    server = serve(with_invented_rebuttal(), HTTPFailure(503), GOOD)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=FakeClock().policy())
    summary = run(summarizer, seed_article, flavour)

    assert server.fake.calls == 3
    first, reask, retried = (messages(server, n) for n in (1, 2, 3))
    assert len(reask) > len(first), "request 2 is not a re-ask"
    assert retried == reask, "the 503 threw the re-ask away and started over"
    assert [a.outcome for a in summary.meta.attempt_log] == ["invalid_output", "unavailable", "ok"]
    assert [r.id for r in summary.rebuttals] == ["r1"]


def test_retries_and_reasks_do_not_multiply(serve: Any, seed_article: str) -> None:
    """Once the re-asks are used up, one more failure ends the call (it used to make 12)."""
    invalid, unavailable = SCHEMA_INVALID, HTTPFailure(503)
    server = serve(*([invalid, invalid, unavailable] * 4))
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", retry=FakeClock().policy())
    with pytest.raises(InvalidOutputError) as info:
        run(summarizer, seed_article, "sync")
    assert server.fake.calls == 4 == info.value.attempts
    outcomes = [a.outcome for a in info.value.attempt_log]
    assert outcomes == ["invalid_output", "invalid_output", "unavailable", "invalid_output"]


@pytest.mark.parametrize(
    ("script", "options", "error", "requests"),
    [
        ((HTTPFailure(503),), {"max_requests": 3}, ServiceUnavailableError, 3),
        (
            (SCHEMA_INVALID, HTTPFailure(503), SCHEMA_INVALID, GOOD),
            {"max_requests": 3},
            InvalidOutputError,
            3,
        ),
        ((HTTPFailure(503),), {}, ServiceUnavailableError, 4),  # max_attempts first
        (
            (HTTPFailure(503), HTTPFailure(503), SCHEMA_INVALID) + (HTTPFailure(503),) * 9,
            {},
            ServiceUnavailableError,
            6,
        ),  # default: max_attempts + max_reasks
    ],
    ids=["transient", "at a re-ask", "per-request tries", "default"],
)
def test_max_requests_bounds_every_request_of_a_call(
    serve: Any,
    seed_article: str,
    script: tuple[Reply, ...],
    options: dict[str, Any],
    error: type[BackendError],
    requests: int,
) -> None:
    server = serve(*script)
    summarizer = Summarizer(
        "m", base_url=server.base_url, api_key="k", retry=FakeClock().policy(), **options
    )
    with pytest.raises(error) as info:
        run(summarizer, seed_article, "sync")
    assert type(info.value) is error
    assert server.fake.calls == requests == info.value.attempts == len(info.value.attempt_log)
    if error is InvalidOutputError:
        assert "max_requests" in str(info.value)


def test_timeout_is_per_request_not_a_cap_on_reasks(flavour: Flavour, seed_article: str) -> None:
    """timeout=1.0 and three 0.5 s answers: all three are asked for (instructor stopped at 2)."""
    with slow(SCHEMA_INVALID, SCHEMA_INVALID, GOOD, latency=0.5) as server:
        summarizer = Summarizer("m", base_url=server.base_url, api_key="k", timeout=1.0)
        summary = run(summarizer, seed_article, flavour)
        assert server.fake.calls == 3 and summary.meta.attempts == 3
        assert summary.venues[0].place == "Moscow"


def test_the_deadline_bounds_reasks_and_says_so(flavour: Flavour, seed_article: str) -> None:
    """deadline=1.0 with 0.4 s invalid answers: no re-ask starts that would end past it.

    It ends in a timeout error: `DeadlineExceededError` when the third request is not
    started, a plain `RequestTimeoutError` when a slow machine made the second one run into
    the deadline itself; never `InvalidOutputError`.
    """
    with slow(SCHEMA_INVALID, latency=0.4) as server:
        summarizer = Summarizer(
            "m",
            base_url=server.base_url,
            api_key="k",
            max_reasks=5,
            retry=RetryPolicy(deadline=1.0),
        )
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError) as info:
            run(summarizer, seed_article, flavour)
        elapsed = time.monotonic() - started
        assert elapsed < 1.5, f"the 1.0 s deadline let the call run {elapsed:.2f}s"
        sent = [round(t - started, 2) for t in server.fake.received_at]
        assert sent and all(t < 1.0 for t in sent), f"a request started past the deadline: {sent}"
        assert len(sent) <= 2 and info.value.attempts == len(sent)
        assert "deadline" in str(info.value) or "timeout" in str(info.value)


def test_a_reask_that_cannot_finish_in_time_is_not_started(seed_article: str) -> None:
    """On a fake clock: 0.7 s left, the last answer took 0.8 s: DeadlineExceededError."""
    clock = FakeClock()
    fake = FakeLLM(SCHEMA_INVALID)
    real_answer = fake.answer

    def slow_answer(body: dict[str, Any]) -> Any:
        clock.sleep(0.8)  # the model "takes" 0.8 s on the call's clock
        return real_answer(body)

    fake.answer = slow_answer  # type: ignore[method-assign]
    summarizer = fake.summarizer(max_reasks=5, retry=clock.policy(deadline=1.5))
    with pytest.raises(DeadlineExceededError, match=r"deadline of 1\.5s") as info:
        summarizer.summarize(seed_article)
    assert fake.calls == 1 and info.value.attempts == 1


def test_an_answer_the_deadline_leaves_no_reask_for_goes_to_the_policy(
    seed_article: str,
) -> None:
    with slow(with_invented_rebuttal(), latency=0.4) as server:
        summarizer = Summarizer(
            "m", base_url=server.base_url, api_key="k", retry=RetryPolicy(deadline=0.6)
        )
        summary = run(summarizer, seed_article, "sync")
        assert server.fake.calls == 1
        assert [r.id for r in summary.rebuttals] == ["r1"] and summary.meta.dropped_items == 1


def long_answer(draft: dict[str, Any], prompt_tokens: int, completion_tokens: int) -> RawBody:
    """`draft` as a tool call whose usage says the conversation has grown this long."""
    completion = {
        "id": "chatcmpl-long",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "DraftSummary", "arguments": json.dumps(draft)},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return RawBody(json.dumps(completion))


@pytest.mark.parametrize(("context_window", "requests"), [(9_000, 1), (20_000, 2)])
def test_a_reask_that_would_overflow_the_context_window_is_not_sent(
    context_window: int, requests: int, serve: Any, seed_article: str
) -> None:
    """7,000 + 900 tokens so far, 400 for the errors and 2,048 for an answer: 10,348."""
    server = serve(long_answer(with_invented_rebuttal(), 7_000, 900), GOOD)
    summarizer = Summarizer(
        "m", base_url=server.base_url, api_key="k", context_window=context_window
    )
    summary = summarizer.summarize(seed_article)
    assert server.fake.calls == requests
    assert [r.by for r in summary.rebuttals] == ["Andrii Sybiha"], "the invented item stayed"
    if requests == 1:
        assert summary.meta.dropped_items == 1, "the last answer goes to the ungrounded policy"


def test_an_invalid_answer_that_cannot_be_reasked_in_the_window_says_so(
    serve: Any, seed_article: str
) -> None:
    server = serve(long_answer(SCHEMA_INVALID, 7_000, 900), GOOD)
    summarizer = Summarizer("m", base_url=server.base_url, api_key="k", context_window=9_000)
    with pytest.raises(InvalidOutputError, match="would not fit the context window of 9000"):
        summarizer.summarize(seed_article)
    assert server.fake.calls == 1


def test_only_this_asks_answers_count_toward_its_window() -> None:
    from summarize.budget import CallBudget
    from summarize.journal import CallJournal
    from summarize.schema import Usage

    journal = CallJournal()
    budget = CallBudget(
        journal, max_requests=3, max_answers=3, timeout=1, context_window=8192, max_tokens=2048
    )
    used = Usage(prompt_tokens=5_000, completion_tokens=2_000, total_tokens=7_000)
    journal.answered(status=200, request_id=None, usage=used, duration=0.1)
    assert not budget.room_for_another() and not budget.may_reask()
    assert budget.next_ask(max_tokens=512).room_for_another(), "a new ask starts afresh"
    smaller = CallBudget(
        journal, max_requests=3, max_answers=3, timeout=1, context_window=8192, max_tokens=512
    )
    journal.answered(status=200, request_id=None, usage=used, duration=0.1)
    assert smaller.room_for_another(), "5,000 + 2,000 + 400 + 512 tokens fit in 8,192"
    unknown = CallBudget(journal, max_requests=3, max_answers=3, timeout=1, max_tokens=2048)
    journal.answered(status=200, request_id=None, usage=used, duration=0.1)
    assert unknown.room_for_another(), "an endpoint's window unknown: re-asks as before"
