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

from careleads.text._triage import _ANY_CONTRACTION, _CONTRACTIONS, _TRIPLES, _correct, _normalise

_PUNCTUATION = r"([.,;:!?()\n])"
# every byte that is no token character becomes a space (a byte of a non-ASCII character too: such texts
# are normalised in Python instead)
_TOKEN_BYTES = np.full(256, ord(" "), dtype=np.uint8)
for _byte in b"abcdefghijklmnopqrstuvwxyz0123456789.,;:!?()\n":
    _TOKEN_BYTES[_byte] = _byte


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
    corrected = pa.array([_correct(t) for t in encoded.dictionary.to_pylist()], type=pa.large_string())
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
