"""Test doubles for code that uses `summarize`, faked at the HTTP layer.

`FakeLLM` is an OpenAI-compatible chat-completions endpoint living in an httpx2
`MockTransport`: the real openai SDK, instructor and `summarize` code all run, only the
network is replaced::

    from summarize.testing import FakeLLM

    fake = FakeLLM({"summary": "...", "warnings": [...]})
    summary = fake.summarizer().summarize(article)
    assert fake.requests[0]["tool_choice"]["function"]["name"] == "DraftSummary"

`FakeLLMServer` serves the same script over real HTTP on loopback (for a CLI, another
process, or real connection resets and timeouts). `FakeClock` makes retry waits instant and
measurable. `block_network()` makes any real (non-loopback) HTTP request fail loudly.

Scriptable failures: `HTTPFailure` (any status and headers), `Disconnect` (no answer),
`CutOff` (connection dropped mid-body), `Stall` (no answer until the client times out),
`RawBody` (any body, e.g. invalid JSON), `Truncated` (``finish_reason="length"``),
`Refusal` (a refusal or content filter) and `EmptyChoices`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self
from unittest import mock

import httpx2
from pydantic import BaseModel

from summarize.config import RetryPolicy
from summarize.pipeline import Summarizer

__all__ = [
    "FAKE_BASE_URL",
    "CutOff",
    "Disconnect",
    "EmptyChoices",
    "FakeClock",
    "FakeLLM",
    "FakeLLMServer",
    "HTTPFailure",
    "RawBody",
    "Refusal",
    "Reply",
    "Responder",
    "Stall",
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
class CutOff:
    """Send the status line, headers and half the body of this output, then drop the connection."""

    output: Mapping[str, Any] | BaseModel | str = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawBody:
    """Answer with exactly this body (e.g. invalid JSON, an HTML error page)."""

    body: str
    status: int = 200
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The model refuses (``message.refusal``), or with ``filtered`` a content filter stops it."""

    message: str = "I can't help with that."
    filtered: bool = False


@dataclass(frozen=True, slots=True)
class EmptyChoices:
    """A well-formed chat completion with no choices."""


@dataclass(frozen=True, slots=True)
class Stall:
    """Answer nothing for `seconds` (the client's timeout should fire first)."""

    seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Truncated:
    """Answer with this output, marked as cut off at ``max_tokens``."""

    output: Mapping[str, Any] | BaseModel | str


Reply = (
    Mapping[str, Any]
    | BaseModel
    | str
    | HTTPFailure
    | Disconnect
    | CutOff
    | Stall
    | RawBody
    | Truncated
    | Refusal
    | EmptyChoices
)
#: Computes a reply from the request body: for strategies that send many different requests.
Responder = Callable[[dict[str, Any]], Reply]
_Answer = httpx2.Response | Disconnect | CutOff | Stall


class FakeClock:
    """A clock and sleeps for `RetryPolicy`: sleeping advances time at once and is recorded.

    Example::

        clock = FakeClock()
        fake.summarizer(retry=clock.policy(deadline=10)).summarize(article)
        assert clock.sleeps == [1.0]
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the clock instead of sleeping."""
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    async def asleep(self, seconds: float) -> None:
        """Async `sleep`."""
        self.sleep(seconds)

    def policy(self, **fields: Any) -> RetryPolicy:
        """A `RetryPolicy` that sleeps and measures time on this clock."""
        return RetryPolicy(sleep=self.sleep, asleep=self.asleep, clock=self.monotonic, **fields)


class FakeLLM:
    """A scripted OpenAI-compatible endpoint.

    Args:
        *replies: Answers in order. A mapping or pydantic model is the structured output
            (sent as the forced tool call's arguments, or as message content in JSON modes);
            a str is sent as-is (to test malformed output); `HTTPFailure`, `Disconnect`,
            `Stall` and `Truncated` script failures; a function of the request body (a
            `Responder`) returns the reply to send.
        repeat_last: Keep giving the last reply once the script runs out (else HTTP 500).
        latency: Seconds each answer takes (blocking the thread that serves it).

    Attributes:
        requests: The JSON body of every request received, in order.
        received_at: `time.monotonic()` when each request arrived.
        billed_tokens: Total tokens reported in the usage of every completion sent.
    """

    def __init__(
        self, *replies: Reply | Responder, repeat_last: bool = True, latency: float = 0.0
    ) -> None:
        self._replies = list(replies)
        self._repeat_last = repeat_last
        self.latency = latency
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.billed_tokens = 0
        self.transport = httpx2.MockTransport(self._handle)

    @property
    def calls(self) -> int:
        """How many requests were received."""
        return len(self.requests)

    def summarizer(self, **options: Any) -> Summarizer:
        """A `Summarizer` wired to this fake.

        Unless ``retry=`` is given, back-off waits are computed and recorded in
        ``meta.attempt_log`` but not slept (a `FakeClock` policy). Unless ``cache=`` is
        given, nothing is cached, so every call reaches the fake.
        """
        options.setdefault("retry", FakeClock().policy())
        options.setdefault("cache", False)
        options.setdefault("model", "fake-model")
        options.setdefault("base_url", FAKE_BASE_URL)
        options.setdefault("api_key", "fake-key")
        return Summarizer(transport=self.transport, **options)

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.received_at.append(time.monotonic())
            index = len(self.requests) - 1
            reply: Reply | Responder
            if index < len(self._replies):
                reply = self._replies[index]
            elif self._repeat_last and self._replies:
                reply = self._replies[-1]
            else:
                return HTTPFailure(500, "FakeLLM has no reply left")
        return reply(body) if callable(reply) else reply

    def answer(self, body: dict[str, Any]) -> _Answer:
        """The scripted answer to one request body (recorded in `requests`)."""
        reply = self._next(body)
        if self.latency:
            time.sleep(self.latency)
        request_id = {"x-request-id": f"req_fake_{self.calls}"}
        if isinstance(reply, Disconnect | Stall | CutOff):
            return reply
        if isinstance(reply, HTTPFailure):
            return httpx2.Response(
                reply.status,
                headers={**request_id, **reply.headers},
                json={"error": {"message": reply.message, "type": "fake_error"}},
            )
        if isinstance(reply, RawBody):
            headers = {**request_id, "content-type": reply.content_type}
            return httpx2.Response(reply.status, headers=headers, content=reply.body.encode())
        completion = _completion(body, reply)
        with self._lock:
            self.billed_tokens += completion["usage"]["total_tokens"]
        return httpx2.Response(200, headers=request_id, json=completion)

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.answer(json.loads(request.read() or b"{}"))
        if isinstance(answer, Disconnect):
            raise httpx2.ConnectError(answer.message, request=request)
        if isinstance(answer, CutOff):
            raise httpx2.RemoteProtocolError("peer closed connection mid-body", request=request)
        if isinstance(answer, Stall):
            raise httpx2.ReadTimeout("fake stall", request=request)
        return answer


class FakeLLMServer:
    """Serves a `FakeLLM` over real HTTP on 127.0.0.1 while in a ``with`` block.

    `Disconnect` closes the socket without answering; `Stall` sleeps before answering.
    """

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        self._server = _Server(("127.0.0.1", 0), _handler_for(fake))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The ``/v1`` URL to hand to a client."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    """A loopback server that takes a batch's worth of connections at once."""

    request_queue_size = 128  # socketserver's default (5) resets the 6th concurrent connect


def _handler_for(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            answer = fake.answer(json.loads(self.rfile.read(length) or b"{}"))
            if isinstance(answer, Disconnect):
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if isinstance(answer, Stall):
                time.sleep(answer.seconds)
                return
            if isinstance(answer, CutOff):
                body = json.dumps(_completion({}, answer.output)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            body = answer.content
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in {"content-length", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler


def _as_text(output: Mapping[str, Any] | BaseModel | str) -> str:
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if isinstance(output, str):
        return output
    return json.dumps(output)


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """An OpenAI chat completion carrying `reply` the way the request asked for it."""
    if isinstance(reply, EmptyChoices):
        return _envelope(body, [], "")
    if isinstance(reply, Refusal):
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if not reply.filtered:
            message["refusal"] = reply.message
        finish = "content_filter" if reply.filtered else "stop"
        return _envelope(body, [{"index": 0, "message": message, "finish_reason": finish}], "")
    truncated = isinstance(reply, Truncated)
    output = reply.output if isinstance(reply, Truncated) else reply
    assert isinstance(output, Mapping | BaseModel | str), f"not an output: {output!r}"
    text = _as_text(output)
    choice = body.get("tool_choice")
    message = {"role": "assistant", "content": text}
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
    return _envelope(body, [{"index": 0, "message": message, "finish_reason": finish}], text)


def _envelope(body: dict[str, Any], choices: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """The completion around `choices`; usage is a rough count of characters / 4."""
    prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
    completion_tokens = max(len(text) // 4, 1)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake-model"),
        "choices": choices,
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
