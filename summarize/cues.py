"""Which kinds of item a sentence could report, read off its words. Pure, no I/O.

A small model asked "what does this sentence report?" over-answers: it calls criticism a
threat and a forum city a venue. The event-coding tradition (CAMEO's verb dictionaries,
PETRARCH) finds candidate events by their cue words first. Here cues only narrow the
question: a sentence with no cue for a kind is never asked about that kind, and a sentence
with no cue at all is not asked about. The lists follow the CAMEO/PLOVER definitions of
threaten (13x), reject/deny (12x, 016), meeting intent and hosting (036, 039, 04x) and
statements (01x, 112), not any one article.
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = [
    "HOST_OFFER",
    "Kind",
    "candidate_kinds",
    "declines_comment",
    "looks_ahead",
    "offers_to_host",
    "polarity",
    "predicts_harm",
    "rebuttal_kind",
    "states_a_stance",
    "threatens",
    "venue_status",
    "warning_kind",
    "warns_of_harm",
]

Kind = Literal["warning", "position", "venue", "rebuttal"]


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(patterns) + r")(?![\w-])", re.IGNORECASE)


_WARNING: Final = _words(
    r"threat\w*",
    r"warn\w*",
    r"ultimatum\w*",
    r"deadline\w*",
    r"or face",
    r"(?:face|bear|suffer) (?:the |severe |serious |grave )?consequences",
    r"consequences",
    r"retaliat\w*",
    r"reprisal\w*",
    r"legitimate targets?",
    r"all options",
    r"respond (?:with force|militarily|decisively|firmly)",
    r"(?:will|would|shall) (?:respond|retaliate|strike|hit back|act|pay|not hesitate)",
    r"(?:impose|slap|tighten|expand) (?:new |further |fresh )?sanctions",
    r"sanctions? (?:will|would)",
    r"expel\w*",
    r"sever\w* (?:ties|relations)",
    r"cut (?:off|ties)",
    r"(?:suspend|halt|freeze|end)\w* (?:talks|negotiations|cooperation|aid|supplies|deliveries)",
    r"at (?:their|its|his|her|your) (?:own )?peril",
    r"last chance",
    r"final warning",
    r"\d+ (?:hours|days)",
    r"(?:lead|leads|led) to",
    r"(?:could|would|will|may|might) (?:trigger|spark|cause|unleash|provoke|plunge|push)",
    r"risks?",
    r"catastroph\w*",
    r"disaster\w*",
    r"famine",
    r"collapse",
    r"escalat\w*",
    r"spiral\w*",
    r"danger\w*",
    r"by force",
    r"(?:shoot|shot|bring|brought|be) down",
    r"block\w*",
    r"(?:stop|halt|seize|destroy|target)(?:s|ed)? (?:any|every|all)",
)
# "If X, we will Y" / "Y unless X": the conditional that makes a statement a warning.
_CONDITIONAL: Final = re.compile(
    r"\b(?:if|unless|should|once|until)\b.{0,160}?\b(?:will|would|shall|could|can)\b"
    r"|\b(?:will|would|shall|could)\b.{0,160}?\b(?:if|unless|until)\b",
    re.IGNORECASE,
)
_REBUTTAL: Final = _words(
    r"reject\w*",
    r"den(?:y|ies|ied|ying|ial|ials)",
    r"dismiss\w*",
    r"refut\w*",
    r"rebuff\w*",
    r"rebut\w*",
    r"repudiat\w*",
    r"turn\w* down",
    r"ruled? out",
    r"not true",
    r"untrue",
    r"baseless",
    r"groundless",
    r"unfounded",
    r"false(?:hoods?)?",
    r"lies",
    r"lying",
    r"fabricat\w*",
    r"categorically",
    r"nonsense",
    r"absurd",
    r"ridiculous",
    r"propaganda",
    r"unacceptable",
    r"no basis",
    r"no evidence",
    r"hit back",
    r"counter\w*",
    r"retort\w*",
    r"responded",
    r"in response",
    r"contradict\w*",
    r"disput\w*",
    r"insist\w*",
    r"refus\w*",
    r"mistaken",
    r"wrong",
    r"prove[sd]? nothing",
    r"(?:no|not|never|nobody|nothing|neither|nor)",
    r"\w+n[\u2019']t",
)
_VENUE_WORDS: Final = _words(
    r"host\w*",
    r"venues?",
    r"held",
    r"hold",
    r"talks",
    r"meet\w*",
    r"summit\w*",
    r"negotiat\w*",
    r"rounds?",
    r"mediat\w*",
    r"place for",
    r"convene\w*",
    r"gather\w*",
)
# A place: a capitalised word not at the start of the sentence, or "outside X" / "in X".
_PLACE: Final = re.compile(r"(?:\S\s+|\b(?:outside|in|at)\s+)(?:the\s+)?[A-Z][\w\u2019'-]+")
_POSITION: Final = _words(
    r"s(?:ays|aid)",
    r"told",
    r"tells",
    r"add(?:s|ed)",
    r"stat(?:es|ed)",
    r"argu\w*",
    r"insist\w*",
    r"believ\w*",
    r"call\w* (?:for|on)",
    r"urg\w*",
    r"accus\w*",
    r"blam\w*",
    r"criticis\w*",
    r"criticiz\w*",
    r"condemn\w*",
    r"back\w*",
    r"support\w*",
    r"oppos\w*",
    r"welcom\w*",
    r"prais\w*",
    r"pledg\w*",
    r"vow\w*",
    r"demand\w*",
    r"(?:according to|in the view of)",
    r"wants?",
    r"favou?r\w*",
    r"agree\w*",
    r"consider\w*",
    r"see[sn]?",
    r"named",
    r"described",
    r"reiterat\w*",
    r"maintain\w*",
    r"hop(?:e|es|ed|ing)",
    r"expect\w*",
    r"must",
    r"should",
)
_QUOTED: Final = re.compile(r"[\"“”«»]")


# Threat language: a harm promised (CAMEO 13x), explicitly or under a condition.
_THREAT: Final = _words(
    r"threat\w*",
    r"ultimatum\w*",
    r"or face",
    r"face (?:the |severe |serious |grave )?consequences",
    r"retaliat\w*",
    r"legitimate targets?",
    r"by force",
    r"respond with",
    r"every means",
    r"all (?:necessary )?(?:options|measures|means)",
    r"(?:shoot|shot|bring|brought) down",
    r"expel\w*",
    r"sanctions?",
    r"sever\w*",
    r"cut (?:off|ties)",
    r"(?:close|shut)\w* (?:the|its|our|their)",
    r"block\w*",
    r"hit back",
    r"not hesitate",
    r"(?:pursue|destroy|strike|attack|target)\w*",
)
# Harm foretold: what a prediction warns of.
_HARM: Final = _words(
    r"catastroph\w*",
    r"disaster\w*",
    r"famine",
    r"collapse\w*",
    r"clash\w*",
    r"exchanges? of fire",
    r"war",
    r"violence",
    r"bloodshed",
    r"crisis",
    r"ruin\w*",
    r"escalat\w*",
    r"danger\w*",
    r"(?:fall|drop|rise|soar|surge)\w* by",
    r"shortages?",
    r"(?:costs?|los(?:e|es|ing|t)|losses)",
)


def threatens(sentence: str) -> bool:
    """Threat language: an explicit threat or ultimatum, or harm or action promised.

    Promised on a condition, that is: "if the coal is not delivered, we will keep the water".
    """
    return bool(_EXPLICIT_THREAT.search(sentence)) or (
        _promises(sentence) and _conditional(sentence)
    )


def _promises(sentence: str) -> bool:
    """Harm or action promised: "retaliate", "sanctions", "we will"."""
    return bool(_THREAT.search(sentence) or _PROMISE.search(sentence))


def _conditional(sentence: str) -> bool:
    """Whether it states a condition: "if X, we will Y", "Y unless X", a deadline."""
    return bool(_CONDITIONAL.search(sentence) or _IF.search(sentence))


def looks_ahead(sentence: str) -> bool:
    """Whether the sentence speaks of what may come: a warning's tense, not a report's.

    "The death toll rose to 23" reports harm; "the toll will rise", "could lead to famine",
    "if they advance" and "warned" look ahead.
    """
    return _outside_names(_AHEAD, sentence)


def _outside_names(pattern: re.Pattern[str], sentence: str) -> bool:
    """Whether `pattern` matches a word that is not part of a name."""
    return any(not _in_a_name(sentence, m.start()) for m in pattern.finditer(sentence))


def _in_a_name(sentence: str, at: int) -> bool:
    """A capitalised word inside a sentence is part of a name ("Flood Warning Centre")."""
    before = sentence[:at].rstrip()
    return sentence[at].isupper() and bool(before) and before[-1] not in "\"\u201c\u2018'(-:"


_AHEAD: Final = _words(
    r"will",
    r"would",
    r"could",
    r"may",
    r"might",
    r"shall",
    r"[\w]+[\u2019']ll",
    r"won[\u2019']t",
    r"wouldn[\u2019']t",
    r"going to",
    r"about to",
    r"if",
    r"unless",
    r"until",
    r"or else",
    r"risk\w*",
    r"threat\w*",
    r"warn\w*",
    r"ultimatum\w*",
    r"deadline\w*",
    r"or face",
    r"faces?",
    r"stands? to",
    r"must",
)


def offers_to_host(sentence: str) -> bool:
    """Whether someone offers to host ("is ready to host", "offered to host", "willing to host")."""
    return bool(HOST_OFFER.search(sentence))


HOST_OFFER: Final = re.compile(
    r"\b(?:offer\w*|ready|willing|prepared|volunteer\w*)\b[^.;]{0,20}?\bto host\b", re.IGNORECASE
)


def declines_comment(sentence: str) -> bool:
    """Whether someone did not answer ("did not respond to a request for comment"): no item."""
    return bool(_NO_ANSWER.search(sentence))


_NO_ANSWER: Final = _words(
    r"did not (?:immediately )?(?:respond|reply|comment)",
    r"(?:has|have|had) not (?:yet )?(?:said|commented|responded|replied)",
    r"declined to (?:comment|respond|say)",
    r"(?:could|can) not be reached",
    r"(?:no|without) (?:immediate )?comment",
)


def predicts_harm(sentence: str) -> bool:
    """Harm foretold on a condition ("if the pipeline stops, Niger loses a quarter of ...")."""
    return _conditional(sentence) and bool(_HARM.search(sentence))


_EXPLICIT_THREAT: Final = _words(r"threat\w*", r"ultimatum\w*", r"or face", r"not hesitate")
_PROMISE: Final = _words(r"(?:we|i)(?: will| shall|[\u2019']ll)")


_IF: Final = _words(r"if", r"unless", r"until", r"or else", r"deadline\w*", r"\d+ (?:hours|days)")


def warns_of_harm(sentence: str) -> bool:
    """Any threat word, or a harm foretold: what a warning (threat or prediction) needs."""
    return bool(_THREAT.search(sentence) or _HARM.search(sentence) or _WARN_WORD.search(sentence))


_WARN_WORD: Final = _words(r"warn\w*", r"\d+ (?:hours|days) to")


_AGAINST: Final = _words(
    r"oppos\w*",
    r"reject\w*",
    r"criticis\w*",
    r"criticiz\w*",
    r"condemn\w*",
    r"accus\w*",
    r"against",
    r"never",
    r"not",
    r"no",
    r"refus\w*",
    r"den(?:y|ies|ied)",
    r"unacceptable",
    r"wrong",
    r"blam\w*",
    r"\w+n[\u2019']t",
)
_FAVOR: Final = _words(
    r"support\w*",
    r"back\w*",
    r"welcom\w*",
    r"favou?r\w*",
    r"prais\w*",
    r"endors\w*",
    r"agree\w*",
    r"call\w* (?:for|on)",
    r"urg\w*",
    r"want\w*",
    r"need\w*",
    r"must",
    r"should",
    r"ready",
    r"pledg\w*",
    r"commit\w*",
    r"hop\w*",
)
_CONDITION: Final = _words(
    r"if", r"unless", r"provided", r"as long as", r"only when", r"on condition"
)


def polarity(sentence: str) -> Literal["favor", "against", "neutral", "conditional"]:
    """The polarity a stance is stated with, read off its words (conditions first)."""
    if _CONDITION.search(sentence):
        return "conditional"
    against, favor = len(_AGAINST.findall(sentence)), len(_FAVOR.findall(sentence))
    if against > favor:
        return "against"
    if favor > against:
        return "favor"
    return "neutral"


# A stance, not a report: what someone wants, judges, refuses or believes (CAMEO 01x, 112).
_STANCE: Final = _words(
    r"must",
    r"should",
    r"ought",
    r"needs? to",
    r"ha(?:s|ve) to",
    r"wants?",
    r"demand\w*",
    r"call\w* (?:for|on)",
    r"urg\w*",
    r"insist\w*",
    r"refus\w*",
    r"ready to",
    r"willing",
    r"prepared to",
    r"will not",
    r"would not",
    r"won[\u2019']t",
    r"cannot",
    r"can[\u2019']t",
    r"never",
    r"no longer",
    r"(?:un)?acceptable",
    r"wrong",
    r"right",
    r"(?:il)?legitimate",
    r"illegal",
    r"(?:un)?justified",
    r"baseless",
    r"serious",
    r"important",
    r"essential",
    r"vital",
    r"necessary",
    r"worthless",
    r"robust",
    r"premature",
    r"pointless",
    r"no (?:point|sense|reason|need)",
    r"mistake\w*",
    r"absurd",
    r"dangerous",
    r"provocat\w*",
    r"hostile",
    r"(?:un)?fair",
    r"violat\w*",
    r"sovereign\w*",
    r"priority",
    r"propaganda",
    r"fake",
    r"believ\w*",
    r"think\w*",
    r"consider\w*",
    r"view\w*",
    r"argu\w*",
    r"accus\w*",
    r"blam\w*",
    r"criticis\w*",
    r"criticiz\w*",
    r"condemn\w*",
    r"support\w*",
    r"oppos\w*",
    r"welcom\w*",
    r"prais\w*",
    r"favou?r\w*",
    r"prefer\w*",
    r"reject\w*",
    r"den(?:y|ies|ied)",
    r"dismiss\w*",
    r"hop(?:e|es|ed|ing)",
    r"fear\w*",
    r"warn\w*",
    r"vow\w*",
    r"pledg\w*",
    r"commit\w*",
    r"(?:dis)?agree\w*",
    r"doubt\w*",
    r"concern\w*",
    r"regret\w*",
    r"causes?",
    r"reasons?",
    r"responsib\w*",
    r"guarantee\w*",
    r"impossible",
    r"possible",
    r"only",
    r"ready",
    r"determined",
    r"proposal\w*",
    r"solution",
)


def states_a_stance(sentence: str) -> bool:
    """Whether the sentence states what someone wants, judges or believes, not only facts."""
    return _outside_names(_STANCE, sentence)


def candidate_kinds(sentence: str) -> tuple[Kind, ...]:
    """The kinds of item `sentence` has cue words for, in a fixed order (may be empty)."""
    kinds: list[Kind] = []
    if _WARNING.search(sentence) or _CONDITIONAL.search(sentence):
        kinds.append("warning")
    if _POSITION.search(sentence) or _QUOTED.search(sentence):
        kinds.append("position")
    if _VENUE_WORDS.search(sentence) and _PLACE.search(sentence):
        kinds.append("venue")
    if _REBUTTAL.search(sentence):
        kinds.append("rebuttal")
    return tuple(kinds)


def warning_kind(sentence: str, said: str) -> str:
    """A warning's kind: the model's (`said`) unless the words say otherwise.

    A time limit ("gave Tajikistan 72 hours to", "until June 30 to", a deadline) makes an
    ultimatum (CAMEO 1xx with a deadline); an "ultimatum" without one is a threat; a "threat"
    in which nobody threatens or promises anything, only foretells harm ("the whole region
    will enter a very dangerous phase"), is a prediction.
    """
    if _TIME_LIMIT.search(sentence):
        return "ultimatum"
    if said == "ultimatum":
        return "threat"
    if said == "threat" and not (_promises(sentence) or _EXPLICIT_THREAT.search(sentence)):
        return "prediction"
    return said


def rebuttal_kind(sentence: str, said: str) -> str:
    """A rebuttal's kind: the verb's when only one kind's words are there, else the model's.

    "dismissed the remarks" dismisses; "denied", "a crude fake" or "rejected the figures" deny
    a claim; "rejected the offer" rejects a proposal (CAMEO 125 vs 016).
    """
    return _only_match(_REBUTTAL_KINDS, sentence, said)


def venue_status(sentence: str, said: str) -> str:
    """A venue's status: the words' when only one status's words are there, else the model's.

    "rejected a proposal to hold talks in Kunming" rejects; "ready to host" offers to host;
    "proposed that the talks be held in Geneva" or "invited both sides to meet at" proposes.
    """
    return _only_match(_VENUE_STATUSES, sentence, said)


def _only_match(words: dict[str, re.Pattern[str]], sentence: str, said: str) -> str:
    """The one name whose words the sentence has; `said` when none or several match."""
    found = [name for name, pattern in words.items() if pattern.search(sentence)]
    return found[0] if len(found) == 1 else said


_TIME_LIMIT: Final = re.compile(
    r"\b(?:gave|give[sn]?|giving)\b[^.;]{0,60}?\b(?:\d+|\w+) (?:hours|days|weeks)\b"
    r"|\b(?:gave|give[sn]?|giving)\b[^.;]{0,40}?\buntil\b|\bdeadlines?\b",
    re.IGNORECASE,
)
_REJECTING: Final = r"(?:reject\w*|turn\w* down|rebuff\w*|refus\w*|rul\w* out)"
_PROPOSALS: Final = (
    r"(?:offers?|proposals?|plans?|invitations?|ideas?|approach|calls?|requests?|"
    r"initiatives?|bids?|suggestions?)"
)
_CLAIMS: Final = (
    r"(?:claims?|figures?|reports?|accusations?|allegations?|charges?|assertions?|numbers?)"
)
_REBUTTAL_KINDS: Final = {
    "dismiss": _words(r"dismiss\w*", r"brush\w* (?:aside|off)", r"shrug\w* off", r"scoff\w*"),
    "deny_claim": re.compile(
        r"\b(?:den(?:y|ies|ied|ying|ial|ials)|untrue|not true|fabricat\w*|fake)\b"
        r"|\b(?:reject\w*|refut\w*)\b[^.;]{0,40}?\b" + _CLAIMS + r"\b",
        re.IGNORECASE,
    ),
    "reject_proposal": re.compile(
        r"\b" + _REJECTING + r"\b[^.;]{0,40}?\b" + _PROPOSALS + r"\b", re.IGNORECASE
    ),
}
_VENUE_STATUSES: Final = {
    "rejected": _words(_REJECTING),
    "offered_to_host": HOST_OFFER,
    "proposed": _words(r"propos\w*", r"suggest\w*", r"invit\w*", r"ready to convene"),
}
