"""The clinical-triage text normalisation: words with their place in the original text.

A text becomes a list of tokens, each a normalised word (or a punctuation mark) with the character
offsets of what it was made from in the original text, so that the words behind a verdict can be
highlighted. The steps, in order:

1. tokens: runs of letters and digits of any script (apostrophes inside a word kept with it), and each of
   :data:`PUNCTUATION` alone; every other character separates tokens;
2. each token folded (:func:`fold_word`): Unicode compatibility forms (full-width letters), lower case,
   accents and apostrophes dropped, runs of three or more equal letters collapsed ("sooooo" -> "so");
3. contractions folded into one token spanning their words (:data:`._lexicon.CONTRACTION_PHRASES`:
   "can not", "unable to" -> "cant");
4. small typos corrected (:func:`correct`) towards the words of the vocabularies, unless the token is a
   real English word (the list ``data/real_words.txt``, made offline by :mod:`._train`);
5. a vocabulary word glued to another word ("chestpain", "cantbreathe", "my lifeneed it") split in two,
   unless the token is a real word ("breathtaking", "lifetime").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rapidfuzz.distance import OSA, Indel
from rapidfuzz.process import extract, extractOne

from careleads.text.triage._lexicon import CONTRACTION_PHRASES, SENSES, WORD_CLASSES

__all__ = [
    "CONTRACTIONS",
    "PUNCTUATION",
    "REAL_WORDS",
    "VOCABULARY",
    "Tokens",
    "correct",
    "fold_word",
    "glued_halves",
    "normalise",
    "tokenise",
    "vocabulary_words",
]

PUNCTUATION = ".,;:!?()\n"  # each a token of its own (clause and sentence boundaries)
_TOKEN = re.compile(r"[^\W_]+(?:['’‘`´][^\W_]+)*|[" + PUNCTUATION.replace("\n", r"\n") + "]")
_APOSTROPHES = str.maketrans("", "", "'’‘`´")
_LETTER_RUNS = re.compile(r"([a-z])\1{2,}")
_CORRECTED_FROM = 4  # shorter tokens are never corrected
_SPLIT_FROM = 6  # shorter tokens are never split in two
_SPLIT_PART = 3  # nor into a part shorter than this


def vocabulary_words() -> tuple[str, ...]:
    """Every word of the word classes and senses (letters only, four or more), in a stable order."""
    words: dict[str, None] = {}
    for entries in WORD_CLASSES.values():
        for entry in entries:
            for word in entry.rstrip("*").split():
                if len(word) >= _CORRECTED_FROM and word.isalpha():
                    words[word] = None
    for sense in SENSES:
        for word in sense.split():
            if len(word) >= _CORRECTED_FROM and word.isalpha():
                words[word] = None
    return tuple(words)


VOCABULARY = vocabulary_words()
"""The words small typos are corrected towards (on a tie, the first in this order)."""
_VOCABULARY_SET = frozenset(VOCABULARY)
_SHORT_WORDS = frozenset(w for entries in WORD_CLASSES.values() for e in entries for w in e.split())


def _real_words() -> frozenset[str]:
    text = resources.files("careleads.text.triage").joinpath("data/real_words.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


REAL_WORDS = _real_words()
"""Real English words within two edits of a vocabulary word: never corrected, and a typo as near to one of
them as to a vocabulary word is kept as written."""
_REAL_WORD_LIST = sorted(REAL_WORDS)

CONTRACTIONS: dict[str, list[tuple[tuple[str, ...], str]]] = {}
"""Each contraction phrase as its words with the word it becomes, by the phrase's first word (longest
phrase first)."""
for _phrases, _folded in CONTRACTION_PHRASES:
    for _phrase in _phrases:
        _words = tuple(_phrase.split())
        CONTRACTIONS.setdefault(_words[0], []).append((_words, _folded))
for _options in CONTRACTIONS.values():
    _options.sort(key=lambda option: -len(option[0]))


@dataclass(frozen=True)
class Tokens:
    """A text's normalised tokens and, for each, its ``(start, end)`` character offsets in the text."""

    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@lru_cache(maxsize=65_536)
def fold_word(raw: str) -> str:
    """One token folded: compatibility forms, lower case, no accents or apostrophes, letter runs collapsed.

    Examples
    --------
    >>> fold_word("Sooooo"), fold_word("CAN’T"), fold_word("Señor"), fold_word("ＣＨＥＳＴ")
    ('so', 'cant', 'senor', 'chest')
    """
    text = unicodedata.normalize("NFKC", raw).lower().translate(_APOSTROPHES)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _LETTER_RUNS.sub(r"\1", text)


def _typo_limit(length: int) -> int:
    """Edits a typo of a token this long may hold: 1, 2 from 9 letters on."""
    return 2 if length >= 9 else 1


_NEAR: dict[tuple[bool, int, int], tuple[str, ...]] = {}


def _of_lengths(real: bool, length: int, within: int) -> tuple[str, ...]:
    """The words of :data:`VOCABULARY` (or, `real`, the real words), in their order, whose length is within
    `within` of `length` (kept per length)."""
    key = (real, length, within)
    near = _NEAR.get(key)
    if near is None:
        words = _REAL_WORD_LIST if real else VOCABULARY
        near = _NEAR[key] = tuple(w for w in words if abs(len(w) - length) <= within)
    return near


@lru_cache(maxsize=65_536)
def correct(token: str) -> str:
    """The vocabulary word a token is a small typo of, or the token itself.

    Tokens shorter than four letters, not all letters, in the vocabulary or real English words are kept;
    others are corrected to the nearest vocabulary word within 1 edit (2 from 9 letters on) of optimal
    string alignment (insert, delete, substitute, swap neighbours), unless a real word is as near and shares
    more letters in order with it.

    Examples
    --------
    >>> correct("chset"), correct("breth"), correct("cheap"), correct("overdid"), correct("cheked")
    ('chest', 'breath', 'cheap', 'overdid', 'cheked')
    """
    if (
        len(token) < _CORRECTED_FROM
        or token in _VOCABULARY_SET
        or token in REAL_WORDS
        or not token.isascii()
        or not token.isalpha()
    ):
        return token
    limit = _typo_limit(len(token))
    # a word whose length differs by more than the limit is more edits away: only the near lengths are read
    best = extractOne(token, _of_lengths(False, len(token), limit), scorer=OSA.distance, score_cutoff=limit)
    if best is None:
        return token
    # a real word as near (in edits) that shares more letters in order ("cheked": checked, not choked) is
    # what was meant: keep the token as written
    target = str(best[0])
    for word, _, _ in extract(
        token,
        _of_lengths(True, len(token), int(best[1])),
        scorer=OSA.distance,
        score_cutoff=int(best[1]),
        limit=8,
    ):
        if Indel.normalized_similarity(token, word) > Indel.normalized_similarity(token, target):
            return token
    return target


def glued_halves(token: str) -> tuple[str, str] | None:
    """The two parts of a token that glues a vocabulary word to another word, or None (real words aside).

    Two words of the word classes ("chestpain" -> chest, pain; "cantbreathe" -> cant, breathe), else the
    longest vocabulary word of four letters or more and the rest ("lifeneed" -> life, need).
    """
    if len(token) < _SPLIT_FROM or token in _VOCABULARY_SET or not token.isalpha():
        return None
    for k in range(_SPLIT_PART, len(token) - _SPLIT_PART + 1):
        left, right = token[:k], token[k:]
        if left in _SHORT_WORDS and right in _SHORT_WORDS:
            return left, right
    for k in range(len(token) - _SPLIT_PART, _CORRECTED_FROM - 1, -1):
        if token[:k] in _VOCABULARY_SET:
            return token[:k], token[k:]
    return None


@lru_cache(maxsize=65_536)
def _split(token: str) -> tuple[str, str] | None:
    """Two vocabulary words a token is glued from, unless it is a real word ("breathtaking")."""
    return None if token in REAL_WORDS else glued_halves(token)


def tokenise(text: str) -> Tokens:
    """The normalised tokens of one text, each with its character offsets in `text`.

    Examples
    --------
    >>> tokens = tokenise("I cant  BREEEATHE, chset pain!")
    >>> tokens.words
    ('i', 'cant', 'breathe', ',', 'chest', 'pain', '!')
    >>> [tokens.spans[k] for k in (2, 4)]
    [(8, 17), (19, 24)]
    """
    raw = [(fold_word(m.group(0)), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(raw):
        word, start, end = raw[i]
        for phrase, folded in CONTRACTIONS.get(word, ()):
            if tuple(w for w, _, _ in raw[i : i + len(phrase)]) == phrase:
                word, end = folded, raw[i + len(phrase) - 1][2]
                i += len(phrase) - 1
                break
        i += 1
        if word == "\n":
            words.append(word)
            spans.append((start, end))
            continue
        fixed = correct(word)
        halves = _split(fixed) if fixed == word else None
        if halves is None:
            words.append(fixed)
            spans.append((start, end))
            continue
        left, right = halves
        # the split point in the original text when folding kept the length; else both halves span it all
        cut = start + len(left) if end - start == len(word) else end
        words += [left, right]
        spans += [(start, cut), (cut if cut < end else start, end)]
    return Tokens(tuple(words), tuple(spans))


def normalise(text: str) -> list[str]:
    """The normalised words of one text (punctuation kept), without their offsets.

    Examples
    --------
    >>> normalise("I can't breathe - chset pain!!")
    ['i', 'cant', 'breathe', 'chest', 'pain', '!', '!']
    """
    return list(tokenise(text).words)
