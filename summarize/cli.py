"""The command line, thin over the library.

``summarize [options] FILE... | -`` summarizes articles (cached; ``--no-cache`` skips the
cache), ``summarize cache stats|clear [--cache URL]`` inspects or empties it and
``summarize models list|fetch [NAME]`` lists or fetches the local models.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from summarize import __version__
from summarize.cache import CacheSpec, open_cache
from summarize.config import Settings
from summarize.errors import SummarizeError
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
        choices=("text", "json", "markdown"),
        default="text",
        help="output format (default: text)",
    )
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    p.add_argument(
        "--ungrounded",
        choices=("drop", "keep", "raise"),
        help="what to do with quotes not found in the article (default: drop)",
    )
    p.add_argument("--max-tokens", type=int, help="cap on the model's answer")
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
    args = _parser().parse_args(argv)
    cache: CacheSpec = False if args.no_cache else args.cache
    try:
        flags = {
            "model": args.model,
            "base_url": args.base_url,
            "ungrounded": args.ungrounded,
            "max_tokens": args.max_tokens,
            "timeout": args.timeout,
        }
        settings = Settings.from_env(**{k: v for k, v in flags.items() if v is not None})
        summarizer = Summarizer(settings=settings, cache=cache)
    except SummarizeError as exc:
        return _fail(_one_line(exc), 1)
    if settings.is_local and registry_name(settings.local_model_path) == "smollm2":
        print(TINY_MODEL_NOTE, file=sys.stderr)
    status = 0
    results: list[tuple[str, ArticleSummary]] = []
    try:
        with summarizer:
            for name in args.files:
                try:
                    summary = summarizer.summarize(_read(name))
                    if summary.meta.cache_hit:
                        print(f"{name}: served from the cache", file=sys.stderr)
                    results.append((name, summary))
                except OSError as exc:
                    status = max(status, _fail(f"cannot read {name}: {exc.strerror}", 2))
                except SummarizeError as exc:
                    status = max(status, _fail(f"{name}: {_one_line(exc)}", 1))
    except KeyboardInterrupt:
        return 130
    try:
        _output(args.output, results, args.format)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror}", 2)
    return status


def _output(path: Path | None, results: list[tuple[str, ArticleSummary]], fmt: str) -> None:
    if not results:
        return
    if path is None:
        _write(sys.stdout, results, fmt)
        return
    with path.open("w", encoding="utf-8") as out:
        _write(out, results, fmt)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _read(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


def _write(out: TextIO, results: list[tuple[str, ArticleSummary]], fmt: str) -> None:
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


def _fail(message: str, code: int) -> int:
    print(f"summarize: error: {message}", file=sys.stderr)
    return code
