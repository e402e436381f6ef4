"""Start-up stays fast: ``import summarize`` and ``summarize --help`` load no LLM SDK.

The time itself is measured by ``benchmarks/startup_bench.py``; this pins the cause.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("openai", "instructor", "llama_cpp", "summarize.pipeline", "summarize.backends")

LOADED = f"""
import sys
{{setup}}
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""

HELP = """
from summarize.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
"""


@pytest.mark.parametrize("setup", ["import summarize", HELP], ids=["import", "--help"])
def test_nothing_heavy_is_imported_before_it_is_used(setup: str) -> None:
    code = LOADED.format(setup=setup)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]", f"loaded at start-up: {done.stdout}"


def test_the_lazy_names_are_the_real_ones() -> None:
    import summarize
    from summarize.pipeline import Summarizer, asummarize

    assert summarize.Summarizer is Summarizer and summarize.asummarize is asummarize
    assert "Summarizer" in dir(summarize)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        summarize.nothing  # noqa: B018
