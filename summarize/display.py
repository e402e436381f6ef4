"""HTML and Markdown views of summaries: for notebooks, and for a self-contained page.

An `ArticleSummary` does not carry its article, so there are two views::

    summary                     # in a notebook: items and quotes (ArticleSummary._repr_html_)
    summary.display(article)    # a SummaryView: the same, beside the article with every
                                # evidence span highlighted and coloured by kind

In the article view, hovering a span shows its item (and highlights it in the list), clicking
an item or a quote scrolls to its span, and a rebuttal links to the item it answers. Quotes
that were not found in the article and dropped items are listed apart; how the summary was
made is in the footer. `page` wraps a view in a complete HTML document with no external
assets (``summarize FILE --format html``).

Every text, the article's and the model's alike, is escaped: neither can add markup. The
only script is this module's own, a few lines, identical in every view.
"""

from __future__ import annotations

import html
import itertools
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from summarize.items import EntryData, Evidence, Item, Meta, Rebuttal, SummaryData

__all__ = [
    "KIND_COLOURS",
    "SummaryView",
    "batch_html",
    "batch_markdown",
    "page",
    "summary_html",
    "summary_markdown",
]

#: Highlight colour of each kind of item (background, border).
KIND_COLOURS: Final = {
    "warning": ("#fde2e1", "#d93025"),
    "position": ("#e1ecfd", "#1a73e8"),
    "venue": ("#e2f5e6", "#188038"),
    "rebuttal": ("#f3e5fb", "#9334e6"),
}
_SECTIONS: Final = (
    ("warning", "Warnings"),
    ("position", "Positions"),
    ("venue", "Venues"),
    ("rebuttal", "Rebuttals"),
)

_STYLE: Final = (
    "<style>"
    ".sz-root{font:14px/1.5 system-ui,sans-serif;color:#202124;max-width:1200px}"
    ".sz-root h3{font-size:15px;margin:12px 0 4px;padding-left:6px;border-left:4px solid}"
    ".sz-cols{display:flex;gap:24px;align-items:flex-start}"
    ".sz-cols>*{flex:1;min-width:0}"
    ".sz-article{white-space:pre-wrap;max-height:80vh;overflow:auto;padding:8px;"
    "border:1px solid #dadce0;border-radius:4px}"
    ".sz-root ul{margin:0;padding-left:18px}"
    ".sz-item{margin:4px 0;padding:2px 6px;border-left:4px solid transparent;cursor:pointer}"
    ".sz-id{font-weight:600;font-family:monospace}"
    ".sz-quote{color:#3c4043;font-size:13px}"
    ".sz-meta,.sz-none{color:#5f6368;font-size:12px}"
    ".sz-root footer{margin-top:12px;border-top:1px solid #dadce0;padding-top:4px}"
    ".sz-root mark{color:inherit;border-bottom:2px solid;padding:0 1px}"
    ".sz-inj{outline:1px dashed #b06000}"
    ".sz-hot{outline:2px solid #fbbc04;background:#fef7e0}"
    ".sz-root mark.sz-hot{background:#fde293}"
    ".sz-apart{margin-top:8px;padding:4px 8px;background:#f8f9fa;border-radius:4px}"
    ".sz-batch{border-collapse:collapse;font-size:13px}"
    ".sz-batch td,.sz-batch th{border:1px solid #dadce0;padding:2px 6px;text-align:left;"
    "vertical-align:top}"
    ".sz-error{color:#b3261e}"
    + "".join(
        f".sz-root .sz-{kind}{{border-color:{line}}}.sz-root mark.sz-{kind}{{background:{bg}}}"
        for kind, (bg, line) in KIND_COLOURS.items()
    )
    + "</style>"
)

# Wires every view on the page once: hover a span or an item to light up the other, click an
# item to scroll to its first span. Keys (s3, i2) and element ids are generated here, never
# taken from the summary, so no text reaches a selector.
_SCRIPT: Final = """<script>(function () {
  document.querySelectorAll(".sz-root:not([data-sz-ready])").forEach(function (root) {
    root.setAttribute("data-sz-ready", "1");
    function all(sel) { return root.querySelectorAll(sel); }
    function light(attr, keys, on) {
      (keys || "").split(" ").forEach(function (key) {
        if (key) all("[" + attr + '~="' + key + '"]').forEach(function (el) {
          el.classList.toggle("sz-hot", on);
        });
      });
    }
    function hover(el, attr, keys) {
      el.addEventListener("mouseenter", function () { light(attr, keys, true); });
      el.addEventListener("mouseleave", function () { light(attr, keys, false); });
    }
    all("mark[data-items]").forEach(function (mark) {
      hover(mark, "data-key", mark.dataset.items);
    });
    all(".sz-item[data-spans]").forEach(function (item) {
      hover(item, "data-spans", item.dataset.spans);
      item.addEventListener("click", function (event) {
        if (event.target.closest("a")) return;
        var first = all('mark[data-spans~="' + item.dataset.spans.split(" ")[0] + '"]')[0];
        if (first) first.scrollIntoView({block: "center"});
      });
    });
  });
})();</script>"""


def summary_html(summary: SummaryData, article: str | None = None) -> str:
    """The summary as an HTML fragment (style and script included), with the article if given.

    Raises:
        ValueError: `article` is not the text the summary was made from.
    """
    return f"{_STYLE}{_View(summary, article).render()}{_SCRIPT}"


def summary_markdown(summary: SummaryData) -> str:
    """The summary as Markdown, every text escaped (Markdown and HTML alike)."""
    return "\n".join(_markdown_lines(summary)) + "\n"


def batch_html(batch: Sequence[EntryData], *, details: bool = False) -> str:
    """A batch as a compact HTML table, one row per article; `details` adds every view below."""
    uid = f"sz-{uuid.uuid4().hex[:8]}"
    rows = "".join(_batch_row(f"{uid}-a{n}", entry, details) for n, entry in enumerate(batch))
    head = "".join(
        f"<th>{h}</th>"
        for h in ("article", "summary", "W", "P", "V", "R", "model", "tokens", "s", "cache")
    )
    parts = [f'<div class="sz-root"><table class="sz-batch"><tr>{head}</tr>{rows}</table></div>']
    if details:
        for n, entry in enumerate(batch):
            if entry.summary is not None:
                view = _View(entry.summary, entry.article, uid=f"{uid}-a{n}")
                parts.append(f'<h2 id="{uid}-a{n}-h">{_e(entry.id)}</h2>{view.render()}')
    return _STYLE + "".join(parts) + (_SCRIPT if details else "")


def batch_markdown(batch: Iterable[EntryData]) -> str:
    """A batch as a Markdown table, one row per article."""
    lines = ["| article | summary | W | P | V | R | model |", "|---|---|---|---|---|---|---|"]
    for entry in batch:
        s = entry.summary
        if s is None:
            lines.append(f"| {_md(entry.id)} | **error**: {_md(_error_line(entry.error))} |||||")
            continue
        counts = " | ".join(str(len(x)) for x in (s.warnings, s.positions, s.venues, s.rebuttals))
        lines.append(
            f"| {_md(entry.id)} | {_md(_short(s.summary))} | {counts} | {_md(s.meta.model)} |"
        )
    return "\n".join(lines) + "\n"


def page(body: str, *, title: str = "summarize") -> str:
    """A complete, self-contained HTML document around a fragment (no external assets)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


@dataclass(frozen=True, slots=True)
class SummaryView:
    """A summary shown with its article: displays itself in notebooks, saves as a page.

    Attributes:
        summary: What was summarized.
        article: The text it was made from (offsets index it); None shows quotes only.
    """

    summary: SummaryData
    article: str | None = None

    def __post_init__(self) -> None:
        if self.article is not None:
            _check_offsets(self.summary, self.article)

    def html(self) -> str:
        """The view as an HTML fragment."""
        return summary_html(self.summary, self.article)

    def markdown(self) -> str:
        """The summary as Markdown (the article is not part of it)."""
        return summary_markdown(self.summary)

    def page(self, title: str = "summarize") -> str:
        """The view as a complete HTML document."""
        return page(self.html(), title=title)

    def save(self, path: str | Path, title: str = "summarize") -> Path:
        """Write the page to `path` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.page(title), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# Inline markup; every escaped text sits mid-line, so block markers (#, -, 1.) cannot start.
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]|~])")


def _md(text: str) -> str:
    """Text that Markdown shows as written: one line, markup escaped, no raw HTML."""
    flat = " ".join(text.split())
    return html.escape(_MD_SPECIAL.sub(r"\\\1", flat), quote=False)


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _error_line(error: BaseException | None) -> str:
    if error is None:
        return "no summary"
    lines = str(error).strip().splitlines()
    return _short(f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": "), 240)


def _check_offsets(summary: SummaryData, article: str) -> None:
    for item in summary.items():
        for e in item.evidence:
            if e.grounded and article[e.start : e.end] != e.quote:
                raise ValueError(
                    f"not the article this summary was made from: {item.id}'s quote "
                    f"{_short(e.quote, 60)!r} is not at {e.start}:{e.end}"
                )


@dataclass(frozen=True, slots=True)
class _Span:
    key: str  # s0, s1, ...: generated, safe in selectors and ids
    item_key: str
    item: Item
    start: int
    end: int


class _View:
    """One rendering of a summary; keys and ids are made here, never from the summary."""

    def __init__(self, summary: SummaryData, article: str | None, uid: str | None = None) -> None:
        if article is not None:
            _check_offsets(summary, article)
        self.summary = summary
        self.article = article
        self.uid = uid or f"sz-{uuid.uuid4().hex[:8]}"
        self.items = list(summary.items())
        self.item_keys = {id(item): f"i{n}" for n, item in enumerate(self.items)}
        self.by_id = {item.id: item for item in self.items}
        self.spans: list[_Span] = []
        self.span_keys: dict[tuple[int, int], str] = {}  # (item index, evidence index) -> key
        for n, item in enumerate(self.items):
            for m, e in enumerate(item.evidence):
                if article is not None and e.start is not None and e.end is not None:
                    key = f"s{len(self.spans)}"
                    self.spans.append(_Span(key, f"i{n}", item, e.start, e.end))
                    self.span_keys[(n, m)] = key

    def render(self) -> str:
        items = self._items()
        if self.article is not None:
            items = f'<div class="sz-cols"><div>{items}</div>{self._article()}</div>'
        return (
            f'<div class="sz-root" id="{self.uid}">'
            f"<p><b>Summary.</b> {_e(self.summary.summary)}</p>"
            f"{items}{self._apart()}{_footer(self.summary.meta)}</div>"
        )

    def _items(self) -> str:
        out = []
        for kind, title in _SECTIONS:
            items = [(n, it) for n, it in enumerate(self.items) if it.category == kind]
            lis = "".join(self._item(n, item) for n, item in items)
            out.append(
                f'<h3 class="sz-{kind}">{title} ({len(items)})</h3>'
                + (f"<ul>{lis}</ul>" if lis else '<p class="sz-none">none found</p>')
            )
        return "".join(out)

    def _item(self, n: int, item: Item) -> str:
        key = f"i{n}"
        spans = " ".join(k for (i, _), k in self.span_keys.items() if i == n)
        quotes = "".join(
            f"<li>{self._quote(n, m, e)}</li>" for m, e in enumerate(item.evidence) if e.grounded
        )
        flag = "" if item.grounded else ' <span class="sz-error">(not grounded)</span>'
        if item.id in self.summary.meta.unattributed:
            flag += ' <span class="sz-error">(actor not named near the quote)</span>'
        return (
            f'<li class="sz-item sz-{item.category}" id="{self.uid}-{key}" data-key="{key}"'
            + (f' data-spans="{spans}"' if spans else "")
            + f'><span class="sz-id">{_e(item.id)}</span> {_e(item.headline())}{_codes(item)}'
            f"{self._answers(item)}{flag}"
            + (f'<ul class="sz-quote">{quotes}</ul>' if quotes else "")
            + "</li>"
        )

    def _quote(self, n: int, m: int, e: Evidence) -> str:
        quote = f"“{_e(e.quote)}”"
        key = self.span_keys.get((n, m))
        if key is not None:
            quote = f'<a href="#{self.uid}-{key}">{quote}</a>'
        who = f" — {_e(e.speaker)}" if e.speaker else ""
        via = f", via {_e(', '.join(e.via))}" if e.via else ""
        where = f"{e.attribution}{via}; {e.start}:{e.end}, {e.match}"
        return f'{quote}{who} <span class="sz-meta">({where})</span>'

    def _answers(self, item: Item) -> str:
        if not isinstance(item, Rebuttal):
            return ""
        target = self.by_id.get(item.answers_id) if item.answers_id else None
        if target is None:
            return f'<div class="sz-meta">answers: {_e(item.answers)}</div>'
        key = self.item_keys[id(target)]
        return (
            f'<div class="sz-meta">answers <a href="#{self.uid}-{key}" data-answers="{key}">'
            f"{_e(target.id)}: {_e(_short(target.headline(), 80))}</a></div>"
        )

    def _article(self) -> str:
        assert self.article is not None
        return f'<div class="sz-article">{"".join(self._segments(self.article))}</div>'

    def _segments(self, article: str) -> Iterator[str]:
        injected = self.summary.meta.instruction_spans
        cuts = {0, len(article)}
        for span in self.spans:
            cuts |= {span.start, span.end}
        for start, end in injected:
            cuts |= {min(start, len(article)), min(end, len(article))}
        bounds = sorted(cuts)
        starts: dict[int, list[str]] = {}
        for span in self.spans:
            starts.setdefault(span.start, []).append(span.key)
        for a, b in itertools.pairwise(bounds):
            for key in starts.get(a, ()):
                yield f'<span id="{self.uid}-{key}"></span>'
            text = _e(article[a:b])
            inj = any(s <= a and b <= e for s, e in injected)
            covering = [s for s in self.spans if s.start <= a and b <= s.end]
            if not covering:
                yield (
                    f'<span class="sz-inj" title="addressed to an AI model">{text}</span>'
                    if inj
                    else text
                )
                continue
            inner = min(covering, key=lambda s: s.end - s.start)
            title = "\n".join(f"{s.item.id}: {s.item.headline()}" for s in covering)
            keys = " ".join(s.key for s in covering)
            items = " ".join(dict.fromkeys(s.item_key for s in covering))
            classes = f"sz-{inner.item.category}" + (" sz-inj" if inj else "")
            yield (
                f'<mark class="{classes}" data-spans="{keys}" data-items="{items}" '
                f'title="{_e(title)}">{text}</mark>'
            )

    def _apart(self) -> str:
        lost = [
            f'<li><span class="sz-id">{_e(item.id)}</span> “{_e(e.quote)}”</li>'
            for item in self.items
            for e in item.evidence
            if not e.grounded
        ]
        m = self.summary.meta
        counts = [
            f"{n} {what}"
            for n, what in (
                (m.dropped_items, "item(s) dropped: no quote found in the article"),
                (m.dropped_evidence, "quote(s) dropped: not found in the article"),
                (m.dropped_injected, "item(s) dropped: resting on text addressed to an AI model"),
                (m.dropped_by_guards, "item(s) dropped by precision guards"),
                (m.dropped_unattributed, "item(s) dropped: actor not named near the evidence"),
            )
            if n
        ]
        if not lost and not counts:
            return ""
        listed = f"<p>Not found in the article:</p><ul>{''.join(lost)}</ul>" if lost else ""
        return (
            '<div class="sz-apart">'
            + listed
            + "".join(f'<p class="sz-meta">{_e(c)}</p>' for c in counts)
            + "</div>"
        )


def _codes(item: Item) -> str:
    codes = [c for c in (item.cameo and f"CAMEO {item.cameo}", item.plover) if c]
    return f' <span class="sz-meta">[{_e(", ".join(codes))}]</span>' if codes else ""


def _meta_line(m: Meta) -> str:
    parts = [
        f"model {m.model} ({m.backend})",
        f"strategy {m.strategy}",
        f"prompt {m.prompt}",
        f"{m.usage.total_tokens} tokens ({m.usage.prompt_tokens} in, "
        f"{m.usage.completion_tokens} out)",
        f"{m.attempts} call(s)",
        f"{m.latency_s:.2f} s",
        "cache hit" if m.cache_hit else "not from cache",
    ]
    if m.cache_error:
        parts.append(f"not cached: {m.cache_error}")
    if m.instruction_spans:
        parts.append(f"{len(m.instruction_spans)} passage(s) addressed to an AI model")
    return " · ".join(parts)


def _footer(m: Meta) -> str:
    return f'<footer class="sz-meta">{_e(_meta_line(m))}</footer>'


def _batch_row(anchor: str, entry: EntryData, details: bool) -> str:
    name = _e(entry.id)
    if details and entry.summary is not None:
        name = f'<a href="#{anchor}-h">{name}</a>'
    s = entry.summary
    if s is None:
        return (
            f'<tr><td>{name}</td><td class="sz-error" colspan="9">'
            f"{_e(_error_line(entry.error))}</td></tr>"
        )
    m = s.meta
    cells: Sequence[object] = (
        _short(s.summary),
        len(s.warnings),
        len(s.positions),
        len(s.venues),
        len(s.rebuttals),
        m.model,
        m.usage.total_tokens,
        f"{m.latency_s:.2f}",
        "hit" if m.cache_hit else "",
    )
    return f"<tr><td>{name}</td>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>"


def _markdown_lines(s: SummaryData) -> Iterator[str]:
    yield f"**Summary.** {_md(s.summary)}"
    by_id = {item.id: item for item in s.items()}
    for kind, title in _SECTIONS:
        items = [item for item in s.items() if item.category == kind]
        yield ""
        yield f"### {title} ({len(items)})"
        if not items:
            yield "- *none found*"
        for item in items:
            codes = [c for c in (item.cameo and f"CAMEO {item.cameo}", item.plover) if c]
            extra = f" \\[{_md(', '.join(codes))}\\]" if codes else ""
            yield f"- **{_md(item.id)}** {_md(item.headline())}{extra}"
            if isinstance(item, Rebuttal):
                target = by_id.get(item.answers_id or "")
                answers = f"{target.id}: {target.headline()}" if target else item.answers
                yield f"  - answers: {_md(answers)}"
            for e in item.evidence:
                if e.grounded:
                    who = f" — {_md(e.speaker)}" if e.speaker else ""
                    yield f"  - “{_md(e.quote)}”{who} ({e.attribution}; {e.start}:{e.end})"
    lost = [(item.id, e.quote) for item in s.items() for e in item.evidence if not e.grounded]
    m = s.meta
    if lost or m.dropped_items or m.dropped_evidence or m.dropped_injected:
        yield ""
        yield "### Not found in the article"
        for item_id, quote in lost:
            yield f"- **{_md(item_id)}** “{_md(quote)}”"
        yield (
            f"- dropped: {m.dropped_items} item(s), {m.dropped_evidence} quote(s), "
            f"{m.dropped_injected} injected item(s)"
        )
    yield ""
    yield f"*{_md(_meta_line(m))}*"
