"""The clinical-triage detector's text normalisation and lexicon search, column-wise with Arrow.

:func:`careleads.text._triage._normalise` turns one text into tokens in Python (about 25 microseconds a
text), and the detector then searches the joined tokens for any lexicon pattern with Python's backtracking
``re`` (most texts that reach it hold none). For a batch, :func:`normalised_texts` gives the same joined
tokens for a whole column with Arrow's string kernels, and :func:`lexicon_matches` runs the search with
RE2, so that only the texts holding a lexicon pattern go through the detector's clause checks in Python.

Why the column-wise normalisation equals ``" ".join(_normalise(text))`` on every text it handles: it only
handles ASCII texts (others take the Python path), where Python's ``lower`` is ASCII lower-casing and the
accent and typographic-apostrophe folds change nothing. It then mirrors each step, in the same order:

1. apostrophes dropped (plain replacement);
2. runs of three or more equal letters collapsed: texts holding such a run (after step 1) take the Python
   path, because RE2 has no back-references, so for the others the step changes nothing;
3. ``-``, ``_`` and ``/`` become spaces;
4. tokens (runs of ``a-z0-9``, and each of ``.,;:!?()`` and the newline alone) joined by single spaces:
   each punctuation character gets a space on either side, then every run of other characters (spaces
   included) becomes one space, and spaces at both ends are trimmed;
5. the contraction folds, the same patterns in the same order, on the texts where one of them occurs
   (on the others no fold changes anything, as in the Python path) (RE2 and Python's ``re`` pick the same
   leftmost-first, non-overlapping matches for these plain alternations of words, and ``\\b`` agrees on
   ASCII text);
6. the split into tokens on white space (newline tokens drop out) and the typo correction, once per
   distinct token with the detector's own ``_correct``.

The lexicon search is equal too: the joined tokens are ASCII, where RE2's ``\\b`` and ``\\w`` agree with
Python's, and whether a pattern matches somewhere does not depend on the engine. A pattern RE2 cannot
compile (a look-around in extra patterns) makes :func:`lexicon_matches` answer None: the caller then
searches with Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from careleads.text._triage import (
    _ANY_CONTRACTION,
    _CONTRACTIONS,
    _CORRECTED_FROM,
    _FUZZY_VOCABULARY,
    _REAL_WORDS,
    _TRIPLES,
    _correct,
    _normalise,
    _typo_limit,
)

_PUNCTUATION = r"([.,;:!?()\n])"
# every byte that is no token character becomes a space (a byte of a non-ASCII character too: such texts
# are normalised in Python instead)
_TOKEN_BYTES = np.full(256, ord(" "), dtype=np.uint8)
for _byte in b"abcdefghijklmnopqrstuvwxyz0123456789.,;:!?()\n":
    _TOKEN_BYTES[_byte] = _byte


# `corrections`: words `_correct` keeps whatever their length, and each lexicon word's letters and length
_KEPT = pa.array(sorted(_REAL_WORDS | set(_FUZZY_VOCABULARY)), type=pa.large_string())
_LEXICON_LETTERS = [
    sum(1 << (ord(c) - ord("a")) for c in set(w) if "a" <= c <= "z") for w in _FUZZY_VOCABULARY
]
_LEXICON_LENGTHS = [len(word) for word in _FUZZY_VOCABULARY]
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
    """For each token, the index in the lexicon of the word `_correct` turns it into; -1 where it keeps it.

    Column-wise and equal to `_correct` on every token. An ASCII token is corrected only when it has four
    letters or more, no digit, and is no real or lexicon word (as `_correct`), and then only when a bound
    does not rule every lexicon word out: each letter of the token that a word lacks costs at least one
    edit (a swap of neighbours keeps the letters), and so does each letter of difference in length. The
    rest are corrected as `_correct` does, by RapidFuzz's distance to every lexicon word at once: the
    nearest within the typo limit, the first in lexicon order on a tie. Other tokens take `_correct` itself.
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
        if len(at):
            distance = cdist(
                tokens.take(pa.array(at)).to_pylist(),
                _FUZZY_VOCABULARY,
                scorer=OSA.distance,
                score_cutoff=2,
                dtype=np.int32,
                workers=1,
            )
            within = np.where(distance <= limit[:, None], distance, np.iinfo(np.int32).max)
            corrected = within.min(axis=1) <= limit
            out[at[corrected]] = np.argmin(within[corrected], axis=1)
    other = np.flatnonzero(~ascii_ & (size >= _CORRECTED_FROM))
    if len(other):
        index = {word: k for k, word in enumerate(_FUZZY_VOCABULARY)}
        for i, token in zip(other.tolist(), tokens.take(pa.array(other)).to_pylist(), strict=True):
            word = _correct(token)
            out[i] = index[word] if word != token else -1
    return out


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
    """``" ".join(_normalise(text))`` for each text, column-wise where the text is ASCII.

    Parameters
    ----------
    texts : sequence of str
        Texts (no None).

    Returns
    -------
    list of str
        The detector's normalised tokens of each text, joined by single spaces.
    """
    if not texts:
        return []
    array = pa.array(texts, type=pa.large_string())
    text = pc.replace_substring(pc.ascii_lower(array), "'", "")
    python = np.asarray(pc.invert(pc.string_is_ascii(array)), dtype=bool) | np.asarray(
        pc.match_substring_regex(text, _TRIPLES), dtype=bool
    )
    text = pc.replace_substring_regex(text, r"[-_/]", " ")
    text = pc.replace_substring_regex(text, _PUNCTUATION, r" \1 ")
    text = pc.utf8_trim(pc.replace_substring_regex(_blank_non_tokens(text), "  +", " "), " ")
    folding = np.flatnonzero(np.asarray(pc.match_substring_regex(text, _ANY_CONTRACTION.pattern), dtype=bool))
    if len(folding):  # most texts hold no contraction: fold only those that do, then put them back
        some = text.take(folding)
        for pattern, replacement in _CONTRACTIONS:
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
        pa.array([_FUZZY_VOCABULARY[k] for k in index[changed]], type=pa.large_string()),
    )
    rebuilt = pa.LargeListArray.from_arrays(
        pa.array(np.asarray(tokens.offsets), type=pa.int64()), corrected.take(encoded.indices)
    )
    out: list[str] = pc.binary_join(rebuilt, pa.scalar(" ", type=pa.large_string())).to_pylist()
    for i in np.flatnonzero(python).tolist():
        out[i] = " ".join(_normalise(texts[i]))
    return out


def lexicon_matches(joined: Sequence[str], pattern: str) -> npt.NDArray[np.bool_] | None:
    """Whether `pattern` (the detector's alternation of every lexicon pattern) occurs in each joined text.

    Returns None when RE2 cannot compile the pattern; the caller then searches with Python's ``re``.
    """
    array = pa.array(joined, type=pa.large_string())
    try:
        found = pc.match_substring_regex(array, pattern)
    except pa.ArrowInvalid:
        return None
    return np.asarray(found, dtype=bool)
