"""Align model-supplied quotes to character offsets in the original article text.

The cascade is exact -> normalized -> ellipsis -> fuzzy -> none; the first stage that
finds the quote wins. Offsets always refer to the original text, so ``text[start:end]``
is the matched span.

A near match that changes what the article says is refused (``match="none"``, with the
reason in ``Alignment.rejected``):

- A fuzzy match is compared word by word with the span it found. Forgiven: case, accents,
  quotation marks, punctuation, spacing and hyphenation, words of the span left out
  (elisions), inserted function words (articles, common prepositions, "and", "that") and
  one article swapped for another. Refused: any word the span does not have, substituted
  ("possible" for "impossible", a misspelling) or inserted ("all"); and any added, dropped
  or changed negation, number, date, modal, qualifier (only, even, almost, all, more...)
  or condition (if, unless). Contractions are expanded first: "can't", "cannot" and
  "can not" are the same words.
- A match at any stage may start or end inside a word, unless the word is a number or a
  negation ("500" of "1,500", "ever" of "never", "we can" of "we can't"), the part kept
  reads as another protected word ("seven" of "seventeen", "no" of "now"), or a negating
  prefix is cut off ("possible" of "impossible", "binding" of "non-binding").
- An ellipsis may skip anything but a negation inside one sentence: "these will ... be
  targets" is refused over "these will not be targets".

Limits: a quote that simply stops before a negation outside it ("legitimate targets" of
"no legitimate targets") is still grounded; the word lists are English.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property
from itertools import pairwise
from typing import Final, Literal, NamedTuple

from rapidfuzz import fuzz

MatchKind = Literal["exact", "normalized", "fuzzy", "none"]

FUZZY_MIN_SCORE: Final = 90.0
"""Rapidfuzz score (0-100) a fuzzy match must reach."""
FUZZY_MIN_QUOTE_CHARS: Final = 12
"""Shorter (normalized) quotes are never fuzzy-matched: too easy to match by chance."""
ELLIPSIS_MAX_GAP_CHARS: Final = 1500
"""Parts joined by an ellipsis must lie within this many chars of each other."""
EXACT_SCORE: Final = 100.0
"""Score reported for exact, normalized and ellipsis matches."""
FUZZY_EDGE_SLACK_CHARS: Final = 10
"""How far each edge of a fuzzy window may move while refining it to the best fit."""
NO_MATCH_SCORE: Final = 0.0
"""Score reported when the quote could not be grounded."""

# Marks a model may wrap around a quote; stripped only when they open AND close it.
# Escapes, not literals: these characters are easily confused with ASCII when reading.
_QUOTE_MARKS: Final = (
    "\"'`\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"
    "\u2018\u2019\u201a\u201b\u300c\u300d\u300e\u300f"
)
_DOUBLE_QUOTES: Final = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"  # curly, low-9, «», ″
_SINGLE_QUOTES: Final = "\u2018\u2019\u201a\u201b\u2032`"  # curly, low-9, prime, backtick
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"  # incl. minus sign
_CHAR_MAP: Final = str.maketrans(
    {
        **dict.fromkeys(_DOUBLE_QUOTES, '"'),
        **dict.fromkeys(_SINGLE_QUOTES, "'"),
        **dict.fromkeys(_DASHES, "-"),
        "\u2026": "...",  # horizontal ellipsis
    }
)
# An ellipsis, optionally bracketed as "[...]" or "(...)", with the whitespace around it.
_ELLIPSIS_RE: Final = re.compile(r"\s*[\[(]?(?:\.{3,}|\u2026)[\])]?\s*")

# --- words whose change alters what a quote says ---------------------------------------


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_NEGATIONS: Final = _wordset(
    "not no never neither nor none nothing nobody noone nowhere without hardly scarcely "
    "barely seldom rarely non"
)
_NUMBER_WORDS: Final = _wordset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred hundreds thousand thousands million millions billion billions "
    "trillion trillions dozen dozens half quarter once twice thrice single double triple "
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "twentieth thirtieth fiftieth hundredth thousandth millionth"
)
_MODALS: Final = _wordset("will would shall should may might can could must ought 'd")
_DATES: Final = _wordset(
    "january february march april june july august september october november december "
    "jan feb apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday yesterday today tomorrow tonight ago last next"
)
_QUALIFIERS: Final = _wordset(
    "only just even almost nearly merely solely mostly largely partly partially all every "
    "each some any many much few fewer several more most less least both either"
)
_CONDITIONS: Final = frozenset({"if", "unless", "whether"})
# Checked in this order: "may" is a modal before it is a month.
_PROTECTED: Final[tuple[tuple[str, Callable[[str], bool]], ...]] = (
    ("negation", _NEGATIONS.__contains__),
    ("number", lambda w: w in _NUMBER_WORDS or _has_digit(w)),
    ("modal", _MODALS.__contains__),
    ("date", _DATES.__contains__),
    ("qualifier", _QUALIFIERS.__contains__),
    ("condition", _CONDITIONS.__contains__),
)
_ARTICLES: Final = frozenset({"a", "an", "the"})
# Words a fuzzy quote may add without changing what the article says.
_FUNCTION_WORDS: Final = _ARTICLES | _wordset("of in on at to for by with from into as and that")
_NEGATING_PREFIXES: Final = frozenset({"un", "in", "im", "il", "ir", "non", "dis", "anti"})
_HYPHENS: Final = "-\u2010\u2011"
_JOINERS: Final = "'\u2019.,:"  # may sit inside a word or number: can't, 1,500, 3.5
_CLITICS: Final = {"'ll": "will", "'re": "are", "'ve": "have", "'m": "am", "'d": "'d", "'s": "'s"}
_NOT_STEMS: Final = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}  # can't, won't...
# A number (1,500 / 3.5bn / 13th / 10:30) or a word, apostrophes inside it included.
_WORD_RE: Final = re.compile(
    r"\d+(?:[.,:]\d+)*[^\W_]*|[^\W\d_](?:[^\W_]|[\u0300-\u036f]|['\u2019](?=[^\W_]))*"
)
_NEGATION_RE: Final = re.compile(
    rf"\b(?:{'|'.join(sorted(_NEGATIONS))}|cannot|\w+n['\u2019]t)\b", re.IGNORECASE
)
_SENTENCE_END_RE: Final = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?:\s|$)|\n\s*\n")
_CONTEXT_CHARS: Final = 80
"""Article text either side of a fuzzy span whose words may extend it."""
_LONGEST_WORD_CHARS: Final = 64
"""How far back to look for the start of the word at a span's edge."""


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where a quote was found in the article.

    Attributes:
        start: Offset of the first matched character, or None when not grounded.
        end: Offset just past the last matched character, or None when not grounded.
        match: Which cascade stage matched.
        score: 100.0 for exact/normalized, the rapidfuzz score for fuzzy, 0.0 for none.
        rejected: Why a near match was refused because it changes what the article says,
            e.g. "changes a negation: adds 'not'"; None otherwise.
    """

    start: int | None
    end: int | None
    match: MatchKind
    score: float
    rejected: str | None = None

    @property
    def grounded(self) -> bool:
        """Whether the quote was found at all."""
        return self.match != "none"


_NO_MATCH: Final = Alignment(None, None, "none", NO_MATCH_SCORE)

Span = tuple[int, int]


def _refused(reason: str) -> Alignment:
    return Alignment(None, None, "none", NO_MATCH_SCORE, reason)


class _Normalized(NamedTuple):
    """Normalized text plus, per normalized char, the original span it came from."""

    text: str
    starts: list[int]
    ends: list[int]


def _clusters(text: str) -> Iterator[Span]:
    """Yields (start, end) of each base char together with its combining marks."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        yield i, j
        i = j


def _is_ignorable(ch: str) -> bool:
    """Invisible format chars (soft hyphen, zero-width space) and variation selectors."""
    return unicodedata.category(ch) == "Cf" or "\ufe00" <= ch <= "\ufe0f"


def _normalize(text: str) -> _Normalized:
    """Unifies quotes, dashes, whitespace, case and ellipses, keeping an offset map."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _clusters(text):
        unit = unicodedata.normalize("NFKC", text[start:end].translate(_CHAR_MAP))
        # Translate again: NFKC can produce chars the map unifies (e.g. small em dash).
        for ch in unit.casefold().translate(_CHAR_MAP):
            if ch.isspace():
                if chars and chars[-1] == " ":
                    continue
                ch = " "
            elif _is_ignorable(ch):
                continue
            chars.append(ch)
            starts.append(start)
            ends.append(end)
    return _Normalized("".join(chars), starts, ends)


def _strip_quote(quote: str) -> str:
    """Removes surrounding whitespace and quotation marks the model may have added."""
    quote = quote.strip()
    while len(quote) >= 2 and quote[0] in _QUOTE_MARKS and quote[-1] in _QUOTE_MARKS:
        quote = quote[1:-1].strip()
    return quote


def _find_all(haystack: str, needle: str, start: int = 0) -> Iterator[int]:
    """Yields every (possibly overlapping) index of needle in haystack from start on."""
    pos = haystack.find(needle, start)
    while pos != -1:
        yield pos
        pos = haystack.find(needle, pos + 1)


def _trim(text: str, start: int, end: int) -> Span:
    """Shrinks [start, end) so it neither begins nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _refine_window(needle: str, haystack: str, start: int, end: int) -> tuple[int, int, float]:
    """Moves each edge of haystack[start:end] by up to the slack to best fit needle.

    ``partial_ratio`` windows have the needle's length, so an inserted or dropped
    char shifts them; trying nearby edges recovers the intended span. Ties go to
    the smallest edge movement.
    """

    def fit(edges: Span) -> tuple[float, int]:
        moved = abs(edges[0] - start) + abs(edges[1] - end)
        return fuzz.ratio(needle, haystack[edges[0] : edges[1]]), -moved

    slack = range(-FUZZY_EDGE_SLACK_CHARS, FUZZY_EDGE_SLACK_CHARS + 1)
    candidates = [
        (start + ds, end + de)
        for ds in slack
        for de in slack
        if 0 <= start + ds < end + de <= len(haystack)
    ]
    best = max(candidates, key=fit)
    return best[0], best[1], fit(best)[0]


def _snap_to_words(text: str, start: int, end: int) -> Span:
    """Widens [start, end) so it does not cut a word in half at either edge."""
    while 0 < start < end and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while start < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def _has_alnum(part: str) -> bool:
    return any(ch.isalnum() for ch in part)


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


# --- word-level checks -------------------------------------------------------------------


class _Word(NamedTuple):
    """A folded word and the original span of the token it came from."""

    text: str
    start: int
    end: int


def _fold(token: str) -> list[str]:
    """Case- and accent-folds a token and expands its contraction ("can't" -> can, not)."""
    word = token.casefold().replace("\u2019", "'")
    if not word.isascii():
        decomposed = unicodedata.normalize("NFKD", word)
        word = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if "'" not in word:
        return ["can", "not"] if word == "cannot" else [word]
    if word.endswith("n't") and len(word) > 3:
        stem = word[:-3]
        return [_NOT_STEMS.get(stem, stem), "not"]
    for clitic, expanded in _CLITICS.items():
        if word.endswith(clitic) and len(word) > len(clitic):
            return [word[: -len(clitic)], expanded]
    return [word]


def _words(text: str, lo: int = 0, hi: int | None = None) -> list[_Word]:
    """The folded words of ``text[lo:hi]``, each with its token's offsets in ``text``."""
    matches = _WORD_RE.finditer(text, lo, len(text) if hi is None else hi)
    return [_Word(w, m.start(), m.end()) for m in matches for w in _fold(m.group())]


def _protected_change(said: list[str], wrote: list[str]) -> str | None:
    """Names a negation, number, date... the quote adds, drops or changes, if any."""
    added, dropped = Counter(said) - Counter(wrote), Counter(wrote) - Counter(said)
    for kind, is_kind in _PROTECTED:
        new = [w for w in added if is_kind(w)]
        old = [w for w in dropped if is_kind(w)]
        if new and old:
            return f"changes a {kind}: {' '.join(old)!r} to {' '.join(new)!r}"
        if new or old:
            return f"changes a {kind}: {'adds' if new else 'drops'} {' '.join(new or old)!r}"
    return None


def _edit_refusal(said: list[str], wrote: list[str]) -> str | None:
    """Why replacing the article's words ``wrote`` by the quote's ``said`` is refused.

    Args:
        said: The quote's words in one stretch where it differs from the span.
        wrote: The span's words in that stretch (empty for a pure insertion).

    Returns:
        A short reason, or None when the difference is forgivable.
    """
    if reason := _protected_change(said, wrote):  # first: "nowhere" is not "now here"
        return reason
    if "".join(said).replace("'", "") == "".join(wrote).replace("'", ""):
        return None  # spacing or hyphenation: "short-sighted" vs "shortsighted"
    if said and wrote:
        if len(said) == len(wrote) and _ARTICLES.issuperset(said + wrote):
            return None
        return f"changes a word: {' '.join(wrote)!r} to {' '.join(said)!r}"
    if any(w not in _FUNCTION_WORDS for w in said):
        return f"adds a word: {' '.join(said)!r}"
    return None


def _diff(said: list[str], wrote: list[str]) -> SequenceMatcher[str]:
    # Longest common runs first keeps a repeated word ("the") matched where it belongs.
    return SequenceMatcher(None, said, wrote, autojunk=False)


def _fit(said: list[str], near: list[_Word], lo: int, hi: int) -> Span | None:
    """Fits the word range ``near[lo:hi]`` of a fuzzy span to the quote's words ``said``.

    Span words outside the quote's first and last matched words are trimmed off; quote
    words before (after) them are given the article words just outside (see
    `_edge_words`). Finally the range is widened to whole tokens, so "can't" is never
    split.

    Returns:
        The fitted range, or None when the quote and the span share no word.
    """
    matched = _diff(said, [w.text for w in near[lo:hi]]).get_matching_blocks()
    blocks = [block for block in matched if block.size]
    if not blocks:
        return None
    first, last = blocks[0], blocks[-1]
    new_lo, new_hi = lo + first.b, lo + last.b + last.size
    before = [w.text for w in reversed(near[:new_lo])]
    new_lo -= _edge_words(said[: first.a][::-1], before, backwards=True)
    new_hi += _edge_words(said[last.a + last.size :], [w.text for w in near[new_hi:]])
    while 0 < new_lo < len(near) and near[new_lo - 1].start == near[new_lo].start:
        new_lo -= 1
    while 0 < new_hi < len(near) and near[new_hi].start == near[new_hi - 1].start:
        new_hi += 1
    return new_lo, new_hi


def _completed_edges(said: list[str], wrote: list[str]) -> list[str]:
    """The quote's words, its first (last) word completed from the span's when cut short.

    A quote may start or end inside a word ("ceed from the fact" for "proceed from the
    fact"), as exact matches may, under the same rule (`_cut_word_refusal`).
    """
    if not said or not wrote:
        return said
    said = list(said)
    first, last = (said[0], wrote[0]), (said[-1], wrote[-1])
    if first[0] != first[1] and first[1].endswith(first[0]):
        cut = first[1][: -len(first[0])]
        said[0] = first[0] if _cut_word_refusal(first[1], first[0], cut) else first[1]
    if last[0] != last[1] and last[1].startswith(last[0]):
        said[-1] = last[0] if _cut_word_refusal(last[1], last[0]) else last[1]
    return said


def _edge_words(extra: list[str], outside: list[str], *, backwards: bool = False) -> int:
    """How many article words beyond a span edge stand for the quote's unmatched edge words.

    Both lists run away from the edge. Equal words are taken; what is left of ``extra``
    takes nothing when it is function words (an insertion), article words whose letters
    it joins ("shortsighted" for "short-sighted"), else as many words as it has, so the
    check sees a changed word and names it.
    """
    taken = 0
    while taken < min(len(extra), len(outside)) and extra[taken] == outside[taken]:
        taken += 1
    rest = extra[taken:]
    if not rest or _edit_refusal(rest, []) is None:
        return taken

    def joined(words: list[str]) -> str:
        return "".join(words[::-1] if backwards else words).replace("'", "")

    for end in range(taken + 1, min(len(outside), taken + len(rest) + 2) + 1):
        if joined(outside[taken:end]) == joined(rest):
            return end
    return min(len(outside), taken + len(rest))


def _cut_refusal(text: str, start: int, end: int) -> str | None:
    """Why a span whose edge cuts a word changes what the article says, or None.

    A span may start or end inside a word unless `_cut_word_refusal` objects, or it starts
    just after a negating prefix and hyphen ("binding" of "non-binding").
    """
    for edge in (start, end):
        if not _may_cut_a_word(text, edge):
            continue
        token = _token_at(text, edge)
        if token is not None and token.start() < edge < token.end():
            at = edge - token.start()
            word = token.group()
            cut = (word[at:], word[:at]) if edge == start else (word[:at], "")
            if reason := _cut_word_refusal(word, *cut):
                return reason
    if start > 1 and text[start - 1] in _HYPHENS and text[start : start + 1].isalnum():
        prefix = _token_at(text, start - 1)
        if prefix is not None and prefix.group().casefold() in _NEGATING_PREFIXES:
            word = text[prefix.start() : start] + text[start:end].split(maxsplit=1)[0]
            return f"changes a negation: the article says {word!r}"
    return None


def _may_cut_a_word(text: str, edge: int) -> bool:
    """Cheap test: whether ``edge`` may fall inside a word or number (else it cannot)."""
    left, right = text[edge - 1 : edge] if edge else "", text[edge : edge + 1]
    if not (left and right) or left.isspace() or right.isspace():
        return False
    return (left.isalnum() or left in _JOINERS) and (right.isalnum() or right in _JOINERS)


def _cut_word_refusal(word: str, kept: str, cut_prefix: str = "") -> str | None:
    """Why a quote may not keep only ``kept`` of the article's ``word``, or None.

    Refused: any part of a number ("500" of "1,500") or of a negation ("ever" of "never",
    "can" of "can't"); a part that reads as a protected word the article's word is not
    ("seven" of "seventeen", "no" of "north"); a part left when a negating prefix is cut
    off ("possible" of "impossible"). Other fragments ("ould" of "would") are harmless.

    Args:
        word: The whole word (token) in the article.
        kept: The part of it inside the quote.
        cut_prefix: The leading part left out, when the quote starts inside the word.
    """
    whole = _fold(word)
    if _has_digit(word):
        return f"changes a number: the article says {word!r}"
    if any(w in _NEGATIONS for w in whole) or cut_prefix.casefold() in _NEGATING_PREFIXES:
        return f"changes a negation: the article says {word!r}"
    for kind, is_kind in _PROTECTED:
        if any(is_kind(w) and w not in whole for w in _fold(kept)):
            return f"changes a {kind}: the article says {word!r}"
    return None


def _token_at(text: str, pos: int) -> re.Match[str] | None:
    """The word or number containing or ending at ``pos``."""
    lo, floor = pos, max(0, pos - _LONGEST_WORD_CHARS)
    while lo > floor and not text[lo - 1].isspace():
        lo -= 1
    for token in _WORD_RE.finditer(text, lo, pos + 1):
        if token.start() <= pos <= token.end():
            return _WORD_RE.match(text, token.start()) or token
    return None


def _gap_refusal(text: str, start: int, end: int) -> str | None:
    """Why an ellipsis may not skip ``text[start:end]``: a negation in the same sentence."""
    gap = text[start:end]
    if _SENTENCE_END_RE.search(gap) or not (skipped := _NEGATION_RE.search(gap)):
        return None
    return f"changes a negation: the ellipsis skips {skipped.group()!r}"


class Aligner:
    """Aligns quotes to one article.

    Remembers spans already returned so a repeated phrase maps to its first UNUSED
    occurrence; once every occurrence is used, the first occurrence is returned again.
    """

    def __init__(self, text: str) -> None:
        """Prepares alignment against ``text`` (normalized lazily, on first need)."""
        self._text = text
        self._used: list[Span] = []

    @cached_property
    def _norm(self) -> _Normalized:
        return _normalize(self._text)

    def align(self, quote: str) -> Alignment:
        """Finds ``quote`` in the article and records the returned span as used.

        Args:
            quote: Text the model claims is verbatim from the article.

        Returns:
            The alignment; ``Alignment(None, None, "none", 0.0)`` if nothing matched, with
            ``rejected`` set when a near match was refused for changing the meaning.
        """
        result = self._match(_strip_quote(quote))
        if result.start is not None and result.end is not None:
            self._used.append((result.start, result.end))
        return result

    def _match(self, quote: str) -> Alignment:
        if not quote:
            return _NO_MATCH
        rejected: str | None = None
        for stage in (self._exact, self._normalized, self._ellipsis, self._fuzzy):
            result = stage(quote)
            if result is not None:
                if result.grounded:
                    return result
                rejected = rejected or result.rejected
        return _refused(rejected) if rejected else _NO_MATCH

    def _pick(self, spans: Iterator[Span]) -> Span | None:
        """Returns the first span not overlapping a used one, else the first span."""
        first: Span | None = None
        for start, end in spans:
            if not any(start < u_end and u_start < end for u_start, u_end in self._used):
                return start, end
            if first is None:
                first = start, end
        return first

    def _pick_acceptable(
        self, candidates: Iterable[tuple[Span, str | None]], kind: MatchKind
    ) -> Alignment | None:
        """Picks among candidate spans, skipping refused ones (each paired with its reason).

        Returns:
            The picked span; a refusal when every candidate was refused; None when none.
        """
        refusals: list[str] = []

        def acceptable() -> Iterator[Span]:
            for span, reason in candidates:
                if reason is None:
                    yield span
                else:
                    refusals.append(reason)

        span = self._pick(acceptable())
        if span is not None:
            return Alignment(*span, kind, EXACT_SCORE)
        return _refused(refusals[0]) if refusals else None

    def _norm_span(self, norm_start: int, length: int) -> Span:
        """Maps a match in the normalized text back to original offsets."""
        norm = self._norm
        return norm.starts[norm_start], norm.ends[norm_start + length - 1]

    def _checked(self, spans: Iterable[Span]) -> Iterator[tuple[Span, str | None]]:
        for span in spans:
            yield span, _cut_refusal(self._text, *span)

    def _exact(self, quote: str) -> Alignment | None:
        spans = ((pos, pos + len(quote)) for pos in _find_all(self._text, quote))
        return self._pick_acceptable(self._checked(spans), "exact")

    def _normalized(self, quote: str) -> Alignment | None:
        needle = _normalize(quote).text.strip()
        if not needle:
            return None
        positions = _find_all(self._norm.text, needle)
        spans = (self._norm_span(pos, len(needle)) for pos in positions)
        return self._pick_acceptable(self._checked(spans), "normalized")

    def _ellipsis(self, quote: str) -> Alignment | None:
        pieces = _ELLIPSIS_RE.split(quote)
        # Pure-punctuation leftovers (e.g. the "." in "... .") would anchor anywhere.
        parts = [piece for piece in pieces if _has_alnum(piece)]
        if len(pieces) < 2 or not parts:
            return None
        chains = (
            ((chain[0][0], chain[-1][1]), self._chain_refusal(chain))
            for chain in self._ellipsis_chains(parts)
        )
        return self._pick_acceptable(chains, "normalized")

    def _chain_refusal(self, chain: list[Span]) -> str | None:
        """Why a chain of ellipsis parts changes the meaning: a cut word or skipped negation."""
        for (_, gap_start), (gap_end, _) in pairwise(chain):
            if reason := _gap_refusal(self._text, gap_start, gap_end):
                return reason
        return next(filter(None, (_cut_refusal(self._text, *part) for part in chain)), None)

    def _ellipsis_chains(self, parts: list[str]) -> Iterator[list[Span]]:
        """Yields the part spans of each chain where all parts occur in order within the gaps.

        Each chain is anchored at a successive occurrence of the first part; later
        parts greedily take their earliest occurrence after the previous part.
        """
        lo = 0
        while (first := self._find_part(parts[0], lo, len(self._text))) is not None:
            chain = self._chain(parts[1:], first)
            if chain is not None:
                yield chain
            lo = first[0] + 1

    def _chain(self, parts: list[str], first: Span) -> list[Span] | None:
        """Spans of ``first`` and each part following the previous one within the gap."""
        chain = [first]
        for part in parts:
            end = chain[-1][1]
            found = self._find_part(part, end, end + ELLIPSIS_MAX_GAP_CHARS)
            if found is None:
                return None
            chain.append(found)
        return chain

    def _find_part(self, part: str, lo: int, max_start: int) -> Span | None:
        """Earliest exact-or-normalized occurrence of part starting in [lo, max_start]."""
        candidates: list[Span] = []
        pos = self._text.find(part, lo, max_start + len(part))
        if pos != -1:
            candidates.append((pos, pos + len(part)))
        needle = _normalize(part).text.strip()
        norm = self._norm
        if needle:
            norm_lo = bisect_left(norm.starts, lo)
            norm_hi = bisect_left(norm.starts, max_start + 1) + len(needle)
            norm_pos = norm.text.find(needle, norm_lo, norm_hi)
            if norm_pos != -1:
                candidates.append(self._norm_span(norm_pos, len(needle)))
        valid = [span for span in candidates if lo <= span[0] <= max_start]
        # min() keeps the exact candidate on ties because it comes first.
        return min(valid, key=lambda span: span[0], default=None)

    def _fuzzy(self, quote: str) -> Alignment | None:
        needle = _normalize(quote).text.strip()
        norm = self._norm
        # A quote longer than the article would "match" by containing the whole article.
        if len(needle) < FUZZY_MIN_QUOTE_CHARS or len(needle) > len(norm.text):
            return None
        found = fuzz.partial_ratio_alignment(needle, norm.text, score_cutoff=FUZZY_MIN_SCORE)
        if found is None or found.dest_end <= found.dest_start:
            return None
        norm_start, norm_end, score = _refine_window(
            needle, norm.text, found.dest_start, found.dest_end
        )
        start, end = self._norm_span(norm_start, norm_end - norm_start)
        start, end = _snap_to_words(self._text, *_trim(self._text, start, end))
        if start >= end:
            return None
        return self._same_meaning(quote, start, end, score)

    def _same_meaning(self, quote: str, start: int, end: int, score: float) -> Alignment:
        """Fits a fuzzy span's edges to the quote's words, then checks every difference.

        What differs must be forgivable (see the module docstring); else the match is
        refused with the reason.
        """
        said = [w.text for w in _words(quote)]
        text = self._text
        near = _words(
            text, *_snap_to_words(text, max(0, start - _CONTEXT_CHARS), end + _CONTEXT_CHARS)
        )
        lo = bisect_left([w.start for w in near], start)
        hi = lo
        while hi < len(near) and near[hi].end <= end:
            hi += 1
        fitted = _fit(said, near, lo, hi)
        if fitted is None:
            return _refused("no words in common with the article")
        new_lo, new_hi = fitted
        wrote = [w.text for w in near[new_lo:new_hi]]
        said = _completed_edges(said, wrote)
        for tag, q_lo, q_hi, s_lo, s_hi in _diff(said, wrote).get_opcodes():
            if tag != "equal" and (reason := _edit_refusal(said[q_lo:q_hi], wrote[s_lo:s_hi])):
                return _refused(reason)
        start = start if new_lo == lo else near[new_lo].start
        end = end if new_hi == hi else near[new_hi - 1].end
        if reason := _cut_refusal(text, start, end):
            return _refused(reason)
        return Alignment(start, end, "fuzzy", score)


def align_quote(text: str, quote: str) -> Alignment:
    """Aligns one quote against ``text`` with a fresh :class:`Aligner`.

    Args:
        text: The original article text.
        quote: Text the model claims is verbatim from the article.

    Returns:
        The alignment of ``quote`` in ``text``.
    """
    return Aligner(text).align(quote)
