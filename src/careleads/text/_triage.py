"""Clinical-triage override: spot free text that describes urgent clinical symptoms.

This is a safety rule, not a clinical tool. It never makes a clinical decision: it does not diagnose,
assess severity or advise care. When it triggers, the only consequence is routing: the lead goes to a
human triage line (a nurse or clinician on call) at once, and never to a marketing or nurture path. People
decide everything else.

How it works: a symptom lexicon (chest pain, cannot breathe, stroke signs, suicidal thoughts or self-harm,
severe bleeding, overdose, loss of consciousness or seizure, severe allergic reaction, sudden severe
headache; a few Spanish phrasings) is matched on normalised text (lower case, repeated letters collapsed,
apostrophes dropped, small typos corrected towards the lexicon's words). Each match is then checked in
the NegEx manner:

- a negation shortly before it in the same clause ("no", "denies", "without", "not having", "don't
  have", Spanish "sin", "no tengo") cancels it, except for pseudo-negations ("not sure", "no idea") and
  "can't ... without" ("I can't climb stairs without chest pain" is a symptom);
- a resolution after it in the same clause ("is gone", "went away", "resolved") or a past marker in the
  clause ("last year", "years ago", "history of") cancels it, unless the sentence says the symptom is back
  or current ("came back", "again", "still", "today", "right now").

It errs on the side of triggering: questions about a symptom ("what should I do about chest pain?") and
symptoms of someone else trigger, because a person reading the message costs little and a missed
emergency costs much. Clause boundaries are punctuation and "but", "however", "though", so in "no chest
pain, but I can't breathe" the second symptom still triggers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

if TYPE_CHECKING:
    from careleads.text._triage_filter import TriageFilter

__all__ = ["ClinicalTriageDetector", "TriageResult", "detect_urgent_symptoms", "SYMPTOM_LEXICON"]

_OBJ = r"(?:my|his|her|their|the|our)"
_SELF = r"(?:myself|himself|herself|themselves|themself|yourself)"

# Category -> regular expressions over normalised text (see _normalise: "can't" -> "cant", etc.).
SYMPTOM_LEXICON: Mapping[str, tuple[str, ...]] = {
    "chest_pain": (
        r"chest (?:pains?|pressure|tightness|tight|hurts?|hurting|discomfort|heaviness|squeezing)",
        r"chest (?:is|feels|feel|felt) (?:tight|crushed|crushing|heavy|on fire|like)",
        r"(?:pain|pressure|tightness|squeezing|heaviness|crushing) (?:in|on) " + _OBJ + r"? ?chest",
        r"crushing chest",
        r"heart attack",
        r"pain (?:spreading|radiating|going|shooting) (?:down|to|into) " + _OBJ + r"? ?(?:left )?(?:arm|jaw)",
    ),
    "breathing": (
        r"cant (?:breathe|breath|catch " + _OBJ + r" breath|get (?:enough )?air)",
        r"(?:trouble|difficulty|difficulties|hard time|struggling|problems?|hard) (?:breathing|to breathe)",
        r"short(?:ness)? of breath",
        r"gasping",
        r"(?:not|stopped|isnt|wasnt) breathing",
        r"lips (?:are |turning |turned |look )?blue",
        r"choking",
    ),
    "stroke": (
        r"(?:face|mouth|smile) (?:is |was |looks |started )?(?:drooping|droopy|droops|numb|lopsided)",
        r"drooping (?:face|mouth|smile)",
        r"slurred speech",
        r"slurr(?:ing|ed|s) " + _OBJ + r"? ?(?:words|speech)",
        r"speech (?:is |was |sounds )?slurred",
        r"(?:having|had|have|has) a stroke",
        r"stroke (?:symptoms|signs)",
        r"signs of (?:a )?stroke",
        r"cant (?:move|feel|lift) (?:one|" + _OBJ + r" (?:left|right)) (?:arm|leg|side)",
        r"suddenly cant (?:move|feel|lift|speak|talk|see)",
        r"cant feel (?:" + _OBJ + r" )?(?:face|one side)",
        r"one side (?:of " + _OBJ + r" (?:body|face) )?(?:is |went |feels )?(?:numb|weak|drooping|paralyzed)",
        r"sudden (?:numbness|weakness|confusion|paralysis)",
        r"cant (?:speak|talk) (?:properly|clearly|normally)",
    ),
    "self_harm": (
        r"suicid\w*",
        r"(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|end|ending) " + _SELF,
        r"self ?harm\w*",
        r"(?:end|ending|take|taking) " + _OBJ + r" (?:own )?life",
        r"end(?:ing)? it all",
        r"(?:dont|do not) want to (?:live|be alive|be here anymore|wake up)",
        r"want(?:ed)? to die",
        r"better off dead",
        r"no reason to live",
        r"thoughts of (?:dying|death|ending)",
        r"quiero morir\w*",
        r"matarme",
        r"quitarme la vida",
    ),
    "bleeding": (
        r"(?:bleeding|blood) (?:wont|will not|doesnt|does not|that wont|that will not) stop",
        r"cant (?:get (?:it|the bleeding) to )?stop (?:the )?bleeding",
        r"(?:bleeding|bleed|bled) (?:heavily|a lot|badly|profusely|everywhere|through)",
        r"(?:heavy|severe|uncontrolled|massive|lots of) (?:bleeding|blood loss)",
        r"(?:coughing|throwing|vomiting|spitting|puking) (?:up )?blood",
        r"pregnant and bleeding",
        r"sangrado (?:abundante|fuerte)",
        r"no (?:para|deja) de sangrar",
    ),
    "overdose": (
        r"overdos\w*",
        r"took (?:too many|a bunch|a lot|a whole bottle|an entire bottle|a handful)(?: of)?(?: \w+)? "
        r"(?:pills|meds|medications?|tablets|painkillers)",
        r"swallowed (?:a bottle|a bunch|pills|bleach|poison)",
        r"poison(?:ed|ing)",
        r"sobredosis",
    ),
    "consciousness": (
        r"passed out",
        r"fainted",
        r"unconscious",
        r"unresponsive",
        r"(?:wont|will not|cant|hard to) wake (?:him |her |them )?up",
        r"(?:having|had|has) (?:a )?seizures?",
        r"seizing",
        r"convulsing",
    ),
    "allergy": (
        r"throat (?:is |feels )?(?:closing|swelling|swollen)",
        r"tongue (?:is )?(?:swelling|swollen)",
        r"anaphyla\w*",
        r"severe allergic reaction",
    ),
    "headache": (
        r"worst headache",
        r"thunderclap",
    ),
    "spanish": (
        r"dolor (?:de|en el) pecho",
        r"no puedo respirar",
        r"me falta el aire",
    ),
}

# Words that negate a following symptom in the same clause (NegEx pre-negation triggers).
_PRE_NEGATIONS = frozenset(
    {
        "no",
        "not",
        "never",
        "denies",
        "deny",
        "denied",
        "denying",
        "without",
        "dont",
        "doesnt",
        "didnt",
        "havent",
        "hasnt",
        "hadnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "nor",
        "none",
        "zero",
        "sin",
        "nunca",
        "nada",
        "ningun",
        "ninguna",
    }
)
_PRE_NEGATION_PHRASES = ("free of", "negative for", "ruled out", "absence of", "no longer")
# Phrases that contain a negation word but do not negate (NegEx pseudo-negations).
_PSEUDO_NEGATIONS = (
    "not sure",
    "no idea",
    "not certain",
    "dont know",
    "not only",
    "no doubt",
    "no matter",
    "not just",
    "no one",
    "not normal",
)
_PSEUDO = re.compile(r"\b(?:" + "|".join(_PSEUDO_NEGATIONS) + r")\b")
_NEGATION_PHRASE = re.compile(r"\b(?:" + "|".join(_PRE_NEGATION_PHRASES) + r")\b")
# "I've never had chest pain like this": "never" with a comparison is not a negation.
_NEVER_COMPARISON = re.compile(
    r"\b(?:like (?:this|that|it)|this (?:bad|badly|strong)|so (?:bad|badly)|before)\b"
)
_UNABLE = frozenset({"cant", "couldnt", "unable", "wont"})
_POST_NEGATIONS = re.compile(
    r"\b(?:gone|resolved|went away|has stopped|stopped|cleared up|is over|healed|ruled out|"
    r"was nothing|is better|got better|no longer|under control)\b"
)
_HISTORY = re.compile(
    r"\b(?:last year|years? ago|history of|hx of|used to|previous|previously|in the past|back in|"
    r"in (?:19|20)\d\d|as a (?:kid|child|teen)|when i was (?:young|little|a kid)|el ano pasado|hace anos)\b"
)
_CURRENT = re.compile(
    r"\b(?:still|again|came back|comes back|coming back|is back|its back|back again|returned|returning|"
    r"today|tonight|this morning|this afternoon|this evening|right now|rn|currently|at the moment|"
    r"getting worse|worse|hoy|ahora)\b"
)
_CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "yet", "except", "pero", "aunque"})
_WINDOW = 5
_BATCH_MIN = 64  # below this many texts the column-wise pre-filter costs more than it saves

# Words of the lexicon that small typos are corrected towards, and common words that look like typos of
# them but are real words (never corrected).
_FUZZY_VOCABULARY = (
    "cant",
    "life",
    "chest",
    "pain",
    "pains",
    "pressure",
    "tightness",
    "breathe",
    "breath",
    "breathing",
    "shortness",
    "suicidal",
    "suicide",
    "myself",
    "bleeding",
    "overdose",
    "overdosed",
    "stroke",
    "drooping",
    "slurred",
    "slurring",
    "unconscious",
    "unresponsive",
    "seizure",
    "seizures",
    "seizing",
    "heart",
    "attack",
    "crushing",
    "crushed",
    "anaphylaxis",
    "anaphylactic",
    "swelling",
    "throat",
    "headache",
    "numbness",
    "weakness",
    "killing",
    "hurting",
    "harming",
    "vomiting",
    "coughing",
    "gasping",
    "fainted",
    "pregnant",
    "poisoned",
    "passed",
    "discomfort",
    "radiating",
    "speech",
)
_REAL_WORDS = frozenset(
    {
        "want",
        "cart",
        "cast",
        "rant",
        "pant",
        "cent",
        "chant",
        "scant",
        "cane",
        "card",
        "care",
        "wife",
        "lift",
        "live",
        "line",
        "like",
        "lime",
        "file",
        "lite",
        "wellness",
        "illness",
        "paid",
        "paint",
        "pail",
        "rain",
        "gain",
        "main",
        "plain",
        "spain",
        "bill",
        "billing",
        "filling",
        "willing",
        "pill",
        "pills",
        "heard",
        "hearty",
        "hearth",
        "hears",
        "hearing",
        "strike",
        "strokes",
        "breeding",
        "feeding",
        "heeding",
        "needing",
        "reading",
        "leading",
        "weeding",
        "bleeping",
        "sleeping",
        "chess",
        "chests",
        "attach",
        "attacks",
        "thread",
        "thought",
        "spelling",
        "selling",
        "telling",
        "yelling",
        "dwelling",
        "smelling",
        "breadth",
        "breaking",
        "bleaching",
        "breathless",
        "breathes",
        "passes",
        "pasted",
        "parsed",
        "hunting",
        "hurling",
        "heading",
        "healing",
        "feeling",
        "peeling",
        "dealing",
        "sealing",
        "harmony",
        "farming",
        "warming",
        "charming",
        "crushes",
        "brushing",
        "rushing",
        "pressures",
        "drooling",
        "drooped",
        "speeches",
        "numbers",
        "counseling",
        "pregnancy",
        "press",
        "cough",
        "coughs",
        "voting",
        "painted",
        "spine",
        "chase",
        "cheat",
        "heat",
        "hear",
        "haste",
        "painful",
        "heater",
        "heats",
        "strode",
        "stroll",
        "attacked",
        "mouse",
    }
)


@dataclass(frozen=True)
class TriageResult:
    """The outcome of the clinical-triage check of one text.

    Attributes
    ----------
    triggered
        True when the text describes urgent clinical symptoms: route it to the human triage line.
    matched
        The matched symptom phrase (normalised), or None.
    category
        The lexicon category of the match (``chest_pain``, ``breathing``, ``stroke``, ``self_harm``,
        ``bleeding``, ``overdose``, ``consciousness``, ``allergy``, ``headache``, ``spanish``), or None.
    """

    triggered: bool
    matched: str | None = None
    category: str | None = None


_NOT_TRIGGERED = TriageResult(False)

# Word sequences folded into one token, applied in this order. Plain words (no regex), so the batch
# pre-filter (:mod:`._triage_filter`) knows which tokens can start each one.
CONTRACTION_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("can not", "cannot", "can t", "cant", "unable to", "not able to", "couldnt", "could not"), "cant"),
    (("won t", "will not"), "wont"),
    (("don t", "do not"), "dont"),
    (("doesn t", "does not"), "doesnt"),
    (("didn t", "did not"), "didnt"),
    (("haven t", "have not"), "havent"),
    (("isn t", "is not"), "isnt"),
    (("my self",), "myself"),
    (("i m",), "im"),
)
_CONTRACTIONS = tuple(
    (re.compile(r"\b(?:" + "|".join(phrases) + r")\b"), replacement)
    for phrases, replacement in CONTRACTION_PHRASES
)
# Any phrase of any fold: when none occurs, every substitution below leaves the text as it is, so they are
# skipped (most texts hold no contraction).
_ANY_CONTRACTION = re.compile(
    r"\b(?:" + "|".join(phrase for phrases, _ in CONTRACTION_PHRASES for phrase in phrases) + r")\b"
)
_ACCENTS = str.maketrans("áéíóúüñ", "aeiouun")
_SEPARATORS = re.compile(r"[-_/]")
_REPEATS = re.compile(r"([a-z])\1{2,}")  # "sooooo" -> "so"
# the same runs for RE2 (Arrow), which has no back-references: texts holding one are folded in Python
_TRIPLES = "|".join(letter * 3 for letter in "abcdefghijklmnopqrstuvwxyz")
_TOKEN = re.compile(r"[a-z0-9]+|[.,;:!?()\n]")


_VOCABULARY_SET = frozenset(_FUZZY_VOCABULARY)


_CORRECTED_FROM = 4  # shorter tokens are never corrected


def _typo_limit(length: int) -> int:
    """Edits a typo of a token this long may hold: 1, 2 from 9 letters on."""
    return 2 if length >= 9 else 1


@lru_cache(maxsize=65_536)
def _correct(token: str) -> str:
    """The lexicon word a token is a small typo of, or the token itself.

    The nearest word by optimal-string-alignment distance (insert, delete, substitute, swap neighbours),
    within 1 edit (2 from 9 letters on); on a tie, the first in `_FUZZY_VOCABULARY` order. RapidFuzz computes
    the distances in native code, with the same tie rule.
    """
    if len(token) < _CORRECTED_FROM or token in _REAL_WORDS or not token.isalpha():
        return token
    if token in _VOCABULARY_SET:
        return token
    limit = _typo_limit(len(token))
    best = extractOne(token, _FUZZY_VOCABULARY, scorer=OSA.distance, score_cutoff=limit)
    return token if best is None else str(best[0])


def _normalise(text: str) -> list[str]:
    """Lower-cased, accent-free, contraction-folded, typo-corrected tokens (punctuation kept)."""
    lowered = text.lower().translate(_ACCENTS).replace("’", "'").replace("'", "")
    lowered = _REPEATS.sub(r"\1", lowered)
    lowered = _SEPARATORS.sub(" ", lowered)
    lowered = " ".join(_TOKEN.findall(lowered))
    if _ANY_CONTRACTION.search(lowered) is not None:
        for pattern, replacement in _CONTRACTIONS:
            lowered = pattern.sub(replacement, lowered)
    return [_correct(token) for token in lowered.split()]


def _is_boundary(token: str) -> bool:
    return token in _CLAUSE_WORDS or not token.isalnum()


class ClinicalTriageDetector:
    """Rule-based detector of urgent clinical symptoms in free text, with negation handling.

    It only routes: a triggered text goes to a human triage line, never to marketing. It makes no
    clinical decision.

    Parameters
    ----------
    extra_patterns
        Additional regular expressions per category, matched on normalised text (lower case, no
        apostrophes, "can't" / "cannot" / "unable to" written as "cant").
    window
        How many tokens before a symptom a negation may stand (in the same clause).

    Examples
    --------
    >>> detector = ClinicalTriageDetector()
    >>> detector.detect("Crushing chest pain since this morning").triggered
    True
    >>> detector.detect("No chest pain, just a checkup").triggered
    False
    """

    def __init__(
        self, extra_patterns: Mapping[str, Sequence[str]] | None = None, window: int = _WINDOW
    ) -> None:
        self.extra_patterns = extra_patterns
        self.window = window
        lexicon: dict[str, list[str]] = {k: list(v) for k, v in SYMPTOM_LEXICON.items()}
        for category, patterns in (extra_patterns or {}).items():
            lexicon.setdefault(category, []).extend(patterns)
        self._patterns = [
            # No closing word boundary: a typo that glues the next word on ("my lifeneed") still matches.
            (category, re.compile(r"\b(?:" + "|".join(patterns) + r")"))
            for category, patterns in lexicon.items()
        ]
        self._sources = tuple(p for patterns in lexicon.values() for p in patterns)
        self._any = re.compile(r"\b(?:" + "|".join(self._sources) + r")")
        self._filter: TriageFilter | None = None

    def detect(self, text: str | None) -> TriageResult:
        """Check one text.

        Parameters
        ----------
        text
            Free text (a form question, chat or SMS message); None or empty gives no trigger.

        Returns
        -------
        TriageResult
            ``triggered`` with the first affirmed symptom phrase and its category.
        """
        if not text or not text.strip():
            return _NOT_TRIGGERED
        tokens = _normalise(text)
        joined = " ".join(tokens)
        if self._any.search(joined) is None:  # no pattern matches anywhere: nothing to check in clauses
            return _NOT_TRIGGERED
        return self._check(tokens, joined)

    def _check(self, tokens: list[str], joined: str, present: Sequence[bool] | None = None) -> TriageResult:
        """The clause checks of every lexicon match in normalised tokens (`joined`: them joined by spaces).

        `present`, when known, says which categories (in lexicon order) match somewhere in `joined`; the
        others are not searched.
        """
        for k, (category, pattern) in enumerate(self._patterns):
            if present is not None and not present[k]:
                continue
            for match in pattern.finditer(joined):
                # tokens are joined by single spaces: the spaces before a character offset number the token
                # that holds it (or, on a space, the token before it)
                first = joined.count(" ", 0, match.start())
                last = first + joined.count(" ", match.start(), match.end() - 1)
                if self._affirmed(tokens, first, last):
                    return TriageResult(True, match.group(0), category)
        return _NOT_TRIGGERED

    def detect_many(self, texts: Iterable[str | None]) -> list[TriageResult]:
        """Check many texts; the same results as :meth:`detect` on each, much faster on large batches.

        A column-wise pre-filter (:class:`careleads.text._triage_filter.TriageFilter`) drops the texts
        that cannot trigger; the others, once per distinct text, are normalised and searched column-wise
        (:mod:`careleads.text._triage_batch`), and only those holding a lexicon phrase get the clause checks.
        """
        values = list(texts)
        if len(values) < _BATCH_MIN:
            return [self.detect(text) for text in values]
        results = [_NOT_TRIGGERED] * len(values)
        rows = np.flatnonzero(self.candidates(values)).tolist()
        distinct = list(dict.fromkeys(text for i in rows if (text := values[i]) is not None))
        found = dict(zip(distinct, self._detect_distinct(distinct), strict=True))
        for i in rows:
            text = values[i]
            if text is not None:  # candidates are texts
                results[i] = found[text]
        return results

    def triggered_many(self, texts: Sequence[str | None] | pa.Array) -> npt.NDArray[np.bool_]:
        """``detect(text).triggered`` for each text, as a boolean array (see :meth:`detect_many`).

        `texts` may be an Arrow string array (a lead column): it is then checked without turning every
        text into a Python object.
        """
        if not isinstance(texts, pa.Array | pa.ChunkedArray):
            return np.array([r.triggered for r in self.detect_many(texts)], dtype=bool)
        array = texts.cast(pa.large_string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if len(array) < _BATCH_MIN:
            return np.array([self.detect(t).triggered for t in array.to_pylist()], dtype=bool)
        out = np.zeros(len(array), dtype=bool)
        rows = np.flatnonzero(self.candidates(array))
        if len(rows):
            encoded = array.take(pa.array(rows)).dictionary_encode()
            verdicts = [r.triggered for r in self._detect_distinct(encoded.dictionary.to_pylist())]
            out[rows] = np.asarray(verdicts, dtype=bool)[np.asarray(encoded.indices, dtype=np.intp)]
        return out

    def candidates(self, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
        """True for each text that may trigger (a superset of the triggering texts, computed column-wise)."""
        if self._filter is None:
            from careleads.text._triage_filter import TriageFilter

            self._filter = TriageFilter(self._sources)
        return self._filter.candidates(texts)

    def _detect_distinct(self, texts: list[str]) -> list[TriageResult]:
        """:meth:`detect` on each of many texts (not None): normalised column-wise, lexicon found by RE2."""
        from careleads.text._triage_batch import lexicon_matches, normalised_texts

        joined = normalised_texts(texts)
        matches = lexicon_matches(joined, self._any.pattern)
        if matches is None:  # RE2 cannot read a pattern: search with Python
            matches = np.array([self._any.search(line) is not None for line in joined], dtype=bool)
        matches &= np.array([bool(text.strip()) for text in texts], dtype=bool)
        rows = np.flatnonzero(matches).tolist()
        lines = [joined[i] for i in rows]
        # which categories occur in each matching text (a column per category), so that the clause checks
        # search only those; None where RE2 cannot read a category's pattern (then every one is searched)
        found = [lexicon_matches(lines, pattern.pattern) for _, pattern in self._patterns]
        present = None
        if all(f is not None for f in found):
            present = np.column_stack([f for f in found if f is not None])
        results = [_NOT_TRIGGERED] * len(texts)
        for j, i in enumerate(rows):
            line = joined[i]
            results[i] = self._check(line.split(" "), line, None if present is None else present[j].tolist())
        return results

    def _affirmed(self, tokens: list[str], first: int, last: int) -> bool:
        # The clause around the match: back and forward to the nearest boundary.
        begin = first
        while begin > 0 and not _is_boundary(tokens[begin - 1]):
            begin -= 1
        end = last + 1
        while end < len(tokens) and not _is_boundary(tokens[end]):
            end += 1
        before = tokens[max(begin, first - self.window) : first]
        after = " ".join(tokens[last + 1 : end])
        if _negated_before(before, tokens[begin:first], after):
            return False
        clause = " ".join(tokens[begin:end])
        sentence_end = last + 1
        while sentence_end < len(tokens) and tokens[sentence_end] not in {".", "!", "?", "\n"}:
            sentence_end += 1
        rest_of_sentence = " ".join(tokens[last + 1 : sentence_end])
        if _POST_NEGATIONS.search(after):
            return bool(
                re.search(r"\b(?:came back|comes back|is back|its back|again|returned)\b", rest_of_sentence)
            )
        if _HISTORY.search(clause):
            return bool(_CURRENT.search(clause) or _CURRENT.search(rest_of_sentence))
        return True


def _negated_before(window: list[str], clause_before: list[str], clause_after: str) -> bool:
    text = " ".join(window)
    clause_text = " ".join(clause_before)
    # One pass for every pseudo-negation: they cannot overlap one another (no one ends with words another
    # starts with), and a removal leaves two spaces where each pattern has one, so none can appear anew.
    text = _PSEUDO.sub(" ", text)
    words = text.split()
    for word in words:
        if word in _PRE_NEGATIONS:
            if word == "without" and any(w in _UNABLE for w in clause_text.split()):
                continue  # "I can't walk without chest pain": the symptom is there.
            if word == "never" and _NEVER_COMPARISON.search(clause_after):
                continue
            return True
    return _NEGATION_PHRASE.search(text) is not None


_DEFAULT = ClinicalTriageDetector()


def detect_urgent_symptoms(text: str | None) -> TriageResult:
    """Check one text with the default lexicon; see :class:`ClinicalTriageDetector`.

    Parameters
    ----------
    text
        Free text; None or empty gives no trigger.

    Returns
    -------
    TriageResult
        Whether the text describes urgent clinical symptoms (route to the human triage line) and what
        matched.

    Examples
    --------
    >>> detect_urgent_symptoms("my dad's face is drooping and his speech is slurred").category
    'stroke'
    >>> detect_urgent_symptoms("not suicidal, just want therapy").triggered
    False
    """
    return _DEFAULT.detect(text)
