"""Test doubles for code that uses `summarize`, faked at the HTTP layer.

`FakeLLM` is an OpenAI-compatible chat-completions endpoint living in an httpx2
`MockTransport`: the real openai SDK, instructor and `summarize` code all run, only the
network is replaced::

    from summarize.testing import FakeLLM

    fake = FakeLLM({"summary": "...", "warnings": [...]})
    summary = fake.summarizer().summarize(article)
    assert fake.requests[0]["tool_choice"]["function"]["name"] == "DraftSummary"

`block_network()` makes any real (non-loopback) HTTP request fail loudly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final
from unittest import mock

import httpx2
from pydantic import BaseModel

from summarize.pipeline import Summarizer

__all__ = [
    "FAKE_BASE_URL",
    "Disconnect",
    "FakeLLM",
    "HTTPFailure",
    "Reply",
    "Truncated",
    "block_network",
]

FAKE_BASE_URL: Final = "http://fake-llm.test/v1"
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True, slots=True)
class HTTPFailure:
    """Answer with an HTTP error, e.g. ``HTTPFailure(429, headers={"retry-after": "1"})``."""

    status: int
    message: str = "fake failure"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Drop the connection before answering (the SDK sees a connection error)."""

    message: str = "connection reset by fake peer"


@dataclass(frozen=True, slots=True)
class Truncated:
    """Answer with this output, marked as cut off at ``max_tokens``."""

    output: Mapping[str, Any] | BaseModel | str


Reply = Mapping[str, Any] | BaseModel | str | HTTPFailure | Disconnect | Truncated


class FakeLLM:
    """A scripted OpenAI-compatible endpoint.

    Args:
        *replies: Answers in order. A mapping or pydantic model is the structured output
            (sent as the forced tool call's arguments, or as message content in JSON modes);
            a str is sent as-is (to test malformed output); `HTTPFailure`, `Disconnect` and
            `Truncated` script failures.
        repeat_last: Keep giving the last reply once the script runs out (else HTTP 500).

    Attributes:
        requests: The JSON body of every request received, in order.
    """

    def __init__(self, *replies: Reply, repeat_last: bool = True) -> None:
        self._replies = list(replies)
        self._repeat_last = repeat_last
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.transport = httpx2.MockTransport(self._handle)

    @property
    def calls(self) -> int:
        """How many requests were received."""
        return len(self.requests)

    def summarizer(self, **options: Any) -> Summarizer:
        """A `Summarizer` wired to this fake (no back-off waits unless asked for)."""
        options = {"retry_initial_wait": 0.0, "retry_max_wait": 0.0, **options}
        options.setdefault("model", "fake-model")
        return Summarizer(
            base_url=FAKE_BASE_URL, api_key="fake-key", transport=self.transport, **options
        )

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            index = len(self.requests) - 1
            if index < len(self._replies):
                return self._replies[index]
            if self._repeat_last and self._replies:
                return self._replies[-1]
        return HTTPFailure(500, "FakeLLM has no reply left")

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.read() or b"{}")
        reply = self._next(body)
        if isinstance(reply, Disconnect):
            raise httpx2.ConnectError(reply.message, request=request)
        if isinstance(reply, HTTPFailure):
            return httpx2.Response(
                reply.status,
                headers=dict(reply.headers),
                json={"error": {"message": reply.message, "type": "fake_error"}},
            )
        truncated = isinstance(reply, Truncated)
        output = reply.output if isinstance(reply, Truncated) else reply
        return httpx2.Response(200, json=_completion(body, _as_text(output), truncated))


def _as_text(output: Mapping[str, Any] | BaseModel | str) -> str:
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if isinstance(output, str):
        return output
    return json.dumps(output)


def _completion(body: dict[str, Any], text: str, truncated: bool) -> dict[str, Any]:
    """An OpenAI chat completion carrying `text` the way the request asked for it."""
    choice = body.get("tool_choice")
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish = "length" if truncated else "stop"
    if isinstance(choice, dict) and body.get("tools"):
        name = choice["function"]["name"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_fake",
                    "type": "function",
                    "function": {"name": name, "arguments": text},
                }
            ],
        }
        finish = "length" if truncated else "tool_calls"
    prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
    completion_tokens = max(len(text) // 4, 1)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@contextmanager
def block_network() -> Iterator[None]:
    """Fail any HTTP request that would leave this machine (loopback stays allowed)."""
    real_sync = httpx2.HTTPTransport.handle_request
    real_async = httpx2.AsyncHTTPTransport.handle_async_request

    def guard(request: httpx2.Request) -> None:
        if request.url.host not in _LOOPBACK:
            raise RuntimeError(f"real network call blocked in tests: {request.url}")

    def sync(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        guard(request)
        return real_sync(self, request)

    async def async_(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        guard(request)
        return await real_async(self, request)

    with (
        mock.patch.object(httpx2.HTTPTransport, "handle_request", sync),
        mock.patch.object(httpx2.AsyncHTTPTransport, "handle_async_request", async_),
    ):
        yield
