"""The HTML page in a real headless browser: Debian's chromium, driven by playwright.

`make test` installs chromium (Debian's package) when it is missing. Without it these tests
skip with a reason saying so, except under CI (``$CI`` set), where they fail. Screenshots are
kept in ``build/test-artifacts/browser/`` (or ``$SUMMARIZE_TEST_ARTIFACTS``), printed per test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from summarize import ArticleSummary
from summarize.cli import main
from summarize.display import KIND_COLOURS
from summarize.testing import FakeLLM, FakeLLMServer

from .conftest import SEED_ARTICLE
from .test_display import HOSTILE_ARTICLE, PAYLOAD, hostile_summary, rich_draft, spans_of

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = (
    Path(os.environ.get("SUMMARIZE_TEST_ARTIFACTS") or REPO / "build" / "test-artifacts")
    / "browser"
)
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's chromium (or another Chrome) on PATH or in the usual places, or None."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or next((p for p in CANDIDATES if os.access(p, os.X_OK)), None)


def _unavailable(reason: str) -> None:
    message = f"BROWSER TESTS NOT RUN: {reason} (`make chromium` or `apt-get install chromium`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless chromium context with a fresh profile, shut down after the module."""
    binary = find_chromium()
    if binary is None:
        _unavailable("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (it is in the dev extra)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=binary,
            headless=True,
            chromium_sandbox=False,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Loaded:
    """A page opened from a file, with everything it logged and requested."""

    def __init__(self, context: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri(), wait_until="load")
        self.url = path.as_uri()

    def highlighted(self) -> dict[str, str]:
        """The text highlighted for each span key, from the DOM."""
        return dict(
            self.page.evaluate(
                """() => {
                const out = {};
                for (const m of document.querySelectorAll(".sz-article mark")) {
                  const text = m.textContent;
                  for (const k of m.dataset.spans.split(" ")) out[k] = (out[k] || "") + text;
                }
                return out;
              }"""
            )
        )

    def screenshot(self, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            print(f"\n  screenshot: {path}")
        assert path.stat().st_size > 10_000, "the screenshot is empty"
        return path

    def offline(self) -> None:
        assert not self.errors, f"console errors: {self.errors}"
        others = [u for u in self.requests if u != self.url]
        assert not others, f"the page fetched something: {others}"


@pytest.fixture
def cli_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``summarize SEED --format html -o page.html`` against a scripted model on loopback."""
    out = tmp_path / "page.html"
    with FakeLLMServer(FakeLLM(rich_draft())) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        assert main([str(SEED_ARTICLE), "--no-cache", "--format", "html", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def rich(seed_article: str) -> ArticleSummary:
    return FakeLLM(rich_draft()).summarizer().summarize(seed_article)


def test_cli_page_loads_offline_and_highlights_spans_where_the_offsets_say(
    browser: Any,
    cli_page: Path,
    rich: ArticleSummary,
    seed_article: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loaded = Loaded(browser, cli_page)
    loaded.offline()
    article = loaded.page.evaluate('document.querySelector(".sz-article").textContent')
    assert article == seed_article, "the page does not show the article whole"
    highlighted = loaded.highlighted()
    expected = spans_of(rich)
    assert len(highlighted) == len(expected) == 5
    for n, (item_id, start, end, _) in enumerate(expected):
        assert highlighted[f"s{n}"] == seed_article[start:end], f"{item_id}: wrong highlight"
    loaded.screenshot("summary-page", capsys)


def test_spans_are_coloured_by_kind(browser: Any, cli_page: Path) -> None:
    page = Loaded(browser, cli_page).page
    for kind, (background, _) in KIND_COLOURS.items():
        colour = page.evaluate(
            f'getComputedStyle(document.querySelector("mark.sz-{kind}")).backgroundColor'
        )
        red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
        assert colour == f"rgb({red}, {green}, {blue})", f"{kind} spans are {colour}"


def test_hover_shows_the_item_and_clicking_an_item_scrolls_to_its_span(
    browser: Any, cli_page: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = Loaded(browser, cli_page)
    page = loaded.page
    page.set_viewport_size({"width": 1000, "height": 500})
    venue = page.locator("li.sz-venue")
    mark = page.locator("mark.sz-venue").first
    assert "v1: Moscow for Putin-Zelenskyy meeting" in (mark.get_attribute("title") or "")
    mark.scroll_into_view_if_needed()
    mark.hover()
    assert "sz-hot" in (venue.get_attribute("class") or ""), "hovering a span lit no item"
    page.mouse.move(0, 0)
    assert "sz-hot" not in (venue.get_attribute("class") or "")

    visible = """(sel) => {
      const m = document.querySelector(sel).getBoundingClientRect();
      const pane = document.querySelector(".sz-article").getBoundingClientRect();
      return m.top >= pane.top && m.bottom <= pane.bottom;
    }"""
    page.evaluate('document.querySelector(".sz-article").scrollTop = 0')
    assert not page.evaluate(visible, "mark.sz-rebuttal"), "the rebuttal's span starts in view"
    page.locator("li.sz-rebuttal .sz-id").click()
    page.wait_for_function(visible, arg="mark.sz-rebuttal", timeout=5000)
    loaded.offline()
    loaded.screenshot("after-click", capsys)


def test_hostile_article_and_answers_run_no_script_of_their_own(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = hostile_summary(HOSTILE_ARTICLE)
    path = summary.display(HOSTILE_ARTICLE).save(tmp_path / "hostile.html", PAYLOAD)
    loaded = Loaded(browser, path)
    page = loaded.page
    page.locator("mark").first.hover()
    assert page.evaluate("window.__pwned") is None, "markup from the data ran"
    assert not loaded.dialogs, f"dialogs opened: {loaded.dialogs}"
    assert page.evaluate('document.querySelectorAll("script, img, svg, i").length') == 1
    assert PAYLOAD in page.evaluate('document.querySelector(".sz-article").textContent')
    assert page.title() == PAYLOAD
    loaded.offline()
    loaded.screenshot("hostile-page", capsys)
