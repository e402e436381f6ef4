"""The FastAPI service example: over ASGI against the test double, then over a real uvicorn."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest

from summarize import (
    ArticleSummary,
    AuthenticationError,
    DeadlineExceededError,
    EmptyInputError,
    GroundingError,
    InvalidOutputError,
    RateLimitError,
    RequestTimeoutError,
    ServiceUnavailableError,
    SummarizeError,
    Summarizer,
    TruncatedError,
)
from summarize.testing import (
    FakeClock,
    FakeLLM,
    FakeLLMServer,
    HTTPFailure,
    Reply,
    Stall,
)

from .fixtures_redis import free_port
from .test_pipeline import assert_grounded, good_draft, with_invented_rebuttal

APP = Path(__file__).resolve().parent.parent / "examples" / "service" / "app.py"
SECRET = "sk-test-5ecret-never-shown-0123456789"


def load_service() -> ModuleType:
    spec = importlib.util.spec_from_file_location("summarize_service_example", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations there
    spec.loader.exec_module(module)
    return module


service = load_service()


class Factory:
    """The service's Summarizer factory over `fake`: one try per request, our secret key."""

    def __init__(self, fake: FakeLLM, **fixed: Any) -> None:
        self.fake = fake
        self.fixed = fixed
        self.made: list[Summarizer] = []

    def __call__(self, **options: Any) -> Summarizer:
        options.setdefault("retry", FakeClock().policy(max_attempts=1))
        self.made.append(self.fake.summarizer(api_key=SECRET, **self.fixed, **options))
        return self.made[-1]


@asynccontextmanager
async def client(
    fake: FakeLLM, tmp_path: Path, factory: Factory | None = None, **fixed: Any
) -> AsyncIterator[httpx2.AsyncClient]:
    """The app over ASGI, lifespan included, sharing a SQLite cache under `tmp_path`."""
    app = service.create_app(
        factory or Factory(fake, **fixed),
        cache=f"sqlite:///{tmp_path}/service-cache.db",
        models=frozenset({"other-model"}),
        max_body_bytes=50_000,
    )
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://service") as http:
            yield http


async def test_post_summary_returns_a_grounded_summary_and_the_cache_serves_the_next(
    tmp_path: Path, seed_article: str
) -> None:
    fake = FakeLLM(good_draft())
    async with client(fake, tmp_path) as http:
        first = await http.post("/summaries", json={"text": seed_article})
        second = await http.post("/summaries", json={"text": seed_article})
    assert first.status_code == 200, first.text
    summary = ArticleSummary.model_validate(first.json())
    assert_grounded(summary, seed_article)
    assert summary.venues[0].place == "Moscow" and not summary.meta.cache_hit
    assert ArticleSummary.model_validate(second.json()).meta.cache_hit, "no shared cache"
    assert fake.calls == 1, "the second identical request reached the model"


async def test_model_and_options_per_request_each_on_one_shared_summarizer(
    tmp_path: Path, seed_article: str
) -> None:
    fake = FakeLLM(with_invented_rebuttal())
    factory = Factory(fake)
    async with client(fake, tmp_path, factory) as http:
        options = {"ungrounded": "keep", "max_reasks": 0}
        body = {"text": seed_article, "model": "other-model", "options": options}
        response = await http.post("/summaries", json=body)
        for text in ("Kyiv said no.", "Kyiv said no again."):
            await http.post("/summaries", json={**body, "text": text})
            await http.post("/summaries", json={"text": text, "options": {"max_reasks": 0}})
        unknown = await http.post("/summaries", json={"text": "x", "model": "gpt-5-secret"})
    made = [(s.settings.model, s.settings.ungrounded, s.settings.max_reasks) for s in factory.made]
    assert made == [
        ("fake-model", "drop", 2),
        ("other-model", "keep", 0),
        ("fake-model", "drop", 0),
    ]
    assert response.status_code == 200, response.text
    assert fake.requests[0]["model"] == "other-model"
    assert fake.calls == 5, "options.max_reasks=0 was ignored"
    kept = ArticleSummary.model_validate(response.json()).get("r2")
    assert kept is not None and not kept.grounded, "options.ungrounded=keep was ignored"
    assert unknown.status_code == 422 and "other-model" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": "   "},
        {},
        {"text": 5},
        {"text": "x", "api_key": "sk-client"},
        {"text": "x", "options": {"base_url": "http://elsewhere"}},
        {"text": "x", "options": {"max_reasks": 99}},
        {"text": "x", "options": {"temperature": 1.5}},
    ],
    ids=["empty", "missing", "not-text", "api-key", "base-url", "max-reasks", "temperature"],
)
async def test_bad_input_is_422(tmp_path: Path, body: dict[str, Any]) -> None:
    fake = FakeLLM(good_draft())
    async with client(fake, tmp_path) as http:
        response = await http.post("/summaries", json=body)
    assert response.status_code == 422, response.text
    assert fake.calls == 0


async def test_unreadable_json_and_overlong_articles_are_422(tmp_path: Path) -> None:
    async with client(FakeLLM(good_draft()), tmp_path, max_input_chars=1000) as http:
        broken = await http.post(
            "/summaries", content=b'{"text": ', headers={"content-type": "application/json"}
        )
        long = await http.post("/summaries", json={"text": "word " * 1000})
    assert broken.status_code == 422
    assert long.status_code == 422 and long.json()["error"]["type"] == "InputTooLargeError"


async def test_bodies_over_the_limit_are_413_with_or_without_a_length(tmp_path: Path) -> None:
    big = json.dumps({"text": "x" * 60_000}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    fake = FakeLLM(good_draft())
    async with client(fake, tmp_path) as http:
        sized = await http.post("/summaries", content=big)
        streamed = await http.post("/summaries", content=chunks())
    assert sized.status_code == 413 and streamed.status_code == 413, streamed.text
    assert fake.calls == 0


@pytest.mark.parametrize(
    ("reply", "status", "kind", "retry_after"),
    [
        (HTTPFailure(429, headers={"retry-after": "7"}), 429, "RateLimitError", "7"),
        (HTTPFailure(503, headers={"retry-after": "2.5"}), 503, "ServiceUnavailableError", "3"),
        (HTTPFailure(502), 503, "ServiceUnavailableError", None),
        (Stall(), 504, "RequestTimeoutError", None),
        ('{"summary": 5}', 502, "InvalidOutputError", None),
        (
            HTTPFailure(401, f"Incorrect API key provided: {SECRET}"),
            502,
            "AuthenticationError",
            None,
        ),
    ],
    ids=["429", "503", "502-upstream", "timeout", "invalid-output", "bad-key"],
)
async def test_model_failures_map_to_http(
    tmp_path: Path,
    seed_article: str,
    reply: Reply,
    status: int,
    kind: str,
    retry_after: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    async with client(FakeLLM(reply), tmp_path, max_reasks=0) as http:
        response = await http.post("/summaries", json={"text": seed_article})
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind
    assert response.headers.get("retry-after") == retry_after
    assert SECRET not in response.text and SECRET not in caplog.text, "the API key leaked"
    assert f"-> {status} {kind}" in caplog.text, "the failure was not logged"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (EmptyInputError("empty"), 422),
        (RateLimitError("slow", retry_after=1.2), 429),
        (ServiceUnavailableError("down", status=500), 503),
        (RequestTimeoutError("slow"), 504),
        (DeadlineExceededError("too late"), 504),
        (InvalidOutputError("bad"), 502),
        (TruncatedError("cut"), 502),
        (AuthenticationError(f"bad key {SECRET}", status=401), 502),
        (GroundingError(["q"]), 502),
        (SummarizeError("other"), 500),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_every_error_class_has_its_status(error: SummarizeError, status: int) -> None:
    body = service.http_error(error, SECRET)
    assert body.status == status
    assert SECRET not in body.message
    assert body.retry_after == (2 if isinstance(error, RateLimitError) else None)


async def test_batch_returns_one_result_per_text_failures_included(
    tmp_path: Path, seed_article: str
) -> None:
    fake = FakeLLM(good_draft())
    async with client(fake, tmp_path) as http:
        texts = [seed_article, "   ", seed_article + "\n\nUpdate."]
        response = await http.post("/summaries:batch", json={"texts": texts})
        too_many = await http.post("/summaries:batch", json={"texts": ["x"] * 17})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["error"] is None for r in results] == [True, False, True]
    assert results[1]["error"]["status"] == 422
    assert results[1]["error"]["type"] == "EmptyInputError"
    for text, result in zip(texts[::2], results[::2], strict=True):
        assert_grounded(ArticleSummary.model_validate(result["summary"]), text)
    assert fake.calls == 2 and too_many.status_code == 422


async def test_healthz_names_models_and_cache_never_the_key(tmp_path: Path) -> None:
    async with client(FakeLLM(good_draft()), tmp_path) as http:
        response = await http.get("/healthz")
    assert response.json() == {
        "status": "ok",
        "models": ["fake-model", "other-model"],
        "cache": "SQLiteCache",
    }
    assert SECRET not in response.text


# -- over a real uvicorn on a loopback port -------------------------------------------------


class Running:
    """``python examples/service/app.py`` on a free port; `stop` ends it and returns its log."""

    def __init__(self, model: FakeLLMServer, workdir: Path) -> None:
        self.model = model
        self.log = workdir / "service.log"
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": SECRET,
            "SUMMARIZE_MODEL": "fake-model",
            "SUMMARIZE_CACHE": f"sqlite:///{workdir}/cache.db",
            "SUMMARIZE_MAX_BODY_BYTES": "100000",
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(APP), "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited:\n{self.read_log()}")
            try:
                if httpx2.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the service did not start:\n{self.read_log()}")

    def stop(self) -> str:
        """Shut down as Ctrl-C does (lifespan shutdown runs); the whole log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.read_log()

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def uvicorn_service(tmp_path: Path) -> Iterator[Running]:
    with FakeLLMServer(FakeLLM(good_draft())) as model:
        running = Running(model, tmp_path)
        try:
            running.wait_until_up()
            yield running
        finally:
            running.stop()


def test_real_uvicorn_serves_summaries_and_keeps_the_key_out_of_logs(
    uvicorn_service: Running, seed_article: str
) -> None:
    with httpx2.Client(base_url=uvicorn_service.base, timeout=30) as http:
        first = http.post("/summaries", json={"text": seed_article})
        second = http.post("/summaries", json={"text": seed_article})
        batch = http.post("/summaries:batch", json={"texts": [seed_article, ""]})
        empty = http.post("/summaries", json={"text": ""})
        big = http.post("/summaries", json={"text": "x" * 200_000})
        health = http.get("/healthz")
    assert first.status_code == 200, first.text
    assert_grounded(ArticleSummary.model_validate(first.json()), seed_article)
    assert ArticleSummary.model_validate(second.json()).meta.cache_hit
    assert uvicorn_service.model.fake.calls == 1, "the shared cache did not serve the repeats"
    results = batch.json()["results"]
    assert results[0]["summary"]["meta"]["cache_hit"] and results[1]["error"]["status"] == 422
    assert (empty.status_code, big.status_code, health.status_code) == (422, 413, 200)
    for response in (first, second, batch, empty, big, health):
        assert SECRET not in response.text
    log = uvicorn_service.stop()
    assert uvicorn_service.process.returncode == 0, f"unclean shutdown:\n{log}"
    assert "summarized" in log and '"POST /summaries HTTP/1.1" 200' in log, f"not logged:\n{log}"
    assert SECRET not in log, "the API key is in the service's log"
