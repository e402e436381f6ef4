"""The command line: ``summarize FILE... | -``. Thin over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from summarize import __version__
from summarize.config import Settings
from summarize.errors import SummarizeError
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
    p.add_argument("files", nargs="+", metavar="FILE", help="article text files; - for stdin")
    p.add_argument("--model", help='"local", "local:/path/model.gguf", or an endpoint model name')
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 summarizing failed, 2 bad usage/input)."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            model=args.model,
            base_url=args.base_url,
            ungrounded=args.ungrounded,
            max_tokens=args.max_tokens,
            timeout=args.timeout,
        )
        articles = [(name, _read(name)) for name in args.files]
        with Summarizer(settings=settings) as summarizer:
            if settings.is_local and settings.local_model_path is None:
                print(TINY_MODEL_NOTE, file=sys.stderr)
            results = [(name, summarizer.summarize(text)) for name, text in articles]
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror}", 2)
    except SummarizeError as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 1)
    except KeyboardInterrupt:
        return 130
    if args.output is None:
        _write(sys.stdout, results, args.format)
    else:
        with args.output.open("w", encoding="utf-8") as out:
            _write(out, results, args.format)
    return 0


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
