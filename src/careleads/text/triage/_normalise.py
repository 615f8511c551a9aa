"""The clinical-triage text normalisation: for one text, and column-wise for many.

The lexicon is matched on normalised tokens, made in this order:

1. characters folded (:func:`fold_characters`): lower case, accents dropped, apostrophes (straight and
   typographic) dropped, runs of three or more equal letters collapsed ("sooooo" -> "so");
2. tokens: runs of :data:`WORD_CHARACTERS` (``a-z0-9``), and each of :data:`PUNCTUATION` alone, joined by
   single spaces (every other character, ``-`` and ``/`` among them, separates tokens);
3. contraction phrases folded into one token (:data:`CONTRACTIONS`: "can not" -> "cant"), skipped when no
   phrase occurs (then no fold changes anything);
4. the split into tokens on white space (newline tokens drop out), each corrected by :func:`correct`
   (the lexicon word it is a small typo of).

:func:`normalise` is the rule for one text. :func:`normalised_texts` gives the same result for a column,
built from the same steps: an ASCII text, where Python's ``lower`` is ASCII lower-casing and the accent and
typographic-apostrophe folds change nothing, goes through Arrow's string kernels step by step (tokens made
by a byte table of the same characters, and the same contraction patterns, which RE2 and Python's ``re``
match alike on ASCII text); a text that is not ASCII, or holds a run of three equal letters
(RE2 has no back-references), takes :func:`normalise` itself. Typos are corrected by :func:`corrections`
for a column, :func:`correct` for one token; both pick the word with :func:`nearest_words`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from careleads.text.triage._lexicon import CONTRACTION_PHRASES, FUZZY_VOCABULARY, REAL_WORDS

__all__ = [
    "CONTRACTIONS",
    "LETTER_RUNS",
    "NON_WORD_CHARACTERS",
    "PUNCTUATION",
    "TOKEN",
    "WORD",
    "WORD_CHARACTERS",
    "correct",
    "corrections",
    "fold_character_column",
    "fold_characters",
    "nearest_words",
    "normalise",
    "normalised_texts",
]

WORD_CHARACTERS = string.ascii_lowercase + string.digits
PUNCTUATION = ".,;:!?()\n"  # each a token of its own (clause and sentence boundaries)
WORD = re.compile("[" + WORD_CHARACTERS + "]+")
NON_WORD_CHARACTERS = "[^" + WORD_CHARACTERS + "]+"
_PUNCTUATION_CLASS = (
    "[" + PUNCTUATION.replace("\n", r"\n") + "]"
)  # no character needs escaping but the newline
TOKEN = re.compile(WORD.pattern + "|" + _PUNCTUATION_CLASS)
LETTER_RUNS = re.compile(r"([a-z])\1{2,}")  # "sooooo" -> "so"
# the same runs for RE2 (Arrow), which has no back-references: texts holding one are folded in Python
_TRIPLES = "|".join(letter * 3 for letter in string.ascii_lowercase)
_ACCENTS = str.maketrans("áéíóúüñ", "aeiouun")

CONTRACTIONS = tuple(
    (re.compile(r"\b(?:" + "|".join(phrases) + r")\b"), replacement)
    for phrases, replacement in CONTRACTION_PHRASES
)
# Any phrase of any fold: when none occurs, every fold leaves the text as it is, so they are skipped (most
# texts hold no contraction).
_ANY_CONTRACTION = re.compile(
    r"\b(?:" + "|".join(phrase for phrases, _ in CONTRACTION_PHRASES for phrase in phrases) + r")\b"
)

_CORRECTED_FROM = 4  # shorter tokens are never corrected
_KEPT_WORDS = REAL_WORDS | frozenset(FUZZY_VOCABULARY)  # never corrected, whatever their length


def _typo_limit(length: int) -> int:
    """Edits a typo of a token this long may hold: 1, 2 from 9 letters on."""
    return 2 if length >= 9 else 1


def fold_characters(text: str) -> str:
    """Step 1 for one text: lower case, accents and apostrophes dropped, letter runs collapsed.

    Examples
    --------
    >>> fold_characters("I’m Sooooo Tired, Señor")
    'im so tired, senor'
    """
    folded = text.lower().translate(_ACCENTS).replace("’", "'").replace("'", "")
    return LETTER_RUNS.sub(r"\1", folded)


def fold_character_column(texts: pa.Array) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """Step 1 column-wise, for the texts where it equals :func:`fold_characters`.

    Returns
    -------
    folded : pyarrow.Array
        Each text ASCII-lower-cased, straight apostrophes dropped.
    scalar : ndarray of bool
        The texts this is not the fold of (not ASCII, or holding a run of three equal letters after the
        fold): those must go through :func:`fold_characters`.
    """
    folded = pc.replace_substring(pc.ascii_lower(texts), "'", "")
    scalar = ~np.asarray(pc.string_is_ascii(texts), dtype=bool) | np.asarray(
        pc.match_substring_regex(folded, _TRIPLES), dtype=bool
    )
    return folded, scalar


def nearest_words(tokens: Sequence[str], limit: int) -> npt.NDArray[np.intp]:
    """For each token, the index of the nearest lexicon word at most `limit` edits away, or -1.

    The distance is the optimal string alignment (insert, delete, substitute, swap neighbours), computed by
    RapidFuzz in native code; on a tie, the first word in :data:`FUZZY_VOCABULARY` order.
    """
    # beyond the cutoff every distance reads as cutoff + 1, so the nearest within it is still the first
    distance = cdist(
        list(tokens), FUZZY_VOCABULARY, scorer=OSA.distance, score_cutoff=limit, dtype=np.int32, workers=1
    )
    return np.where(distance.min(axis=1) <= limit, distance.argmin(axis=1), -1)


@lru_cache(maxsize=65_536)
def correct(token: str) -> str:
    """The lexicon word a token is a small typo of (see :func:`nearest_words`), or the token itself.

    Tokens of fewer than four characters, with a character that is no letter, or in :data:`REAL_WORDS`
    or :data:`FUZZY_VOCABULARY` are kept; others are corrected within 1 edit (2 from 9 letters on).

    Examples
    --------
    >>> correct("chset"), correct("cheap"), correct("want")
    ('chest', 'cheap', 'want')
    """
    if len(token) < _CORRECTED_FROM or token in _KEPT_WORDS or not token.isalpha():
        return token
    (k,) = nearest_words([token], _typo_limit(len(token))).tolist()
    return token if k < 0 else FUZZY_VOCABULARY[k]


_KEPT = pa.array(sorted(_KEPT_WORDS), type=pa.large_string())
_LEXICON_LETTERS = [
    sum(1 << (ord(c) - ord("a")) for c in set(w) if "a" <= c <= "z") for w in FUZZY_VOCABULARY
]
_LEXICON_LENGTHS = [len(word) for word in FUZZY_VOCABULARY]
# set bits of every 13-bit number: a 26-bit letter mask is counted in two lookups (numpy 1.26 has no popcount)
_BITS_SET = np.array([bin(k).count("1") for k in range(1 << 13)], dtype=np.int8)


def _letter_masks(words: pa.Array) -> npt.NDArray[np.int64]:
    """For each word of lower-case ASCII letters (none empty), the set of its letters as a 26-bit mask."""
    words = words.cast(pa.large_string())
    _, offsets, data = words.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64)[words.offset : words.offset + len(words) + 1]
    letters = np.frombuffer(data, dtype=np.uint8)[starts[0] : starts[-1]].astype(np.int64) - ord("a")
    return np.bitwise_or.reduceat(np.left_shift(1, letters), starts[:-1] - starts[0])


def corrections(tokens: pa.Array) -> npt.NDArray[np.intp]:
    """For each token, the index in the lexicon of the word :func:`correct` gives; -1 where it keeps it.

    Column-wise and equal to :func:`correct` on every token. An ASCII token is corrected only when it has
    four letters or more, no digit, and is no real or lexicon word (as :func:`correct`), and then only when
    a bound does not rule every lexicon word out: each letter of the token that a word lacks costs at least
    one edit (a swap of neighbours keeps the letters), and so does each letter of difference in length. The
    rest go through :func:`nearest_words`, as in :func:`correct`. Other tokens take :func:`correct` itself.
    """
    tokens = tokens.cast(pa.large_string())
    out = np.full(len(tokens), -1, dtype=np.intp)
    if not len(tokens):
        return out
    size = np.asarray(pc.utf8_length(tokens), dtype=np.int64)
    ascii_ = np.asarray(pc.string_is_ascii(tokens), dtype=bool)
    may = np.flatnonzero(
        (size >= _CORRECTED_FROM)
        & ascii_
        & np.asarray(pc.ascii_is_alpha(tokens), dtype=bool)
        & ~np.asarray(pc.is_in(tokens, value_set=_KEPT), dtype=bool)
    )
    if len(may):
        # letters lower-cased: an upper-case one is in no lexicon word, so the bound only gets weaker
        masks = _letter_masks(pc.ascii_lower(tokens.take(pa.array(may))))
        limit = np.array([_typo_limit(n) for n in range(int(size.max()) + 1)])[size[may]]
        near = np.zeros(len(may), dtype=bool)
        for mask, length in zip(_LEXICON_LETTERS, _LEXICON_LENGTHS, strict=True):
            lacking = _BITS_SET[masks & ~mask & 0x1FFF] + _BITS_SET[((masks & ~mask) >> 13) & 0x1FFF]
            near |= (lacking <= limit) & (np.abs(size[may] - length) <= limit)
        at, limit = may[near], limit[near]
        for edits in np.unique(limit).tolist():
            group = at[limit == edits]
            out[group] = nearest_words(tokens.take(pa.array(group)).to_pylist(), edits)
    other = np.flatnonzero(~ascii_ & (size >= _CORRECTED_FROM))
    if len(other):
        index = {word: k for k, word in enumerate(FUZZY_VOCABULARY)}
        for i, token in zip(other.tolist(), tokens.take(pa.array(other)).to_pylist(), strict=True):
            word = correct(token)
            out[i] = index[word] if word != token else -1
    return out


def normalise(text: str) -> list[str]:
    """The normalised tokens of one text: lower case, folded, typo-corrected (punctuation kept).

    Examples
    --------
    >>> normalise("I can't breathe - chset pian!!")
    ['i', 'cant', 'breathe', 'chest', 'pain', '!', '!']
    """
    lowered = " ".join(TOKEN.findall(fold_characters(text)))
    if _ANY_CONTRACTION.search(lowered) is not None:
        for pattern, replacement in CONTRACTIONS:
            lowered = pattern.sub(replacement, lowered)
    return [correct(token) for token in lowered.split()]


# every byte that is no token character becomes a space (a byte of a non-ASCII character too: such texts
# are normalised by `normalise` instead)
_TOKEN_BYTES = np.full(256, ord(" "), dtype=np.uint8)
for _byte in (WORD_CHARACTERS + PUNCTUATION).encode():
    _TOKEN_BYTES[_byte] = _byte
_PUNCTUATION_TOKEN = "(" + _PUNCTUATION_CLASS + ")"


def _blank_non_tokens(text: pa.Array) -> pa.Array:
    """Each character of `text` (lower-case ASCII) that is no token character, as a space.

    Replacing runs of them by one space with a regex matches at every space between words; a byte lookup
    does it in one pass over the text, and the runs are then collapsed where there are any.
    """
    text = text.cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    validity, offsets, data = text.buffers()
    blanked = _TOKEN_BYTES[np.frombuffer(data, dtype=np.uint8)] if data is not None else np.zeros(0, np.uint8)
    return pa.Array.from_buffers(
        pa.large_string(), len(text), [validity, offsets, pa.py_buffer(blanked)], offset=text.offset
    )


def normalised_texts(texts: Sequence[str]) -> list[str]:
    """``" ".join(normalise(text))`` for each text, column-wise where the text is ASCII.

    Parameters
    ----------
    texts : sequence of str
        Texts (no None).

    Returns
    -------
    list of str
        The normalised tokens of each text, joined by single spaces.
    """
    if not texts:
        return []
    text, scalar = fold_character_column(pa.array(texts, type=pa.large_string()))
    # tokens joined by single spaces: each punctuation character gets a space on either side, every run of
    # other characters (spaces included) becomes one space, spaces at both ends are trimmed
    text = pc.replace_substring_regex(text, _PUNCTUATION_TOKEN, r" \1 ")
    text = pc.utf8_trim(pc.replace_substring_regex(_blank_non_tokens(text), "  +", " "), " ")
    folding = np.flatnonzero(np.asarray(pc.match_substring_regex(text, _ANY_CONTRACTION.pattern), dtype=bool))
    if len(folding):  # most texts hold no contraction: fold only those that do, then put them back
        some = text.take(folding)
        for pattern, replacement in CONTRACTIONS:
            some = pc.replace_substring_regex(some, pattern.pattern, replacement)
        mask = np.zeros(len(text), dtype=bool)
        mask[folding] = True
        text = pc.replace_with_mask(text, pa.array(mask), some)
    # tokens are now joined by single spaces (a fold replaces words by a word): drop the newline tokens
    text = pc.utf8_ltrim(pc.replace_substring(text, " \n", ""), "\n ")
    tokens = pc.split_pattern(text, " ")
    encoded = pc.list_flatten(tokens).dictionary_encode()
    words = encoded.dictionary.cast(pa.large_string())
    index = corrections(words)
    changed = index >= 0
    corrected = pc.replace_with_mask(
        words,
        pa.array(changed),
        pa.array([FUZZY_VOCABULARY[k] for k in index[changed]], type=pa.large_string()),
    )
    rebuilt = pa.LargeListArray.from_arrays(
        pa.array(np.asarray(tokens.offsets), type=pa.int64()), corrected.take(encoded.indices)
    )
    out: list[str] = pc.binary_join(rebuilt, pa.scalar(" ", type=pa.large_string())).to_pylist()
    for i in np.flatnonzero(scalar).tolist():
        out[i] = " ".join(normalise(texts[i]))
    return out
