"""A quote that changes what the article says is not grounded, however close its characters.

Defect 8: a quote with one meaning-changing edit ("these will NOT be legitimate targets",
"FOUR Gulf states", "practically POSSIBLE") used to ground as a fuzzy match, so a summary
could contradict its own evidence and still say "grounded".
"""

from __future__ import annotations

import json
import random

import pytest

from summarize.grounding import Aligner, Alignment, align_quote
from summarize.testing import FakeLLM
from tests.test_pipeline import THREAT, evidence, good_draft

WIRE = (
    "BRUSSELS, March 14 (Reuters) \u2014 European Union energy ministers failed on Thursday to "
    "agree on a cap for gas prices, with three countries blocking a compromise that diplomats "
    "had described as \u201cpractically impossible\u201d to improve before the summer.\n\n"
    "\u201cWe will not sign a deal that leaves households exposed to another winter like the "
    "last one,\u201d Dutch minister Rob Jetten told reporters, adding that the Netherlands "
    "could accept a cap of 180 euros per megawatt hour only if it was temporary.\n\n"
    "Germany, the bloc\u2019s largest economy, has never supported a hard ceiling. Its "
    "delegation said the proposal was unacceptable in its current form and would not be "
    "discussed again until April 27. Diplomats said a long-term deal remained out of reach.\n\n"
    "The Commission said 14 member states backed the plan, fewer than the 15 needed. "
    "Officials said they can\u2019t rule out an emergency meeting next week, but no date has "
    "been set.\n\n"
    "Hungary\u2019s Foreign Minister P\u00e9ter Szijj\u00e1rt\u00f3 called the sanctions "
    "package illegal and said Budapest would veto it unless its exemption for Russian "
    "pipeline oil was extended by two years. \u201cThere is nothing in this package that "
    "serves Hungarian interests,\u201d he said on Wednesday.\n\n"
    "Prices on the Dutch TTF hub fell 4.5% to 112 euros after the meeting, the lowest level "
    "since December 2021. Traders said the market had expected almost no progress."
)

# (altered quote, what the refusal must name). Each changes one thing the article says.
ALTERED = [
    # negations added, dropped or changed
    ("We will sign a deal that leaves households exposed to another winter", "negation"),
    ("Germany, the bloc's largest economy, has always supported a hard ceiling", "negation"),
    ("Germany, the bloc's largest economy, has supported a hard ceiling", "negation"),
    ("Officials said they can rule out an emergency meeting next week", "negation"),
    ("rule out an emergency meeting next week, but a date has been set", "negation"),
    ("There is something in this package that serves Hungarian interests", "negation"),
    ("There is not nothing in this package that serves Hungarian interests", "negation"),
    ("unacceptable in its current form and would be discussed again until April 27", "negation"),
    ("and said Budapest would not veto it unless its exemption for Russian", "negation"),
    ("adding that the Netherlands could not accept a cap of 180 euros", "negation"),
    ("Traders said the market had expected almost any progress", "negation"),
    # numbers and dates
    ("with four countries blocking a compromise that diplomats had described", "number"),
    ("could accept a cap of 150 euros per megawatt hour only if it was temporary", "number"),
    ("The Commission said 16 member states backed the plan, fewer than the 15", "number"),
    ("Prices on the Dutch TTF hub fell 45% to 112 euros after the meeting", "number"),
    ("unless its exemption for Russian pipeline oil was extended by three years", "number"),
    ("fell 4.5% to 112 euros after the meeting, the lowest level since December 2011", "number"),
    ("could accept a cap of euros per megawatt hour only if it was temporary", "number"),
    ("European Union energy ministers failed on Friday to agree on a cap for gas", "date"),
    ("in its current form and would not be discussed again until August 27", "date"),
    ("Officials said they can't rule out an emergency meeting this week", "date"),
    ("the lowest level since November 2021. Traders said the market had expected", "date"),
    # limiters, modals, conditions
    ("the Netherlands could accept a cap of 180 euros per megawatt hour if it was", "qualifier"),
    ("We will not sign a deal that leaves all households exposed to another winter", "qualifier"),
    ("Germany, the bloc's largest economy, has never even supported a hard ceiling", "qualifier"),
    ("The Commission said 14 member states backed the plan, more than the 15 needed", "qualifier"),
    (
        "the lowest level since December 2021. Traders said the market had expected no progress",
        "qualifier",
    ),
    ("adding that the Netherlands would accept a cap of 180 euros per megawatt hour", "modal"),
    ("We must not sign a deal that leaves households exposed to another winter", "modal"),
    ("and said Budapest would veto it if its exemption for Russian pipeline oil", "condition"),
    # substituted content words: antonyms, other words, misspellings
    ("European Union energy ministers managed on Thursday to agree on a cap for gas", "word"),
    ("described as \u201cpractically possible\u201d to improve before the summer", "word"),
    ("Its delegation said the proposal was acceptable in its current form", "word"),
    ("Szijjarto called the sanctions package legal and said Budapest would veto it", "word"),
    ("Prices on the Dutch TTF hub rose 4.5% to 112 euros after the meeting", "word"),
    ("Germany, the bloc's largest economy, has never opposed a hard ceiling", "word"),
    ("German minister Rob Jetten told reporters, adding that the Netherlands", "word"),
    (
        "Its delegation also said the proposal was unacceptable in its current form and would",
        "word",
    ),
    ("the bloc's largest economy, has never suported a hard ceiling", "word"),
    # a quote cut inside a word that negates or holds digits (exact substrings)
    ("acceptable in its current form", "negation"),
    ("legal and said Budapest would veto it", "negation"),
    ("Officials said they can", "negation"),
    ("5% to 112 euros", "number"),
    # an ellipsis that skips a negation inside one sentence
    ("We will \u2026 sign a deal that leaves households exposed", "negation"),
    ("Germany, the bloc\u2019s largest economy, has ... supported a hard ceiling", "negation"),
]


@pytest.mark.parametrize(("quote", "kind"), ALTERED, ids=[q[:40] for q, _ in ALTERED])
def test_meaning_changing_quote_is_not_grounded(quote: str, kind: str) -> None:
    result = align_quote(WIRE, quote)
    assert not result.grounded, f"{quote!r} contradicts the article but grounded: {result}"
    assert (result.start, result.end, result.match, result.score) == (None, None, "none", 0.0)
    assert result.rejected is not None, f"{quote!r}: a near match was refused without a reason"
    assert kind in result.rejected, f"{quote!r}: reason should name a {kind}: {result.rejected}"


# (variant, the article's span it must map to)
FORGIVEN = [
    pytest.param(
        '"We will not sign a deal that leaves households exposed to another winter like '
        'the last one," Dutch minister Rob Jetten told reporters',
        "\u201cWe will not sign a deal that leaves households exposed to another winter like "
        "the last one,\u201d Dutch minister Rob Jetten told reporters",
        id="straight-quotes",
    ),
    pytest.param(
        "european union energy ministers failed on thursday to agree on a cap for gas prices",
        "European Union energy ministers failed on Thursday to agree on a cap for gas prices",
        id="lowercase",
    ),
    pytest.param(
        "Germany, the bloc's  largest\neconomy,   has never supported a hard ceiling",
        "Germany, the bloc\u2019s largest economy, has never supported a hard ceiling",
        id="whitespace",
    ),
    pytest.param(
        "Germany, bloc's largest economy, has never supported a hard ceiling",
        "Germany, the bloc\u2019s largest economy, has never supported a hard ceiling",
        id="dropped-article",
    ),
    pytest.param(
        "Germany the bloc's largest economy has never supported a hard ceiling.",
        "Germany, the bloc\u2019s largest economy, has never supported a hard ceiling.",
        id="punctuation",
    ),
    pytest.param(
        "Its delegation said that the proposal was unacceptable in its current form",
        "Its delegation said the proposal was unacceptable in its current form",
        id="inserted-that",
    ),
    pytest.param(
        "Officials said they cannot rule out an emergency meeting next week",
        "Officials said they can\u2019t rule out an emergency meeting next week",
        id="cannot-for-cant",
    ),
    pytest.param(
        "Officials said they can not rule out an emergency meeting next week",
        "Officials said they can\u2019t rule out an emergency meeting next week",
        id="can-not-for-cant",
    ),
    pytest.param(
        "Diplomats said a long term deal remained out of reach",
        "Diplomats said a long-term deal remained out of reach",
        id="hyphen-as-space",
    ),
    pytest.param(
        "Foreign Minister Peter Szijjarto called the sanctions package illegal",
        "Foreign Minister P\u00e9ter Szijj\u00e1rt\u00f3 called the sanctions package illegal",
        id="accents",
    ),
    pytest.param(
        "the Netherlands could accept a cap of 180 euros per megawatt only if it was temporary",
        "the Netherlands could accept a cap of 180 euros per megawatt hour only if it was "
        "temporary",
        id="elided-content-word",
    ),
    pytest.param(
        "Germany, the bloc\u2019s largest economy \u2026 said the proposal was unacceptable",
        "Germany, the bloc\u2019s largest economy, has never supported a hard ceiling. Its "
        "delegation said the proposal was unacceptable",
        id="ellipsis-over-a-sentence-with-never",
    ),
    pytest.param(
        "European Union energy ministers failed \u2026 to agree on a cap for gas prices",
        "European Union energy ministers failed on Thursday to agree on a cap for gas prices",
        id="ellipsis-in-sentence-without-negation",
    ),
    pytest.param(
        "impossible\u201d to improve before the summer",
        "impossible\u201d to improve before the summer",
        id="whole-word-with-negating-prefix",
    ),
]


@pytest.mark.parametrize(("quote", "expected"), FORGIVEN)
def test_harmless_variant_still_grounds_on_the_right_span(quote: str, expected: str) -> None:
    result = align_quote(WIRE, quote)
    assert result.grounded, f"harmless variant {quote!r} was refused: {result}"
    assert result.rejected is None, f"a grounded match carries a refusal: {result}"
    assert result.start is not None and result.end is not None
    assert WIRE[result.start : result.end] == expected, "variant mapped to the wrong span"


def test_fuzzy_span_is_fitted_to_the_quote_words() -> None:
    """Words the fuzzy window took beyond the quote are trimmed; words it missed are added."""
    result = align_quote(WIRE, "said 14 member states backed the plan, fewer than 15 needed")
    assert result.match == "fuzzy", f"expected a fuzzy match: {result}"
    assert result.start is not None and result.end is not None
    assert (
        WIRE[result.start : result.end]
        == "said 14 member states backed the plan, fewer than the 15 needed"
    )


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        pytest.param(
            "ropean Union energy ministers failed on Thursday to agree on cap for gas pri",
            "European Union energy ministers failed on Thursday to agree on a cap for gas prices",
            id="both-edges",
        ),
        pytest.param(
            "ssible\u201d to improve before summer. \u201cWe will not sign a deal that leaves",
            "impossible\u201d to improve before the summer.\n\n\u201cWe will not sign a deal "
            "that leaves",
            id="cut-inside-the-word-after-im",
        ),
    ],
)
def test_fuzzy_quote_cut_inside_an_edge_word_covers_the_whole_word(
    quote: str, expected: str
) -> None:
    result = align_quote(WIRE, quote)
    assert result.match == "fuzzy", f"{quote!r} should ground: {result}"
    assert result.start is not None and result.end is not None
    assert WIRE[result.start : result.end] == expected, "span should cover whole words"


@pytest.mark.parametrize(
    "quote",
    [
        pytest.param(
            "possible\u201d to improve before summer. \u201cWe will not sign a deal that leaves",
            id="negating-prefix-cut-off",
        ),
        pytest.param(
            "Prices on the Dutch TTF hub fell 4.5% to 1 euros after meeting, the lowest level",
            id="digits-cut-off",
        ),
    ],
)
def test_fuzzy_quote_cut_inside_an_edge_word_must_not_change_it(quote: str) -> None:
    result = align_quote(WIRE, quote)
    assert not result.grounded, f"{quote!r} changes the article's word but grounded: {result}"
    assert result.rejected is not None


# The seed article, with the edits found in review (long enough to be near matches).
SEED_EDITS = [
    ("we proceed from the fact that these will not be legitimate targets", "adds 'not'"),
    (f"\u201c{THREAT.replace('will be', 'will not be')},\u201d", "adds 'not'"),
    (
        "a direct agreement with Zelenskyy on the key issues would be practically possible",
        "'impossible' to 'possible'",
    ),
    ("would be \u201cpractically possible\u201d", "'impossible' to 'possible'"),
    ("Switzerland, Turkiye and four Gulf states", "'three' to 'four'"),
    ("then I simply do not see no sense in their presence", "adds 'no'"),
    ("these will not be legitimate targets", None),
    ("four Gulf states", None),
]


@pytest.mark.parametrize(("quote", "reason"), SEED_EDITS, ids=[q[:40] for q, _ in SEED_EDITS])
def test_seed_quotes_with_one_meaning_edit_are_refused(
    seed_article: str, quote: str, reason: str | None
) -> None:
    result = align_quote(seed_article, quote)
    assert not result.grounded, f"{quote!r} contradicts the seed article but grounded: {result}"
    if reason is not None:
        assert result.rejected is not None and reason in result.rejected, result.rejected


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("The envoys are now here in Geneva, officials said.", "envoys are nowhere in Geneva"),
        ("Officials said there would be no one-off payment.", "there would be none-off payment"),
        ("Talks may be held in Geneva next month, she said.", "Talks maybe held in Geneva"),
    ],
)
def test_joined_or_split_words_must_not_change_the_meaning(text: str, quote: str) -> None:
    result = align_quote(text, quote)
    assert not result.grounded, f"{quote!r} changes {text!r} but grounded: {result}"


def test_reason_reads_as_a_sentence_for_the_model() -> None:
    result = align_quote(
        WIRE, "We will sign a deal that leaves households exposed to another winter"
    )
    assert result.rejected == "changes a negation: drops 'not'", result.rejected


def test_refusal_does_not_use_up_the_span() -> None:
    aligner = Aligner(WIRE)
    refused = aligner.align("Officials said they can rule out an emergency meeting next week")
    assert not refused.grounded
    verbatim = aligner.align("Officials said they can\u2019t rule out an emergency meeting")
    assert verbatim.match == "exact" and verbatim.start == WIRE.find("Officials said")


def test_alignment_keeps_its_four_field_form() -> None:
    assert Alignment(None, None, "none", 0.0) == Alignment(None, None, "none", 0.0, None)
    assert align_quote(WIRE, "an invented sentence nowhere in the wire story") == Alignment(
        None, None, "none", 0.0
    ), "a quote with no near match should carry no refusal reason"


def test_ellipsis_may_skip_a_negation_in_another_sentence_only() -> None:
    text = "They said these will not be legitimate targets. Then these will be welcome."
    refused = align_quote(text, "these will \u2026 be legitimate targets")
    assert not refused.grounded and refused.rejected is not None
    assert "ellipsis skips 'not'" in refused.rejected, refused.rejected
    allowed = align_quote(text, "They said \u2026 these will be welcome")
    assert allowed.match == "normalized", f"a cross-sentence ellipsis was refused: {allowed}"
    refusal = "We can\u2019t accept this offer, she said."
    contracted = align_quote(refusal, "We \u2026 accept this offer")
    assert contracted.rejected == "changes a negation: the ellipsis skips 'can\u2019t'", contracted


def test_random_negations_and_numbers_never_ground() -> None:
    """Property-style: insert a negation or change a number anywhere in a real sentence."""
    rng = random.Random(8)
    sentences = [s for s in WIRE.replace("\n\n", " ").split(". ") if len(s) > 40]
    for _ in range(200):
        words = rng.choice(sentences).split()
        start = rng.randrange(len(words) - 6)
        quote = words[start : start + rng.randint(6, 14)]
        numbers = [i for i, w in enumerate(quote) if any(c.isdigit() for c in w)]
        if numbers and rng.random() < 0.5:
            at = rng.choice(numbers)
            quote[at] = quote[at].replace(rng.choice([c for c in quote[at] if c.isdigit()]), "9")
            if " ".join(quote) in WIRE:
                continue
        else:
            quote.insert(rng.randrange(1, len(quote)), rng.choice(["not", "no", "never"]))
        result = align_quote(WIRE, " ".join(quote))
        assert not result.grounded, f"{' '.join(quote)!r} changes the article but grounded"


# --- end to end: the re-ask machinery and the ungrounded policy -------------------------


@pytest.mark.parametrize(
    "quote",
    [
        pytest.param(THREAT.replace("will be", "will not be"), id="whole-sentence"),
        pytest.param("these will not be legitimate targets", id="short"),
    ],
)
def test_negated_quote_is_reasked_then_its_item_dropped(seed_article: str, quote: str) -> None:
    draft = good_draft()
    draft["warnings"][0]["evidence"] = [evidence(quote, speaker="Vladimir Putin")]
    fake = FakeLLM(draft)
    summary = fake.summarizer(max_reasks=1).summarize(seed_article)

    assert fake.calls == 2, "a quote that contradicts the article was not re-asked"
    assert quote in json.dumps(fake.requests[1]["messages"]), "re-ask does not name the quote"
    assert summary.warnings == (), "a warning backed only by a contradicted quote reached the user"
    assert summary.meta.dropped_items == 1
    assert [v.id for v in summary.venues] == ["v1"] and [r.id for r in summary.rebuttals] == ["r1"]
