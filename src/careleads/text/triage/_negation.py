"""The clinical-triage context checks: does a mention found in normalised tokens stand?

In the NegEx manner, a mention (the tokens ``first .. last``) is cancelled by

- a negation shortly before it in the same clause (:data:`._lexicon.PRE_NEGATIONS`, the phrases of
  :data:`._lexicon.PRE_NEGATION_PHRASES`), except for pseudo-negations ("not sure", "won't stop"),
  "never" with a comparison after it ("never had chest pain like this"), "without" after a word of
  inability ("I can't climb stairs without chest pain"), and negation words that are part of the matched
  words themselves ("no puedo respirar");
  (a subject between the negation and the mention starts a new clause: "my inhaler isn't helping and I
  can hardly breathe");
- a resolution after it in the same clause ("is gone", "went away"), unless the sentence says it is back,
  and a "no" answering the question it stands in ("chest pain? no, nothing like that");
- a past marker in the clause ("last year", "history of"), unless the clause or the rest of the sentence
  says it is current ("again", "today", "right now");
- a hypothetical shortly before it in the same sentence ("what should I do if", "in case"), except an
  "if" that asks about the present ("not sure if he is having a stroke") and set phrases ("if possible").
  A hypothetical does not cancel: it marks the mention, and the rules lower its level (a supposed
  symptom in a run-on message may still be a present one: a human reads it).

Clauses end at punctuation tokens and at :data:`._lexicon.CLAUSE_WORDS` ("but", "however"); sentences
at ``.``, ``!``, ``?`` and line breaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from careleads.text.triage._lexicon import (
    CLAUSE_WORDS,
    COMMON_WORDS,
    CURRENT,
    EPISTEMIC,
    HISTORY,
    HYPOTHETICAL,
    NEVER_COMPARISONS,
    POST_NEGATIONS,
    PRE_NEGATION_PHRASES,
    PRE_NEGATIONS,
    PSEUDO_HYPOTHETICALS,
    PSEUDO_NEGATIONS,
    RESOLUTION_FOLLOWERS,
    RETURNED,
    SUBJECTS,
    UNABLE,
)

__all__ = ["AFFIRMED", "CANCELLED", "HYPOTHETICAL_", "SENTENCE_ENDS", "context"]

AFFIRMED = "affirmed"
CANCELLED = "cancelled"
HYPOTHETICAL_ = "hypothetical"


def _phrases(phrases: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b")


_PSEUDO = _phrases(PSEUDO_NEGATIONS)
_NEGATION_PHRASE = _phrases(PRE_NEGATION_PHRASES)
_NEVER_COMPARISON = _phrases(NEVER_COMPARISONS)
_POST_NEGATION = _phrases(POST_NEGATIONS)
_RETURNED = _phrases(RETURNED)
_HISTORY = _phrases(HISTORY)
_CURRENT = _phrases(CURRENT)
_HYPOTHETICAL = _phrases(HYPOTHETICAL)
_PSEUDO_HYPOTHETICAL = _phrases(PSEUDO_HYPOTHETICALS)
SENTENCE_ENDS = frozenset({".", "!", "?", "\n"})
_ANSWERS_NO = frozenset({"no", "nope", "nah", "never", "negative"})
_HYPOTHETICAL_WINDOW = 10  # tokens before a mention a hypothetical may stand


def _is_boundary(token: str) -> bool:
    return token in CLAUSE_WORDS or not token.isalnum()


def context(
    tokens: Sequence[str], first: int, last: int, window: int, inside: frozenset[int] = frozenset()
) -> str:
    """Whether the mention in ``tokens[first : last + 1]`` stands, after the context checks.

    Parameters
    ----------
    tokens : sequence of str
        A text's normalised tokens (punctuation tokens included).
    first, last : int
        The first and last token of the mention.
    window : int
        How many tokens before the mention a negation may stand (in the same clause).
    inside : frozenset of int
        Tokens that belong to the matched words (a negation word among them negates nothing).

    Returns
    -------
    str
        :data:`CANCELLED` when a negation, a resolution or a past marker cancels the mention,
        :data:`HYPOTHETICAL_` when a hypothetical stands before it, :data:`AFFIRMED` otherwise.
    """
    begin = first
    while begin > 0 and not _is_boundary(tokens[begin - 1]):
        begin -= 1
    end = last + 1
    while end < len(tokens) and not _is_boundary(tokens[end]):
        end += 1
    start = max(begin, first - window)
    for k in range(first - 1, start - 1, -1):
        if tokens[k] in SUBJECTS and k not in inside:  # a new subject: a negation before it is another verb's
            start = k
            break
    before = [t if k not in inside else "_" for k, t in enumerate(tokens[start:first], start=start)]
    after = " ".join(tokens[last + 1 : end])
    if _negated_before(before, tokens[begin:first], after):
        return CANCELLED
    clause = " ".join(tokens[begin:end])
    sentence_start = first
    while sentence_start > 0 and tokens[sentence_start - 1] not in SENTENCE_ENDS:
        sentence_start -= 1
    sentence_end = last + 1
    while sentence_end < len(tokens) and tokens[sentence_end] not in SENTENCE_ENDS:
        sentence_end += 1
    rest_of_sentence = " ".join(tokens[last + 1 : sentence_end])
    if _resolved(after) and not _RETURNED.search(rest_of_sentence):
        return CANCELLED
    if (
        sentence_end + 1 < len(tokens)
        and tokens[sentence_end] == "?"
        and tokens[sentence_end + 1] in _ANSWERS_NO
    ):
        return CANCELLED  # "chest pain? no, nothing like that"
    if _HISTORY.search(clause) and not (_CURRENT.search(clause) or _CURRENT.search(rest_of_sentence)):
        return CANCELLED
    if _hypothetical(tokens[max(sentence_start, first - _HYPOTHETICAL_WINDOW) : first]):
        return HYPOTHETICAL_
    return AFFIRMED


def _resolved(after: str) -> bool:
    """Whether the words after a mention, in its clause, say the symptom is over ("the pain has gone now").

    Not when a negation stands just before the resolution word ("the bleeding hasn't stopped", "it's not
    better"), nor when a word of a new state follows it ("he's gone quiet", "she stopped responding").
    """
    words = after.split()
    for match in _POST_NEGATION.finditer(after):
        at = len(after[: match.start()].split())
        if at > 0 and (words[at - 1] in PRE_NEGATIONS or words[at - 1] in UNABLE):
            continue
        following = after[match.end() :].split()[:1]
        if following and not (
            following[0] in COMMON_WORDS or following[0] in RESOLUTION_FOLLOWERS or not following[0].isalpha()
        ):
            continue
        return True
    return False


def _hypothetical(before: Sequence[str]) -> bool:
    text = _PSEUDO_HYPOTHETICAL.sub(" ", " ".join(before))
    for match in _HYPOTHETICAL.finditer(text):
        if match.group(0) != "if":
            return True
        preceding = text[: match.start()].split()[-3:]
        if not any(word in EPISTEMIC for word in preceding):
            return True
    return False


def _negated_before(window: Sequence[str], clause_before: Sequence[str], clause_after: str) -> bool:
    text = " ".join(window)
    clause_text = " ".join(clause_before)
    # One pass for every pseudo-negation: a removal leaves two spaces where each pattern has one, so none
    # can appear anew.
    text = _PSEUDO.sub(" ", text)
    for word in text.split():
        if word in PRE_NEGATIONS:
            if word == "without" and any(w in UNABLE for w in clause_text.split()):
                continue  # "I can't walk without chest pain": the symptom is there.
            if word == "never" and _NEVER_COMPARISON.search(clause_after):
                continue
            return True
    return _NEGATION_PHRASE.search(text) is not None
