"""The actor guard: an item whose actor the article does not name near its evidence."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from summarize import ArticleSummary, ConfigError, Settings
from summarize.assemble import assemble, unattributed_items
from summarize.chunking import Chunk
from summarize.draft import DraftSummary
from summarize.guards import ATTRIBUTION_WINDOW, attributes_actor
from summarize.merge import merge
from summarize.schema import Meta
from summarize.testing import FakeLLM

from .test_pipeline import MOSCOW, REJECT, THREAT, good_draft

ARTICLE = (
    "Vladivostok, Sept. 6 (Wire) -- Foreign Minister Andrii Sybiha spoke to reporters on "
    "Friday. He said the offer was a trick. "
    "The Ukrainian side called the proposal a provocation.\n\n"
    "Officials in Ankara said Turkiye stood ready to host talks. Zelenskyy thanked them."
)


def span(text: str, article: str = ARTICLE) -> list[tuple[int, int]]:
    start = article.index(text)
    return [(start, start + len(text))]


@pytest.mark.parametrize(
    ("actor", "evidence", "aliases"),
    [
        ("Andrii Sybiha", "He said the offer was a trick.", ()),  # named a sentence before
        ("Ukraine", "called the proposal a provocation", ()),  # "Ukrainian": one stem
        ("Volodymyr Zelenskiy", "Zelenskyy thanked them.", ()),  # spelled nearly alike
        ("Turkish government", "stood ready to host talks", ("Ankara",)),  # an alias
        ("Minister Sybiha", "the offer was a trick", ()),  # the title is set aside
    ],
)
def test_an_actor_named_near_its_evidence_is_attributed(
    actor: str, evidence: str, aliases: tuple[str, ...]
) -> None:
    assert attributes_actor(actor, span(evidence), ARTICLE, aliases)


@pytest.mark.parametrize(
    ("actor", "evidence"),
    [
        ("Vladimir Putin", "He said the offer was a trick."),  # named nowhere near
        ("Kremlin", "Turkiye stood ready to host talks"),
        ("Vladimir Putin", "the offer was a trick"),  # not "Vladivostok": no shared stem
        ("Foreign Minister", "He said the offer was a trick."),  # a title names no one
        ("", "He said the offer was a trick."),
        ("he", "He said the offer was a trick."),  # a pronoun is no name
    ],
)
def test_an_actor_the_article_does_not_name_there_is_not_attributed(
    actor: str, evidence: str
) -> None:
    assert not attributes_actor(actor, span(evidence), ARTICLE)


def test_the_window_reaches_back_so_far_and_no_further() -> None:
    filler = "Nothing of note happened that week in the capital. " * 20
    article = f"Sybiha spoke. {filler}He said the offer was a trick."
    evidence = span("He said the offer was a trick.", article)
    assert len(filler) > ATTRIBUTION_WINDOW
    assert not attributes_actor("Andrii Sybiha", evidence, article)
    near = f"{filler}Sybiha spoke. He said the offer was a trick."
    assert attributes_actor("Andrii Sybiha", span("He said the offer was a trick.", near), near)
    assert not attributes_actor("Andrii Sybiha", [], near), "no evidence attributes nothing"


def kyiv_threat() -> dict[str, Any]:
    """Putin's threat, credited to Kyiv: the actor swap a small model makes."""
    draft = good_draft()
    warning = copy.deepcopy(draft["warnings"][0])
    warning["by"] = "Kyiv"
    draft["warnings"] = [warning]
    return draft


def summarize_with(seed_article: str, draft: dict[str, Any], **options: Any) -> ArticleSummary:
    return FakeLLM(draft).summarizer(**options).summarize(seed_article)


def test_an_item_credited_to_someone_the_article_does_not_name_there_is_flagged(
    seed_article: str,
) -> None:
    summary = summarize_with(seed_article, kyiv_threat())
    assert [w.by for w in summary.warnings] == ["Kyiv"], "flagging keeps the item"
    assert summary.meta.unattributed == ("w1",)
    assert summary.meta.dropped_unattributed == 0
    assert "actor not named near the quote" in summary.display(seed_article)._repr_html_()


def test_correctly_credited_items_are_not_flagged(seed_article: str) -> None:
    summary = summarize_with(seed_article, good_draft())
    assert [i.id for i in summary.items()] == ["w1", "v1", "r1"]
    assert summary.meta.unattributed == ()
    assert unattributed_items(summary.items(), seed_article, summary.actors) == ()


def test_drop_removes_it_and_says_so(seed_article: str) -> None:
    summary = summarize_with(seed_article, kyiv_threat(), unattributed="drop")
    assert summary.warnings == ()
    assert [v.proposed_by for v in summary.venues] == ["Vladimir Putin"]
    assert summary.meta.dropped_unattributed == 1 and summary.meta.unattributed == ()


def test_keep_checks_nothing(seed_article: str) -> None:
    summary = summarize_with(seed_article, kyiv_threat(), unattributed="keep")
    assert [w.by for w in summary.warnings] == ["Kyiv"]
    assert summary.meta.unattributed == () and summary.meta.dropped_unattributed == 0


def test_a_rebuttal_never_links_to_a_dropped_item(seed_article: str) -> None:
    draft = good_draft()
    draft["venues"][0]["proposed_by"] = "Austria"  # Moscow, credited to a host on offer
    draft["rebuttals"][0]["answers"] = "the Moscow offer"
    summary = summarize_with(seed_article, draft, unattributed="drop")
    assert summary.venues == ()
    (rebuttal,) = summary.rebuttals
    assert rebuttal.answers_id is None or rebuttal.answers_id.startswith("w")


def test_a_flag_follows_its_item_through_a_merge_of_chunks(seed_article: str) -> None:
    """Chunks number their items anew: the second chunk's w1 is the merged summary's w2."""
    cut = seed_article.index("According to The New York Times")
    first, second = seed_article[:cut], seed_article[cut:]
    later = good_draft()
    later["warnings"][0].update(
        by="Kyiv", evidence=[{"quote": MOSCOW, "attribution": "direct_quote"}]
    )
    one, two = summarize_with(first, good_draft()), summarize_with(second, later)
    assert (one.meta.unattributed, two.meta.unattributed) == ((), ("w1",))
    merged = merge(
        seed_article,
        [(Chunk(0, 0, cut, first), one), (Chunk(1, cut, len(seed_article), second), two)],
        latency_s=0.0,
    )
    assert [(i.id, i.actor) for i in merged.warnings] == [
        ("w1", "Vladimir Putin"),
        ("w2", "Kyiv"),
    ]
    assert merged.meta.unattributed == ("w2",)


def test_the_policy_is_checked() -> None:
    assert Settings().unattributed == "flag"
    with pytest.raises(ConfigError, match="unattributed must be one of keep, flag, drop"):
        Settings(unattributed="ignore")  # type: ignore[arg-type]


def test_the_seed_quotes_sit_near_their_speakers(seed_article: str) -> None:
    for quote, actor in ((THREAT, "Putin"), (MOSCOW, "Putin"), (REJECT, "Sybiha")):
        assert attributes_actor(actor, span(quote, seed_article), seed_article)


def test_a_rebuttal_of_a_dropped_rebuttal_goes_with_it(seed_article: str) -> None:
    """With `rebuttals_must_link` (sentence coding), a rebuttal must answer a kept item."""
    draft = good_draft()
    draft["rebuttals"] = [
        {  # answers nothing the summary lists
            **draft["rebuttals"][0],
            "answers": "reports of troop movements",
            "kind": "deny_claim",
            "content": "the reports are false",
        },
        {
            "by": "Vladimir Putin",
            "answers": "r1",
            "kind": "counter_claim",
            "content": "Moscow is the place",
            "evidence": [{"quote": MOSCOW, "attribution": "direct_quote"}],
        },
    ]
    parsed = DraftSummary.model_validate(draft)
    meta = Meta(model="m", backend="openai", prompt="p")
    kept = assemble(parsed, seed_article, policy="drop", meta=meta)
    assert [(r.id, r.answers_id) for r in kept.rebuttals] == [("r1", None), ("r2", "r1")]
    strict = assemble(parsed, seed_article, policy="drop", meta=meta, rebuttals_must_link=True)
    assert strict.rebuttals == () and strict.meta.dropped_by_guards == 2
    assert [v.id for v in strict.venues] == ["v1"]


def test_a_flag_never_names_an_item_a_guard_dropped(seed_article: str) -> None:
    draft = good_draft()
    draft["rebuttals"] = [
        {  # credited to someone named only after it, and answering nothing listed
            **draft["rebuttals"][0],
            "by": "Austria",
            "answers": "reports of troop movements",
            "kind": "deny_claim",
            "content": "the reports are false",
        }
    ]
    parsed = DraftSummary.model_validate(draft)
    meta = Meta(model="m", backend="openai", prompt="p")
    loose = assemble(parsed, seed_article, policy="drop", meta=meta)
    assert loose.meta.unattributed == ("r1",)
    strict = assemble(parsed, seed_article, policy="drop", meta=meta, rebuttals_must_link=True)
    assert strict.rebuttals == () and strict.meta.unattributed == ()


def test_ids_have_no_gaps_where_a_guard_dropped_an_item(seed_article: str) -> None:
    """The model's numbering is kept for linking, then closed up: v2 becomes v1."""
    draft = good_draft()
    spoke = "Putin told the plenary session of the Eastern Economic Forum in Vladivostok"
    where = {"place": "Vladivostok", "proposed_by": "Vladimir Putin", "status": "proposed"}
    vladivostok = {
        **draft["venues"][0],
        **where,
        "evidence": [{"quote": spoke, "attribution": "narration"}],
    }
    draft["venues"] = [vladivostok, draft["venues"][0]]  # the model's v1 and v2
    draft["rebuttals"][0]["answers"] = "v2"
    summary = assemble(
        DraftSummary.model_validate(draft),
        seed_article,
        policy="drop",
        meta=Meta(model="m", backend="openai", prompt="p"),
    )
    assert [(v.id, v.place) for v in summary.venues] == [("v1", "Moscow")]
    assert summary.meta.dropped_by_guards == 1
    assert [(r.id, r.answers_id) for r in summary.rebuttals] == [("r1", "v1")]
