"""Frozen settings. Nothing here reads the environment at import time.

`Settings`, `RetryPolicy` and `SummarizerConfig` pickle: a `Summarizer` travels to other
processes (Ray actors, Dask workers) as its `SummarizerConfig`.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from summarize.errors import ConfigError

if TYPE_CHECKING:
    from summarize.schema import Attempt

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "HF_PREFIX",
    "LOCAL_MODEL",
    "Mode",
    "RetryPolicy",
    "Settings",
    "StrategyName",
    "SummarizerConfig",
    "TravelWarning",
    "UnattributedPolicy",
    "UngroundedPolicy",
]

Mode = Literal["tools", "json_schema", "json", "md_json"]
StrategyName = Literal["auto", "single", "sentences"]
UngroundedPolicy = Literal["keep", "drop", "raise"]
UnattributedPolicy = Literal["keep", "flag", "drop"]
CacheErrorPolicy = Literal["warn", "raise"]
_F = TypeVar("_F")

LOCAL_MODEL = "local"
HF_PREFIX = "hf:"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
_MODES: tuple[str, ...] = ("tools", "json_schema", "json", "md_json")
_STRATEGIES: tuple[str, ...] = ("auto", "single", "sentences")
_POLICIES: tuple[str, ...] = ("keep", "drop", "raise")
_ACTOR_POLICIES: tuple[str, ...] = ("keep", "flag", "drop")
# Settings fields that need a value; None is a valid value for every other one.
_REQUIRED: tuple[str, ...] = (
    "mode",
    "prompt",
    "strategy",
    "max_input_chars",
    "chunk_overlap",
    "timeout",
    "retry",
    "max_reasks",
    "ungrounded",
    "unattributed",
    "n_ctx",
    "repeat_penalty",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How transient failures (HTTP 408/409/429/5xx, connection errors, timeouts) are retried.

    Back-off is exponential with full jitter: before retry *n* it sleeps a random time in
    ``[0, min(max_wait, initial_wait * 2**(n-1))]``. A server's ``Retry-After`` (or
    ``retry-after-ms``) replaces that, capped by `max_wait`.

    Attributes:
        max_attempts: Tries of one HTTP request at most, the first included (1 turns
            retrying off). A re-ask is a new request with tries of its own; the whole call
            is bounded by `Settings.max_requests`.
        initial_wait: Back-off ceiling before the first retry, in seconds; doubles each time.
        max_wait: Longest single wait in seconds, Retry-After (on any status) included.
        deadline: Seconds the whole call may take, waits and re-asks included; each request's
            timeout shrinks to what is left, no retry starts whose wait would end past it,
            and no re-ask starts once it has passed (`DeadlineExceededError`).
            None: only `max_attempts`, `Settings.max_requests` and `Settings.timeout` bound
            the call.
        jitter: Randomize waits (full jitter); False waits exactly the ceiling.
        retry_truncated: On ``finish_reason="length"``, try once more with twice the
            ``max_tokens`` instead of raising `TruncatedError` at once.
        on_retry: Called with the failed `Attempt` (its ``wait_s`` set) before each wait.
        sleep: Blocking sleep, replaceable in tests.
        asleep: Async sleep, replaceable in tests.
        clock: Monotonic clock in seconds that `deadline` is measured with.
    """

    max_attempts: int = 4
    initial_wait: float = 0.5
    max_wait: float = 30.0
    deadline: float | None = None
    jitter: bool = True
    retry_truncated: bool = False
    on_retry: Callable[[Attempt], None] | None = field(default=None, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    asleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, compare=False, repr=False
    )
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1 (1 means no retries)")
        if self.initial_wait < 0 or self.max_wait < 0:
            raise ConfigError("retry waits must not be negative")
        if self.deadline is not None and self.deadline <= 0:
            raise ConfigError("deadline must be positive (or None for no deadline)")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle hooks by reference; a lambda or closure is dropped (`TravelWarning`)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        defaults = {"on_retry": None, "sleep": time.sleep, "asleep": asyncio.sleep}
        for name, default in {**defaults, "clock": time.monotonic}.items():
            values[name] = _portable(values[name], f"RetryPolicy.{name}", default)
        return (_rebuilt_policy, (values,))


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything a `Summarizer` needs to know, validated once.

    Attributes:
        model: ``"local"`` (the default local model), ``"local:NAME"`` (a model of
            `summarize.models`), ``"local:/path/model.gguf"``, ``"hf:OWNER/REPO/FILE.gguf"``
            (downloaded from the Hugging Face Hub, run locally), or a provider's model name.
            None picks one: the local model unless an API key or base URL is set.
        base_url: An OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, ...).
        api_key: The endpoint's key. Local servers accept any non-empty string.
        mode: How instructor asks for structure. "tools" works on OpenAI and on llama.cpp,
            where a forced tool choice becomes a grammar.
        prompt: Prompt of the single-call strategy, ``"name@vN"`` or ``"name"`` for its newest.
        strategy: How the model is asked: "single" (one call for the whole summary, for
            strong hosted models), "sentences" (one short call per sentence, for small local
            models), or "auto": sentences for the in-process model, single for endpoints.
        max_input_chars: A safety limit: longer articles are refused before any call. Articles
            too long for one request are summarized in chunks (see `context_window`).
        context_window: Tokens one request may hold, prompt and answer together; an article
            that does not fit is cut into chunks that do. None: ``n_ctx`` for a local model,
            the known window of an OpenAI model, else 8192.
        chunk_overlap: Sentences each chunk of a long article repeats from the one before.
        max_tokens: Cap on the model's answer; None leaves it out of the request (for
            reasoning models that reject it).
        temperature: Sampling temperature; 0 for repeatable output; None leaves it out.
        timeout: Seconds allowed for one HTTP request (the whole call's limit is
            ``retry.deadline``).
        retry: How transient failures are retried; see `RetryPolicy`.
        max_reasks: Re-asks after invalid output or ungrounded quotes (instructor's loop).
        max_requests: HTTP requests one call may make at most, retries and re-asks included;
            None: ``retry.max_attempts + max_reasks``.
        ungrounded: What happens to evidence that stays ungrounded after the re-asks:
            "drop" it (and its item, if nothing grounded remains), "keep" it flagged
            ``grounded=False``, or "raise" `GroundingError`.
        unattributed: What happens to an item whose actor the article does not name near
            its evidence (`summarize.guards.attributes_actor`): "flag" it (its id goes to
            ``meta.unattributed``), "drop" it, or "keep" it unchecked.
        n_ctx: Context window for the local model.
        n_threads: CPU threads for the local model (None: all cores).
        repeat_penalty: Local model only; keeps the tiny model from looping.
        extra_body: Extra JSON fields sent with every request (provider-specific options).
        rpm: Requests per minute at most, shared by every call of a `Summarizer` (retries and
            re-asks included); None: no limit.
        tpm: Tokens per minute at most, estimated before each request and corrected from the
            usage reported; None: no limit.
        limits: Where `rpm`, `tpm` and Retry-After pauses live: None for this `Summarizer`
            only, or ``"redis://host:6379/0?prefix=..."`` for every process and machine that
            names the same Redis and prefix (see `summarize.ratelimit`).
    """

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: Mode = "tools"
    prompt: str = "article_summary"
    strategy: StrategyName = "auto"
    max_input_chars: int = 1_000_000
    context_window: int | None = None
    chunk_overlap: int = 2
    max_tokens: int | None = 2048
    temperature: float | None = 0.0
    timeout: float = 120.0
    retry: RetryPolicy = RetryPolicy()
    max_reasks: int = 2
    max_requests: int | None = None
    ungrounded: UngroundedPolicy = "drop"
    unattributed: UnattributedPolicy = "flag"
    n_ctx: int = 8192
    n_threads: int | None = None
    repeat_penalty: float = 1.1
    extra_body: Mapping[str, Any] | None = None
    rpm: int | None = None
    tpm: int | None = None
    limits: str | None = field(default=None, repr=False)  # a URL may hold a password

    def __post_init__(self) -> None:
        for name in _REQUIRED:
            if getattr(self, name) is None:
                raise ConfigError(f"{name} must not be None")
        if self.strategy not in _STRATEGIES:
            raise ConfigError(
                f"strategy must be one of {', '.join(_STRATEGIES)}, not {self.strategy!r}"
            )
        if self.mode not in _MODES:
            raise ConfigError(f"mode must be one of {', '.join(_MODES)}, not {self.mode!r}")
        if self.ungrounded not in _POLICIES:
            raise ConfigError(
                f"ungrounded must be one of {', '.join(_POLICIES)}, not {self.ungrounded!r}"
            )
        if self.unattributed not in _ACTOR_POLICIES:
            raise ConfigError(
                f"unattributed must be one of {', '.join(_ACTOR_POLICIES)}, "
                f"not {self.unattributed!r}"
            )
        limits = ("max_input_chars", "max_tokens", "n_ctx", "max_requests", "rpm", "tpm")
        for name in (*limits, "context_window"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.max_reasks < 0:
            raise ConfigError("max_reasks must not be negative")
        if self.chunk_overlap < 0:
            raise ConfigError("chunk_overlap must not be negative")
        if self.timeout <= 0:
            raise ConfigError("timeout must be positive")
        if not isinstance(self.retry, RetryPolicy):
            raise ConfigError(f"retry must be a RetryPolicy, not {type(self.retry).__name__}")
        if self.model is not None and not self.model.strip():
            raise ConfigError("model must not be empty")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from explicit overrides, else from the environment.

        Reads ``SUMMARIZE_MODEL``, ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``; overrides of
        those that are None fall back to them. Any other override is taken as given: None
        leaves an optional field out (``max_tokens=None``, ``temperature=None``).
        """
        env = os.environ if env is None else env
        _check_names(overrides)
        from_env = {
            "model": env.get("SUMMARIZE_MODEL") or None,
            "api_key": env.get("OPENAI_API_KEY") or None,
            "base_url": env.get("OPENAI_BASE_URL") or None,
        }
        given = {k: v for k, v in overrides.items() if v is not None or k not in from_env}
        return cls(**{**from_env, **given})

    @property
    def is_local(self) -> bool:
        """True when a model runs in-process (no HTTP endpoint)."""
        if self.model is not None:
            prefixes = (LOCAL_MODEL + ":", HF_PREFIX)
            return self.model == LOCAL_MODEL or self.model.startswith(prefixes)
        return self.base_url is None and self.api_key is None

    @property
    def local_model_path(self) -> str | None:
        """The local model asked for, as `summarize.models.resolve` takes it.

        A registry name or GGUF path after ``"local:"``, an ``"hf:"`` model as given, or None
        for the default local model.
        """
        if self.model and self.model.startswith(HF_PREFIX):
            return self.model
        if self.model and self.model.startswith(LOCAL_MODEL + ":"):
            return self.model.split(":", 1)[1] or None
        return None

    @property
    def model_name(self) -> str:
        """The model name sent to the endpoint or recorded in `meta`."""
        if self.model is not None:
            return self.model
        return LOCAL_MODEL if self.is_local else DEFAULT_OPENAI_MODEL

    @property
    def requests_per_call(self) -> int:
        """`max_requests`, or its default: ``retry.max_attempts + max_reasks``."""
        if self.max_requests is not None:
            return self.max_requests
        return self.retry.max_attempts + self.max_reasks

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (validated again)."""
        _check_names(changes)
        return replace(self, **changes)


class TravelWarning(UserWarning):
    """A hook of a `Summarizer` could not travel to another process: the copy runs without it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SummarizerConfig:
    """What rebuilds a `Summarizer` in another process, and all that pickling one carries.

    ``summarizer.config`` is a summarizer's own; `Summarizer.from_config` builds one from it.
    HTTP clients, cache connections and the local model are not carried: each copy opens
    its own, lazily. What travels:

    - An API key the summarizer read from ``OPENAI_API_KEY`` stays behind: the copy reads
      ``OPENAI_API_KEY`` in its own process. A key passed in (``api_key=`` or inside
      ``settings=``) travels, since it was handed to the object: keep such pickles as secret
      as the key (Ray may spill objects to disk; Dask sends them over its connections).
      Neither ever shows in a repr.
    - Hooks (``on_progress``, the retry policy's ``on_retry``, ``sleep``, ``asleep``,
      ``clock``) travel by reference when they pickle (module-level functions do); a lambda
      or closure is dropped with a `TravelWarning` and the copy runs without it (or with the
      default sleep or clock).
    - Rate limits (``settings.rpm``, ``settings.tpm``) hold per copy, unless they live in
      a shared store (``settings.limits``): `share` divides them among copies.

    Attributes:
        settings: Model, endpoint, strategy, limits: everything `Settings` holds.
        cache: A cache URL (``"sqlite:////abs/path.db"``, ``"redis://..."``; ``"memory://"``
            is a fresh, empty cache in each process), None for the default cache of the
            process the copy runs in, or False for none.
        cache_errors: As `Summarizer` takes it: "warn" or "raise".
        on_progress: As `Summarizer` takes it.
        api_key_from_env: ``settings.api_key`` was read from ``OPENAI_API_KEY``: a pickle
            leaves it out.
    """

    settings: Settings = field(default_factory=Settings)
    cache: str | bool | None = None
    cache_errors: CacheErrorPolicy = "warn"
    on_progress: Callable[[int, int], None] | None = field(default=None, compare=False)
    api_key_from_env: bool = False

    def share(self, copies: int) -> SummarizerConfig:
        """This config for one of `copies` processes running at once: 1/copies of rpm and tpm each.

        Raises:
            ConfigError: `copies` is below 1.
        """
        if copies < 1:
            raise ConfigError(f"copies must be at least 1, not {copies}")
        s = self.settings
        if s.limits is not None:  # shared already: every copy takes from the same limits
            return self
        rpm, tpm = (None if v is None else max(1, v // copies) for v in (s.rpm, s.tpm))
        return replace(self, settings=s.replace(rpm=rpm, tpm=tpm))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle without an API key read from the environment, and hooks by reference only."""
        settings = self.settings
        if self.api_key_from_env:  # pinned: without a key, model=None would mean the local model
            settings = settings.replace(api_key=None, model=settings.model_name)
        hook = _portable(self.on_progress, "on_progress", None)
        return (
            _rebuilt_config,
            (settings, self.cache, self.cache_errors, hook, self.api_key_from_env),
        )

    def __repr__(self) -> str:
        from summarize.cache.base import redact_url

        cache = redact_url(self.cache) if isinstance(self.cache, str) else self.cache
        return (
            f"SummarizerConfig(settings={self.settings!r}, cache={cache!r}, "
            f"cache_errors={self.cache_errors!r})"
        )


def _portable(hook: _F, name: str, default: _F) -> _F:
    """`hook` if it pickles (by reference, for a function), else `default` with a warning."""
    if hook is default or hook is None:
        return hook
    try:
        pickle.dumps(hook)
    except (pickle.PicklingError, TypeError, AttributeError):
        what = getattr(hook, "__qualname__", type(hook).__name__)
        instead = "without it" if default is None else f"with the default {name.split('.')[-1]}"
        warnings.warn(
            f"{name} ({what}) cannot be pickled, so a copy of this Summarizer in another "
            f"process runs {instead}; use a module-level function to keep it",
            TravelWarning,
            stacklevel=3,
        )
        return default
    return hook


def _rebuilt_policy(values: dict[str, Any]) -> RetryPolicy:
    return RetryPolicy(**values)


def _rebuilt_config(
    settings: Settings,
    cache: str | bool | None,
    cache_errors: CacheErrorPolicy,
    on_progress: Callable[[int, int], None] | None,
    api_key_from_env: bool,
) -> SummarizerConfig:
    if api_key_from_env:  # this process's own key
        settings = settings.replace(api_key=os.environ.get("OPENAI_API_KEY") or None)
    return SummarizerConfig(
        settings=settings,
        cache=cache,
        cache_errors=cache_errors,
        on_progress=on_progress,
        api_key_from_env=api_key_from_env,
    )


def _check_names(given: Mapping[str, Any]) -> None:
    unknown = sorted(set(given) - {f.name for f in fields(Settings)})
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
