from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest

from summarize.testing import block_network


def blocked(error: BaseException) -> bool:
    """True when `error`, or an error it was raised from, is the guard's RuntimeError."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, RuntimeError) and "blocked" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and fail) any attempt to resolve a name or open a connection."""
    attempts: list[str] = []

    def refuse(name: str):  # type: ignore[no-untyped-def]
        def fake(*args: object, **kwargs: object) -> None:
            attempts.append(f"{name}{args!r}")
            raise OSError(f"test tried to use the network: {name}")

        return fake

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    return attempts


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from loopback"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def loopback_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("url", ["http://example.com", "https://api.openai.com/v1/models"])
def test_block_network_refuses_remote_hosts_without_touching_the_network(
    no_sockets: list[str], url: str
) -> None:
    with (
        block_network(),
        httpx2.Client(trust_env=False) as client,
        pytest.raises(Exception) as caught,  # which exception is checked below
    ):
        client.get(url)
    assert blocked(caught.value), f"expected the guard's RuntimeError, got {caught.value!r}"
    assert url.split("//")[1].split("/")[0] in str(caught.value), "error does not name the host"
    assert no_sockets == [], f"the network was touched before the guard: {no_sockets}"


def test_block_network_refuses_remote_hosts_from_a_default_client(no_sockets: list[str]) -> None:
    with block_network(), httpx2.Client() as client, pytest.raises(RuntimeError, match="blocked"):
        client.get("http://example.com")
    assert no_sockets == []


async def test_block_network_refuses_remote_hosts_from_async_clients(
    no_sockets: list[str],
) -> None:
    with block_network():
        async with httpx2.AsyncClient(trust_env=False) as client:
            with pytest.raises(Exception) as caught:  # which exception is checked below
                await client.get("http://example.com")
    assert blocked(caught.value), f"expected the guard's RuntimeError, got {caught.value!r}"
    assert no_sockets == []


def test_loopback_is_allowed_through_the_guard(loopback_url: str) -> None:
    with block_network(), httpx2.Client(trust_env=False) as client:
        response = client.get(loopback_url, timeout=10)
    assert response.status_code == 200, f"loopback GET failed: {response.status_code}"
    assert response.text == "hello from loopback"


async def test_async_loopback_is_allowed_through_the_guard(loopback_url: str) -> None:
    with block_network():
        async with httpx2.AsyncClient(trust_env=False) as client:
            response = await client.get(loopback_url, timeout=10)
    assert response.status_code == 200
    assert response.text == "hello from loopback"


def test_block_network_restores_the_transport_on_exit() -> None:
    before = (httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request)
    with block_network():
        inside = httpx2.HTTPTransport.handle_request
        assert inside is not before[0], "block_network did not patch the transport"
    after = (httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request)
    assert after == before, "block_network left the transport patched"


def test_mock_transports_are_not_affected() -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(204))
    with block_network(), httpx2.Client(transport=transport) as client:
        assert client.get("http://example.com").status_code == 204
