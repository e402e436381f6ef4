from __future__ import annotations

from typing import Any

import pydantic
import pytest

from summarize.schema import (
    Actor,
    ArticleSummary,
    Evidence,
    Meta,
    Position,
    Rebuttal,
    Usage,
    Venue,
    WarningItem,
)

GROUNDED: dict[str, Any] = {
    "quote": "troops will be legitimate targets",
    "start": 10,
    "end": 43,
    "grounded": True,
    "match": "exact",
}
UNGROUNDED: dict[str, Any] = {"quote": "never said", "grounded": False, "match": "none"}


def warning(**changes: Any) -> WarningItem:
    data: dict[str, Any] = {
        "id": "w1",
        "evidence": [GROUNDED],
        "by": "Vladimir Putin",
        "target": "Western troops",
        "consequence": "become legitimate targets",
        "kind": "threat",
    }
    return WarningItem.model_validate({**data, **changes})


def position(**changes: Any) -> Position:
    data: dict[str, Any] = {
        "id": "p1",
        "evidence": [GROUNDED],
        "holder": "Kremlin",
        "issue": "peace talks",
        "stance": "Talks with Zelensky are pointless",
        "polarity": "against",
    }
    return Position.model_validate({**data, **changes})


def venue(**changes: Any) -> Venue:
    data: dict[str, Any] = {
        "id": "v1",
        "evidence": [GROUNDED],
        "place": "Moscow",
        "proposed_by": "Vladimir Putin",
        "status": "proposed",
        "meeting": "Putin-Zelensky meeting",
    }
    return Venue.model_validate({**data, **changes})


def rebuttal(**changes: Any) -> Rebuttal:
    data: dict[str, Any] = {
        "id": "r1",
        "evidence": [GROUNDED],
        "by": "Volodymyr Zelensky",
        "answers": "v1",
        "answers_id": "v1",
        "kind": "reject_proposal",
        "content": "Moscow is not an option",
    }
    return Rebuttal.model_validate({**data, **changes})


def meta() -> Meta:
    return Meta(
        model="fake-model",
        backend="openai",
        prompt="article_summary@v1",
        usage=Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15),
    )


def full_summary() -> ArticleSummary:
    return ArticleSummary(
        summary="Putin warned Western troops. Zelensky rejected Moscow as a venue.",
        actors=(
            Actor(name="Putin", canonical="Vladimir Putin", kind="person", country="rus"),
            Actor(name="the West", canonical="the West", kind="group"),
        ),
        warnings=(warning(cameo="138", plover="THREATEN"),),
        positions=(position(),),
        venues=(venue(cameo="036"),),
        rebuttals=(rebuttal(evidence=[GROUNDED, UNGROUNDED]),),
        meta=meta(),
    )


# --- Evidence invariants -------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        GROUNDED,
        UNGROUNDED,
        {"quote": "q"},  # defaults: not grounded, no match, no span
        {"quote": "q", "start": 5, "end": 5, "grounded": True, "match": "fuzzy"},  # empty span
        {"quote": "q", "start": 0, "end": 9, "grounded": True, "match": "normalized"},
    ],
)
def test_evidence_accepts_consistent_fields(data: dict[str, Any]) -> None:
    evidence = Evidence.model_validate(data)
    assert evidence.grounded == (evidence.start is not None), f"inconsistent evidence: {evidence}"


@pytest.mark.parametrize(
    "data",
    [
        {"quote": "q", "grounded": True, "match": "exact"},  # grounded without a span
        {"quote": "q", "start": 0, "end": 1, "grounded": False, "match": "none"},  # span, no ground
        {"quote": "q", "start": 0, "end": 1, "grounded": True, "match": "none"},  # match disagrees
        {"quote": "q", "grounded": False, "match": "exact"},  # match but not grounded
        {"quote": "q", "start": 0, "grounded": True, "match": "exact"},  # half a span
        {"quote": "q", "end": 3, "grounded": True, "match": "exact"},  # half a span
        {"quote": "q", "start": 4, "end": 3, "grounded": True, "match": "exact"},  # start > end
        {"quote": "q", "start": -1, "end": 3, "grounded": True, "match": "exact"},  # negative
        {"quote": "q", "match": "guessed"},  # unknown match kind
    ],
)
def test_evidence_rejects_inconsistent_fields(data: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Evidence.model_validate(data)
        pytest.fail(f"Evidence accepted inconsistent fields: {data}")


def test_evidence_rejects_extra_fields() -> None:
    with pytest.raises(pydantic.ValidationError, match="confidence"):
        Evidence.model_validate({**GROUNDED, "confidence": 0.9})


# --- Actor.country --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("RUS", "RUS"),
        ("rus", "RUS"),
        (" ukr ", "UKR"),
        ("VAT", "VAT"),  # the Holy See
        ("che", "CHE"),
        ("XXX", None),
        ("Russia", None),
        ("RU", None),
        ("", None),
        (None, None),
        (643, None),  # ISO numeric code is not accepted
    ],
)
def test_actor_country_is_a_known_alpha3_code_or_none(given: object, expected: str | None) -> None:
    actor = Actor.model_validate(
        {"name": "x", "canonical": "x", "kind": "country", "country": given}
    )
    assert actor.country == expected, f"country {given!r} became {actor.country!r}"


# --- Item event codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "cameo", "expected"),
    [
        (warning, "138", "138"),
        (warning, 138, "138"),
        (warning, "CAMEO 138", "138"),
        (warning, " 1384 ", "1384"),
        (warning, "139", "139"),
        (warning, "12", None),
        (warning, 12, "012"),
        (position, "12", None),
        (position, 12, "012"),
        (position, "010", "010"),
        (venue, "036", "036"),
        (rebuttal, "125", "125"),
        (warning, "125", None),  # a reject code does not fit a warning
        (venue, "138", None),
        (venue, "12", None),  # "012" exists but does not fit a venue
        (position, "125", None),
        (warning, "999", None),
        (warning, "FOO", None),
        (warning, "", None),
        (warning, None, None),
    ],
)
def test_item_cameo_codes_are_kept_only_when_known_and_fitting(
    make: Any, cameo: object, expected: str | None
) -> None:
    item = make(cameo=cameo)
    assert item.cameo == expected, (
        f"{type(item).__name__}(cameo={cameo!r}) kept {item.cameo!r}, expected {expected!r}"
    )


@pytest.mark.parametrize(
    ("make", "plover", "expected"),
    [
        (warning, "THREATEN", "THREATEN"),
        (warning, "threaten", "THREATEN"),
        (venue, "consult", "CONSULT"),
        (rebuttal, "REJECT", "REJECT"),
        (position, "ACCUSE", "ACCUSE"),
        (venue, "THREATEN", None),  # does not fit a venue
        (warning, "REJECT", None),
        (warning, "FOO", None),
        (warning, None, None),
    ],
)
def test_item_plover_codes_are_kept_only_when_known_and_fitting(
    make: Any, plover: object, expected: str | None
) -> None:
    item = make(plover=plover)
    assert item.plover == expected, (
        f"{type(item).__name__}(plover={plover!r}) kept {item.plover!r}, expected {expected!r}"
    )


def test_item_grounded_needs_evidence_and_all_of_it_grounded() -> None:
    assert warning().grounded, "an item with only grounded evidence must be grounded"
    assert not warning(evidence=[GROUNDED, UNGROUNDED]).grounded, "one ungrounded quote"
    assert not warning(evidence=[]).grounded, "an item without evidence is not grounded"


# --- Frozen models --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (Evidence.model_validate(GROUNDED), "quote", "changed"),
        (Actor(name="a", canonical="a", kind="person"), "country", "RUS"),
        (warning(), "by", "someone else"),
        (meta(), "attempts", 9),
        (full_summary(), "summary", "changed"),
    ],
)
def test_models_are_frozen(model: pydantic.BaseModel, field: str, value: object) -> None:
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        setattr(model, field, value)
        pytest.fail(f"{type(model).__name__}.{field} could be assigned")


def test_summary_collections_are_immutable_tuples() -> None:
    summary = full_summary()
    for name in ("actors", "warnings", "positions", "venues", "rebuttals"):
        assert isinstance(getattr(summary, name), tuple), f"ArticleSummary.{name} is mutable"


def test_summary_needs_a_non_empty_summary() -> None:
    with pytest.raises(pydantic.ValidationError):
        ArticleSummary(summary="", meta=meta())


# --- ArticleSummary helpers and round-trip --------------------------------------------------


def test_items_yields_warnings_positions_venues_rebuttals_in_order() -> None:
    summary = full_summary()
    assert [item.id for item in summary.items()] == ["w1", "p1", "v1", "r1"]
    assert list(ArticleSummary(summary="s", meta=meta()).items()) == []


@pytest.mark.parametrize(
    ("item_id", "kind"), [("w1", WarningItem), ("p1", Position), ("v1", Venue)]
)
def test_get_finds_an_item_by_id(item_id: str, kind: type) -> None:
    found = full_summary().get(item_id)
    assert isinstance(found, kind), f"get({item_id!r}) returned {found!r}"
    assert found.id == item_id


@pytest.mark.parametrize("item_id", ["w9", "", "W1"])
def test_get_returns_none_for_unknown_ids(item_id: str) -> None:
    assert full_summary().get(item_id) is None


def test_json_round_trip_is_lossless() -> None:
    summary = full_summary()
    restored = ArticleSummary.model_validate_json(summary.model_dump_json())
    assert restored == summary, "model_dump_json -> model_validate_json changed the summary"
    assert restored.warnings[0].cameo == "138"
    assert restored.actors[0].country == "RUS"


def test_python_round_trip_is_lossless() -> None:
    summary = full_summary()
    assert ArticleSummary.model_validate(summary.model_dump()) == summary
