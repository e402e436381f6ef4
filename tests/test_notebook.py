"""The example notebook runs top to bottom in a real kernel (nbclient), and is stored clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from .test_display import Parsed

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "notebook.ipynb"


def read() -> Any:
    return nbformat.read(NOTEBOOK, as_version=4)


def test_notebook_is_stored_without_outputs() -> None:
    nb = read()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code"
    dirty = [n for n, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"code cells {dirty} were saved with outputs: clear them before committing"
    source = "\n".join(c.source for c in code)
    assert "summarize._" not in source and "from summarize.backends" not in source
    assert "asummarize" in source and "SummaryBatch" in source and "to_dataframe" in source


@pytest.fixture(scope="module")
def executed() -> Any:
    nb = read()
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()
    return nb


def outputs(nb: Any, marker: str) -> list[Any]:
    """The outputs of the one code cell whose source contains `marker`."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    return list(cell.outputs)


def html_of(nb: Any, marker: str) -> str:
    (out,) = [o for o in outputs(nb, marker) if o.output_type == "execute_result"]
    assert "text/markdown" in out.data or "text/plain" in out.data
    return str(out.data["text/html"])


def test_notebook_runs_top_to_bottom_without_errors(executed: Any) -> None:
    errors = [
        o for c in executed.cells if c.cell_type == "code" for o in c.outputs
        if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
    ]  # fmt: skip
    assert not errors, f"the notebook wrote errors: {errors}"


def test_notebook_shows_the_summary_then_the_article_highlighted(executed: Any) -> None:
    alone = Parsed(html_of(executed, "summary  # items and quotes"))
    assert "Venues (1)" in alone.text and alone.article == ""
    view = Parsed(html_of(executed, "summary.display(article)  # hover"))
    seed = (EXAMPLES.parent / "seeds" / "vladivostok-2025-09-06.txt").read_text(encoding="utf-8")
    assert view.article == seed and len(view.span_text) == 3
    assert all(text in seed for text in view.span_text.values())


def test_notebook_shows_the_tables_and_the_batch(executed: Any) -> None:
    table = html_of(executed, "summary.to_dataframe()")
    assert "<table" in table and "<td>RUS</td>" in table and "<td>threat</td>" in table
    batch = Parsed(html_of(executed, "ids=articles"))
    rows = [a for t, a in batch.tags if t == "tr"]
    assert len(rows) == 4 and "EmptyInputError" in batch.text
    frame = html_of(executed, 'batch.to_dataframe()[["article_id"')
    assert frame.count("seed-updated") == 3 and "EmptyInputError" in frame
    (printed,) = outputs(executed, "model calls")
    assert printed.text.startswith("2 summarized, failed: ['empty']; model calls: 2")
