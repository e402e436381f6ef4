"""Test doubles for code that uses `summarize`, faked at the HTTP layer.

`FakeLLM` is an OpenAI-compatible chat-completions endpoint living in an httpx2
`MockTransport`: the real openai SDK, instructor and `summarize` code all run, only the
network is replaced::

    from summarize.testing import FakeLLM

    fake = FakeLLM({"summary": "...", "warnings": [...]})
    summary = fake.summarizer().summarize(article)
    assert fake.requests[0]["tool_choice"]["function"]["name"] == "DraftSummary"

`FakeLLMServer` serves the same script over real HTTP on loopback (for a CLI, another
process, or real connection resets and timeouts); `FakeBatchServer` adds the Files and
Batches endpoints of the provider's Batch API, each batch line answered by a `FakeLLM`.
`FakeClock` makes retry waits instant and measurable. `block_network()` makes any real
(non-loopback) HTTP request fail loudly.

Scriptable failures: `HTTPFailure` (any status and headers), `Disconnect` (no answer),
`CutOff` (connection dropped mid-body), `Stall` (no answer until the client times out),
`RawBody` (any body, e.g. invalid JSON), `Truncated` (``finish_reason="length"``),
`Refusal` (a refusal or content filter) and `EmptyChoices`.
"""

from __future__ import annotations

import email.parser
import email.policy
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
    "FakeBatchServer",
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


class FakeBatchServer(FakeLLMServer):
    """`FakeLLMServer` plus the OpenAI Files and Batches endpoints, on loopback while in ``with``.

    Online chat completions are answered by `fake`, as `FakeLLMServer` answers them. Files
    (``POST /v1/files`` with purpose "batch", ``GET /v1/files/ID/content``) are kept in
    memory. A batch (``POST /v1/batches``) starts ``validating``; each ``GET
    /v1/batches/ID`` moves it one step, as a provider would: the input file is checked
    (one ``POST`` line to the batch's endpoint per unique ``custom_id``, one model, at most
    `max_requests` lines and `max_bytes` bytes: else ``failed``, with the reasons), then
    ``in_progress``, then ``completed``, when every line is answered by `lines` (a `FakeLLM`:
    its script, its counts): HTTP 200 answers go to the output file, other statuses and
    dropped connections to the error file. ``GET /v1/batches`` lists the newest first.

    Args:
        fake: Answers online requests.
        lines: Answers the lines of batches (default: `fake`).
        max_requests: Lines one batch may hold.
        max_bytes: Bytes one input file may hold.

    Attributes:
        files: Each uploaded or produced file: id → {"purpose", "filename", "content"}.
        batches: Each batch object as last served: id → its JSON.
        routes: Each Files or Batches request as it arrived, e.g. ``"GET /v1/batches/ID"``.
    """

    def __init__(
        self,
        fake: FakeLLM,
        *,
        lines: FakeLLM | None = None,
        max_requests: int = 50_000,
        max_bytes: int = 200_000_000,
    ) -> None:
        super().__init__(fake)
        self.lines = fake if lines is None else lines
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.routes: list[str] = []
        self._control: dict[str, list[HTTPFailure | Stall]] = {}
        self._lock = threading.Lock()
        self._server.RequestHandlerClass = _batch_handler_for(self)

    def interrupt(self, route: str, reply: HTTPFailure | Stall) -> None:
        """Answer the next request to `route` (e.g. ``"POST /v1/batches"``) with `reply`.

        `HTTPFailure` answers instead of the endpoint; `Stall` waits, then the request is
        carried out (as when a client gives up on a request the provider still completes).
        """
        self._control.setdefault(route, []).append(reply)

    def uploads(self) -> list[bytes]:
        """The content of every file uploaded with purpose "batch", in order."""
        return [f["content"] for f in self.files.values() if f["purpose"] == "batch"]

    def handle(self, method: str, path: str, content_type: str, body: bytes) -> httpx2.Response:
        """Answer one Files or Batches request."""
        route = f"{method} /v1/{path.split('/v1/', 1)[1].split('?')[0]}"
        self.routes.append(_route_key(route))
        scripted = self._control.get(_route_key(route), [])
        if scripted:
            reply = scripted.pop(0)
            if isinstance(reply, HTTPFailure):
                return httpx2.Response(reply.status, json={"error": {"message": reply.message}})
            time.sleep(reply.seconds)
        with self._lock:
            return self._route(route, content_type, body)

    def _route(self, route: str, content_type: str, body: bytes) -> httpx2.Response:
        method, _, path = route.partition(" ")
        parts = path.strip("/").split("/")[1:]  # after "v1"
        if method == "POST" and parts == ["files"]:
            return httpx2.Response(200, json=self._upload(content_type, body))
        if method == "GET" and len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
            found = self.files.get(parts[1])
            return httpx2.Response(200, content=found["content"]) if found else _not_found()
        if method == "POST" and parts == ["batches"]:
            return httpx2.Response(200, json=self._create(json.loads(body)))
        if method == "GET" and parts == ["batches"]:
            newest = sorted(self.batches.values(), key=lambda b: -int(b["id"].split("_")[-1]))
            return httpx2.Response(200, json={"object": "list", "data": newest, "has_more": False})
        if method == "GET" and len(parts) == 2 and parts[0] == "batches":
            batch = self.batches.get(parts[1])
            return httpx2.Response(200, json=self._advance(batch)) if batch else _not_found()
        return _not_found()

    def _new_file(self, purpose: str, filename: str, content: bytes) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = {"purpose": purpose, "filename": filename, "content": content}
        return file_id

    def _upload(self, content_type: str, body: bytes) -> dict[str, Any]:
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"content-type: {content_type}\r\n\r\n".encode() + body
        )
        fields = {
            part.get_param("name", header="content-disposition"): part for part in form.iter_parts()
        }
        purpose = fields["purpose"].get_content().strip()
        file_part = fields["file"]
        content = file_part.get_payload(decode=True)
        assert isinstance(content, bytes), "the file part is not a file"
        file_id = self._new_file(purpose, file_part.get_filename() or "upload", content)
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": 0,
            "filename": self.files[file_id]["filename"],
            "purpose": purpose,
            "status": "processed",
        }

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        batch_id = f"batch_{len(self.batches) + 1}"
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": request.get("endpoint"),
            "completion_window": request.get("completion_window"),
            "input_file_id": request.get("input_file_id"),
            "metadata": request.get("metadata"),
            "status": "validating",
            "created_at": int(time.time()),
            "errors": None,
            "output_file_id": None,
            "error_file_id": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }
        return self.batches[batch_id]

    def _advance(self, batch: dict[str, Any]) -> dict[str, Any]:
        if batch["status"] == "validating":
            problems = self._problems(batch)
            batch["status"] = "failed" if problems else "in_progress"
            if problems:
                batch["errors"] = {
                    "object": "list",
                    "data": [
                        {"code": "invalid_request", "message": m, "line": n} for n, m in problems
                    ],
                }
            else:
                batch["request_counts"]["total"] = len(self._lines(batch))
        elif batch["status"] == "in_progress":
            self._answer(batch)
        return batch

    def _lines(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        content = self.files[batch["input_file_id"]]["content"]
        return [json.loads(line) for line in content.decode().splitlines() if line.strip()]

    def _problems(self, batch: dict[str, Any]) -> list[tuple[int | None, str]]:
        found = self.files.get(batch["input_file_id"] or "")
        if found is None or found["purpose"] != "batch":
            return [(None, "input_file_id is not a file uploaded with purpose 'batch'")]
        problems: list[tuple[int | None, str]] = []
        if batch["endpoint"] != "/v1/chat/completions" or batch["completion_window"] != "24h":
            problems.append((None, "endpoint must be /v1/chat/completions, window 24h"))
        if len(found["content"]) > self.max_bytes:
            problems.append((None, f"input file is larger than {self.max_bytes} bytes"))
        try:
            lines = self._lines(batch)
        except ValueError:
            return [*problems, (None, "input file is not JSON Lines")]
        if len(lines) > self.max_requests:
            problems.append((None, f"more than {self.max_requests} requests in one batch"))
        ids = [line.get("custom_id") for line in lines]
        models = {line.get("body", {}).get("model") for line in lines}
        for number, line in enumerate(lines, 1):
            if line.get("method") != "POST" or line.get("url") != batch["endpoint"]:
                problems.append((number, "each line must POST to the batch's endpoint"))
            if not isinstance(line.get("custom_id"), str) or ids.count(line["custom_id"]) > 1:
                problems.append((number, "custom_id must be a unique string"))
        if len(models) > 1:
            problems.append((None, "every request of a batch must use the same model"))
        return problems

    def _answer(self, batch: dict[str, Any]) -> None:
        output: list[str] = []
        errors: list[str] = []
        for number, line in enumerate(self._lines(batch), 1):
            answer = self.lines.answer(line["body"])
            record: dict[str, Any] = {"id": f"batch_req_{number}", "custom_id": line["custom_id"]}
            if isinstance(answer, httpx2.Response):
                try:
                    content = answer.json()
                except ValueError:
                    content = answer.text
                request_id = answer.headers.get("x-request-id")
                record["response"] = {
                    "status_code": answer.status_code,
                    "request_id": request_id,
                    "body": content,
                }
                record["error"] = None
                ok = answer.status_code == 200 and isinstance(content, dict)
            else:
                record["response"] = None
                record["error"] = {"code": "server_error", "message": type(answer).__name__}
                ok = False
            (output if ok else errors).append(json.dumps(record))
        counts = batch["request_counts"]
        counts.update(completed=len(output), failed=len(errors))
        for kind, lines in (("output_file_id", output), ("error_file_id", errors)):
            if lines:
                content = ("\n".join(lines) + "\n").encode()
                batch[kind] = self._new_file("batch_output", f"{batch['id']}-{kind}.jsonl", content)
        batch["status"] = "completed"


def _route_key(route: str) -> str:
    """``GET /v1/batches/batch_1`` → ``GET /v1/batches/ID`` (scripted interruptions' keys)."""
    method, _, path = route.partition(" ")
    parts = path.split("/")
    named = [p if i < 3 or p in ("content",) else "ID" for i, p in enumerate(parts)]
    return f"{method} {'/'.join(named)}"


def _not_found() -> httpx2.Response:
    return httpx2.Response(404, json={"error": {"message": "no such object", "type": "not_found"}})


def _batch_handler_for(server: FakeBatchServer) -> type[BaseHTTPRequestHandler]:
    online = _handler_for(server.fake)

    class Handler(online):  # type: ignore[valid-type, misc]
        def do_POST(self) -> None:
            if "/files" in self.path or "/batches" in self.path:
                self._control("POST")
            else:
                super().do_POST()

        def do_GET(self) -> None:
            self._control("GET")

        def _control(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = server.handle(method, self.path, self.headers.get("content-type", ""), body)
            self.send_response(answer.status_code)
            self.send_header("content-type", answer.headers.get("content-type", "application/json"))
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            try:
                self.wfile.write(answer.content)
            except OSError:  # the client gave up (a crash test killed it)
                self.close_connection = True

    return Handler
