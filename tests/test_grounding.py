import dataclasses
import random
from typing import Any

import pytest

from summarize.assemble import assemble
from summarize.draft import DraftSummary
from summarize.grounding import (
    ELLIPSIS_MAX_GAP_CHARS,
    FUZZY_MIN_QUOTE_CHARS,
    FUZZY_MIN_SCORE,
    Aligner,
    Alignment,
    align_quote,
)
from summarize.schema import ArticleSummary, Meta
from summarize.testing import FakeLLM
from tests.test_pipeline import INVENTED, MOSCOW, REJECT, THREAT, evidence, good_draft

ARTICLE = (
    "The minister said on Tuesday that the new budget would protect frontline services. "
    "Critics warned that it cuts 5% from local councils, which already face a shortfall "
    "of (a+b)? [x] $5 * in some accounting schemes. Councils in the north were hit hardest. "
    "A spokesperson for the opposition called the plan reckless and short-sighted, adding "
    "that it would take years to repair the damage done to libraries, parks and buses."
)


def span(text: str, result: Alignment) -> str:
    assert result.start is not None and result.end is not None, f"expected a span, got {result}"
    return text[result.start : result.end]


def assert_clean_edges(text: str, result: Alignment) -> None:
    matched = span(text, result)
    assert matched == matched.strip(), f"span has whitespace at its edges: {matched!r}"


# --- exact -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quote",
    [
        "The minister said on Tuesday",
        "protect frontline services.",
        "libraries, parks and buses.",
        "it cuts 5% from local councils",
        "short-sighted",
    ],
)
def test_exact_match_returns_the_quote_span(quote: str) -> None:
    result = align_quote(ARTICLE, quote)
    assert result.match == "exact", f"{quote!r} should match exactly, got {result}"
    assert result.score == 100.0, f"exact score should be 100, got {result.score}"
    assert result.grounded, "an exact match must count as grounded"
    assert span(ARTICLE, result) == quote, "exact span must equal the quote"


def test_regex_metacharacters_are_matched_literally() -> None:
    quote = "(a+b)? [x] $5 *"
    result = align_quote(ARTICLE, quote)
    assert result.match == "exact", f"metacharacter quote should match exactly, got {result}"
    assert span(ARTICLE, result) == quote, "metacharacter span must equal the quote"


@pytest.mark.parametrize(
    "quote",
    [
        '"protect frontline services"',
        "\u201cprotect frontline services\u201d",
        "'protect frontline services'",
        "  \u00abprotect frontline services\u00bb \n",
        "\"'protect frontline services'\"",
    ],
)
def test_surrounding_quote_marks_are_stripped(quote: str) -> None:
    result = align_quote(ARTICLE, quote)
    assert result.match == "exact", f"{quote!r} should match exactly once unwrapped, got {result}"
    assert span(ARTICLE, result) == "protect frontline services", "wrapper marks leaked into span"


@pytest.mark.parametrize("quote", ["", "   ", "\n\t", '""', "\u201c \u201d"])
def test_empty_quote_is_not_grounded(quote: str) -> None:
    result = align_quote(ARTICLE, quote)
    assert result == Alignment(None, None, "none", 0.0), f"empty quote {quote!r} gave {result}"
    assert not result.grounded, "an empty quote must not count as grounded"


# --- normalized --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quote", "expected"),
    [
        pytest.param(
            "He said \u201cno deal\u201d today.",
            'said "no deal" today',
            "said \u201cno deal\u201d today",
            id="curly-text-straight-quote",
        ),
        pytest.param(
            'He said "no deal" today.',
            "said \u201cno deal\u201d today",
            'said "no deal" today',
            id="straight-text-curly-quote",
        ),
        pytest.param(
            "It\u2019s over, she said.",
            "It's over",
            "It\u2019s over",
            id="apostrophe",
        ),
        pytest.param(
            "Prices rose \u2014 sharply \u2013 again.",
            "rose - sharply - again",
            "rose \u2014 sharply \u2013 again",
            id="em-en-dash-vs-hyphen",
        ),
        pytest.param(
            "A well-known fact.",
            "well\u2014known fact",
            "well-known fact",
            id="hyphen-vs-em-dash",
        ),
        pytest.param(
            "the   budget\n\twould\u00a0pass",
            "the budget would pass",
            "the   budget\n\twould\u00a0pass",
            id="whitespace-runs",
        ),
        pytest.param(
            "The Budget Would Pass.",
            "the budget would pass",
            "The Budget Would Pass",
            id="case",
        ),
        pytest.param(
            "Wait\u2026 what?",
            "Wait... what?",
            "Wait\u2026 what?",
            id="ellipsis-char-vs-dots",
        ),
    ],
)
def test_normalized_match_maps_back_to_original(text: str, quote: str, expected: str) -> None:
    result = align_quote(text, quote)
    assert result.match == "normalized", f"{quote!r} should match after normalizing, got {result}"
    assert result.score == 100.0, f"normalized score should be 100, got {result.score}"
    assert span(text, result) == expected, "normalized span not mapped to original offsets"
    assert_clean_edges(text, result)


def test_normalized_span_excludes_surrounding_whitespace() -> None:
    text = "start \n  the BUDGET\n  end"
    result = align_quote(text, "the budget")
    assert span(text, result) == "the BUDGET", "span should start/end on matched chars only"


# --- unicode offsets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quote", "expected", "kind"),
    [
        pytest.param(
            "Министр заявил: «бюджет защитит услуги».",
            "бюджет защитит услуги",
            "бюджет защитит услуги",
            "exact",
            id="cyrillic-exact",
        ),
        pytest.param(
            "Министр заявил: бюджет ЗАЩИТИТ услуги.",
            "Бюджет защитит  услуги",
            "бюджет ЗАЩИТИТ услуги",
            "normalized",
            id="cyrillic-case",
        ),
        pytest.param(
            "\U0001f525\U0001f525 Fire \U0001f468\u200d\U0001f469\u200d\U0001f467"
            " at \u201cthe mill\u201d",
            'at "the mill"',
            "at \u201cthe mill\u201d",
            "normalized",
            id="emoji-before",
        ),
        pytest.param(
            "Die Stra\u00dfe ist \u201clang\u201d und breit.",
            '"lang" und',
            "\u201clang\u201d und",
            "normalized",
            id="sharp-s-before",
        ),
        pytest.param(
            "Die Stra\u00dfe ist lang.",
            "STRASSE ist",
            "Stra\u00dfe ist",
            "normalized",
            id="sharp-s-casefold",
        ),
        pytest.param(
            "Cafe\u0301 owners said \u201cno\u201d loudly.",
            'said "no" loudly',
            "said \u201cno\u201d loudly",
            "normalized",
            id="combining-before",
        ),
        pytest.param(
            "The cafe\u0301 was full.",
            "caf\u00e9 was",
            "cafe\u0301 was",
            "normalized",
            id="combining-decomposed-vs-precomposed",
        ),
        pytest.param(
            "The caf\u00e9 was full.",
            "cafe\u0301 was",
            "caf\u00e9 was",
            "normalized",
            id="combining-precomposed-vs-decomposed",
        ),
    ],
)
def test_unicode_offsets(text: str, quote: str, expected: str, kind: str) -> None:
    result = align_quote(text, quote)
    assert result.match == kind, f"{quote!r} should be a {kind} match, got {result}"
    assert span(text, result) == expected, "unicode text shifted the returned offsets"


# --- ellipsis ----------------------------------------------------------------------------


@pytest.mark.parametrize("joiner", ["\u2026", "...", " ... ", " \u2026 ", " [...] ", " (\u2026) "])
def test_ellipsis_joins_separated_parts(joiner: str) -> None:
    quote = f"The minister said{joiner}protect frontline services"
    result = align_quote(ARTICLE, quote)
    assert result.match == "normalized", f"ellipsis quote {quote!r} not joined, got {result}"
    matched = span(ARTICLE, result)
    assert matched.startswith("The minister said"), f"span misses the first part: {matched!r}"
    assert matched.endswith("protect frontline services"), f"span misses the last part: {matched!r}"


def test_ellipsis_leading_and_trailing_are_ignored() -> None:
    result = align_quote(ARTICLE, "\u2026called the plan reckless\u2026")
    assert result.match == "normalized", f"leading/trailing ellipsis not ignored, got {result}"
    assert span(ARTICLE, result) == "called the plan reckless", "span should cover the single part"


def test_ellipsis_parts_are_normalized() -> None:
    text = "He said \u201cno deal\u201d and then, after a pause, LEFT the room."
    result = align_quote(text, 'He said "no deal" \u2026 left the room')
    assert result.match == "normalized", f"normalized ellipsis parts not found, got {result}"
    assert span(text, result) == text[:-1], "ellipsis span should run to the end of the last part"


def test_ellipsis_parts_must_be_in_order() -> None:
    result = align_quote(ARTICLE, "protect frontline services \u2026 The minister said")
    assert result.match != "normalized", f"out-of-order parts must not be joined, got {result}"


def test_ellipsis_gap_limit() -> None:
    filler = "x " * (ELLIPSIS_MAX_GAP_CHARS // 2 + 10)
    text = f"alpha beta gamma {filler} delta epsilon zeta"
    result = align_quote(text, "alpha beta gamma \u2026 delta epsilon zeta")
    assert result.match == "none", f"parts farther apart than the gap limit were joined: {result}"
    near = align_quote(
        f"alpha beta gamma {'x ' * 100} delta epsilon zeta", "alpha beta \u2026 epsilon"
    )
    assert near.match == "normalized", f"parts within the gap limit were not joined: {near}"


def test_ellipsis_with_missing_part_is_not_normalized() -> None:
    result = align_quote(ARTICLE, "The minister said \u2026 the moon is made of cheese")
    assert result.match in ("none", "fuzzy"), f"a missing part must not give a join: {result}"


# --- fuzzy -------------------------------------------------------------------------------

LONG_SPAN = "A spokesperson for the opposition called the plan reckless and short-sighted"


@pytest.mark.parametrize(
    "quote",
    [
        pytest.param(
            LONG_SPAN.replace("for the opposition", "for opposition"), id="dropped-article"
        ),
        pytest.param(LONG_SPAN.replace("called the plan", "called the plan as"), id="inserted-as"),
        pytest.param(LONG_SPAN.replace("reckless and", "reckless,"), id="and-as-comma"),
        pytest.param(LONG_SPAN.replace("short-sighted", "short sighted"), id="hyphen-as-space"),
        pytest.param(LONG_SPAN.replace("short-sighted", "shortsighted"), id="hyphen-dropped"),
        pytest.param(
            LONG_SPAN.replace("spokesperson for", "spokesperson, for").replace("plan", "plan,"),
            id="added-commas",
        ),
    ],
)
def test_fuzzy_match_covers_the_intended_span(quote: str) -> None:
    result = align_quote(ARTICLE, quote)
    assert result.match == "fuzzy", (
        f"near-verbatim quote {quote!r} should fuzzy-match, got {result}"
    )
    assert FUZZY_MIN_SCORE <= result.score < 100.0, f"fuzzy score out of range: {result.score}"
    assert span(ARTICLE, result) == LONG_SPAN, "fuzzy span does not cover the intended text"


@pytest.mark.parametrize(
    ("quote", "reason"),
    [
        pytest.param(
            LONG_SPAN.replace("opposition", "oppositoin"),
            "changes a word: 'opposition' to 'oppositoin'",
            id="swapped-chars",
        ),
        pytest.param(
            LONG_SPAN.replace("reckless", "reckles"),
            "changes a word: 'reckless' to 'reckles'",
            id="dropped-char",
        ),
        pytest.param(
            LONG_SPAN.replace("called", "termed"),
            "changes a word: 'called' to 'termed'",
            id="wrong-word",
        ),
    ],
)
def test_fuzzy_match_refuses_a_word_the_article_does_not_have(quote: str, reason: str) -> None:
    """A misspelt word is a changed word: "possible" is one letter pair from "impossible"."""
    result = align_quote(ARTICLE, quote)
    assert result.match == "none", f"{quote!r} has a word the article lacks, got {result}"
    assert result.rejected == reason, f"refusal should say what changed: {result.rejected}"


def test_fuzzy_match_in_long_article() -> None:
    rng = random.Random(7)
    words = ["council", "budget", "minister", "said", "the", "of", "road", "tax", "plan", "week"]
    filler = " ".join(rng.choice(words) for _ in range(15_000))
    text = f"{filler} {LONG_SPAN}. {filler}"
    result = align_quote(text, LONG_SPAN.replace("for the opposition", "for opposition"))
    assert result.match == "fuzzy", f"fuzzy match lost in a long article, got {result}"
    assert span(text, result) == LONG_SPAN, "fuzzy span wrong in a long article"


@pytest.mark.parametrize(
    "quote",
    [
        "The president resigned after the scandal broke last night",
        "Unemployment fell to a record low according to official data",
    ],
)
def test_fabricated_sentence_is_not_grounded(quote: str) -> None:
    result = align_quote(ARTICLE, quote)
    assert result == Alignment(None, None, "none", 0.0), f"fabricated {quote!r} grounded: {result}"


def test_short_quote_with_typo_is_not_fuzzy() -> None:
    quote = "hit hardst."
    assert len(quote) < FUZZY_MIN_QUOTE_CHARS, "test setup: the quote must be short"
    assert quote not in ARTICLE, "test setup: the short quote must contain a typo"
    result = align_quote(ARTICLE, quote)
    assert result.match == "none", f"short quote {quote!r} must not fuzzy-match, got {result}"


# --- repeated phrases --------------------------------------------------------------------


def test_repeated_phrase_uses_next_unused_occurrence() -> None:
    text = "We will fight. They said no. We will fight again."
    first, second = text.find("We will fight"), text.rfind("We will fight")
    aligner = Aligner(text)
    starts = [aligner.align("We will fight").start for _ in range(3)]
    assert starts == [first, second, first], f"repeated phrase occurrences chosen wrongly: {starts}"


def test_repeated_normalized_phrase_uses_next_unused_occurrence() -> None:
    text = "\u201cNo deal,\u201d he said. Later: \u201cNo  deal,\u201d again."
    aligner = Aligner(text)
    results = [aligner.align("NO DEAL,") for _ in range(2)]
    assert [r.match for r in results] == ["normalized"] * 2, f"expected normalized: {results}"
    assert results[0].start == 1, f"first call should take the first occurrence: {results[0]}"
    assert results[1].start == text.rfind("No"), f"second call should move on: {results[1]}"


def test_overlapping_used_span_is_skipped() -> None:
    text = "red green blue. red green blue."
    aligner = Aligner(text)
    aligner.align("green blue.")
    result = aligner.align("red green")
    assert result.start == text.rfind("red green"), f"overlapping occurrence reused: {result}"


def test_align_quote_is_stateless() -> None:
    text = "echo echo"
    starts = [align_quote(text, "echo").start for _ in range(2)]
    assert starts == [0, 0], f"align_quote must not remember used spans: {starts}"


# --- Alignment ---------------------------------------------------------------------------


def test_alignment_is_frozen() -> None:
    result = align_quote(ARTICLE, "Councils")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.start = 0  # type: ignore[misc]


# --- property-style loops ----------------------------------------------------------------


def cuts_a_word(text: str, start: int, end: int) -> bool:
    inside = [edge for edge in (start, end) if 0 < edge < len(text)]
    return any(text[edge - 1].isalnum() and text[edge].isalnum() for edge in inside)


def test_random_substrings_align_exactly() -> None:
    """Any substring aligns exactly, unless it cuts a word into a fragment that misleads."""
    rng = random.Random(1234)
    refused = 0
    for _ in range(500):
        start = rng.randrange(len(ARTICLE))
        sub = ARTICLE[start : start + rng.randint(1, 120)].strip()
        if not sub:
            continue
        result = align_quote(ARTICLE, sub)
        first = ARTICLE.find(sub)
        if result.rejected is not None:
            assert cuts_a_word(ARTICLE, first, first + len(sub)), f"{sub!r}: {result.rejected}"
            assert "the article says" in result.rejected, result.rejected
            refused += 1
            continue
        assert result.match == "exact", f"substring {sub!r} not matched exactly: {result}"
        assert span(ARTICLE, result) == sub, f"offsets wrong for substring {sub!r}"
        assert result.start == first, f"{sub!r} should map to its first occurrence"
    assert refused < 50, f"{refused} of 500 random substrings refused: the cut rule is too broad"


def test_random_mangled_substrings_map_back_to_original() -> None:
    rng = random.Random(99)
    for _ in range(300):
        start = rng.randrange(len(ARTICLE))
        sub = ARTICLE[start : start + rng.randint(FUZZY_MIN_QUOTE_CHARS, 120)].strip()
        mangled = sub.upper().replace(" ", "\n  ").replace("-", "\u2014")
        if mangled == sub or ARTICLE.lower().count(sub.lower()) != 1:
            continue
        result = align_quote(ARTICLE, mangled)
        if result.rejected is not None:
            first = ARTICLE.find(sub)
            assert cuts_a_word(ARTICLE, first, first + len(sub)), f"{sub!r}: {result.rejected}"
            continue
        assert result.match == "normalized", f"mangled {mangled!r} not normalized: {result}"
        assert span(ARTICLE, result) == sub, f"mangled {mangled!r} mapped to the wrong span"


@pytest.mark.parametrize(
    ("text", "quote", "reason"),
    [
        ("Germany has never supported it.", "ever supported it", "'never'"),
        ("We can\u2019t accept it.", "We can", "'can\u2019t'"),
        ("He said now is the time.", "He said no", "'now'"),
        ("Some 1,500 troops left.", "500 troops left", "'1,500'"),
        ("Seventeen states voted.", "seven", "'Seventeen'"),
        ("The deal is impossible.", "possible.", "'impossible'"),
        ("A non-binding text.", "binding text", "'non-binding'"),
    ],
)
def test_exact_match_may_not_cut_a_word_into_another_meaning(
    text: str, quote: str, reason: str
) -> None:
    result = align_quote(text, quote)
    assert not result.grounded, f"{quote!r} inside {text!r} changes its meaning: {result}"
    assert result.rejected is not None and reason in result.rejected, result.rejected


# --- Evidence.quote is the article's own text ----------------------------------------------

# (what the model wrote, the stage that must find it, the article's text it stands for)
MODEL_QUOTES = [
    pytest.param(f'"{MOSCOW}"', "exact", MOSCOW, id="straight-marks"),
    pytest.param(f"\u201c{MOSCOW}\u201d", "exact", MOSCOW, id="curly-marks"),
    pytest.param(f"  '{MOSCOW}' \n", "exact", MOSCOW, id="single-marks-padded"),
    pytest.param(f"\u00ab{THREAT}\u00bb", "exact", THREAT, id="guillemets"),
    pytest.param(
        'Sybiha said Putin was "continuing to mess around',
        "normalized",
        "Sybiha said Putin was \u201ccontinuing to mess around",
        id="straight-for-curly",
    ),
    pytest.param(
        "the best place for this is  THE capital of the\nRussian Federation",
        "normalized",
        "The best place for this is the capital of the Russian Federation",
        id="case-and-whitespace",
    ),
    pytest.param(
        '"The best place for this is \u2026 the hero city of Moscow"',
        "normalized",
        MOSCOW,
        id="ellipsis-in-marks",
    ),
    pytest.param(
        "If some troops appear there ... these will be legitimate targets",
        "normalized",
        THREAT,
        id="ellipsis",
    ),
    pytest.param(
        "The best place for this is capital of the Russian Federation, hero city of Moscow",
        "fuzzy",
        MOSCOW,
        id="fuzzy-dropped-articles",
    ),
    pytest.param(
        "\u201cThe best place for this is the capital of the Russian Federation the hero city "
        "of Moscow\u201d",
        "fuzzy",
        MOSCOW,
        id="fuzzy-in-marks",
    ),
]


def assert_quotes_are_spans(summary: ArticleSummary, article: str) -> int:
    """Every grounded quote is exactly its span, whatever stage matched; returns how many."""
    checked = 0
    for item in summary.items():
        for e in item.evidence:
            if not e.grounded:
                assert e.model_quote is None, f"{item.id}: ungrounded evidence has a model_quote"
                continue
            assert e.start is not None and e.end is not None
            assert article[e.start : e.end] == e.quote, (
                f"{item.id} ({e.match}): quote {e.quote!r} is not the article's "
                f"{article[e.start : e.end]!r}"
            )
            assert e.model_quote != e.quote, f"{item.id}: model_quote repeats the quote"
            checked += 1
    return checked


@pytest.mark.parametrize(("model_quote", "match", "span_text"), MODEL_QUOTES)
def test_evidence_quote_is_the_article_span_through_the_pipeline(
    seed_article: str, model_quote: str, match: str, span_text: str
) -> None:
    draft = good_draft()
    draft["venues"][0]["evidence"] = [evidence(model_quote, speaker="Vladimir Putin")]
    fake = FakeLLM(draft)
    summary = fake.summarizer(max_reasks=0).summarize(seed_article)

    assert assert_quotes_are_spans(summary, seed_article) == 3, "an item was lost"
    e = summary.venues[0].evidence[0]
    assert e.match == match, f"{model_quote!r} should be a {match} match, got {e.match}"
    assert e.quote == span_text, f"quote should be the article's words, got {e.quote!r}"
    assert e.model_quote == model_quote, "the model's own wording was not kept in model_quote"


def test_verbatim_quotes_have_no_model_quote(seed_article: str) -> None:
    summary = FakeLLM(good_draft()).summarizer().summarize(seed_article)
    quotes = [(e.quote, e.model_quote) for item in summary.items() for e in item.evidence]
    assert quotes == [(THREAT, None), (MOSCOW, None), (REJECT, None)]


def test_ungrounded_evidence_keeps_the_model_text(seed_article: str) -> None:
    draft = good_draft()
    draft["rebuttals"][0]["evidence"].append(evidence(f'"{INVENTED}"'))
    summary = FakeLLM(draft).summarizer(max_reasks=0, ungrounded="keep").summarize(seed_article)

    kept = summary.rebuttals[0].evidence[1]
    assert (kept.grounded, kept.quote, kept.model_quote) == (False, f'"{INVENTED}"', None)


def draft_with(quotes: list[str]) -> DraftSummary:
    """Positions backed by two quotes each (the most a drafted item may have), in order."""
    position: dict[str, Any] = {
        "holder": "Vladimir Putin",
        "issue": "talks",
        "stance": "Moscow",
        "polarity": "favor",
    }
    return DraftSummary.model_validate(
        {
            "summary": "s",
            "positions": [
                {**position, "evidence": [evidence(q) for q in quotes[i : i + 2]]}
                for i in range(0, len(quotes), 2)
            ],
        }
    )


def test_assemble_stores_the_article_span_as_quote(seed_article: str) -> None:
    wrapped = [p.values[0] for p in MODEL_QUOTES]
    draft = draft_with([*wrapped, THREAT, INVENTED])
    meta = Meta(model="m", backend="openai", prompt="article_summary@v1")
    summary = assemble(draft, seed_article, policy="keep", meta=meta)

    assert assert_quotes_are_spans(summary, seed_article) == len(wrapped) + 1
    found = [e for p in summary.positions for e in p.evidence]
    assert [e.model_quote for e in found] == [*wrapped, None, None]
    assert [e.quote for e in found[-2:]] == [THREAT, INVENTED]
