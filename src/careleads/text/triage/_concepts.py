"""The clinical-triage rules: symptom concepts made of word classes, with severity, onset and quality cues.

A text's tokens (:mod:`._normalise`) are read for mentions of the word classes of :mod:`._lexicon`
(``CHEST``, ``PAIN``, ``QUALITY``, ``INABILITY``, ``BREATH``, ...); mentions that overlap a non-clinical
sense ("chest of drawers", "heart set on", "I'm dying to try") are dropped. A :class:`Rule` names a
category, a level and the classes that must all be mentioned within a few tokens of each other in one
sentence, in any order: "chest" with a pain or a quality word ("crushing", "tight", "pressure") is a chest
emergency however it is phrased ("my chest feels like an elephant is sitting on it", "pain in the middle of
my chest"). Each mention of a combination must stand the context checks (:func:`._negation.context`:
negation, resolution, history); a hypothetical one ("what should I do if my chest hurts after the
procedure") lowers an urgent rule to possible and a possible one to nothing. A possible rule does not match
in a sentence that calls the symptom mild or is about the skin ("a bit out of breath on the stairs", "chest
acne is really bad"). A rule's ``unless`` classes, mentioned in the same sentence, lower its level
("burning in my chest after spicy food": possible, not urgent).

Levels: ``urgent`` (confident: the triage line) and ``possible`` (a body-system mention with distress:
before a human at the top of the queue).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product

from careleads.text.triage._lexicon import CUE_CLASSES, SENSES, WORD_CLASSES
from careleads.text.triage._negation import AFFIRMED, CANCELLED, SENTENCE_ENDS, context

__all__ = ["RULES", "Concept", "Mention", "Reading", "Rule", "find_concept", "find_mentions"]

_URGENT = "urgent"
_QUIET = ("MILD", "SKIN")  # in the sentence of a possible rule's match: no match
_POSSIBLE = "possible"


@dataclass(frozen=True)
class Rule:
    """Classes that, mentioned together, make a concept of a category at a level.

    Attributes
    ----------
    category
        What the concept is about (``chest_pain``, ``breathing``, ``stroke``, ...).
    level
        ``"urgent"`` or ``"possible"``.
    terms
        One entry per required mention: a class name, or several joined by ``|`` (any of them).
    window
        The most tokens the combination may span, first to last.
    unless
        Classes that, mentioned in the same sentence, lower the level to `otherwise`.
    otherwise
        The level when an `unless` class is mentioned (None: the rule does not apply).
    sentences
        How many sentence ends the combination may cross ("cant do this anymore. goodbye"): 0, one
        sentence.
    """

    category: str
    level: str
    terms: tuple[str, ...]
    window: int = 8
    unless: tuple[str, ...] = ()
    otherwise: str | None = _POSSIBLE
    sentences: int = 0


def _r(
    category: str,
    level: str,
    terms: str,
    window: int = 8,
    unless: str = "",
    otherwise: str | None = _POSSIBLE,
    sentences: int = 0,
) -> Rule:
    return Rule(category, level, tuple(terms.split()), window, tuple(unless.split()), otherwise, sentences)


_U, _P = _URGENT, _POSSIBLE
_CUE = "SEVERITY|ONSET|WORSE|DISTRESS"
RULES: tuple[Rule, ...] = (
    # chest and heart
    _r("chest_pain", _U, "HEART_ATTACK"),
    _r("chest_pain", _U, "CHEST PAIN|QUALITY", 10, unless="REFLUX"),
    _r("chest_pain", _U, "CHEST BURNING", 8, unless="REFLUX"),
    _r("chest_pain", _U, "HEART PAIN|QUALITY|BURNING", 8),
    _r("chest_pain", _U, "CHEST|HEART RADIATE RADIATE_TO", 12),
    _r("chest_pain", _U, "CHEST|HEART RACING|WEIRD DIZZY|FAINT_URGENT", 12),
    _r("chest_pain", _U, "PAIN|QUALITY RADIATE ARM_JAW DIZZY|BREATH_MILD", 14),
    _r("chest_pain", _P, "PAIN|QUALITY RADIATE ARM_JAW", 8),
    _r("chest_pain", _P, f"CHEST|HEART {_CUE}|DIZZY|RACING|WEIRD|WEAK_NUMB", 8),
    _r("chest_pain", _P, "CHEST PAIN|QUALITY|BURNING", 10),
    # breathing
    _r("breathing", _U, "BREATH_URGENT"),
    _r("breathing", _U, "INABILITY BREATH|LUNG", 4, unless="EXERTION"),
    _r("breathing", _U, "LUNG QUALITY|PAIN|BURNING", 6),
    _r("breathing", _U, "BREATH QUALITY|BREATH_FAST", 4, unless="EXERTION"),
    _r("breathing", _U, "BREATH|LUNG SEVERITY|WORSE", 6, unless="EXERTION"),
    _r("breathing", _U, f"BREATH_MILD {_CUE}|INABILITY|REST|DIZZY|FAINT_URGENT", 8),
    _r("breathing", _U, "LIPS|FACE BLUE", 4),
    _r("breathing", _U, f"ASTHMA {_CUE}|INABILITY", 8),
    _r("breathing", _U, "CHOKE"),
    _r("breathing", _P, "BREATH_MILD|ASTHMA", unless="EXERTION", otherwise=None),
    _r("breathing", _P, "INABILITY BREATH|LUNG", 4),
    _r("breathing", _P, f"BREATH|LUNG QUALITY|{_CUE}", 6),
    # stroke signs
    _r("stroke", _U, "FACE DROOP", 5),
    _r("stroke", _U, "SPEECH SLUR", 5),
    _r("stroke", _U, "ONE_SIDE WEAK_NUMB|DROOP", 6),
    _r("stroke", _U, "ONE_SIDE FACE INABILITY|WEIRD", 6),
    _r("stroke", _U, "ONSET WEAK_NUMB LIMB|FACE", 8),
    _r("stroke", _U, "ONSET CONFUSION|VISION_LOSS|SLUR|CANT_SEE", 10),
    _r("stroke", _U, "VISION_LOSS DIZZY|INABILITY|CONFUSION|SLUR|WEAK_NUMB", 10),
    _r("stroke", _U, "ONSET INABILITY SPEECH", 6),
    _r("stroke", _U, "INABILITY SPEECH MANNER", 4),
    _r("stroke", _U, "STROKE_NOW STROKE", 6),
    _r("stroke", _U, "LIMB|FACE WEAK_NUMB SLUR|CONFUSION|VISION_LOSS", 16),
    _r("stroke", _U, "SLUR|VISION_LOSS|CANT_SEE WEAK_NUMB|DIZZY|CONFUSION|ONSET", 16),
    _r("stroke", _U, "CONFUSION SLUR|ONSET|INABILITY", 12),
    _r("stroke", _U, "VISION_LOSS ONSET|WEAK_NUMB", 14, sentences=1),
    _r("stroke", _P, "STROKE"),
    _r("stroke", _P, "SLUR"),
    _r("stroke", _P, "VISION_LOSS"),
    _r("stroke", _P, "FACE|LIMB WEAK_NUMB ONSET|WORSE|DISTRESS", 8),
    _r("stroke", _P, "EYE CANT_SEE", 6),
    _r("stroke", _P, "CONFUSION ONSET|WORSE|DISTRESS|WEAK_NUMB|LIMB|FACE", 12),
    # severe bleeding
    _r("bleeding", _U, "HEMORRHAGE"),
    _r("bleeding", _U, "BLEED BLEED_HEAVY|SEVERITY", 12, unless="PERIOD"),
    _r("bleeding", _U, "BLEED EXPEL", 8),
    _r("bleeding", _U, "WOUND GUSH", 8),
    _r("bleeding", _U, "WOUND|BLEED FRACTURE_OPEN", 12, sentences=1),
    _r("bleeding", _U, "WOUND|BLEED GUSH", 16, sentences=1),
    _r("bleeding", _U, "BLEED DIZZY|FAINT_URGENT", 12, unless="PERIOD"),
    _r("bleeding", _U, "TARRY DIZZY|FAINT_URGENT|EXPEL|MEDS|WEAK_NUMB", 30, sentences=2),
    _r("bleeding", _P, "TARRY"),
    _r("bleeding", _P, f"BLEED {_CUE}|TRAUMA", 8),
    # pregnancy
    _r("pregnancy", _U, "FETAL"),
    _r("pregnancy", _U, "WATERS"),
    _r("pregnancy", _U, "PREGNANT|INFANT MOVES_LESS", 6),
    _r("pregnancy", _U, "PREGNANT BLEED", 15),
    _r("pregnancy", _U, "PREGNANT LABOUR", 15),
    _r("pregnancy", _U, "PREGNANT DEHYDRATION", 25, sentences=1),
    _r("pregnancy", _U, "PREGNANT CONTRACTIONS|PAIN BLEED", 25, sentences=1),
    _r("pregnancy", _U, "PREGNANT HEADACHE|SWELL CANT_SEE|SWELL|HEADACHE", 20),
    _r("pregnancy", _U, "POSTPARTUM FEVER|BLEED|HEADACHE|BREATH_MILD|BREATH_URGENT|CHEST", 20),
    _r(
        "pregnancy",
        _U,
        f"PREGNANT PAIN|CONTRACTIONS|HEADACHE|SWELL|CANT_SEE {_CUE}|WORST|EXTREME|DIZZY|FAINT_URGENT|QUALITY",
        15,
    ),
    _r(
        "pregnancy",
        _P,
        "PREGNANT PAIN|CONTRACTIONS|HEADACHE|SWELL|DIZZY|FEVER|CANT_SEE|BREATH_MILD|WEIRD",
        15,
    ),
    # infants and children
    _r("infant", _U, "INFANT FEVER", 10),
    _r("infant", _U, "INFANT FLOPPY|BREATH_MILD|DEHYDRATION|DROWSY", 10),
    _r("infant", _U, "FEVER HIGH_TEMP CHILD|INFANT", 10),
    _r("infant", _U, "FEVER FLOPPY", 18),
    _r("infant", _U, "FEVER WORST|LIMP|CONFUSION", 16),
    _r("infant", _U, "INFECTION CONFUSION|LIMP|FAINT_URGENT|DIZZY|FEVER", 16),
    _r("infant", _U, "CHILD|INFANT|FEVER RASH_RED", 18),
    _r("infant", _U, "RASH_RED SEVERITY|DROWSY|FLOPPY", 14),
    _r("infant", _P, "FEVER HIGH_TEMP", 5),
    _r("infant", _P, f"FEVER CHILD {_CUE}", 10),
    _r("infant", _P, "RASH_RED"),
    _r("infant", _P, "IMMUNO FEVER", 14),
    # consciousness and seizure
    _r("consciousness", _U, "FAINT_URGENT"),
    _r("consciousness", _U, "SEIZURE"),
    _r("consciousness", _U, "INABILITY WAKE_OTHER", 4),
    _r("consciousness", _U, "DIABETIC CONFUSION|FAINT_URGENT|DROWSY", 12),
    _r("consciousness", _U, "DIABETIC CONFUSION|FAINT_URGENT|DROWSY|UNRESP", 16, sentences=3),
    _r("consciousness", _U, "UNRESP SEIZURE_SOFT|FALLDOWN|ONSET|CONFUSION|FAINT_URGENT", 14),
    _r("consciousness", _U, "SEIZURE_SOFT|FALLDOWN CONFUSION|FAINT_URGENT", 14),
    _r("consciousness", _U, "FITS WORSE|ONSET|CHILD|INFANT", 8),
    _r("consciousness", _U, "IMMUNO FEVER", 14),
    _r("consciousness", _U, "JAUNDICE FEVER|PAIN|CONFUSION", 14),
    _r("consciousness", _U, "FEVER HIGH_TEMP POSTPARTUM|IMMUNO", 20),
    _r("consciousness", _P, f"DIZZY {_CUE}", 6),
    _r("consciousness", _P, "DYING"),
    _r("consciousness", _P, "UNRESP CHILD|INFANT|DISTRESS|WORSE", 10),
    _r("consciousness", _P, "JAUNDICE"),
    # severe allergy
    _r("allergy", _U, "ANAPHYLAXIS"),
    _r("allergy", _U, "AIRWAY SWELL", 5),
    _r("allergy", _U, "FACE|LIPS|AIRWAY SWELL ALLERGY|INGEST|MEDS", 12),
    _r("allergy", _U, "ALLERGY BREATH_MILD|BREATH_URGENT|AIRWAY", 16),
    _r("allergy", _U, "LIPS|FACE|AIRWAY SWELL BREATH_MILD|BREATH|INABILITY", 14),
    _r("allergy", _P, "LIPS|FACE SWELL", 5),
    _r("allergy", _P, f"ALLERGY {_CUE}", 6),
    # self-harm and suicidal thoughts
    _r("self_harm", _U, "SUICIDAL"),
    _r("self_harm", _U, "KILL SELF", 2),
    _r("self_harm", _U, "HARM_VERB SELF", 2, unless="ACCIDENT", otherwise=None),
    _r("self_harm", _U, "DESPAIR FINALITY|MEANS|MEDS", 25, sentences=2),
    _r("self_harm", _U, "MEANS SELF|INTENT|FINALITY|DISTRESS", 14, unless="ACCIDENT", sentences=1),
    _r("self_harm", _U, "HARM_VERB|BURN_INJURY ON_PURPOSE", 8),
    _r("self_harm", _P, "DESPAIR"),
    # overdose and poisoning
    _r("overdose", _U, "OVERDOSE"),
    _r("overdose", _U, "INGEST QUANTITY MEDS", 8),
    _r("overdose", _U, "INGEST POISON", 6),
    _r("overdose", _U, "CHILD|INFANT INGEST MEDS", 8),
    _r("overdose", _U, "INGEST QUANTITY_MILD MEDS CONFUSION|FAINT_URGENT|DROWSY|DIZZY", 16),
    _r("overdose", _U, "POISON EYE", 6),
    _r("overdose", _U, "QUANTITY MEDS|POISON DROWSY|FAINT_URGENT|UNRESP", 20),
    _r("overdose", _U, "CHILD|INFANT POISON|MEDS INGEST|QUANTITY", 16),
    _r("overdose", _U, "INGEST POISON EXPEL|DROWSY|CONFUSION|PAIN|UNRESP", 20),
    _r("overdose", _P, "INGEST QUANTITY_MILD MEDS", 8),
    _r("overdose", _P, "INGEST POISON", 10),
    _r("overdose", _P, "INGEST QUANTITY MEDS", 12),
    # headache
    _r("headache", _U, "HEADACHE WORST|ONSET", 6),
    _r("headache", _U, "HEADACHE NEURO_RED", 16),
    _r("headache", _U, "HEADACHE WORST|SEVERITY NEURO_RED", 25),
    _r("headache", _P, "HEADACHE SEVERITY|WORSE|DISTRESS", 6),
    # head injury
    _r("head_injury", _U, "HEAD_INJURY HEAD_RED|FAINT_URGENT|SEIZURE|VISION_LOSS|CONFUSION", 20, sentences=1),
    _r("head_injury", _P, "HEAD_INJURY"),
    # abdomen
    _r("abdomen", _U, "APPENDIX"),
    _r("abdomen", _U, "PAIN WORST|EXTREME|SEVERITY EXPEL|DIZZY|FAINT_URGENT|RIGID", 14),
    _r("abdomen", _U, "ABDOMEN RIGID", 8),
    _r("abdomen", _U, "ABDOMEN PAIN EXTREME|WORST", 10),
    _r("abdomen", _U, "DEHYDRATION UNRESP|DROWSY|CONFUSION|FLOPPY|FAINT_URGENT", 20, sentences=1),
    _r("abdomen", _P, "ABDOMEN PAIN SEVERITY|ONSET", 6),
    _r("abdomen", _P, "DEHYDRATION"),
    _r("testicle", _U, "TESTICLE PAIN|SWELL ONSET|EXTREME|SEVERITY|PAIN", 14),
    # other emergencies a nurse line takes
    _r("infant", _U, "INFANT|CHILD LIMP", 14, unless="MILD"),
    _r("other", _U, "DROWN"),
    _r("other", _U, "TRAUMA WEAK_NUMB|UNRESP|CONFUSION|FAINT_URGENT", 16),
    _r("other", _U, "SUGAR_CRISIS"),
    _r("other", _U, "BURN_INJURY BURN_RED", 18, unless="MILD"),
    _r("other", _U, "BURN_INJURY CHILD|INFANT BURN_RED|SEVERITY", 14),
    _r("other", _U, "FRACTURE_OPEN TRAUMA|LIMB_ANY", 12),
    _r("other", _U, "RETENTION ABDOMEN|PAIN|SWELL|HOURS", 14),
    _r("other", _U, "RETINA RETINA|TRAUMA|ONSET|VISION_LOSS|CANT_SEE", 12),
    _r("other", _U, "ERECTION HOURS", 10),
    _r("other", _P, "PANIC"),
    _r("other", _P, "BURN_INJURY SEVERITY|DISTRESS|WORSE", 8),
    _r("other", _P, "RETENTION"),
    _r("other", _P, "RETINA ONSET", 8),
)
"""Every rule, urgent ones first within each category; the first urgent match names the category."""
_TERMS = [(rule, tuple(tuple(term.split("|")) for term in rule.terms)) for rule in RULES]
# the rules (as indices, in order) whose first term names each class: only those can match a text that
# mentions the class
_BY_FIRST_CLASS: dict[str, list[int]] = {}
for _k, (_rule, _terms) in enumerate(_TERMS):
    for _name in _terms[0]:
        _BY_FIRST_CLASS.setdefault(_name, []).append(_k)


@dataclass(frozen=True)
class Mention:
    """A word class mentioned by the tokens ``first .. last`` (inclusive)."""

    word_class: str
    first: int
    last: int


@dataclass(frozen=True)
class Concept:
    """The best rule that matched a text: its category, level and the mentions that made it."""

    category: str
    level: str
    mentions: tuple[Mention, ...]


_Phrases = list[tuple[tuple[str, ...], str]]
_STEM = 4  # prefix entries are looked up by this many first letters (every stem has at least as many)


def _index(entries: Sequence[tuple[str, str]]) -> tuple[dict[str, _Phrases], dict[str, _Phrases]]:
    """Entries by their first word (exact) and by the first letters of a first word ending in ``*``."""
    exact: dict[str, _Phrases] = {}
    prefixed: dict[str, _Phrases] = {}
    for entry, label in entries:
        words = tuple(entry.split())
        if words[0].endswith("*"):
            prefixed.setdefault(words[0][:_STEM], []).append((words, label))
        else:
            exact.setdefault(words[0], []).append((words, label))
    return exact, prefixed


_CLASS_INDEX = _index([(entry, name) for name, entries in WORD_CLASSES.items() for entry in entries])
_SENSE_INDEX = _index([(sense, "") for sense in SENSES])


def _word_matches(pattern: str, token: str) -> bool:
    return token.startswith(pattern[:-1]) if pattern.endswith("*") else token == pattern


def _phrases_at(
    words: Sequence[str], index: tuple[dict[str, _Phrases], dict[str, _Phrases]]
) -> Iterator[tuple[str, int, int]]:
    exact, prefixed = index
    for i, word in enumerate(words):
        candidates = exact.get(word)
        stems = prefixed.get(word[:_STEM])
        if candidates is None and stems is None:
            continue
        for phrase, label in candidates or ():
            end = i + len(phrase)
            if end <= len(words) and (
                len(phrase) == 1
                or tuple(words[i:end]) == phrase
                or (phrase[-1].endswith("*") and all(map(_word_matches, phrase, words[i:end])))
            ):
                yield label, i, end - 1
        for phrase, label in stems or ():
            end = i + len(phrase)
            if end <= len(words) and all(
                _word_matches(p, t) for p, t in zip(phrase, words[i:end], strict=True)
            ):
                yield label, i, end - 1


def find_mentions(words: Sequence[str]) -> list[Mention]:
    """Every word-class mention in normalised tokens, less those that overlap a non-clinical sense."""
    senses = [(first, last) for _, first, last in _phrases_at(words, _SENSE_INDEX)]
    return [
        Mention(label, first, last)
        for label, first, last in _phrases_at(words, _CLASS_INDEX)
        if not any(a <= last and first <= b for a, b in senses)
    ]


def _sentence_of(words: Sequence[str]) -> list[int]:
    """Each token's sentence number; a point between two numbers ("1.9", "38.5") ends none."""
    out, k = [], 0
    for i, word in enumerate(words):
        out.append(k)
        if word in SENTENCE_ENDS and not (
            word == "." and 0 < i < len(words) - 1 and words[i - 1].isdigit() and words[i + 1].isdigit()
        ):
            k += 1
    return out


@dataclass(frozen=True)
class Reading:
    """What the rules read in a text.

    Attributes
    ----------
    concept
        The best concept (urgent before possible), or None.
    rejected
        True when no rule matched but one would have, were it not for a negation, a resolution, a past
        marker or a non-clinical context (the text says the symptom is not there, or not clinical).
    anchored
        True when the text mentions a body system or a symptom (a word class not in
        :data:`._lexicon.CUE_CLASSES`) that no sense rule drops.
    supposed
        True when a rule's match was lowered because a hypothetical stands before it.
    """

    concept: Concept | None
    rejected: bool
    anchored: bool
    supposed: bool = False


def find_concept(words: Sequence[str], window: int = 5) -> Reading:
    """What the rules read in normalised tokens: the first urgent rule that matches, else the first possible.

    Parameters
    ----------
    words : sequence of str
        A text's normalised tokens.
    window : int
        How many tokens before a mention a negation may stand (in the same clause).
    """
    mentions = find_mentions(words)
    anchored = any(m.word_class not in CUE_CLASSES for m in mentions)
    if not mentions:
        return Reading(None, False, False)
    by_class: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_class.setdefault(mention.word_class, []).append(mention)
    sentence = _sentence_of(words)
    affirmed: dict[tuple[Mention, frozenset[int]], str] = {}
    best: Concept | None = None
    rejected = supposed = False
    for k in sorted({k for name in by_class for k in _BY_FIRST_CLASS.get(name, ())}):
        rule, terms = _TERMS[k]
        if best is not None and rule.level == _POSSIBLE:
            continue  # a possible concept is found: only an urgent one could change the verdict
        if not all(any(name in by_class for name in term) for term in terms):
            continue
        options = [[m for name in term for m in by_class.get(name, ())] for term in terms]
        for combination in product(*options):
            first = min(m.first for m in combination)
            last = max(m.last for m in combination)
            if last - first > rule.window or sentence[last] - sentence[first] > rule.sentences:
                continue
            inside = frozenset(k for m in combination for k in range(m.first, m.last + 1))
            if len(inside) < sum(m.last - m.first + 1 for m in combination):
                continue  # two terms read the same words
            states = {_context(words, m, window, inside, affirmed) for m in combination}
            if CANCELLED in states:
                rejected = True
                continue
            level: str | None = rule.level
            if states != {AFFIRMED}:  # supposed, not present: urgent becomes possible, possible nothing
                supposed = True
                if level == _POSSIBLE:
                    continue
                level = _POSSIBLE
            if level == _POSSIBLE and any(
                sentence[m.first] == sentence[first] for name in _QUIET for m in by_class.get(name, ())
            ):
                continue  # "a bit out of breath", "chest acne is bad": nothing a possible rule should raise
            if rule.unless and any(
                sentence[m.first] == sentence[first] for name in rule.unless for m in by_class.get(name, ())
            ):
                level = rule.otherwise
            if level is None:
                rejected = True
                continue
            found = Concept(rule.category, level, tuple(sorted(combination, key=lambda m: m.first)))
            if level == _URGENT:
                return Reading(found, False, anchored, supposed)
            if best is None:
                best = found
    return Reading(best, best is None and rejected, anchored, supposed)


def _context(
    words: Sequence[str],
    mention: Mention,
    window: int,
    inside: frozenset[int],
    cache: dict[tuple[Mention, frozenset[int]], str],
) -> str:
    key = (mention, inside)
    if key not in cache:
        cache[key] = context(words, mention.first, mention.last, window, inside)
    return cache[key]
