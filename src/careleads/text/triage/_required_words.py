"""The words a clinical-triage lexicon pattern needs at token starts, read from its regex source.

The batch pre-filter (:class:`._filter.TriageFilter`) keeps a text only when it holds the words some way of
matching a lexicon pattern needs. This module reads those words from the pattern itself:

1. Every alternative of a pattern is read (:func:`required_atoms`) for the words a match must contain at a
   token start: a literal word at the start of the alternative or after a required space, or a group there
   whose every branch starts with a literal word. Such a word is either the whole token (when a required
   space follows it in the pattern) or a prefix of it. Optional parts, classes and escapes are skipped,
   which only asks for fewer words. A pattern the reader does not follow (a look-around, a quantifier with
   nothing before it) raises :class:`UnsupportedPattern`.
2. Each alternative is also read as its variants (:func:`variants`: each group replaced by one of its
   branches, each ``?`` part left out or kept), whose matches together are the alternative's: a variant
   needs the words it holds itself as well as the alternative's, so ``cant (?:breathe|get (?:enough )?air)``
   asks for ``cant`` with ``breathe``, or ``cant`` with ``get`` and ``air``, not ``cant`` with any of them
   (:func:`alternatives`).
3. Of each variant's words, the ones no other implies are what it tells (:func:`unimplied`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from careleads.text.triage._normalise import WORD_CHARACTERS

__all__ = [
    "Atom",
    "UnsupportedPattern",
    "alternatives",
    "branches",
    "required_atoms",
    "unimplied",
    "variants",
]

Atom = frozenset[tuple[str, bool]]  # (word, whole token?) options; one must hold at one token
_WORD_CHARACTERS = frozenset(WORD_CHARACTERS)
_MAX_VARIANTS = 512  # per branch of a lexicon pattern (see `variants`)


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


def branches(source: str) -> list[str]:
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


def variants(branch: str) -> list[str] | None:
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
            for inner in branches(element.text):
                inner_variants = variants(inner)
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


def alternatives(pattern: str) -> list[list[Atom]]:
    """The words at token starts that each way of matching `pattern` needs (see `required_atoms`).

    One list per variant (`variants`) of each top-level branch: the words the variant needs together with
    the words its branch needs, which every match of the variant needs as well.
    """
    out: list[list[Atom]] = []
    for branch in branches(pattern):
        needed = required_atoms(branch)[0]
        forms = variants(branch)
        for variant in forms if forms is not None else [branch]:
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
    for branch in branches(element.text):
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
        and elements[end].text in _WORD_CHARACTERS
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
    for branch in branches(pattern):
        elements = _elements(branch)
        atoms: list[Atom] = []
        at_token_start = True  # the detector's patterns follow a word boundary
        i = 0
        while i < len(elements):
            element = elements[i]
            if at_token_start and not element.quantified:
                if element.kind == "char" and element.text in _WORD_CHARACTERS:
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


def unimplied(alternative: Sequence[Atom]) -> list[Atom]:
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
    for branch in branches(group):
        elements = _elements(branch)
        word, end = _word_at(elements, 0)
        if not word:
            return None
        whole = whole_if_last if end == len(elements) else _is_space(elements[end])
        options.add((word, whole))
    return options
