"""The clinical-triage clause checks: is a symptom phrase found in normalised tokens affirmed?

In the NegEx manner, a match is cancelled by

- a negation shortly before it in the same clause (:data:`._lexicon.PRE_NEGATIONS`, the phrases of
  :data:`._lexicon.PRE_NEGATION_PHRASES`), except for pseudo-negations ("not sure", "no idea"), "never"
  with a comparison after the symptom ("never had chest pain like this") and "without" after a word of
  inability ("I can't climb stairs without chest pain");
- a resolution after it in the same clause ("is gone", "went away"), unless the sentence says it is back;
- a past marker in the clause ("last year", "history of"), unless the clause or the rest of the sentence
  says it is current ("again", "today", "right now").

Clauses end at punctuation tokens and at :data:`._lexicon.CLAUSE_WORDS` ("but", "however").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from careleads.text.triage._lexicon import (
    CLAUSE_WORDS,
    CURRENT,
    HISTORY,
    NEVER_COMPARISONS,
    POST_NEGATIONS,
    PRE_NEGATION_PHRASES,
    PRE_NEGATIONS,
    PSEUDO_NEGATIONS,
    RETURNED,
    UNABLE,
)

__all__ = ["is_affirmed"]


def _phrases(phrases: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b")


_PSEUDO = _phrases(PSEUDO_NEGATIONS)
_NEGATION_PHRASE = _phrases(PRE_NEGATION_PHRASES)
_NEVER_COMPARISON = _phrases(NEVER_COMPARISONS)
_POST_NEGATION = _phrases(POST_NEGATIONS)
_RETURNED = _phrases(RETURNED)
_HISTORY = _phrases(HISTORY)
_CURRENT = _phrases(CURRENT)
_SENTENCE_ENDS = frozenset({".", "!", "?", "\n"})


def _is_boundary(token: str) -> bool:
    return token in CLAUSE_WORDS or not token.isalnum()


def is_affirmed(tokens: Sequence[str], first: int, last: int, window: int) -> bool:
    """Whether the symptom phrase in ``tokens[first : last + 1]`` stands, after the clause checks.

    Parameters
    ----------
    tokens : sequence of str
        A text's normalised tokens (punctuation tokens included).
    first, last : int
        The first and last token of the symptom phrase.
    window : int
        How many tokens before the phrase a negation may stand (in the same clause).

    Returns
    -------
    bool
        False when a negation, a resolution or a past marker cancels the phrase.
    """
    # The clause around the match: back and forward to the nearest boundary.
    begin = first
    while begin > 0 and not _is_boundary(tokens[begin - 1]):
        begin -= 1
    end = last + 1
    while end < len(tokens) and not _is_boundary(tokens[end]):
        end += 1
    before = tokens[max(begin, first - window) : first]
    after = " ".join(tokens[last + 1 : end])
    if _negated_before(before, tokens[begin:first], after):
        return False
    clause = " ".join(tokens[begin:end])
    sentence_end = last + 1
    while sentence_end < len(tokens) and tokens[sentence_end] not in _SENTENCE_ENDS:
        sentence_end += 1
    rest_of_sentence = " ".join(tokens[last + 1 : sentence_end])
    if _POST_NEGATION.search(after):
        return bool(_RETURNED.search(rest_of_sentence))
    if _HISTORY.search(clause):
        return bool(_CURRENT.search(clause) or _CURRENT.search(rest_of_sentence))
    return True


def _negated_before(window: Sequence[str], clause_before: Sequence[str], clause_after: str) -> bool:
    text = " ".join(window)
    clause_text = " ".join(clause_before)
    # One pass for every pseudo-negation: they cannot overlap one another (no one ends with words another
    # starts with), and a removal leaves two spaces where each pattern has one, so none can appear anew.
    text = _PSEUDO.sub(" ", text)
    words = text.split()
    for word in words:
        if word in PRE_NEGATIONS:
            if word == "without" and any(w in UNABLE for w in clause_text.split()):
                continue  # "I can't walk without chest pain": the symptom is there.
            if word == "never" and _NEVER_COMPARISON.search(clause_after):
                continue
            return True
    return _NEGATION_PHRASE.search(text) is not None
