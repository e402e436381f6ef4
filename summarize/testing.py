"""Test doubles for code that uses `summarize`, faked at the HTTP layer.

`FakeLLM` is an OpenAI-compatible chat-completions endpoint living in an httpx2
`MockTransport`: the real openai SDK, instructor and `summarize` code all run, only the
network is replaced::

    from summarize.testing import FakeLLM

    fake = FakeLLM({"summary": "...", "warnings": [...]})
    summary = fake.summarizer().summarize(article)
    assert fake.requests[0]["tool_choice"]["function"]["name"] == "DraftSummary"

`FakeLLMServer` serves the same script over real HTTP on loopback (for a CLI, another
process, or real connection resets and timeouts). `block_network()` makes any real
(non-loopback) HTTP request fail loudly.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self
from unittest import mock

import httpx2
from pydantic import BaseModel

from summarize.pipeline import Summarizer

__all__ = [
    "FAKE_BASE_URL",
    "Disconnect",
    "FakeLLM",
    "FakeLLMServer",
    "HTTPFailure",
    "Reply",
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
class Stall:
    """Answer nothing for `seconds` (the client's timeout should fire first)."""

    seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Truncated:
    """Answer with this output, marked as cut off at ``max_tokens``."""

    output: Mapping[str, Any] | BaseModel | str


Reply = Mapping[str, Any] | BaseModel | str | HTTPFailure | Disconnect | Stall | Truncated


class FakeLLM:
    """A scripted OpenAI-compatible endpoint.

    Args:
        *replies: Answers in order. A mapping or pydantic model is the structured output
            (sent as the forced tool call's arguments, or as message content in JSON modes);
            a str is sent as-is (to test malformed output); `HTTPFailure`, `Disconnect`,
            `Stall` and `Truncated` script failures.
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

    def answer(self, body: dict[str, Any]) -> httpx2.Response | Disconnect | Stall:
        """The scripted answer to one request body (recorded in `requests`)."""
        reply = self._next(body)
        if isinstance(reply, Disconnect | Stall):
            return reply
        if isinstance(reply, HTTPFailure):
            return httpx2.Response(
                reply.status,
                headers=dict(reply.headers),
                json={"error": {"message": reply.message, "type": "fake_error"}},
            )
        truncated = isinstance(reply, Truncated)
        output = reply.output if isinstance(reply, Truncated) else reply
        return httpx2.Response(200, json=_completion(body, _as_text(output), truncated))

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.answer(json.loads(request.read() or b"{}"))
        if isinstance(answer, Disconnect):
            raise httpx2.ConnectError(answer.message, request=request)
        if isinstance(answer, Stall):
            raise httpx2.ReadTimeout("fake stall", request=request)
        return answer


class FakeLLMServer:
    """Serves a `FakeLLM` over real HTTP on 127.0.0.1 while in a ``with`` block.

    `Disconnect` closes the socket without answering; `Stall` sleeps before answering.
    """

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
