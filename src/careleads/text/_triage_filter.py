"""Batch pre-filter for the clinical-triage detector: texts that cannot trigger, found column-wise.

The detector (:class:`careleads.text.ClinicalTriageDetector`) normalises each text into tokens (lower case,
accents and apostrophes dropped, repeated letters collapsed, contractions folded, small typos corrected
towards the lexicon's words) and then looks for lexicon patterns in the joined tokens. Doing that for every
lead of a million-lead batch costs about 70 microseconds a text, nearly all of it for texts with no symptom
at all. This module finds, for a whole column at once, the texts that *may* trigger; only those go through
the exact detector, so batch results stay identical to calling the detector on every text.

Why no triggering text is missed:

1. Every lexicon alternative is read (:func:`required_atoms`) for the words a match must contain at a token
   start: a literal word at the start of the alternative or after a required space, or a group there whose
   every branch starts with a literal word. Such a word is either the whole token (when a required space
   follows it in the pattern) or a prefix of it. Optional parts, classes and escapes are skipped, which only
   makes the filter let more texts through. A pattern the reader does not understand (a look-around, a
   quantifier with nothing before it) makes the filter pass every text.
   Each alternative is also read as its variants (:func:`_variants`: each group replaced by one of its
   branches, each ``?`` part left out or kept), whose matches together are the alternative's: a variant needs
   the words it holds itself as well as the alternative's, so ``cant (?:breathe|get (?:enough )?air)`` asks
   for ``cant`` with ``breathe``, or ``cant`` with ``get`` and ``air``, not ``cant`` with any of them.
2. The detector's tokens are runs of ``a-z`` and ``0-9`` after lower case, accent folding, apostrophe
   removal and letter-run collapsing, none of which joins text across white space. So each white-space
   separated piece of a text (split column-wise by Arrow) is folded the same way on its own, once per
   distinct piece of the chunk and column-wise (:meth:`TriageFilter.pieces_bits`; in Python for a piece that
   is not ASCII or holds a run of three equal letters), and its tokens are mapped to the required words they
   can satisfy: the token after typo correction, and, when the token starts a contraction phrase (``can``
   in ``can not``), the phrase's folded token too, since contractions fold several tokens into one.
3. A text may trigger only if, for at least one variant, its pieces together satisfy every required word
   kept for it (the two longest that no other implies: any subset of required words is still required).
   Only those texts, once per distinct text, go through the exact detector.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from careleads.text._triage import (
    _ACCENTS,
    _FUZZY_VOCABULARY,
    _REPEATS,
    _TRIPLES,
    CONTRACTION_PHRASES,
    _correct,
)
from careleads.text._triage_batch import corrections

Atom = frozenset[tuple[str, bool]]  # (word, whole token?) options; one must hold at one token
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_WORD = re.compile(r"[a-z0-9]+")
_MAX_CACHED_PIECES = 500_000
_ATOMS_KEPT = 2
_ROWS_AT_ONCE = 8192  # combinations of words tested against every alternative at once
_MAX_VARIANTS = 512  # per branch of a lexicon pattern (see `_variants`)
_NO_WORD_CHARACTERS = "[^a-z0-9]+"


class UnsupportedPattern(ValueError):
    """A lexicon pattern uses regex syntax the pre-filter does not read (the filter then passes all)."""


@dataclass(frozen=True)
class _Element:
    kind: str  # "char" (a literal character), "group" (its inner source in `text`) or "other"
    text: str
    quantified: bool  # followed by ?, *, + or {m,n}
    optional: bool = False  # the quantifier allows zero repeats
    source: str = ""  # the element as written, quantifier included
    once_at_most: bool = False  # the quantifier is ``?`` (or its lazy ``??``): absent or once


def _class_end(source: str, start: int) -> int:
    """Index of the ``]`` closing the character class opened at `start`."""
    i = start + 1
    if source[i : i + 1] == "^":
        i += 1
    if source[i : i + 1] == "]":  # a leading "]" is a literal
        i += 1
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == "]":
            return i
        i += 1
    raise UnsupportedPattern(f"unclosed character class in {source!r}")


def _group_end(source: str, start: int) -> int:
    """Index of the ``)`` closing the group opened at `start` (escapes and character classes skipped)."""
    depth = 0
    i = start
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(source, i) + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise UnsupportedPattern(f"unbalanced parenthesis in {source!r}")


def _branches(source: str) -> list[str]:
    """`source` split at its top-level ``|``."""
    out: list[str] = []
    begin = 0
    i = 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            i = _group_end(source, i) + 1
            continue
        if c == "[":
            i = _class_end(source, i) + 1
            continue
        if c == "|":
            out.append(source[begin:i])
            begin = i + 1
        i += 1
    out.append(source[begin:])
    return out


@lru_cache(maxsize=4096)
def _elements(source: str) -> tuple[_Element, ...]:
    """A branch without top-level ``|`` as a sequence of literal characters, groups and other items."""
    out: list[_Element] = []
    i = 0
    while i < len(source):
        begin = i
        c = source[i]
        if c == "\\":
            kind, text, i = "other", source[i : i + 2], i + 2
        elif c == "(":
            end = _group_end(source, i)
            inner = source[i + 1 : end]
            if inner.startswith("?:"):
                inner = inner[2:]
            elif inner.startswith("?"):
                raise UnsupportedPattern(f"{source!r}: only plain and (?:...) groups are read")
            kind, text, i = "group", inner, end + 1
        elif c == "[":
            end = _class_end(source, i)
            kind, text, i = "other", source[i : end + 1], end + 1
        elif c in "?*+{|)":
            raise UnsupportedPattern(f"{source!r}: unexpected {c!r} at {i}")
        elif c in ".^$":
            kind, text, i = "other", c, i + 1
        else:
            kind, text, i = "char", c, i + 1
        quantified = optional = once = False
        if i < len(source) and source[i] in "?*+":
            quantified, optional, once, i = True, source[i] != "+", source[i] == "?", i + 1
            if i < len(source) and source[i] in "?+":
                once = once and source[i] == "?"
                i += 1
        elif i < len(source) and source[i] == "{":
            end = source.find("}", i)
            if end < 0:
                raise UnsupportedPattern(f"{source!r}: unclosed repeat")
            quantified, optional = True, source[i + 1 : end].split(",")[0].strip() in ("", "0")
            i = end + 1
        out.append(_Element(kind, text, quantified, optional, source[begin:i], once))
    return tuple(out)


def _variants(branch: str) -> list[str] | None:
    """Regexes whose matches together are exactly the matches of `branch` (a branch without top-level ``|``).

    Each unquantified group becomes, in turn, each variant of each of its branches, and each group or
    character marked ``?`` is either left out or kept once. Quantified groups other than by ``?``, classes and
    escapes stay as written. None when there would be more than `_MAX_VARIANTS`.
    """
    choices: list[list[str]] = []
    count = 1
    for element in _elements(branch):
        if element.kind == "group" and (not element.quantified or element.once_at_most):
            options: list[str] = []
            for inner in _branches(element.text):
                inner_variants = _variants(inner)
                if inner_variants is None:
                    return None
                options.extend(inner_variants)
            if element.quantified:
                options.insert(0, "")
        elif element.kind == "char" and element.once_at_most:
            options = ["", element.text]
        else:
            options = [element.source]
        count *= len(options)
        if count > _MAX_VARIANTS:
            return None
        choices.append(options)
    return ["".join(parts) for parts in itertools.product(*choices)]


def _alternatives(pattern: str) -> list[list[Atom]]:
    """The words at token starts that each way of matching `pattern` needs (see `required_atoms`).

    One list per variant (`_variants`) of each top-level branch: the words the variant needs together with
    the words its branch needs, which every match of the variant needs as well.
    """
    out: list[list[Atom]] = []
    for branch in _branches(pattern):
        needed = required_atoms(branch)[0]
        variants = _variants(branch)
        for variant in variants if variants is not None else [branch]:
            out.append(sorted(set(needed) | set(required_atoms(variant)[0]), key=sorted))
    return out


def _is_space(element: _Element | None) -> bool:
    return element is not None and element.kind == "char" and element.text == " " and not element.quantified


def _ends_in_space(element: _Element) -> bool:
    """Whether every way of matching the element (once) ends with a literal space."""
    if element.kind == "char":
        return element.text == " "
    if element.kind != "group":
        return False
    for branch in _branches(element.text):
        elements = _elements(branch)
        if not elements or elements[-1].quantified or not _ends_in_space(elements[-1]):
            return False
    return True


def _word_at(elements: Sequence[_Element], start: int) -> tuple[str, int]:
    """The run of unquantified literal letters and digits from `start`, and where it ends."""
    end = start
    while (
        end < len(elements)
        and elements[end].kind == "char"
        and elements[end].text in _WORD_CHARS
        and not elements[end].quantified
    ):
        end += 1
    return "".join(e.text for e in elements[start:end]), end


def required_atoms(pattern: str) -> list[list[Atom]]:
    """For each top-level branch of `pattern`, the words a match must hold at token starts.

    Parameters
    ----------
    pattern : str
        A lexicon regex, matched after a word boundary on normalised text.

    Returns
    -------
    list of list of Atom
        One list per branch; each atom is a set of ``(word, whole_token)`` options of which one must hold
        for one token of the text (``whole_token`` False: the word is a prefix of the token).

    Raises
    ------
    UnsupportedPattern
        When the pattern uses syntax this reader does not follow.
    """
    out: list[list[Atom]] = []
    for branch in _branches(pattern):
        elements = _elements(branch)
        atoms: list[Atom] = []
        at_token_start = True  # the detector's patterns follow a word boundary
        i = 0
        while i < len(elements):
            element = elements[i]
            if at_token_start and not element.quantified:
                if element.kind == "char" and element.text in _WORD_CHARS:
                    word, end = _word_at(elements, i)
                    atoms.append(
                        frozenset({(word, _is_space(elements[end] if end < len(elements) else None))})
                    )
                    i, at_token_start = end, False
                    continue
                if element.kind == "group":
                    after = elements[i + 1] if i + 1 < len(elements) else None
                    options = _first_words(element.text, whole_if_last=_is_space(after))
                    if options:
                        atoms.append(frozenset(options))
            if element.quantified:
                # after "(?:is |was )?" a token starts if one started before it: the group ends in a space
                at_token_start = _ends_in_space(element) and (at_token_start or not element.optional)
            else:
                at_token_start = _ends_in_space(element)
            i += 1
        out.append(atoms)
    return out


@lru_cache(maxsize=65_536)
def _implies(atom: Atom, other: Atom) -> bool:
    """Whether a token satisfying `atom` always satisfies `other` (each option implies one of the other)."""
    return all(
        any(word.startswith(w) and (not whole or (is_whole and w == word)) for w, whole in other)
        for word, is_whole in atom
    )


def _unimplied(alternative: Sequence[Atom]) -> list[Atom]:
    """The atoms of an alternative that no other of its atoms implies (of two equivalent ones, the first)."""
    atoms = sorted(set(alternative), key=sorted)
    return [
        atom
        for k, atom in enumerate(atoms)
        if not any(
            _implies(other, atom) and (j < k or not _implies(atom, other))
            for j, other in enumerate(atoms)
            if j != k
        )
    ]


def _first_words(group: str, *, whole_if_last: bool) -> set[tuple[str, bool]] | None:
    """The word each branch of a group starts with, or None when a branch starts otherwise."""
    options: set[tuple[str, bool]] = set()
    for branch in _branches(group):
        elements = _elements(branch)
        word, end = _word_at(elements, 0)
        if not word:
            return None
        whole = whole_if_last if end == len(elements) else _is_space(elements[end])
        options.add((word, whole))
    return options


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
        alternatives: list[list[Atom]] = []
        # Reading the variants makes many small acyclic objects (tuples, frozensets): the cyclic garbage
        # collector would rescan the whole process's objects again and again (half of the build, which each
        # batch worker does once), so it pauses meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for pattern in patterns:
                alternatives.extend(_alternatives(pattern))
        except UnsupportedPattern:
            alternatives = [[]]
        finally:
            if collecting:
                gc.enable()
        self.usable = bool(alternatives) and all(alternatives)
        # Keep the (at most) two most telling words of each alternative, judged by length: short words
        # ("to", "in", "my") are in nearly every text, and tracking them would only cost time. A word that
        # another of the alternative's words implies tells nothing more.
        alternatives = [
            sorted(_unimplied(alternative), key=lambda a: (-min(len(w) for w, _ in a), sorted(a)))[
                :_ATOMS_KEPT
            ]
            for alternative in alternatives
        ]
        atoms = sorted({atom for alternative in alternatives for atom in alternative}, key=sorted)
        bit = {atom: 1 << k for k, atom in enumerate(atoms)}
        self._words = max(1, (len(atoms) + 63) // 64)
        # variants of one pattern often keep the same words: each distinct set once, as bit numbers, padded
        # with the number of a column that always holds
        required = sorted({sum(bit[a] for a in set(alternative)) for alternative in alternatives})
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

    def _bits(self, form: str) -> int:
        bits = self._whole.get(form, 0)
        for length in self._prefix_lengths:
            if length > len(form):
                break
            bits |= self._prefix.get(form[:length], 0)
        return bits

    def token_bits(self, token: str) -> int:
        """Required words a normalised token (before typo correction and contractions) can satisfy."""
        bits = self._bits(_correct(token))
        for folded in self._starters.get(token, ()):
            bits |= self._bits(_correct(folded))
        return bits

    def piece_bits(self, piece: str) -> int:
        """Required words the tokens of a whitespace-free piece of text can satisfy, as bits (cached)."""
        bits = self._piece_bits.get(piece)
        if bits is None:
            folded = _REPEATS.sub(r"\1", piece.lower().translate(_ACCENTS).replace("’", "").replace("'", ""))
            bits = 0
            for token in _WORD.findall(folded):
                bits |= self.token_bits(token)
            if len(self._piece_bits) >= _MAX_CACHED_PIECES:
                self._piece_bits.clear()
            self._piece_bits[piece] = bits
        return bits

    def _rows(self, bits: Sequence[int]) -> npt.NDArray[np.uint64]:
        """Bits as rows of 64-bit words."""
        return np.array([self._to_words(b) for b in bits], dtype=np.uint64).reshape(len(bits), self._words)

    def _token_tables(self) -> _TokenTables:
        if self._tables is None:
            whole = sorted(self._whole)
            prefixes = {}
            for length in sorted({len(word) for word in self._prefix}):
                words = sorted(word for word in self._prefix if len(word) == length)
                bits = self._rows([self._prefix[word] for word in words] + [0])
                prefixes[length] = (pa.array(words, type=pa.large_string()), bits)
            self._tables = _TokenTables(
                whole=pa.array(whole, type=pa.large_string()),
                whole_bits=self._rows([self._whole[word] for word in whole] + [0]),
                prefixes=prefixes,
                starters=pa.array(sorted(self._starters), type=pa.large_string()),
                corrected_bits=self._rows([self._bits(word) for word in _FUZZY_VOCABULARY]),
            )
        return self._tables

    def tokens_bits(self, tokens: pa.Array) -> npt.NDArray[np.uint64]:
        """`token_bits` of each of many tokens (lower-case ASCII letters and digits), column-wise.

        A token gets the bits of its own spelling, looked up column-wise, or, where `_correct` turns it into
        a lexicon word (:func:`careleads.text._triage_batch.corrections`, column-wise too), that word's.
        Tokens that start a contraction take `token_bits` itself.

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
            out[at] = self._rows([self.token_bits(str(t)) for t in tokens.take(pa.array(at)).to_pylist()])
        return out

    def pieces_bits(self, pieces: pa.Array) -> npt.NDArray[np.uint64]:
        """`piece_bits` of each of many whitespace-free pieces of text, column-wise.

        An ASCII piece is folded as `piece_bits` folds it (lower case, apostrophes dropped; the accent fold
        changes nothing) and split at every character that is no letter or digit, as `_WORD` finds its
        tokens; its bits are those of its tokens (`tokens_bits`) together. A piece that is not ASCII, or
        holds a run of three equal letters (which `_REPEATS` would collapse), takes `piece_bits` itself.

        Returns
        -------
        ndarray of uint64, shape (len(pieces), words)
        """
        pieces = pieces.cast(pa.large_string())
        out = np.zeros((len(pieces), self._words), dtype=np.uint64)
        if not len(pieces):
            return out
        folded = pc.replace_substring(pc.ascii_lower(pieces), "'", "")
        python = ~np.asarray(pc.string_is_ascii(pieces), dtype=bool) | np.asarray(
            pc.match_substring_regex(folded, _TRIPLES), dtype=bool
        )
        tokens = pc.split_pattern_regex(folded, _NO_WORD_CHARACTERS)
        owners = np.asarray(pc.list_parent_indices(tokens), dtype=np.int64)
        encoded = pc.list_flatten(tokens).dictionary_encode()
        found = self.tokens_bits(encoded.dictionary)[np.asarray(encoded.indices, dtype=np.intp)]
        if len(owners):  # tokens of one piece are together and in order: OR each run
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            out[owners[starts]] = np.bitwise_or.reduceat(found, starts, axis=0)
        if python.any():
            at = np.flatnonzero(python)
            out[at] = self._rows([self.piece_bits(str(p)) for p in pieces.take(pa.array(at)).to_pylist()])
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
            combinations, which = _distinct_rows(per_text)
            held[owners[starts[self._satisfied(combinations)[which]]]] = True
        return np.asarray(may & held, dtype=bool)


def _distinct_rows(rows: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
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
