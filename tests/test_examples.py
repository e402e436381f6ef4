"""The examples stay runnable."""

from __future__ import annotations

import py_compile
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_compiles(path: Path) -> None:
    py_compile.compile(str(path), doraise=True)


def test_fake_llm_example_passes() -> None:
    namespace = runpy.run_path(str(EXAMPLES / "test_with_fake.py"))
    namespace["test_my_pipeline_handles_a_flaky_provider"]()
