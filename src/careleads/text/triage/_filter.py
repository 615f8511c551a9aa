"""Batch pre-filter for the clinical-triage detector: texts that cannot trigger, found column-wise.

The detector (:class:`._detector.ClinicalTriageDetector`) normalises each text into tokens and then looks
for lexicon patterns in the joined tokens. Doing that for every lead of a million-lead batch costs about 70
microseconds a text, nearly all of it for texts with no symptom at all. This module finds, for a whole
column at once, the texts that *may* trigger; only those go through the exact detector, so batch results
stay identical to calling the detector on every text.

Why no triggering text is missed:

1. Each lexicon pattern is read for the words at token starts that each way of matching it needs
   (:func:`._required_words.alternatives`). A pattern the reader does not follow makes the filter pass
   every text.
2. The detector's tokens are runs of ``a-z`` and ``0-9`` after the character fold
   (:func:`._normalise.fold_characters`: lower case, accents and apostrophes dropped, letter runs
   collapsed), which joins no text across white space. So each white-space separated piece of a text (split
   column-wise by Arrow) is folded the same way on its own, once per distinct piece of the chunk and
   column-wise (:meth:`TriageFilter.pieces_bits`; through the one-text fold for a piece that is not ASCII or
   holds a run of three equal letters), and its tokens are mapped to the required words they can satisfy:
   the token after typo correction (:func:`._normalise.correct`), and, when the token starts a contraction
   phrase (``can`` in ``can not``), the phrase's folded token too, since contractions fold several tokens
   into one.
3. A text may trigger only if, for at least one way of matching, its pieces together satisfy every required
   word kept for it (the two longest that no other implies: any subset of required words is still
   required). Only those texts, once per distinct text, go through the exact detector.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from careleads.text.triage._lexicon import CONTRACTION_PHRASES, FUZZY_VOCABULARY
from careleads.text.triage._normalise import (
    NON_WORD_CHARACTERS,
    WORD,
    correct,
    corrections,
    fold_character_column,
    fold_characters,
)
from careleads.text.triage._required_words import Atom, UnsupportedPattern, alternatives, unimplied

__all__ = ["TriageFilter", "distinct_rows"]

_MAX_CACHED_PIECES = 500_000
_ATOMS_KEPT = 2
_ROWS_AT_ONCE = 8192  # combinations of words tested against every alternative at once


@dataclass(frozen=True)
class _TokenTables:
    """What `TriageFilter.tokens_bits` looks tokens up in; made once per filter."""

    whole: pa.Array  # the words a whole token may be
    whole_bits: npt.NDArray[np.uint64]  # their bits, and a last row of none
    prefixes: dict[int, tuple[pa.Array, npt.NDArray[np.uint64]]]  # by length: words a token may start with
    starters: pa.Array  # first words of contraction phrases
    corrected_bits: npt.NDArray[np.uint64]  # the bits of each lexicon word


class TriageFilter:
    """Which texts of a column may trigger a detector with these lexicon patterns (a sound superset).

    Parameters
    ----------
    patterns : sequence of str
        The detector's lexicon regexes (all categories).

    Attributes
    ----------
    usable : bool
        False when some pattern could match without any required word (or could not be read): every
        text is then a candidate.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        ways: list[list[Atom]] = []
        # Reading the variants makes many small acyclic objects (tuples, frozensets): the cyclic garbage
        # collector would rescan the whole process's objects again and again (half of the build, which each
        # batch worker does once), so it pauses meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for pattern in patterns:
                ways.extend(alternatives(pattern))
        except UnsupportedPattern:
            ways = [[]]
        finally:
            if collecting:
                gc.enable()
        self.usable = bool(ways) and all(ways)
        # Keep the (at most) two most telling words of each alternative, judged by length: short words
        # ("to", "in", "my") are in nearly every text, and tracking them would only cost time. A word that
        # another of the alternative's words implies tells nothing more.
        kept = [
            sorted(unimplied(way), key=lambda a: (-min(len(w) for w, _ in a), sorted(a)))[:_ATOMS_KEPT]
            for way in ways
        ]
        atoms = sorted({atom for way in kept for atom in way}, key=sorted)
        bit = {atom: 1 << k for k, atom in enumerate(atoms)}
        self._words = max(1, (len(atoms) + 63) // 64)
        # variants of one pattern often keep the same words: each distinct set once, as bit numbers, padded
        # with the number of a column that always holds
        required = sorted({sum(bit[a] for a in set(way)) for way in kept})
        numbers = [[k for k in range(b.bit_length()) if b >> k & 1] for b in required]
        width = max((len(n) for n in numbers), default=0)
        always = 64 * self._words
        self._required_bits = np.array(
            [n + [always] * (width - len(n)) for n in numbers], dtype=np.intp
        ).reshape(len(required), width)
        self._whole: dict[str, int] = {}
        self._prefix: dict[str, int] = {}
        for atom in atoms:
            for word, whole in atom:
                table = self._whole if whole else self._prefix
                table[word] = table.get(word, 0) | bit[atom]
        self._prefix_lengths = sorted({len(w) for w in self._prefix})
        starters: dict[str, set[str]] = {}
        for phrases, folded in CONTRACTION_PHRASES:
            for phrase in phrases:
                starters.setdefault(phrase.split()[0], set()).add(folded)
        self._starters = {k: frozenset(v) for k, v in starters.items()}
        self._piece_bits: dict[str, int] = {}
        self._tables: _TokenTables | None = None

    def _satisfied(self, combinations: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """For each row of required-word bits, whether it holds every word of some alternative."""
        ok = np.zeros(len(combinations), dtype=bool)
        for begin in range(0, len(combinations), _ROWS_AT_ONCE):
            block = combinations[begin : begin + _ROWS_AT_ONCE]
            # one column per bit (word k's bit j at 64 k + j), then a column that always holds
            held = np.unpackbits(block.view(np.uint8), axis=1, bitorder="little").astype(bool)
            held = np.concatenate([held, np.ones((len(block), 1), dtype=bool)], axis=1)
            every = np.ones((len(block), len(self._required_bits)), dtype=bool)
            for column in self._required_bits.T:
                every &= held[:, column]
            ok[begin : begin + _ROWS_AT_ONCE] = every.any(axis=1)
        return ok

    def _to_words(self, bits: int) -> list[int]:
        return [(bits >> (64 * k)) & 0xFFFFFFFFFFFFFFFF for k in range(self._words)]

    def word_bits(self, form: str) -> int:
        """Required words a token spelt `form` satisfies as it is (no typo correction, no contraction)."""
        bits = self._whole.get(form, 0)
        for length in self._prefix_lengths:
            if length > len(form):
                break
            bits |= self._prefix.get(form[:length], 0)
        return bits

    def token_bits(self, token: str) -> int:
        """Required words a normalised token (before typo correction and contractions) can satisfy."""
        bits = self.word_bits(correct(token))
        for folded in self._starters.get(token, ()):
            bits |= self.word_bits(correct(folded))
        return bits

    def piece_bits(self, piece: str) -> int:
        """Required words the tokens of a whitespace-free piece of text can satisfy, as bits (cached)."""
        bits = self._piece_bits.get(piece)
        if bits is None:
            bits = 0
            for token in WORD.findall(fold_characters(piece)):
                bits |= self.token_bits(token)
            if len(self._piece_bits) >= _MAX_CACHED_PIECES:
                self._piece_bits.clear()
            self._piece_bits[piece] = bits
        return bits

    def as_rows(self, bits: Sequence[int]) -> npt.NDArray[np.uint64]:
        """Required-word bits (as `piece_bits` gives them) as rows of 64-bit words (as `pieces_bits` does)."""
        return np.array([self._to_words(b) for b in bits], dtype=np.uint64).reshape(len(bits), self._words)

    def _token_tables(self) -> _TokenTables:
        if self._tables is None:
            whole = sorted(self._whole)
            prefixes = {}
            for length in sorted({len(word) for word in self._prefix}):
                words = sorted(word for word in self._prefix if len(word) == length)
                bits = self.as_rows([self._prefix[word] for word in words] + [0])
                prefixes[length] = (pa.array(words, type=pa.large_string()), bits)
            self._tables = _TokenTables(
                whole=pa.array(whole, type=pa.large_string()),
                whole_bits=self.as_rows([self._whole[word] for word in whole] + [0]),
                prefixes=prefixes,
                starters=pa.array(sorted(self._starters), type=pa.large_string()),
                corrected_bits=self.as_rows([self.word_bits(word) for word in FUZZY_VOCABULARY]),
            )
        return self._tables

    def tokens_bits(self, tokens: pa.Array) -> npt.NDArray[np.uint64]:
        """`token_bits` of each of many tokens (lower-case ASCII letters and digits), column-wise.

        A token gets the bits of its own spelling, looked up column-wise, or, where typo correction turns it
        into a lexicon word (:func:`._normalise.corrections`, column-wise too), that word's. Tokens that start
        a contraction take `token_bits` itself.

        Returns
        -------
        ndarray of uint64, shape (len(tokens), words)
        """
        tables = self._token_tables()
        tokens = tokens.cast(pa.large_string())
        out = np.zeros((len(tokens), self._words), dtype=np.uint64)
        if not len(tokens):
            return out
        size = np.asarray(pc.binary_length(tokens), dtype=np.int64)
        index = pc.index_in(tokens, value_set=tables.whole).fill_null(len(tables.whole))
        out |= tables.whole_bits[np.asarray(index, dtype=np.intp)]
        for length, (words, bits) in tables.prefixes.items():
            at = np.flatnonzero(size >= length)
            if len(at):
                start = pc.utf8_slice_codeunits(tokens.take(pa.array(at)), 0, length)
                index = pc.index_in(start, value_set=words).fill_null(len(words))
                out[at] |= bits[np.asarray(index, dtype=np.intp)]
        # a token that starts a contraction takes `token_bits` itself; the others are corrected here
        python = np.asarray(pc.is_in(tokens, value_set=tables.starters), dtype=bool)
        word = corrections(tokens)
        corrected = np.flatnonzero((word >= 0) & ~python)
        out[corrected] = tables.corrected_bits[word[corrected]]
        if python.any():
            at = np.flatnonzero(python)
            out[at] = self.as_rows([self.token_bits(str(t)) for t in tokens.take(pa.array(at)).to_pylist()])
        return out

    def pieces_bits(self, pieces: pa.Array) -> npt.NDArray[np.uint64]:
        """`piece_bits` of each of many whitespace-free pieces of text, column-wise.

        The pieces are folded column-wise (:func:`._normalise.fold_character_column`) and split at every
        character that is no letter or digit, as `piece_bits` finds its tokens; a piece's bits are those of
        its tokens (`tokens_bits`) together. A piece the column-wise fold does not cover (not ASCII, or
        holding a run of three equal letters) takes `piece_bits` itself.

        Returns
        -------
        ndarray of uint64, shape (len(pieces), words)
        """
        pieces = pieces.cast(pa.large_string())
        out = np.zeros((len(pieces), self._words), dtype=np.uint64)
        if not len(pieces):
            return out
        folded, python = fold_character_column(pieces)
        tokens = pc.split_pattern_regex(folded, NON_WORD_CHARACTERS)
        owners = np.asarray(pc.list_parent_indices(tokens), dtype=np.int64)
        encoded = pc.list_flatten(tokens).dictionary_encode()
        found = self.tokens_bits(encoded.dictionary)[np.asarray(encoded.indices, dtype=np.intp)]
        if len(owners):  # tokens of one piece are together and in order: OR each run
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            out[owners[starts]] = np.bitwise_or.reduceat(found, starts, axis=0)
        if python.any():
            at = np.flatnonzero(python)
            out[at] = self.as_rows([self.piece_bits(str(p)) for p in pieces.take(pa.array(at)).to_pylist()])
        return out

    def candidates(self, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
        """True for every text that may trigger the detector.

        Parameters
        ----------
        texts : sequence of str or None, or an Arrow string array (chunked or not)
            The texts; None never triggers.

        Returns
        -------
        ndarray of bool
        """
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if isinstance(texts, pa.Array):
            array = texts.cast(pa.large_string())
        else:
            array = pa.array(texts, type=pa.large_string())
        may = np.asarray(pc.is_valid(array), dtype=bool)
        if not self.usable or not len(texts):
            return may
        pieces = pc.ascii_split_whitespace(array)
        parents = np.asarray(pc.list_parent_indices(pieces), dtype=np.int64)
        encoded = pc.list_flatten(pieces).dictionary_encode()
        bits = self.pieces_bits(encoded.dictionary)
        carrying = np.flatnonzero(bits.any(axis=1))
        rows = np.full(len(bits), -1, dtype=np.int64)
        rows[carrying] = np.arange(len(carrying))
        table = bits[carrying]
        codes = rows[np.asarray(encoded.indices, dtype=np.int64)]
        keep = codes >= 0
        owners = parents[keep]
        held = np.zeros(len(texts), dtype=bool)
        if len(owners):
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            per_text = np.bitwise_or.reduceat(table[codes[keep]], starts, axis=0)
            # texts share few combinations of required words: test each distinct one
            combinations, which = distinct_rows(per_text)
            held[owners[starts[self._satisfied(combinations)[which]]]] = True
        return np.asarray(may & held, dtype=bool)


def distinct_rows(rows: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """The distinct rows of a 2-D array and each row's index among them (as ``np.unique(axis=0)`` gives).

    ``np.unique(rows, axis=0)`` sorts the rows as opaque records, which is slow; here each column is
    numbered by its distinct values (hashing, in order of first appearance) and the numbers are combined
    column by column into one integer key, renumbered after each column so that it stays below the row count
    (no overflow, no collision). The distinct rows come in the order of their first appearance.
    """
    key = np.zeros(len(rows), dtype=np.int64)
    for k in range(rows.shape[1]):
        codes, uniques = pd.factorize(rows[:, k])
        key, _ = pd.factorize(key * len(uniques) + codes)
    # the codes number distinct keys in order of first appearance: np.unique gives their first rows in order
    _, first = np.unique(key, return_index=True)
    return rows[first], np.asarray(key, dtype=np.intp)
