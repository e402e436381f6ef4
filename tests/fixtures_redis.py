"""A real `redis-server` on a free loopback port, started by the tests themselves.

`make test` installs redis-server (Debian's package) when it is missing. Without it these
tests skip with a reason saying so, except under CI (``$CI`` set), where a missing or
broken redis-server fails them: CI must not pass by skipping the Redis tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CANDIDATES = ("/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server")
START_TIMEOUT = 15.0


def find_redis_server() -> str | None:
    """The redis-server binary on PATH or in the usual places, or None."""
    found = shutil.which("redis-server")
    return found or next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process that tests can stop, start again, pause and resume."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server (same port as before) and wait until it answers PING."""
        if self.running:
            return
        options = {
            "bind": "127.0.0.1",
            "port": str(self.port),
            "save": "",
            "appendonly": "no",
            "dir": str(self.workdir),
            "logfile": str(self.log),
            "daemonize": "no",
        }
        self.process = subprocess.Popen(
            [
                self.binary,
                *(arg for name, value in options.items() for arg in (f"--{name}", value)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.paused = False
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}:\n{self._log_tail()}"
                )
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"redis-server did not answer within {START_TIMEOUT} s:\n{self._log_tail()}"
        )

    def stop(self, graceful: bool = False) -> None:
        """Kill the server (SIGKILL, as a crash would; SIGTERM if `graceful`) and reap it."""
        if self.process is None:
            return
        self.resume()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers."""
        if self.process is not None and not self.paused:
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        """Undo `pause`."""
        if self.process is not None and self.paused:
            self.process.send_signal(signal.SIGCONT)
            self.paused = False

    def ping(self) -> bool:
        return self.command(b"PING") == b"+PONG"

    def command(self, *args: bytes) -> bytes | None:
        """Send one command in RESP and return the first reply line, or None if unreachable."""
        request = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(request)
                return sock.recv(65536).split(b"\r\n", 1)[0]
        except OSError:
            return None

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


def _unavailable(reason: str) -> None:
    message = f"REDIS TESTS NOT RUN: {reason} (`make redis` or `apt-get install redis-server`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | str]:
    binary = find_redis_server()
    if binary is None:
        yield "redis-server is not installed"
        return
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        yield f"redis-server at {binary} could not start: {exc}"
        return
    try:
        yield server
    finally:
        server.stop(graceful=True)


@pytest.fixture
def redis_server(_redis_process: RedisServer | str) -> Iterator[RedisServer]:
    """A running, empty redis-server; tests may stop, pause or restart it."""
    if isinstance(_redis_process, str):
        _unavailable(_redis_process)
        raise AssertionError("unreachable")
    server = _redis_process
    server.resume()
    server.start()
    if server.command(b"FLUSHALL") != b"+OK":
        raise RuntimeError("could not empty redis-server before the test")
    yield server
    server.resume()
