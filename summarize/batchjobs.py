"""Summaries through the provider's Batch API: half the price, answers within 24 hours.

A `BatchJob` lives in a directory. ``submit`` writes one chat-completions request per piece of
each article (an article that fits one request is one piece; a long one is cut in chunks
as online), built by the online path itself, with ``custom_id`` = the piece's cache key;
it shards them under the provider's limits (`BatchLimits`: requests per batch, bytes per
file), uploads each file (purpose "batch") and creates its batch. ``collect`` polls, downloads
the output and error files, and reads every answer as the online path does: instructor
parses the tool call into a `DraftSummary`, the grounding check runs, `assemble` grounds it;
a good answer is written into the summarizer's cache in the same envelope as online, so a
later ``summarize_many`` over the same articles is all hits. ``results`` reads them back.

Re-asks cannot happen inside a batch. An invalid or ungrounded answer that may still be
re-asked goes, by ``invalid=``, either into a follow-up batch (instructor's own re-ask
request: the conversation so far and the validation error) or to the online path (a fresh
online call, with its own retries and re-asks). A request the batch failed (HTTP 429 or 5xx
in the error file, or left unanswered by an expired or cancelled batch) is retried the same
way, at most ``retry.max_attempts`` times. The last answer allowed goes to the
``ungrounded`` policy, as online; a refused, truncated or still invalid answer fails its
article. `JobReport` says how many went where.

Every step is written to ``job.json`` before the next one starts: after a crash, opening the
directory again resumes from the file and batch ids on disk (a batch whose creation was sent
but never answered is looked for among the provider's newest batches, by its input file).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from summarize import errors as error_types
from summarize.assemble import assemble
from summarize.backends.base import ExtractionRequest
from summarize.backends.batch_api import BatchClient, BatchInfo, NextRequest, replay
from summarize.backends.http import RETRYABLE_STATUS_CODES, Transport
from summarize.batch import SummaryBatch
from summarize.budget import CallBudget
from summarize.cache.layer import Computed
from summarize.chunking import Chunk
from summarize.draft import DraftSummary
from summarize.errors import (
    BackendError,
    BinaryInputError,
    CacheError,
    ConfigError,
    EmptyInputError,
    PromptError,
    RequestRejectedError,
    ServiceUnavailableError,
    SummarizeError,
)
from summarize.inputs import check_article
from summarize.journal import CallJournal
from summarize.merge import merge
from summarize.pipeline import Summarizer
from summarize.schema import ArticleSummary, Meta
from summarize.strategy import Plan

__all__ = ["BatchJob", "BatchLimits", "InvalidRoute", "JobReport"]

InvalidRoute = Literal["followup", "online"]
JOB_FORMAT: Final = 1
_STATE: Final = "job.json"
_ARTICLES: Final = "articles.jsonl"
# Errors rebuilt from their stored message (others come back as a `SummarizeError`).
_MESSAGE_FIRST = (
    BackendError,
    EmptyInputError,
    BinaryInputError,
    ConfigError,
    CacheError,
    PromptError,
)


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How large one batch may be (OpenAI's limits by default).

    Attributes:
        max_requests: Requests in one batch.
        max_bytes: Bytes in one request file.
    """

    max_requests: int = 50_000
    max_bytes: int = 200_000_000

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 1:
            raise ConfigError("batch limits must be at least 1")


@dataclass(frozen=True, slots=True)
class JobReport:
    """Where a job stands.

    Attributes:
        articles: Articles submitted (input errors included).
        requests: Pieces to summarize (an article is one, or one per chunk).
        cached: Pieces already in the cache when submitted: never sent.
        done: Pieces answered, validated and cached.
        failed: Pieces that failed (their articles fail), and articles that were bad input.
        pending: Pieces still in a batch, or waiting for one.
        reasked: Invalid or ungrounded answers re-asked in a follow-up batch.
        retried: Requests a batch failed, sent again in a follow-up batch.
        online: Pieces summarized online instead (``invalid="online"``).
        batches: Each batch's name and status.
        errors: Failures by error type.
    """

    articles: int
    requests: int
    cached: int
    done: int
    failed: int
    pending: int
    reasked: int
    retried: int
    online: int
    batches: tuple[tuple[str, str], ...] = ()
    errors: Mapping[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether nothing is left in or waiting for a batch."""
        return self.pending == 0

    def text(self) -> str:
        """A few lines for people."""
        statuses = Counter(status for _, status in self.batches)
        lines = [
            f"{self.articles} articles, {self.requests} requests in "
            f"{len(self.batches)} batches ({_counts(statuses) or 'none sent'})",
            f"{self.done} answered and cached, {self.cached} already cached, "
            f"{self.pending} pending, {self.failed} failed"
            + (f" ({_counts(self.errors)})" if self.errors else ""),
        ]
        if self.reasked or self.retried:
            lines.append(
                f"follow-up batches: {self.reasked} invalid or ungrounded answers re-asked, "
                f"{self.retried} failed requests sent again"
            )
        if self.online:
            lines.append(f"online: {self.online} invalid, ungrounded or failed requests")
        return "\n".join(lines)


class BatchJob:
    """Articles summarized through the provider's Batch API; the job's state is in a directory.

    Build one with `submit`, or `open` an existing directory (after a crash, or from
    another process), with a `Summarizer` of the same settings and cache.

    Args:
        directory: Where the job's files are.
        summarizer: The summarizer whose settings build the requests and whose cache
            receives the results.
        transport: An httpx2 transport for the Files and Batches requests (tests).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        summarizer: Summarizer,
        *,
        transport: Transport | None = None,
    ) -> None:
        _check_summarizer(summarizer)
        self.directory = Path(directory)
        self.summarizer = summarizer
        self._transport = transport
        self._client: BatchClient | None = None
        self._texts: list[str] | None = None
        self.state: dict[str, Any] = json.loads((self.directory / _STATE).read_text("utf-8"))
        if self.state.get("format") != JOB_FORMAT:
            raise ConfigError(f"{self.directory}: not a batch job of this version")
        if self.state["fingerprint"] != _fingerprint(summarizer):
            raise ConfigError(
                f"{self.directory} was submitted with other settings (model, endpoint, prompt "
                "or generation options): open it with a summarizer like the one that submitted it"
            )

    @classmethod
    def submit(
        cls,
        summarizer: Summarizer,
        articles: Iterable[str | Mapping[str, Any]],
        directory: str | os.PathLike[str],
        *,
        invalid: InvalidRoute = "followup",
        limits: BatchLimits = BatchLimits(),
        transport: Transport | None = None,
    ) -> BatchJob:
        """Write the job to `directory`, then upload its request files and create its batches.

        Args:
            summarizer: Builds the requests (its settings) and receives the results (its
                cache, which must be on). Only the single-call strategy against an endpoint.
            articles: Texts, or records with a ``text`` (and an ``id``; other fields are kept
                for the results).
            directory: A new or empty directory for the job's files.
            invalid: Where invalid or ungrounded answers (and failed requests) go: a
                ``"followup"`` batch, or ``"online"``.
            limits: Requests per batch and bytes per file at most.
            transport: An httpx2 transport for the Files and Batches requests (tests).

        Raises:
            ConfigError: A summarizer the Batch API cannot serve, a used directory, or a
                request larger than ``limits.max_bytes``.
            BackendError: An upload or a batch creation failed; `open` the directory again
                to resume.
        """
        if invalid not in ("followup", "online"):
            raise ConfigError(f"invalid must be followup or online, not {invalid!r}")
        _check_summarizer(summarizer)
        where = Path(directory)
        if (where / _STATE).exists():
            raise ConfigError(
                f"{where} already holds a batch job: open it to resume (or run "
                "`summarize batch status` or `collect` on it)"
            )
        where.mkdir(parents=True, exist_ok=True)
        records = [_record(n, article) for n, article in enumerate(articles)]
        _write_lines(where / _ARTICLES, [json.dumps(r, ensure_ascii=False) for r in records])
        state = _plan(summarizer, records, invalid, limits)
        _write_json(where / _STATE, state)
        return cls.open(where, summarizer, transport=transport)

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        summarizer: Summarizer,
        *,
        transport: Transport | None = None,
    ) -> BatchJob:
        """The job in `directory`; anything its submission left unsent is sent now.

        Raises:
            ConfigError: Not a job, or one submitted with other settings.
            BackendError: An upload or a batch creation failed; open it again to resume.
        """
        job = cls(directory, summarizer, transport=transport)
        try:
            job.send()
        except BaseException:
            job.close()
            raise
        return job

    def send(self) -> None:
        """Write, upload and create the batches of every piece waiting for one (idempotent)."""
        queued = [key for key, unit in self._units.items() if unit["state"] == "queued"]
        if queued:
            self._write_batches(queued)
        for batch in self.state["batches"]:
            if batch["batch_id"] is None:
                self._start(batch)

    def status(self) -> JobReport:
        """Ask the provider how every unfinished batch stands; nothing is downloaded."""
        for batch in self._unfinished():
            batch["status"] = self._client_().retrieve(batch["batch_id"]).status
        self._save()
        return self.report()

    def collect(self) -> JobReport:
        """Download every finished batch, cache its good answers, send what needs another try.

        Raises:
            BackendError: The provider could not be asked; run it again to resume.
        """
        for batch in self._unfinished():
            info = self._client_().retrieve(batch["batch_id"])
            batch["status"] = info.status
            if info.finished:
                self._collect(batch, info)
                batch["collected"] = True
            self._save()
        self._online([k for k, u in self._units.items() if u["state"] == "online"])
        self.send()
        return self.report()

    def wait(self, *, poll_s: float = 30.0, timeout_s: float | None = None) -> JobReport:
        """`collect` until nothing is pending (or `timeout_s` passed), sleeping `poll_s` between."""
        started = time.monotonic()
        while not (report := self.collect()).finished:
            if timeout_s is not None and time.monotonic() - started + poll_s > timeout_s:
                return report
            time.sleep(poll_s)
        return report

    def results(self) -> SummaryBatch:
        """Each article's summary (from the cache) or error, in input order; no model call."""
        records = list(self._records())
        results = [self._result(n, r) for n, r in enumerate(records)]
        return SummaryBatch(results, ids=[r["id"] for r in records])

    def records(self) -> Iterator[dict[str, Any]]:
        """The articles as submitted: ``id``, ``text`` and any other fields."""
        return self._records()

    def report(self) -> JobReport:
        """Where the job stands, from the state on disk (no request)."""
        units = self._units.values()
        states = Counter(u["state"] for u in units)
        bad_input = [a for a in self.state["articles"] if a["error"]]
        errors = Counter(u["error"]["type"] for u in units if u["state"] == "failed")
        errors.update(a["error"]["type"] for a in bad_input)
        counts = self.state["counts"]
        return JobReport(
            articles=len(self.state["articles"]),
            requests=len(self._units),
            cached=states["cached"],
            done=states["done"],
            failed=states["failed"] + len(bad_input),
            pending=states["queued"] + states["sent"] + states["online"],
            reasked=counts["reasked"],
            retried=counts["retried"],
            online=counts["online"],
            batches=tuple((b["name"], b["status"] or "not created") for b in self.state["batches"]),
            errors=dict(errors),
        )

    def close(self) -> None:
        """Close the Files and Batches connections."""
        if self._client is not None:
            self._client.close()

    # The steps.

    @property
    def _units(self) -> dict[str, dict[str, Any]]:
        units: dict[str, dict[str, Any]] = self.state["units"]
        return units

    def _client_(self) -> BatchClient:
        if self._client is None:
            self._client = BatchClient(self.summarizer.settings, transport=self._transport)
        return self._client

    def _write_batches(self, keys: list[str]) -> None:
        """Shard the requests of `keys` into new request files (state saved once all exist)."""
        wave = 1 + max((b["wave"] for b in self.state["batches"]), default=-1)
        lines = {key: self._line(key) for key in keys}
        sendable = [key for key in keys if lines[key] is not None]
        limits = self.state["limits"]
        for number, shard in enumerate(
            _shards(sendable, lines, limits["max_requests"], limits["max_bytes"])
        ):
            name = f"w{wave}-{number}"
            path = self.directory / f"requests-{name}.jsonl"
            path.write_bytes(b"".join(lines[key] or b"" for key in shard))
            self.state["batches"].append(
                {
                    "name": name,
                    "wave": wave,
                    "file": path.name,
                    "units": shard,
                    "input_file_id": None,
                    "create_sent": False,
                    "batch_id": None,
                    "status": None,
                    "collected": False,
                }
            )
        for key in sendable:
            self._units[key]["state"] = "sent"
        self._save()

    def _line(self, key: str) -> bytes | None:
        """The JSONL line of the unit's next request; None (unit failed) if there is none."""
        try:
            self._replay(key)
        except NextRequest as asked:
            line = {
                "custom_id": key,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": asked.body,
            }
            return (json.dumps(line, ensure_ascii=False) + "\n").encode()
        except SummarizeError as error:
            self._fail(key, error)
            return None
        raise AssertionError("a queued unit's answers already complete it")

    def _start(self, batch: dict[str, Any]) -> None:
        """Upload the batch's file and create it, saving each id as soon as it exists."""
        client = self._client_()
        if batch["input_file_id"] is None:
            content = (self.directory / batch["file"]).read_bytes()
            batch["input_file_id"] = client.upload(batch["file"], content)
            self._save()
        # A create sent before a crash may have been carried out: look for it first.
        info = client.find(batch["input_file_id"]) if batch["create_sent"] else None
        if info is None:
            batch["create_sent"] = True
            self._save()
            tags = {"summarize_job": self.state["job"], "batch": batch["name"]}
            info = client.create(batch["input_file_id"], tags)
        batch["batch_id"], batch["status"] = info.id, info.status
        self._save()

    def _unfinished(self) -> list[dict[str, Any]]:
        return [b for b in self.state["batches"] if b["batch_id"] and not b["collected"]]

    def _collect(self, batch: dict[str, Any], info: BatchInfo) -> None:
        """Settle every unit of a finished batch from its output and error files."""
        lines: dict[str, dict[str, Any]] = {}
        for file_id, kind in ((info.output_file_id, "output"), (info.error_file_id, "errors")):
            if file_id:
                content = self._client_().download(file_id)
                (self.directory / f"{kind}-{batch['name']}.jsonl").write_bytes(content)
                for raw in content.decode("utf-8").splitlines():
                    if raw.strip():
                        line = json.loads(raw)
                        lines[str(line.get("custom_id"))] = line
        for key in batch["units"]:
            if self._units[key]["state"] == "sent":
                self._settle(key, lines.get(key), info)

    def _settle(self, key: str, line: dict[str, Any] | None, info: BatchInfo) -> None:
        """One unit's line of a finished batch: an answer to judge, or a failure."""
        response = (line or {}).get("response") or {}
        status = response.get("status_code")
        if status == 200:
            answer = {"body": response.get("body"), "request_id": response.get("request_id")}
            self._units[key]["answers"].append(answer)
            self._judge(key)
        elif line is None and info.status == "failed":  # the provider refused the batch
            reason = "; ".join(info.errors) or "no reason given"
            self._fail(key, RequestRejectedError(f"the provider refused batch {info.id}: {reason}"))
        elif isinstance(status, int) and status < 500 and status not in RETRYABLE_STATUS_CODES:
            reason = f"HTTP {status} in batch {info.id}: {_error_message(response.get('body'))}"
            self._fail(key, RequestRejectedError(reason, status=status))
        else:  # 429, 5xx, a dropped request, or no line: an expired or cancelled batch
            dropped = ((line or {}).get("error") or {}).get("message") or "no line"
            reason = f"batch {info.id} ({info.status}) did not answer: " + (
                f"HTTP {status}" if status else str(dropped)
            )
            self._again(key, ServiceUnavailableError(reason, status=status))

    def _judge(self, key: str) -> None:
        """Read the unit's answers as online: cache a good one, route one to re-ask."""
        try:
            computed = self._replay(key)
        except NextRequest:
            self._route(key, "reasked")
            return
        except SummarizeError as error:  # refused, truncated, invalid after re-asks, ...
            self._fail(key, error)
            return
        cache = self.summarizer.cache
        assert cache is not None
        stored = cache.get_or_compute(self._text(key), lambda: computed)
        if stored.meta.cache_error:  # paid for, but results come from the cache
            self._fail(key, CacheError(f"not cached: {stored.meta.cache_error}"))
            return
        unit = self._units[key]
        unit["state"], unit["answers"] = "done", []

    def _replay(self, key: str) -> Computed:
        """The unit's answers through the online re-ask loop, grounding and assembly.

        Raises:
            NextRequest: Instructor asks again (with the body to send).
            SummarizeError: The answers end the call in an error, as online.
        """
        text = self._text(key)
        settings = self.summarizer.settings
        plan: Plan = self.summarizer.strategy.plan(text)
        ask = next(plan)
        cap = settings.max_tokens
        if cap is not None and ask.max_tokens is not None:
            cap = min(cap, ask.max_tokens)
        budget = CallBudget(
            CallJournal(),
            max_requests=settings.requests_per_call,
            max_answers=settings.max_reasks + 1,
            timeout=settings.timeout,
            max_tokens=cap,
        )
        request = ExtractionRequest(ask.messages, text, budget, ask.response_model, ask.mode)
        output = replay(settings, request, self._units[key]["answers"])
        try:
            plan.send(output)
        except StopIteration as end:
            draft = end.value
        else:
            raise ConfigError("the Batch API serves strategies of one request per article")
        assert isinstance(draft, DraftSummary)
        journal = budget.journal
        meta = Meta(
            model=settings.model_name,
            backend="openai",
            prompt=self.summarizer.strategy.prompt.ref,
            strategy=self.summarizer.strategy.name,
            usage=journal.usage,
            attempts=journal.count,
            attempt_log=journal.attempts,
        )
        summary = assemble(
            draft, text, policy=settings.ungrounded, meta=meta, unattributed=settings.unattributed
        )
        return Computed(summary, draft)

    def _again(self, key: str, error: SummarizeError) -> None:
        """A request the batch failed: another try, unless it had them all."""
        unit = self._units[key]
        unit["tries"] += 1
        if unit["tries"] >= self.summarizer.settings.retry.max_attempts:
            self._fail(key, error)
            return
        self._route(key, "retried")

    def _route(self, key: str, why: Literal["reasked", "retried"]) -> None:
        """Another request for the unit: in the next follow-up batch, or online."""
        online = self.state["invalid"] == "online"
        self._units[key]["state"] = "online" if online else "queued"
        self.state["counts"]["online" if online else why] += 1

    def _online(self, keys: list[str]) -> None:
        """Summarize `keys` on the online path (cached there); each done or failed."""
        if not keys:
            return
        texts = [self._text(key) for key in keys]
        batch = self.summarizer.summarize_many(texts)
        for key, result in zip(keys, batch.results, strict=True):
            if isinstance(result, ArticleSummary):
                self._units[key].update(state="done", answers=[])
            elif isinstance(result, SummarizeError):
                self._fail(key, result)
            else:
                raise result
        self._save()

    def _fail(self, key: str, error: SummarizeError) -> None:
        unit = self._units[key]
        unit.update(state="failed", answers=[], error=_error(error))

    def _result(self, number: int, record: dict[str, Any]) -> ArticleSummary | SummarizeError:
        article = self.state["articles"][number]
        if article["error"]:
            return _restored(article["error"])
        text = record["text"]
        parts: list[tuple[Chunk, ArticleSummary]] = []
        for index, (key, start, end) in enumerate(article["units"]):
            unit = self._units[key]
            if unit["state"] == "failed":
                return _restored(unit["error"])
            if unit["state"] not in ("done", "cached"):
                return SummarizeError(
                    f"article {record['id']!r} is still in a batch: collect again"
                )
            try:
                summary = self._cached(text[start:end])
            except SummarizeError as error:
                return error
            parts.append((Chunk(index, start, end, text[start:end]), summary))
        if len(parts) == 1:
            return parts[0][1]
        return merge(text, parts, latency_s=0.0)

    def _cached(self, text: str) -> ArticleSummary:
        cache = self.summarizer.cache
        assert cache is not None

        def missing() -> Computed:
            raise CacheError(
                f"a collected summary is not in the cache {cache.store.url} (cleared, expired, "
                "or another cache than the job's)"
            )

        return cache.get_or_compute(text, missing)

    def _text(self, key: str) -> str:
        number, start, end = self._units[key]["source"]
        if self._texts is None:
            self._texts = [record["text"] for record in self._records()]
        return str(self._texts[number][start:end])

    def _records(self) -> Iterator[dict[str, Any]]:
        with (self.directory / _ARTICLES).open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)

    def _save(self) -> None:
        _write_json(self.directory / _STATE, self.state)


def _check_summarizer(summarizer: Summarizer) -> None:
    if summarizer.settings.is_local:
        raise ConfigError("the Batch API needs a provider endpoint, not an in-process model")
    if summarizer.strategy.name != "single":
        raise ConfigError("the Batch API serves the single-call strategy (strategy='single')")
    if summarizer.cache is None:
        raise ConfigError("a batch job delivers its results through the cache: turn it on")


def _fingerprint(summarizer: Summarizer) -> str:
    """The cache key of the empty text: it changes with every setting that changes a key."""
    assert summarizer.cache is not None
    return summarizer.cache.key("")


def _record(number: int, article: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(article, str):
        return {"id": number, "text": article}
    if not isinstance(article.get("text"), str):
        raise ConfigError(f"article {number}: a record needs a text string")
    return {"id": number, **article}


def _plan(
    summarizer: Summarizer, records: list[dict[str, Any]], invalid: str, limits: BatchLimits
) -> dict[str, Any]:
    """The job's first state: each article's pieces, each piece queued or already cached."""
    cache = summarizer.cache
    assert cache is not None
    articles: list[dict[str, Any]] = []
    units: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(records):
        try:
            text = check_article(record["text"], summarizer.settings.max_input_chars)
            chunks = summarizer.chunker.split(text)
        except SummarizeError as error:
            articles.append({"units": [], "error": _error(error)})
            continue
        pieces = [(cache.key(c.text), c.start, c.end) for c in chunks]
        articles.append({"units": pieces, "error": None})
        for key, start, end in pieces:
            if key not in units:
                stored = _stored(cache.store.get, key)
                units[key] = {
                    "source": [number, start, end],
                    "state": "cached" if stored else "queued",
                    "answers": [],
                    "tries": 0,
                    "error": None,
                }
    return {
        "format": JOB_FORMAT,
        "job": os.urandom(8).hex(),
        "fingerprint": _fingerprint(summarizer),
        "model": summarizer.settings.model_name,
        "invalid": invalid,
        "limits": {"max_requests": limits.max_requests, "max_bytes": limits.max_bytes},
        "articles": articles,
        "units": units,
        "batches": [],
        "counts": {"reasked": 0, "retried": 0, "online": 0},
    }


def _stored(get: Callable[[str], str | None], key: str) -> bool:
    try:
        return get(key) is not None
    except CacheError:
        return False


def _shards(
    keys: Sequence[str], lines: Mapping[str, bytes | None], max_requests: int, max_bytes: int
) -> Iterator[list[str]]:
    """`keys` in runs of at most `max_requests` lines and `max_bytes` bytes."""
    shard: list[str] = []
    size = 0
    for key in keys:
        length = len(lines[key] or b"")
        if length > max_bytes:
            raise ConfigError(
                f"one request is {length} bytes, more than a batch file may hold ({max_bytes})"
            )
        if shard and (len(shard) == max_requests or size + length > max_bytes):
            yield shard
            shard, size = [], 0
        shard.append(key)
        size += length
    if shard:
        yield shard


def _error(error: SummarizeError) -> dict[str, str]:
    return {"type": type(error).__name__, "message": str(error).strip().splitlines()[0]}


def _restored(error: Mapping[str, str]) -> SummarizeError:
    """A stored error as its class, when that takes a message; else a `SummarizeError`."""
    kind = getattr(error_types, error["type"], None)
    if isinstance(kind, type) and issubclass(kind, _MESSAGE_FIRST):
        restored: SummarizeError = kind(error["message"])
        return restored
    return SummarizeError(f"{error['type']}: {error['message']}")


def _error_message(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(body)[:200]


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{what}: {n}" for what, n in sorted(counts.items()))


def _write_json(path: Path, value: Any) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
    os.replace(partial, path)
