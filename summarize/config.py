"""Frozen settings. Nothing here reads the environment at import time."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

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
    "UngroundedPolicy",
]

Mode = Literal["tools", "json_schema", "json", "md_json"]
StrategyName = Literal["auto", "single", "sentences"]
UngroundedPolicy = Literal["keep", "drop", "raise"]

LOCAL_MODEL = "local"
HF_PREFIX = "hf:"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
_MODES: tuple[str, ...] = ("tools", "json_schema", "json", "md_json")
_STRATEGIES: tuple[str, ...] = ("auto", "single", "sentences")
_POLICIES: tuple[str, ...] = ("keep", "drop", "raise")
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
        n_ctx: Context window for the local model.
        n_threads: CPU threads for the local model (None: all cores).
        repeat_penalty: Local model only; keeps the tiny model from looping.
        extra_body: Extra JSON fields sent with every request (provider-specific options).
        rpm: Requests per minute at most, shared by every call of a `Summarizer` (retries and
            re-asks included); None: no limit.
        tpm: Tokens per minute at most, estimated before each request and corrected from the
            usage reported; None: no limit.
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
    n_ctx: int = 8192
    n_threads: int | None = None
    repeat_penalty: float = 1.1
    extra_body: Mapping[str, Any] | None = None
    rpm: int | None = None
    tpm: int | None = None

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


def _check_names(given: Mapping[str, Any]) -> None:
    unknown = sorted(set(given) - {f.name for f in fields(Settings)})
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
