"""The command line, thin over the library.

``summarize [options] FILE... | -`` summarizes articles (cached; ``--no-cache`` skips the
cache), ``summarize --jsonl FILE`` a corpus of JSON Lines, each article's line written as it
finishes (both on the batch engine: ``--concurrency``, ``--rpm``, ``--tpm``; a run report
on stderr), ``summarize cache stats|clear [--cache URL]`` inspects or empties it,
``summarize models list|fetch [NAME]`` lists or fetches the local models,
``summarize eval [GOLD...]`` scores a model against gold annotations and
``summarize batch submit|status|collect`` runs a corpus through the provider's Batch API.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from summarize import __version__

if TYPE_CHECKING:  # the library is imported when a command runs: --help stays fast
    from summarize.batch import Result
    from summarize.evaluate import ArticleResult
    from summarize.pipeline import Summarizer
    from summarize.report import ArticleStats, Prices
    from summarize.schema import ArticleSummary

__all__ = ["main"]

TINY_MODEL_NOTE: Final = (
    "note: using the embedded SmolLM2-135M model. It runs offline and proves the pipeline, "
    "but its summaries are weak; use --model/--base-url (or OPENAI_API_KEY) with a real model "
    "for quality."
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="summarize",
        description="Typed, grounded summaries of news articles: warnings, positions, venues "
        "and rebuttals, each backed by a quote found in the article.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="article text files; - for stdin (`summarize cache stats|clear` manages the cache, "
        "`summarize models list|fetch` the local models, `summarize batch` the Batch API)",
    )
    p.add_argument(
        "--jsonl",
        metavar="FILE",
        help="a corpus instead of FILEs: JSON Lines of objects with id and text (other fields "
        "pass through); writes one JSON line per article, with summary or error, as each "
        "finishes (- for stdin)",
    )
    p.add_argument(
        "--concurrency",
        type=_positive,
        help="articles in flight at once (default: 8; 1 for an in-process model)",
    )
    p.add_argument("--rpm", type=_positive, help="requests per minute at most")
    p.add_argument("--tpm", type=_positive, help="tokens per minute at most")
    p.add_argument(
        "--limits",
        metavar="URL",
        help="share --rpm, --tpm and Retry-After pauses with every process naming the same "
        "Redis: redis://host:6379/0?prefix=...",
    )
    p.add_argument(
        "--prices",
        type=Path,
        metavar="FILE",
        help='JSON price table for the run report: {"MODEL": [USD per million input tokens, '
        "per million output tokens]} (default: a few OpenAI models)",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write the run report as JSON (it is always shown on stderr with --jsonl, and with "
        "several FILEs on a terminal)",
    )
    p.add_argument(
        "--model",
        help='"local", "local:NAME" (see `summarize models list`), "local:/path/model.gguf", '
        '"hf:OWNER/REPO/FILE.gguf", or an endpoint model name',
    )
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (key from OPENAI_API_KEY)")
    p.add_argument(
        "--format",
        choices=("text", "json", "markdown", "html"),
        default="text",
        help="output format (default: text; html: a self-contained page with the article)",
    )
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    p.add_argument(
        "--ungrounded",
        choices=("drop", "keep", "raise"),
        help="what to do with quotes not found in the article (default: drop)",
    )
    p.add_argument("--max-tokens", type=int, help="cap on the model's answer")
    p.add_argument(
        "--strategy",
        choices=("auto", "single", "sentences"),
        help="one call for the whole summary, or sentence by sentence (default: auto, "
        "sentences for the local model)",
    )
    p.add_argument("--timeout", type=float, help="seconds per model call")
    _cache_options(p)
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    return p


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache",
        metavar="URL",
        help="memory, sqlite:///file.db, sqlite:////abs/path.db or redis://host:6379/0 "
        "(default: the SQLite file at $SUMMARIZE_CACHE or in the user cache dir)",
    )


def _cache_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="summarize cache", description="Inspect or empty the summary cache."
    )
    p.add_argument("action", choices=("stats", "clear"))
    _cache_options(p)
    return p


def cache_main(argv: Sequence[str]) -> int:
    """``summarize cache stats|clear``: 0 on success, 1 when the store fails."""
    from summarize.cache import open_cache
    from summarize.errors import SummarizeError

    args = _cache_parser().parse_args(argv)
    try:
        store = open_cache(args.cache)
        assert store is not None  # open_cache gives None only for False
        try:
            if args.action == "clear":
                print(f"removed {store.clear()} entries from {store.url}")
                return 0
            stats = store.stats()
        finally:
            store.close()
    except SummarizeError as exc:
        return _fail(_one_line(exc), 1)
    size = "unknown" if stats.size_bytes is None else f"{stats.size_bytes:,} bytes"
    print(f"{stats.backend} cache at {stats.location}: {stats.entries:,} entries, {size}")
    return 0


class _Progress:
    """A progress bar on stderr for the file being summarized (on a terminal only)."""

    def __init__(self) -> None:
        self.name = ""
        self._bar: Any = None

    def start(self, name: str) -> None:
        """A new file: its own bar."""
        self.close()
        self.name = name

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm  # the local extra installs it

            self._bar = tqdm(total=total, desc=self.name, unit="step", leave=False)
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="summarize eval",
        description="Score a model against gold annotations (NAME.gold.json beside NAME.txt): "
        "precision, recall and F1 per category, traps, invalid answers, tokens and seconds.",
    )
    p.add_argument(
        "gold",
        nargs="*",
        type=Path,
        help="gold files or folders of them (default: ./gold and ./seeds)",
    )
    p.add_argument("--model", help='"local", "local:NAME", "local:/path.gguf" or a model name')
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (key from OPENAI_API_KEY)")
    p.add_argument("--strategy", choices=("auto", "single", "sentences"), help="how to ask")
    p.add_argument("--max-tokens", type=int, help="cap on each answer")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    p.add_argument(
        "--cache", action="store_true", help="read and write the cache (default: every call)"
    )
    return p


def eval_main(argv: Sequence[str]) -> int:
    """``summarize eval``: 0 when every article was summarized, 1 when some failed."""
    from summarize.config import Settings
    from summarize.errors import SummarizeError
    from summarize.evaluate import evaluate_files, gold_files
    from summarize.pipeline import Summarizer

    args = _eval_parser().parse_args(argv)
    paths = args.gold or [p for p in (Path("gold"), Path("seeds")) if p.is_dir()]
    files = gold_files(paths)
    if not files:
        return _fail("no gold files found (give NAME.gold.json files or folders)", 2)
    flags = {
        "model": args.model,
        "base_url": args.base_url,
        "strategy": args.strategy,
        "max_tokens": args.max_tokens,
    }
    try:
        settings = Settings.from_env(**{k: v for k, v in flags.items() if v is not None})
        summarizer = Summarizer(settings=settings, cache=None if args.cache else False)
        with summarizer:
            report = evaluate_files(files, summarizer, on_result=_eval_progress)
    except (SummarizeError, ValueError) as exc:
        return _fail(_one_line(exc), 1)
    print(report.table())
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {args.json}: {exc.strerror}", 2)
    return 1 if any(r.error for r in report.results) else 0


def _eval_progress(result: ArticleResult) -> None:
    score = result.score.overall if result.score is not None else None
    detail = result.error or (f"F1 {score.f1:.2f}" if score else "")
    print(f"{result.name}: {detail} ({result.seconds:.1f}s)", file=sys.stderr, flush=True)


#: Exit code of ``summarize batch collect`` while batches are still running.
BATCH_PENDING: Final = 3
_BATCH_SETTINGS: Final = "cli.json"  # the flags a job was submitted with (never the key)


def _batch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="summarize batch",
        description="Summarize a corpus through the provider's Batch API (half the price, "
        "answers within 24 hours): submit it, see how it stands, collect the answers into the "
        "cache and a JSON Lines file. The job's state is in --job DIR: after a crash, status or "
        "collect resumes it.",
    )
    actions = p.add_subparsers(dest="action", required=True)
    submit = actions.add_parser("submit", help="write, upload and start the batches")
    submit.add_argument("corpus", help="JSON Lines of objects with id and text (- for stdin)")
    submit.add_argument("--job", type=Path, required=True, help="a new directory for the job")
    submit.add_argument("--model", help="the endpoint's model name")
    submit.add_argument("--base-url", help="OpenAI-compatible endpoint (key from OPENAI_API_KEY)")
    submit.add_argument("--max-tokens", type=int, help="cap on the model's answer")
    submit.add_argument("--ungrounded", choices=("drop", "keep", "raise"))
    submit.add_argument("--timeout", type=float, help="seconds per online request")
    _cache_options(submit)
    submit.add_argument(
        "--invalid",
        choices=("followup", "online"),
        default="followup",
        help="where invalid or ungrounded answers (and requests a batch failed) go: a "
        "follow-up batch (default) or the online path",
    )
    submit.add_argument("--max-requests", type=_positive, help="requests per batch (50,000)")
    submit.add_argument("--max-bytes", type=_positive, help="bytes per request file (200 MB)")
    status = actions.add_parser("status", help="how the job's batches stand")
    status.add_argument("--job", type=Path, required=True)
    collect = actions.add_parser(
        "collect",
        help="download finished batches, cache their answers, send follow-ups; when nothing is "
        f"pending, write the results (exit {BATCH_PENDING} while batches are still running)",
    )
    collect.add_argument("--job", type=Path, required=True)
    collect.add_argument(
        "-o", "--output", type=Path, help="results as JSON Lines (default: stdout)"
    )
    collect.add_argument("--wait", action="store_true", help="poll until nothing is pending")
    collect.add_argument("--poll", type=float, default=30.0, help="seconds between polls (30)")
    return p


def batch_main(argv: Sequence[str]) -> int:
    """``summarize batch submit|status|collect``: 0 done, 1 failures, 2 bad usage, 3 pending."""
    from summarize.batchjobs import BatchJob, BatchLimits
    from summarize.errors import SummarizeError

    args = _batch_parser().parse_args(argv)
    try:
        if args.action == "submit":
            if (args.job / "job.json").exists():  # before its saved flags are overwritten
                return _fail(f"{args.job} holds a job: `summarize batch collect` resumes it", 2)
            records = _corpus(args.corpus)
            summarizer = _batch_summarizer(args.job, vars(args))
            limits = {"max_requests": args.max_requests, "max_bytes": args.max_bytes}
            given = BatchLimits(**{k: v for k, v in limits.items() if v is not None})
            with summarizer:
                job = BatchJob.submit(
                    summarizer, records, args.job, invalid=args.invalid, limits=given
                )
                job.close()
                print(job.report().text(), file=sys.stderr)
            return 0
        with _batch_summarizer(args.job, None) as summarizer:
            job = BatchJob.open(args.job, summarizer)
            try:
                if args.action == "status":
                    print(job.status().text())
                    return 0
                report = job.wait(poll_s=args.poll) if args.wait else job.collect()
                print(report.text(), file=sys.stderr)
                if not report.finished:
                    return BATCH_PENDING
                return _batch_results(job, args.output)
            finally:
                job.close()
    except ValueError as exc:  # a corpus line, a flag, or a ConfigError
        return _fail(_one_line(exc), 2 if not isinstance(exc, SummarizeError) else 1)
    except OSError as exc:
        return _fail(f"{exc.filename or args.job}: {exc.strerror}", 2)
    except SummarizeError as exc:
        return _fail(_one_line(exc), 1)


def _corpus(source: str) -> list[dict[str, Any]]:
    """A JSON Lines corpus, every line checked (a bad one fails the whole submission)."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(_record(line))
            except ValueError as exc:
                raise ValueError(f"{source}:{number}: {exc}") from None
    return records


def _batch_summarizer(job: Path, flags: dict[str, Any] | None) -> Summarizer:
    """The summarizer of a job: from the submit flags (saved), or those saved at submit."""
    from summarize.config import Settings
    from summarize.pipeline import Summarizer

    names = ("model", "base_url", "max_tokens", "ungrounded", "timeout", "cache")
    if flags is not None:
        saved = {k: flags[k] for k in names if flags.get(k) is not None}
        job.mkdir(parents=True, exist_ok=True)
        (job / _BATCH_SETTINGS).write_text(json.dumps(saved) + "\n", encoding="utf-8")
    else:
        saved = json.loads((job / _BATCH_SETTINGS).read_text(encoding="utf-8"))
    cache = saved.pop("cache", None)
    settings = Settings.from_env(strategy="single", **saved)
    return Summarizer(settings=settings, cache=cache)


def _batch_results(job: Any, output: Path | None) -> int:
    """Write each article's line (its fields, then summary or error); 1 if any failed."""
    from summarize.schema import ArticleSummary

    status = 0
    with ExitStack() as files:
        out: TextIO = (
            sys.stdout
            if output is None
            else files.enter_context(output.open("w", encoding="utf-8"))
        )
        for record, result in zip(job.records(), job.results().results, strict=True):
            record.pop("text")
            if isinstance(result, ArticleSummary):
                record["summary"] = result.model_dump(mode="json")
            else:
                record["error"] = _error(type(result).__name__, _one_line(result))
                status = 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    0: every article summarized; 1: an article could not be summarized; 2: bad usage, or a
    file or line could not be read or written; 130: interrupted (what finished is written and
    cached: run again to resume). Each failure is one line on stderr; the other articles are
    still summarized and written.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["cache"]:  # a file named "cache" can be given as ./cache
        return cache_main(argv[1:])
    if argv[:1] == ["models"]:
        from summarize.models import main as models_main

        return models_main(argv[1:])
    if argv[:1] == ["eval"]:
        return eval_main(argv[1:])
    if argv[:1] == ["batch"]:
        return batch_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if bool(args.files) == bool(args.jsonl):
        parser.error("give article FILEs or --jsonl FILE (one of them)")
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from summarize.cache import CacheSpec
    from summarize.config import Settings
    from summarize.errors import SummarizeError
    from summarize.models import registry_name
    from summarize.pipeline import Summarizer

    cache: CacheSpec = False if args.no_cache else args.cache
    try:
        prices = _prices(args.prices)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot read the price table {args.prices}: {exc}", 2)
    try:
        flags = {
            "model": args.model,
            "base_url": args.base_url,
            "ungrounded": args.ungrounded,
            "max_tokens": args.max_tokens,
            "timeout": args.timeout,
            "strategy": args.strategy,
            "rpm": args.rpm,
            "tpm": args.tpm,
            "limits": args.limits,
        }
        settings = Settings.from_env(**{k: v for k, v in flags.items() if v is not None})
        one_file = len(args.files) == 1
        progress = _Progress() if one_file and settings.is_local and _tty() else None
        summarizer = Summarizer(settings=settings, cache=cache, on_progress=progress)
    except SummarizeError as exc:
        return _fail(_one_line(exc), 1)
    if settings.is_local and registry_name(settings.local_model_path) == "smollm2":
        print(TINY_MODEL_NOTE, file=sys.stderr)
    run = _Batch(summarizer, args, prices, default_concurrency=1 if settings.is_local else 8)
    try:
        with summarizer:
            if args.jsonl:
                return run.jsonl(args.jsonl, args.output)
            if progress is not None:
                progress.start(args.files[0])
            return run.files(args.files, args.format, args.output)
    finally:
        if progress is not None:
            progress.close()


class _Batch:
    """One run of the batch engine over FILEs or a JSON Lines corpus, with its report."""

    def __init__(
        self,
        summarizer: Summarizer,
        args: argparse.Namespace,
        prices: Prices | None,
        *,
        default_concurrency: int,
    ) -> None:
        self.summarizer = summarizer
        self.concurrency: int = args.concurrency or default_concurrency
        self.prices = prices
        self.report_path: Path | None = args.report
        self.stats: list[ArticleStats] = []
        self.status = 0
        self.started = time.perf_counter()
        # Inputs are read on the engine's thread, but only while this one waits for it.

    def files(self, names: Sequence[str], fmt: str, output: Path | None) -> int:
        """Summarize FILEs; write them in order at the end (what finished, if interrupted)."""
        from summarize.errors import SummarizeError
        from summarize.schema import ArticleSummary

        read: list[str] = []  # names in the order the engine took them
        texts: dict[str, bytes] = {}  # for --format html
        done: dict[int, ArticleSummary] = {}

        def articles() -> Iterator[bytes]:
            for name in names:
                try:
                    text = _read(name)
                except OSError as exc:
                    self._failed(f"cannot read {name}: {exc.strerror}", 2)
                    continue
                if fmt == "html":
                    texts[name] = text
                read.append(name)
                yield text

        try:
            for index, result in self._stream(articles(), batch=len(names) > 1):
                name = read[index]
                if isinstance(result, ArticleSummary):
                    done[index] = result
                    if result.meta.cache_hit:
                        print(f"{name}: served from the cache", file=sys.stderr)
                elif isinstance(result, SummarizeError):
                    self._failed(f"{name}: {_one_line(result)}", 1)
                else:
                    raise result
        except KeyboardInterrupt:
            self.status = 130
        results = [(read[i], done[i]) for i in sorted(done)]
        if (len(names) > 1 and _tty()) or self.report_path is not None:
            self._report()
        try:
            _output(output, results, fmt, texts)
        except OSError as exc:
            return _fail(f"cannot write {output}: {exc.strerror}", 2)
        return self.status

    def jsonl(self, source: str, output: Path | None) -> int:
        """Summarize a JSON Lines corpus, writing each article's line as it finishes."""
        lines: TextIO = sys.stdin
        out: TextIO = sys.stdout
        with ExitStack() as files:
            try:
                if source != "-":
                    lines = files.enter_context(open(source, encoding="utf-8"))
                if output is not None:
                    out = files.enter_context(output.open("w", encoding="utf-8"))
            except OSError as exc:
                return _fail(f"cannot open {exc.filename}: {exc.strerror}", 2)
            records: dict[int, dict[str, Any]] = {}  # the other fields of articles in flight
            pulled = itertools.count()

            def articles() -> Iterator[str]:
                for number, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    try:
                        record = _record(line)
                    except ValueError as exc:
                        self._write(out, {"line": number, "error": _error("InputError", str(exc))})
                        self._failed(f"{source}:{number}: {exc}", 2)
                        continue
                    text = record.pop("text")
                    records[next(pulled)] = record
                    yield text

            try:
                for index, result in self._stream(articles(), batch=True):
                    self._write(out, {**records.pop(index), **self._outcome(result)})
            except KeyboardInterrupt:
                self.status = 130
            except OSError as exc:
                return _fail(f"cannot write {output or 'stdout'}: {exc.strerror}", 2)
        self._report()
        return self.status

    def _stream(
        self, texts: Iterator[str] | Iterator[bytes], *, batch: bool
    ) -> Generator[tuple[int, Result], None, None]:
        """(index, result) pairs as articles finish, each added to the report."""
        from summarize.report import ArticleStats

        stream = self.summarizer.summarize_as_completed(
            texts, concurrency=self.concurrency, progress=batch and _tty()
        )
        with closing(stream):
            for index, result in stream:
                self.stats.append(ArticleStats.of(index, result, self.prices))
                yield index, result

    def _outcome(self, result: Result) -> dict[str, Any]:
        from summarize.errors import SummarizeError
        from summarize.schema import ArticleSummary

        if isinstance(result, ArticleSummary):
            return {"summary": result.model_dump(mode="json")}
        if not isinstance(result, SummarizeError):
            raise result
        self._failed(None, 1)
        return {"error": _error(type(result).__name__, _one_line(result))}

    def _write(self, out: TextIO, line: dict[str, Any]) -> None:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()

    def _failed(self, message: str | None, code: int) -> None:
        self.status = max(self.status, code)
        if message is not None:
            _fail(message, code)

    def _report(self) -> None:
        from summarize.report import BatchReport

        report = BatchReport.of(self.stats, elapsed_s=time.perf_counter() - self.started)
        print(report.text(), file=sys.stderr)
        if self.status == 130:
            print(
                f"interrupted: {len(self.stats)} articles finished and cached; run the same "
                "command again to resume from the cache",
                file=sys.stderr,
            )
        if self.report_path is not None:
            try:
                self.report_path.write_text(
                    json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8"
                )
            except OSError as exc:
                self._failed(f"cannot write {self.report_path}: {exc.strerror}", 2)


def _record(line: str) -> dict[str, Any]:
    """A corpus line as a dict with an ``id`` and a string ``text``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if "id" not in record:
        raise ValueError("no id")
    if not isinstance(record.get("text"), str):
        raise ValueError(f"id {record['id']!r}: no text string")
    return record


def _error(kind: str, message: str) -> dict[str, str]:
    return {"type": kind, "message": message}


def _prices(path: Path | None) -> Prices | None:
    if path is None:
        return None
    table = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(table, dict) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v)
        for v in table.values()
    ):
        raise ValueError('expected {"MODEL": [input, output], ...} in USD per million tokens')
    return {str(model): (float(v[0]), float(v[1])) for model, v in table.items()}


def _tty() -> bool:
    return sys.stderr.isatty()


def _output(
    path: Path | None,
    results: list[tuple[str, ArticleSummary]],
    fmt: str,
    articles: Mapping[str, bytes],
) -> None:
    if not results:
        return
    if path is None:
        _write(sys.stdout, results, fmt, articles)
        return
    with path.open("w", encoding="utf-8") as out:
        _write(out, results, fmt, articles)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _read(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


def _write(
    out: TextIO, results: list[tuple[str, ArticleSummary]], fmt: str, articles: Mapping[str, bytes]
) -> None:
    from summarize.render import to_markdown, to_text

    if fmt == "html":
        out.write(_html_page(results, articles))
        return
    if fmt == "json":  # one object; JSON Lines when several files
        for _, summary in results:
            out.write(summary.model_dump_json(indent=2 if len(results) == 1 else None) + "\n")
        return
    render = to_markdown if fmt == "markdown" else to_text
    for index, (name, summary) in enumerate(results):
        if len(results) > 1:
            out.write(
                ("\n" if index else "")
                + (f"# {name}\n\n" if fmt == "markdown" else f"=== {name} ===\n")
            )
        out.write(render(summary))


def _html_page(results: list[tuple[str, ArticleSummary]], articles: Mapping[str, bytes]) -> str:
    """One page: a summary beside its article, or a table of several with each view below."""
    from summarize.batch import SummaryBatch
    from summarize.display import SummaryView, page

    texts = [articles[name].decode("utf-8-sig") for name, _ in results]  # as check_article
    if len(results) == 1:
        return SummaryView(results[0][1], texts[0]).page(title=results[0][0])
    batch = SummaryBatch([s for _, s in results], ids=[n for n, _ in results], articles=texts)
    return page(batch.html(details=True), title=f"{len(results)} articles")


def _fail(message: str, code: int) -> int:
    print(f"summarize: error: {message}", file=sys.stderr)
    return code
