"""The command line, thin over the library.

``summarize [options] FILE... | -`` summarizes articles (cached; ``--no-cache`` skips the
cache), ``summarize cache stats|clear [--cache URL]`` inspects or empties it,
``summarize models list|fetch [NAME]`` lists or fetches the local models and
``summarize eval [GOLD...]`` scores a model against gold annotations.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from summarize import __version__
from summarize.batch import SummaryBatch
from summarize.cache import CacheSpec, open_cache
from summarize.config import Settings
from summarize.display import SummaryView, page
from summarize.errors import SummarizeError
from summarize.evaluate import ArticleResult
from summarize.models import main as models_main
from summarize.models import registry_name
from summarize.pipeline import Summarizer
from summarize.render import to_markdown, to_text
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
        nargs="+",
        metavar="FILE",
        help="article text files; - for stdin (`summarize cache stats|clear` manages the cache, "
        "`summarize models list|fetch` the local models)",
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
    from summarize.evaluate import evaluate_files, gold_files

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    0: every file summarized; 1: a file could not be summarized; 2: bad usage, or a file
    could not be read or written. Each failure is one line on stderr; the other files are
    still summarized and written.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["cache"]:  # a file named "cache" can be given as ./cache
        return cache_main(argv[1:])
    if argv[:1] == ["models"]:
        return models_main(argv[1:])
    if argv[:1] == ["eval"]:
        return eval_main(argv[1:])
    args = _parser().parse_args(argv)
    cache: CacheSpec = False if args.no_cache else args.cache
    try:
        flags = {
            "model": args.model,
            "base_url": args.base_url,
            "ungrounded": args.ungrounded,
            "max_tokens": args.max_tokens,
            "timeout": args.timeout,
            "strategy": args.strategy,
        }
        settings = Settings.from_env(**{k: v for k, v in flags.items() if v is not None})
        progress = _Progress() if settings.is_local and sys.stderr.isatty() else None
        summarizer = Summarizer(settings=settings, cache=cache, on_progress=progress)
    except SummarizeError as exc:
        return _fail(_one_line(exc), 1)
    if settings.is_local and registry_name(settings.local_model_path) == "smollm2":
        print(TINY_MODEL_NOTE, file=sys.stderr)
    status = 0
    results: list[tuple[str, ArticleSummary]] = []
    articles: dict[str, bytes] = {}  # the texts, for --format html
    try:
        with summarizer:
            for name in args.files:
                try:
                    if progress is not None:
                        progress.start(name)
                    text = _read(name)
                    summary = summarizer.summarize(text)
                    if summary.meta.cache_hit:
                        print(f"{name}: served from the cache", file=sys.stderr)
                    results.append((name, summary))
                    articles[name] = text
                except OSError as exc:
                    status = max(status, _fail(f"cannot read {name}: {exc.strerror}", 2))
                except SummarizeError as exc:
                    status = max(status, _fail(f"{name}: {_one_line(exc)}", 1))
    except KeyboardInterrupt:
        return 130
    finally:
        if progress is not None:
            progress.close()
    try:
        _output(args.output, results, args.format, articles)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror}", 2)
    return status


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
    texts = [articles[name].decode("utf-8-sig") for name, _ in results]  # as check_article
    if len(results) == 1:
        return SummaryView(results[0][1], texts[0]).page(title=results[0][0])
    batch = SummaryBatch([s for _, s in results], ids=[n for n, _ in results], articles=texts)
    return page(batch.html(details=True), title=f"{len(results)} articles")


def _fail(message: str, code: int) -> int:
    print(f"summarize: error: {message}", file=sys.stderr)
    return code
