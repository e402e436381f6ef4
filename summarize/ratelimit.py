"""The rate-limit layer: a `Sender` wrapper every HTTP request of a `Summarizer` goes through.

One `Throttle` per `Summarizer` holds what all its calls share, sync and async alike:

- optional requests-per-minute and tokens-per-minute limits, each a token bucket (pyrate-limiter's
  `TokenBucket`: capacity one minute's allowance, refilled continuously, constant memory);
- a pause gate: when the endpoint answers with ``Retry-After`` (a 429, a 503, ...), no request
  of any call starts until that time has passed, not just the retry of the one that got it.

With ``Settings.limits="redis://host:6379/0?prefix=..."`` the buckets and the pause live in
Redis (`RedisLimits`), so every process and machine naming the same Redis and prefix shares
them: N workers together stay under the provider's limits, and a ``Retry-After`` one of them
sees holds them all. The buckets are pyrate-limiter's own Redis store for its constant-state
algorithms (`RedisStateStore`: the same `TokenBucket`, one small hash per limit, updated by
an atomic Lua script); the pause is one key holding the time to resume. Shared state is
stamped with wall-clock time (machines' clocks must agree, as NTP keeps them). When Redis
fails, each process goes on with its own in-process limits (logged) and tries Redis again
a few seconds later.

`ThrottledSender` sits under the retry layer, so every request takes from the limits: first
tries, retries and instructor's re-asks. A request's tokens are estimated before it is sent
(its JSON body's characters / 4, plus its ``max_tokens``, as providers count them) and the
difference to the usage the endpoint reports is carried into the next requests' charge. Cache
hits never reach a sender, so they never take from the limits. Time and sleeps are the retry
policy's (`RetryPolicy.clock`, ``sleep``, ``asleep``), so a `summarize.testing.FakeClock`
drives the limits too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode

from pyrate_limiter import Duration, Rate, RateItem, StateBucket, StateStore, TokenBucket

from summarize.backends.base import ChatBody, Sender, SenderLayer
from summarize.budget import CallBudget
from summarize.cache.base import one_line, redact_url
from summarize.config import Settings
from summarize.errors import ConfigError, DeadlineExceededError, TransientError

if TYPE_CHECKING:
    import redis

__all__ = [
    "Limits",
    "LimitsUnavailable",
    "LocalLimits",
    "RedisLimits",
    "Throttle",
    "ThrottledSender",
    "estimate_tokens",
    "open_limits",
]

logger = logging.getLogger(__name__)

_CHARS_PER_TOKEN = 4  # the usual rough count for English text and JSON
#: Seconds a process keeps to its own limits after shared ones failed, before trying again.
SHARED_RETRY_S = 5.0
DEFAULT_PREFIX = "summarize:limits:"

Limit = Literal["requests", "tokens"]


def estimate_tokens(body: ChatBody, max_tokens: int | None) -> int:
    """Tokens a request may cost: its body's characters / 4, plus the answer's cap."""
    size = len(json.dumps(body, ensure_ascii=False, default=str))
    return math.ceil(size / _CHARS_PER_TOKEN) + (max_tokens or 0)


class LimitsUnavailable(Exception):
    """The shared limits' store failed (Redis down or hung); a one-line reason."""


class Limits(Protocol):
    """Where a throttle's buckets and pause live; times are seconds on the throttle's clock."""

    url: str

    def take(self, limit: Limit, weight: int, now: float) -> float:
        """Take `weight` from a limit; 0 when taken, else seconds until it fits."""
        ...

    def hold(self, until: float, seconds: float) -> bool:
        """Hold every request until `until` (`seconds` from now); False if already held longer."""
        ...

    def resume_at(self) -> float:
        """When requests may start again (-inf: not held)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LocalLimits:
    """Buckets and a pause in this process: what the calls of one `Summarizer` share."""

    url = "local"

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self._buckets = {"requests": _per_minute(rpm), "tokens": _per_minute(tpm)}
        self._resume_at = -math.inf

    def take(self, limit: Limit, weight: int, now: float) -> float:
        """Take `weight` from a limit; 0 when taken, else seconds until it fits."""
        return _take(self._buckets[limit], weight, now)

    def hold(self, until: float, seconds: float) -> bool:
        """Hold every request until `until`; False if already held longer."""
        if until <= self._resume_at:
            return False
        self._resume_at = until
        return True

    def resume_at(self) -> float:
        """When requests may start again."""
        return self._resume_at

    def close(self) -> None:
        """Nothing to release."""


# Set the resume time only if it is later than the one stored (atomic: one script).
_HOLD_LUA = """
local stored = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > stored then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""


class RedisLimits:
    """Buckets and a pause in Redis, shared by every process that names the same keys.

    Keys: ``prefix + "requests"`` and ``prefix + "tokens"`` (pyrate-limiter's token-bucket
    state, expiring when idle) and ``prefix + "pause"`` (when requests may resume).

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://``; query options
            are redis-py's (``?socket_timeout=5``).
        rpm: Requests per minute at most (None: no limit).
        tpm: Tokens per minute at most (None: no limit).
        prefix: Prepended to the keys.
        socket_timeout: Seconds to wait to connect and for each reply.

    Raises:
        ConfigError: The URL or one of its options is not valid for redis-py.
    """

    def __init__(
        self,
        url: str,
        *,
        rpm: int | None,
        tpm: int | None,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = 2.0,
    ) -> None:
        import redis
        from pyrate_limiter import RedisStateStore
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = redact_url(url)
        self.prefix = prefix
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                url,
                retry=Retry(NoBackoff(), 1),  # as RedisCache: one retry, for a stale connection
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
            )
            pool = self._client.connection_pool
            pool.connection_class(**pool.connection_kwargs)  # checks the options; no I/O
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"limits {self.url!r}: {one_line(exc)}") from None
        self._secret = self._client.connection_pool.connection_kwargs.get("password")

        def bucket(limit: int | None, name: str) -> StateBucket | None:
            return _per_minute(limit, RedisStateStore(self._client, prefix + name))

        self._buckets = {"requests": bucket(rpm, "requests"), "tokens": bucket(tpm, "tokens")}
        self._pause_key = prefix + "pause"
        self._hold = self._client.register_script(_HOLD_LUA)

    def take(self, limit: Limit, weight: int, now: float) -> float:
        """Take `weight` from a limit; 0 when taken, else seconds until it fits."""
        with self._guard():
            return _take(self._buckets[limit], weight, now)

    def hold(self, until: float, seconds: float) -> bool:
        """Hold every request of every process until `until`; False if already held longer."""
        expire_ms = math.ceil(seconds * 1000) + 1000
        with self._guard():
            return bool(self._hold(keys=[self._pause_key], args=[repr(until), expire_ms]))

    def resume_at(self) -> float:
        """When requests may start again."""
        with self._guard():
            stored = self._client.get(self._pause_key)
        return -math.inf if stored is None else float(stored)

    def close(self) -> None:
        """Close the client's connections (a later call reconnects)."""
        self._client.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except (RedisError, OSError) as exc:
            reason = one_line(exc)
            if isinstance(self._secret, str) and self._secret:
                reason = reason.replace(self._secret, "***")
            raise LimitsUnavailable(f"shared limits at {self.url}: {reason}") from exc


def open_limits(url: str, *, rpm: int | None, tpm: int | None, model: str) -> RedisLimits:
    """The shared limits a `Settings.limits` URL names.

    ``?prefix=`` sets the key prefix (default ``summarize:limits:MODEL:``: providers meter
    each model on its own); other query options go to redis-py.

    Raises:
        ConfigError: Not a ``redis://`` or ``rediss://`` URL, or an invalid option.
    """
    scheme = url.partition("://")[0].lower()
    if "://" not in url or scheme not in ("redis", "rediss"):
        raise ConfigError(f"limits must be a redis:// or rediss:// URL, not {redact_url(url)!r}")
    base, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    prefix = next((v for k, v in pairs if k == "prefix"), f"{DEFAULT_PREFIX}{model}:")
    theirs = urlencode([(k, v) for k, v in pairs if k != "prefix"])
    return RedisLimits(base + (f"?{theirs}" if theirs else ""), rpm=rpm, tpm=tpm, prefix=prefix)


@dataclass(slots=True)
class _Ticket:
    """What one request has taken so far (nothing is taken twice while it waits)."""

    tokens: int
    request_taken: bool = False
    tokens_taken: bool = False


class Throttle:
    """Requests-per-minute and tokens-per-minute limits and a pause gate, thread-safe.

    Args:
        rpm: Requests per minute at most (None: no limit).
        tpm: Tokens per minute at most (None: no limit).
        max_pause: Longest pause one ``Retry-After`` may impose, in seconds.
        clock: Seconds; wall-clock time when `shared` limits are stamped with it.
        sleep: Blocking sleep.
        asleep: Async sleep.
        shared: Limits shared with other processes (`RedisLimits`); None: this throttle's own.
    """

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: Limits | None = None,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.max_pause = max_pause
        self.clock = clock
        self.sleep = sleep
        self.asleep = asleep
        self.shared = shared
        self._local = LocalLimits(rpm, tpm)
        self._owed = 0  # tokens used beyond the estimates so far (negative: fewer)
        self._shared_from: float | None = None  # after a failure: when to try Redis again
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        """The limits `settings` ask for, on the retry policy's clock and sleeps.

        Shared limits (``settings.limits``) are stamped with wall-clock time, unless the
        retry policy brings a clock of its own (a `summarize.testing.FakeClock`).

        Raises:
            ConfigError: ``settings.limits`` is not a valid Redis URL.
        """
        retry = settings.retry
        shared, clock = None, retry.clock
        if settings.limits is not None:
            model = settings.model_name
            shared = open_limits(settings.limits, rpm=settings.rpm, tpm=settings.tpm, model=model)
            clock = time.time if clock is time.monotonic else clock
        return cls(
            rpm=settings.rpm,
            tpm=settings.tpm,
            max_pause=retry.max_wait,
            clock=clock,
            sleep=retry.sleep,
            asleep=retry.asleep,
            shared=shared,
        )

    def pause(self, seconds: float) -> None:
        """Hold every request that has not started for `seconds` (capped by `max_pause`)."""
        seconds = min(seconds, self.max_pause)
        with self._lock:
            now = self.clock()
            held = self._local.hold(now + seconds, seconds)
            shared = self._shared_limits(now)
            if shared is not None:
                try:
                    held = shared.hold(now + seconds, seconds) or held
                except LimitsUnavailable as exc:
                    self._lost(exc, now)
            if held:
                logger.info("endpoint asked to wait: holding new requests for %.2fs", seconds)

    def acquire(self, tokens: int, budget: CallBudget | None = None, *, model: str = "") -> None:
        """Block until a request of `tokens` may start; take it from the limits.

        Raises:
            DeadlineExceededError: The wait would end past the call's deadline.
        """
        ticket = _Ticket(tokens)
        while (wait := self._wait(ticket)) > 0:
            _check_deadline(wait, budget, model)
            self.sleep(wait)

    async def aacquire(
        self, tokens: int, budget: CallBudget | None = None, *, model: str = ""
    ) -> None:
        """Async `acquire`: waits without blocking the event loop (nor on Redis)."""
        ticket = _Ticket(tokens)
        while (wait := await self._await(ticket)) > 0:
            _check_deadline(wait, budget, model)
            await self.asleep(wait)

    def settle(self, estimated: int, used: int) -> None:
        """Carry the difference between a request's estimate and its usage into the next ones."""
        if self.tpm is not None:
            with self._lock:
                self._owed += used - estimated

    def close(self) -> None:
        """Close the shared limits' connections."""
        if self.shared is not None:
            self.shared.close()

    async def _await(self, ticket: _Ticket) -> float:
        if self.shared is None:
            return self._wait(ticket)
        return await asyncio.to_thread(self._wait, ticket)

    def _wait(self, ticket: _Ticket) -> float:
        """Seconds to wait before asking again; 0 once the request may start."""
        with self._lock:
            now = self.clock()
            shared = self._shared_limits(now)
            if shared is not None:
                try:
                    wait = self._check(shared, ticket, now)
                except LimitsUnavailable as exc:
                    self._lost(exc, now)
                else:
                    self._found()
                    return wait
            return self._check(self._local, ticket, now)

    def _check(self, limits: Limits, ticket: _Ticket, now: float) -> float:
        resume_at = max(self._local.resume_at(), limits.resume_at())
        if now < resume_at:
            return resume_at - now
        if not ticket.request_taken:
            wait = self._take(limits, "requests", 1, now)
            if wait:
                return wait
            ticket.request_taken = True
        if not ticket.tokens_taken and self.tpm is not None:
            charge = ticket.tokens + self._owed
            wait = self._take(limits, "tokens", min(max(charge, 0), self.tpm), now)
            if wait:
                return wait
            ticket.tokens_taken = True
            self._owed = min(charge, 0)  # a credit carries on; a charge over tpm is dropped
        return 0.0

    def _take(self, limits: Limits, limit: Limit, weight: int, now: float) -> float:
        """Take from `limits`; what shared limits grant is noted in the local ones too.

        A process's own traffic is part of what the shared buckets saw, so the local ones
        never refuse it; they only keep count, for when Redis fails.
        """
        wait = limits.take(limit, weight, now)
        if not wait and limits is not self._local:
            self._local.take(limit, weight, now)
        return wait

    def _shared_limits(self, now: float) -> Limits | None:
        if self._shared_from is not None and now < self._shared_from:
            return None
        return self.shared

    def _lost(self, exc: LimitsUnavailable, now: float) -> None:
        """Shared limits failed: this process keeps to its own for a while (logged once)."""
        if self._shared_from is None:
            logger.warning(
                "%s; this process keeps to its own limits, trying Redis again every %.0fs",
                exc,
                SHARED_RETRY_S,
            )
        self._shared_from = now + SHARED_RETRY_S

    def _found(self) -> None:
        if self._shared_from is not None:
            logger.info("shared limits at %s answer again", self.shared and self.shared.url)
            self._shared_from = None


class ThrottledSender(SenderLayer):
    """Wraps a sender: each request waits for the `throttle`; ``Retry-After`` pauses them all."""

    def __init__(self, wrapped: Sender, throttle: Throttle) -> None:
        super().__init__(wrapped)
        self.throttle = throttle

    def send(self, body: ChatBody, budget: CallBudget) -> Any:
        """Wait for the limits, then send `body`."""
        tokens = self._estimate(body, budget)
        self.throttle.acquire(tokens, budget, model=self.model)
        first = budget.journal.count
        try:
            return self.wrapped.send(body, budget)
        except TransientError as error:
            self._paused_by(error)
            raise
        finally:
            self._settle(tokens, budget, first)

    async def asend(self, body: ChatBody, budget: CallBudget) -> Any:
        """Async `send`."""
        tokens = self._estimate(body, budget)
        await self.throttle.aacquire(tokens, budget, model=self.model)
        first = budget.journal.count
        try:
            return await self.wrapped.asend(body, budget)
        except TransientError as error:
            self._paused_by(error)
            raise
        finally:
            self._settle(tokens, budget, first)

    def _estimate(self, body: ChatBody, budget: CallBudget) -> int:
        return estimate_tokens(body, budget.max_tokens) if self.throttle.tpm is not None else 0

    def _paused_by(self, error: TransientError) -> None:
        if error.retry_after is not None:
            self.throttle.pause(error.retry_after)

    def _settle(self, estimated: int, budget: CallBudget, first: int) -> None:
        """Correct the estimate from the usage the endpoint reported, when it reported one."""
        if estimated and budget.journal.count > first:
            used = budget.journal.attempts[-1].usage.total_tokens
            if used:
                self.throttle.settle(estimated, used)


def _per_minute(limit: int | None, store: StateStore | None = None) -> StateBucket | None:
    if limit is None:
        return None
    return StateBucket([Rate(limit, Duration.MINUTE)], algorithm=TokenBucket(), store=store)


def _take(bucket: StateBucket | None, weight: int, now: float) -> float:
    """Take `weight` from `bucket` at `now`; 0 when taken, else seconds until it fits."""
    if bucket is None or weight <= 0:
        return 0.0
    decision = bucket.put_decision(RateItem("summarize", int(now * 1000), weight))
    assert not isinstance(decision, Awaitable)  # in memory, or a sync Redis client
    if decision.allowed:
        return 0.0
    return max(decision.retry_after_ms or 1, 1) / 1000


def _check_deadline(wait: float, budget: CallBudget | None, model: str) -> None:
    left = budget.time_left() if budget is not None else None
    if left is not None and wait > left:
        raise DeadlineExceededError(
            f"the rate limits hold requests for {wait:.2f}s, past the call's deadline "
            f"({max(left, 0.0):.2f}s left)",
            model=model,
            retry_after=wait,
        )
