"""Sentence coding: a strategy small local models can follow. Pure: it only plans asks.

The article's sentences are numbered and sent once, as a prompt prefix every request shares
(llama.cpp reads it once and reuses it). Then, for each sentence whose words could report an
item (`summarize.cues`), one short request asks its kind — among the cued kinds and "none" —
and its actor; a second asks that kind's fields. Evidence is the sentence itself, verbatim by
construction. Items one actor made over several sentences are merged, and the model's
summary is checked against the article's names. This is how event-coding pipelines work
(one sentence at a time), and what a 1.5B model decides far better than a whole article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from rapidfuzz import fuzz, process

from summarize.config import Mode
from summarize.cues import (
    HOST_OFFER,
    Kind,
    candidate_kinds,
    declines_comment,
    looks_ahead,
    offers_to_host,
    polarity,
    predicts_harm,
    rebuttal_kind,
    states_a_stance,
    threatens,
    venue_status,
    warning_kind,
    warns_of_harm,
)
from summarize.draft import DraftSummary
from summarize.guards import reporting_outlets, speech_location
from summarize.names import name_tokens, same_name
from summarize.prompts import Message, Prompt
from summarize.sentences import Sentence, numbered, split_sentences
from summarize.speakers import speakers
from summarize.strategy import Ask, Plan

__all__ = ["SentenceCoding"]

#: How alike (rapidfuzz token-set ratio) two items' issues or targets must be to merge.
MERGE_MIN_SCORE: Final = 60.0
#: The same for positions: an actor's stance spread over an article is usually one
#: position (in the gold set, 3 of 40 positions share a holder), so only clearly
#: different issues keep two apart.
POSITION_MERGE_MIN_SCORE: Final = 35.0
_CODING_TOKENS: Final = 48
_FIELDS_TOKENS: Final = 120
_SUMMARY_TOKENS: Final = 160
_MAX_EVIDENCE: Final = 2
_MAX_STANCE: Final = 200
_QUOTE_MARKS: Final = re.compile(r"[\"\u201c\u201d\u00ab\u00bb]")
_PRONOUN_SUBJECT: Final = re.compile(
    r"[\"\u201c]?(?:He|She|They)\s+(?:also\s+|later\s+)?(?:said|told|[a-z]+ed|[a-z]+s)\b"
)
_PRONOUNS: Final = frozenset({"he", "she", "they", "it", "his", "her", "we", "i"})


def _text(limit: int) -> Any:
    return Field(max_length=limit)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _WarningFields(_Answer):
    target: str = _text(60)
    consequence: str = _text(90)
    condition: str = _text(90)
    type: Literal["threat", "ultimatum", "prediction"]


class _PositionFields(_Answer):
    issue: str = _text(60)
    polarity: Literal["favor", "against", "neutral", "conditional"]


class _VenueFields(_Answer):
    places: list[Annotated[str, Field(max_length=50)]] = Field(min_length=1, max_length=8)
    proposed_by: str = _text(60)
    status: Literal["proposed", "offered_to_host", "accepted", "rejected", "held"]


class _RebuttalFields(_Answer):
    answers: str = _text(80)
    type: Literal["reject_proposal", "deny_claim", "counter_claim", "dismiss"]


class _Summary(_Answer):
    summary: str = _text(600)


_FIELDS: Final[dict[Kind, type[_Answer]]] = {
    "warning": _WarningFields,
    "position": _PositionFields,
    "venue": _VenueFields,
    "rebuttal": _RebuttalFields,
}
_CATEGORY: Final[dict[Kind, str]] = {
    "warning": "warnings",
    "position": "positions",
    "venue": "venues",
    "rebuttal": "rebuttals",
}


@cache
def _coding_model(kinds: tuple[Kind, ...]) -> type[_Answer]:
    """``{"kind": "none" | <the cued kinds>, "actor": "...", "issue": "..."}``.

    "none" is always offered first; `issue` (what it is about) is all a position needs.
    """
    kind = Literal[("none", *kinds)]  # type: ignore[valid-type]
    return create_model(
        "Coding",
        __base__=_Answer,
        kind=(kind, ...),
        actor=(Annotated[str, Field(max_length=80)], ...),
        issue=(Annotated[str, Field(max_length=60)], ...),
    )


@dataclass(slots=True)
class _Item:
    """An item as coded, before merging: its kind, actor, fields and sentences."""

    kind: Kind
    actor: str
    fields: dict[str, Any]
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What else two items of one actor must share to be one item."""
        name = {"warning": "target", "position": "issue", "venue": "place", "rebuttal": "answers"}
        return str(self.fields.get(name[self.kind], ""))


class SentenceCoding:
    """Code the article one sentence at a time; see the module docstring.

    Args:
        prompt: The versioned prompt: a system message, the article message, and one
            template per question (``code``, ``warning``, ``position``, ``venue``,
            ``rebuttal``, ``summary``).
        mode: How to ask for structure: ``json_schema`` in-process (a grammar that keeps
            the schema out of the prompt), the settings' mode for an endpoint.
    """

    name = "sentences"
    #: Its rules run before a draft is cached, so a change to them is a new revision: a
    #: cached draft coded by older rules is not served (assembly rules apply on every hit).
    revision = 7
    #: A small model reads a long prefix poorly, and its numbering grows with it: longer
    #: articles are coded in chunks of about this many tokens (`summarize.chunking`).
    chunk_tokens = 1600
    #: Measured on the gold set: of the rebuttals it codes that answer no item of the
    #: article, 1 in 11 is right (rebuttal precision 0.43 → 0.51 without them).
    rebuttals_must_link = True

    def __init__(self, prompt: Prompt, *, mode: Mode | None = None) -> None:
        self.prompt = prompt
        self._mode = mode

    def plan(self, article: str) -> Plan:
        """Ask about each cued sentence, then for a summary; return the merged draft."""
        sentences = split_sentences(article)
        prefix = tuple(self.prompt.render(numbered(sentences)))
        outlets = reporting_outlets(article)
        speaker = dict(zip(sentences, speakers(sentences, outlets), strict=True))
        items: list[_Item] = []
        cued = [
            (s, kinds)
            for s in _body(article, sentences)
            if (kinds := candidate_kinds(s.text)) and _worth_asking(s, kinds, speaker[s])
        ]
        for done, (sentence, kinds) in enumerate(cued):
            progress = (done, len(cued) + 1)
            question = _user(
                self.prompt.fill(
                    "code",
                    number=str(sentence.number),
                    sentence=sentence.text,
                    kinds=", ".join(("none", *kinds)),
                )
            )
            coded = yield self._ask(
                (*prefix, question), _coding_model(kinds), _CODING_TOKENS, progress
            )
            if coded is None or getattr(coded, "kind", "none") == "none":
                continue
            checked = _checked_kind(coded.kind, sentence.text)  # type: ignore[attr-defined]
            if checked is None:
                continue
            kind = checked
            said: str = coded.actor  # type: ignore[attr-defined]
            actor = _actor(said, sentence, sentences, outlets, speaker[sentence])
            if not actor:
                continue
            if kind == "position":  # the coding answer holds all a position needs
                issue = str(coded.issue) or sentence.text  # type: ignore[attr-defined]
                stated = {"issue": issue, "polarity": polarity(sentence.text)}
                items.append(_Item(kind, actor, stated, [sentence]))
                continue
            follow = _user(self.prompt.fill(kind, number=str(sentence.number), actor=actor))
            answer = _assistant(coded.model_dump_json())
            fields = yield self._ask(
                (*prefix, question, answer, follow), _FIELDS[kind], _FIELDS_TOKENS, progress
            )
            if fields is not None:
                stated = _typed(kind, fields.model_dump(), sentence.text)
                items += _items(kind, actor, stated, sentence, article)
        summary = _user(self.prompt.fill("summary"))
        written = yield self._ask(
            (*prefix, summary), _Summary, _SUMMARY_TOKENS, (len(cued), len(cued) + 1)
        )
        return _draft(_merged(items), _whole_sentences(str(getattr(written, "summary", ""))))

    def _ask(
        self,
        messages: tuple[Message, ...],
        model: type[BaseModel],
        max_tokens: int,
        progress: tuple[int, int],
    ) -> Ask:
        return Ask(messages, model, max_tokens, self._mode, optional=True, progress=progress)


def _whole_sentences(summary: str) -> str:
    """The summary's whole sentences, less any that echo the instructions ("" when none).

    A small model that copies a quotation mark from the article ("a post-war "reassurance
    force"") ends its JSON string there, mid-sentence; told to name only what the article
    names, it may add "The article names Russia, Vladimir Putin, ...". An empty summary is
    built from the items instead (`summarize.assemble`).
    """
    summary, kept, start = summary.strip(), [], 0
    for end in _SENTENCE_END.finditer(summary):
        sentence = summary[start : end.end()].strip()
        start = end.end()
        if not _ECHO.match(sentence):
            kept.append(sentence)
    return " ".join(kept)


_SENTENCE_END: Final = re.compile(r"[.!?][\"\u201d\u2019')\]]*(?=\s|$)")
_ECHO: Final = re.compile(r"(?:the|this) (?:article|text) (?:names|mentions|lists)\b", re.I)


def _checked_kind(kind: Kind, sentence: str) -> Kind | None:
    """The model's kind, unless the words say otherwise (None: no item after all).

    A "position" in threat language ("if they advance, we will respond with every means")
    or foretelling harm on a condition ("if the pipeline stops, Niger loses ...") is a
    warning; a "warning" with no harm threatened or foretold, or that only reports harm
    done ("the death toll rose to 23"), is a position, if it states a stance; a "position"
    that states none ("X said 612 shelters are open") is a report of facts, not an item;
    a "position" or "rebuttal" that offers to host ("Tashkent is ready to host the ministers")
    is a venue; and no one who did not answer ("did not respond to a request for comment")
    made an item.
    """
    if declines_comment(sentence):
        return None
    if kind == "position" and (threatens(sentence) or predicts_harm(sentence)):
        return "warning"
    if kind in ("position", "rebuttal") and offers_to_host(sentence):
        return "venue"
    if kind == "warning" and not (warns_of_harm(sentence) and looks_ahead(sentence)):
        return "position" if states_a_stance(sentence) else None
    if kind == "position" and not states_a_stance(sentence):
        return None  # "X said 612 shelters are open": a report, not a stance
    return kind


def _typed(kind: Kind, fields: dict[str, Any], sentence: str) -> dict[str, Any]:
    """The fields, with the item's type as the sentence's words give it (`summarize.cues`).

    Measured on the gold set: of the items the model types, it gave a warning's, a venue's or
    a rebuttal's type right 0.43, 0.57 and 0.24 of the time; rebuttals it mostly called
    rejected proposals, and every conditional warning a threat.
    """
    if kind == "warning":
        return {**fields, "type": warning_kind(sentence, fields["type"])}
    if kind == "rebuttal":
        return {**fields, "type": rebuttal_kind(sentence, fields["type"])}
    if kind == "venue":
        return {**fields, "status": venue_status(sentence, fields["status"])}
    return fields


def _worth_asking(sentence: Sentence, kinds: tuple[Kind, ...], speaker: str) -> bool:
    """Not a sentence that could only be a position but quotes and attributes no one."""
    if kinds != ("position",):
        return True
    return bool(speaker) or bool(_QUOTE_MARKS.search(sentence.text))


def _user(text: str) -> Message:
    return {"role": "user", "content": text}


def _assistant(text: str) -> Message:
    return {"role": "assistant", "content": text}


def _body(article: str, sentences: Sequence[Sentence]) -> Iterator[Sentence]:
    """The sentences worth coding: a headline (a first line without end punctuation) is not."""
    for sentence in sentences:
        first_line = sentence.start == len(article) - len(article.lstrip())
        if first_line and "\n" in article.strip() and not re.search(r"[.!?\"”']$", sentence.text):
            continue
        yield sentence


def _actor(
    said: str,
    sentence: Sentence,
    sentences: Sequence[Sentence],
    outlets: frozenset[str],
    speaker: str,
) -> str:
    """The model's actor when the text bears it out, else the sentence's attributed speaker.

    A pronoun, a reporting outlet ("according to Reuters") or a name found neither in the
    sentence nor in the two before it is replaced by the speaker the attribution names
    ("X said", "said X", a following "he said"). Measured on the gold set, trusting the
    model first and the attribution second beats the other order (rebuttals name who
    rejects, not always who is quoted).
    """
    actor = " ".join(said.split()).strip(" .,'\"")
    if speaker and _PRONOUN_SUBJECT.match(sentence.text):
        return speaker  # "He accused Tajik border guards ...": not the guards
    named = bool(actor) and actor.casefold() not in _PRONOUNS
    if named and any(same_name(actor, outlet) for outlet in outlets):
        named = False  # the outlet reports, it does not act
    if named and not _mentioned(actor, sentence, sentences):
        named = False
    return actor if named else speaker


def _mentioned(actor: str, sentence: Sentence, sentences: Sequence[Sentence]) -> bool:
    """Whether a word of the actor's name occurs in the sentence or the two before it."""
    window = " ".join(
        s.text for s in sentences if sentence.number - 2 <= s.number <= sentence.number
    )
    words = name_tokens(actor)
    return bool(words) and any(word in name_tokens(window) for word in words)


def _items(
    kind: Kind, actor: str, fields: dict[str, Any], sentence: Sentence, article: str
) -> list[_Item]:
    """One item, or one venue per place named in the sentence (not where anyone spoke).

    A place must carry a name: "where these talks might happen" or "the conference centre"
    describe, they do not name (in the gold set, every venue's place has a capital letter).
    """
    if kind != "venue":
        return [_Item(kind, actor, fields, [sentence])]
    found: list[_Item] = []
    named = [p for said in fields.pop("places") if (p := _named_place(said, sentence.text))]
    plain = [place for place in named if not _only_as_owner(place, sentence.text)]
    for place in plain or named:
        if speech_location(place, sentence.text, article):
            continue  # where a speech or forum took place, or a dateline
        by = place if _offers_itself(place, fields, sentence.text) else fields.get("proposed_by")
        found.append(_Item(kind, actor, {**fields, "place": place, "proposed_by": by}, [sentence]))
    return found


def _named_place(place: str, sentence: str) -> str | None:
    """The place as the sentence names it, or None when the sentence does not name it.

    "the hero city of Moscow" names Moscow; "the capital of the Russian Federation" only
    describes a place named elsewhere (and is not the federation). A spelling of the model's
    own ("Turkey" for the sentence's "Turkiye") becomes the sentence's. An organisation ("under
    the auspices of the United Nations") sponsors or proposes; it is not a place, but a
    country's ministry stands for its country.
    """
    place = " ".join(place.split())
    if _ORGANISATION.search(place):
        owner = _OWNER.match(place)  # "Oman's Foreign Ministry" offers Oman
        place = owner.group(1) if owner else ""
    if not place or _DESCRIBED.match(place):
        return None
    place = _CITY_OF.sub("", place)
    if not any(c.isupper() or (c.isalpha() and c.lower() == c.upper()) for c in place):
        return None  # a description, not a place's name (caseless scripts may name)
    if fuzz.partial_ratio(place.casefold(), sentence.casefold()) < 90:
        spelled = _spelled_as(place, sentence)
        if spelled is None:
            return None  # a place the sentence does not name
        place = spelled
    return place


def _only_as_owner(place: str, sentence: str) -> bool:
    """Whether the sentence names the place only as an owner ("Nepal's Foreign Minister").

    "Nepal's Foreign Minister said Kathmandu would host" offers Kathmandu; Nepal is whose
    minister spoke (dropped when the answer names another place).
    """
    owner = re.compile(re.escape(place) + r"(?:['\u2019]s)?(?![\w'\u2019])", re.IGNORECASE)
    mentions = [m.group() for m in owner.finditer(sentence)]
    return bool(mentions) and all(m.endswith(("'s", "\u2019s")) for m in mentions)


def _spelled_as(place: str, sentence: str) -> str | None:
    """The sentence's own spelling of a name the model spelled otherwise, if close.

    Candidates are the sentence's runs of as many words, capitalised and with the same first
    letter; the likeliest wins.
    """
    words = list(re.finditer(r"[^\W\d_][\w'\u2019-]*", sentence))
    size = len(place.split())
    spans = (
        sentence[words[i].start() : words[i + size - 1].end()] for i in range(len(words) - size + 1)
    )
    candidates = [s for s in spans if s[0].isupper() and s[0].casefold() == place[0].casefold()]
    best = process.extractOne(
        place,
        candidates,
        scorer=fuzz.ratio,
        processor=str.casefold,
        score_cutoff=_SPELLING_MIN_SCORE,
    )
    return None if best is None else best[0]


#: How alike a model's spelling of a place must be to the sentence's ("Turkey", "Turkiye").
_SPELLING_MIN_SCORE: Final = 75.0
_DESCRIBED: Final = re.compile(r"^(?:the\s+)?(?:[a-z-]+\s+)*capital\s+of\b")
_ORGANISATION: Final = re.compile(
    r"\b(?:Nations|Union|Organi[sz]ation|Alliance|Community|Commission|Committee|Ministry|"
    r"Agency|Secretariat)$"
)
_OWNER: Final = re.compile(r"^(.+?)['\u2019]s\s")
_CITY_OF: Final = re.compile(
    r"^(?:the\s+)?(?:[a-z-]+\s+)*(?:city|town|village|port|island|region|province)\s+of\s+"
)


def _offers_itself(place: str, fields: dict[str, Any], sentence: str) -> bool:
    """A host named before its own offer: "Austria, ... and Turkiye had offered to host"."""
    if fields.get("status") != "offered_to_host":
        return False
    offer = HOST_OFFER.search(sentence)
    at = sentence.casefold().find(place.casefold())
    return offer is not None and 0 <= at < offer.start()


def _merged(items: Sequence[_Item]) -> list[_Item]:
    """Items of one kind by one actor about one thing, as one item with all its sentences."""
    merged: list[_Item] = []
    for item in items:
        twin = next((m for m in merged if _same_item(m, item)), None)
        if twin is None:
            merged.append(_Item(item.kind, item.actor, dict(item.fields), list(item.sentences)))
        else:
            twin.sentences += [s for s in item.sentences if s not in twin.sentences]
    return merged


def _same_item(a: _Item, b: _Item) -> bool:
    """One item: the same venue, or one actor's on one thing (or in one paragraph)."""
    if a.kind != b.kind:
        return False
    if a.kind == "venue":
        return same_name(a.key, b.key)
    if not same_name(a.actor, b.actor):
        return False
    together = any(x.paragraph == y.paragraph for x in a.sentences for y in b.sentences)
    alike = fuzz.token_set_ratio(a.key.casefold(), b.key.casefold())
    floor = POSITION_MERGE_MIN_SCORE if a.kind == "position" else MERGE_MIN_SCORE
    return together or alike >= floor


def _reported(sentence: str) -> str:
    """What a sentence reports, without its attribution: the stance or answer in its words."""
    text = re.sub(r"[,\s]*[\"\u201d]?[,\s]*(?:he|she|they|it)\s+(?:said|added)\.?$", "", sentence)
    text = text.strip(' "\u201c\u201d')
    return text if len(text) <= _MAX_STANCE else text[: _MAX_STANCE - 1].rstrip() + "\u2026"


def _draft(items: Sequence[_Item], summary: str) -> DraftSummary:
    data: dict[str, Any] = {"summary": summary}
    for item in items:
        data.setdefault(_CATEGORY[item.kind], []).append(_draft_item(item))
    return DraftSummary.model_validate(data)


def _draft_item(item: _Item) -> dict[str, Any]:
    evidence = [
        {"quote": s.text, "speaker": item.actor, "attribution": "indirect"}
        for s in item.sentences[:_MAX_EVIDENCE]
    ]
    f = item.fields
    if item.kind == "warning":
        fields = {
            "by": item.actor,
            "target": f["target"],
            "consequence": f["consequence"],
            "condition": f["condition"] or None,
            "kind": f["type"],
        }
    elif item.kind == "position":
        fields = {
            "holder": item.actor,
            "issue": f["issue"],
            "stance": _reported(item.sentences[0].text),
            "polarity": f["polarity"],
        }
    elif item.kind == "venue":
        fields = {
            "place": f["place"],
            "proposed_by": f["proposed_by"] or item.actor,
            "status": f["status"],
            "meeting": "talks",
        }
    else:
        fields = {
            "by": item.actor,
            "answers": f["answers"],
            "content": _reported(item.sentences[0].text),
            "kind": f["type"],
        }
    return {**fields, "evidence": evidence}
