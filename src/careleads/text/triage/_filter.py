"""The clinical-triage batch pre-filter: a sound superset of the texts above ``none``, column-wise.

Why it is sound. A text is above ``none`` only when a rule matches (every term of the rule has a
mention) or the classifier is asked, which needs a mention of a class that is no cue (see
:mod:`._detector`). So each text above ``none`` holds a mention of some class in :data:`KEY_CLASSES`: for
each rule one of its terms (one with no cue class when there is one), and every class that is no cue. A
mention is an entry of its class found in the normalised words, so the text's normalised words hold the
entry's :func:`key word <key_word>`. A normalised word comes from one raw token: the token folded, its typo
correction, one half of its split, or (for a contraction) the fold of several tokens, among them the
contraction's :data:`trigger <_TRIGGERS>`. A text none of whose raw tokens can give a key word is
``none``; the others are checked by the detector itself.

Column-wise: an ASCII text's raw tokens are its lower-cased runs of letters and digits once straight
apostrophes and backticks are dropped (what :func:`._normalise.tokenise` reads there), found by Arrow's
kernels; each distinct token is judged once. The texts one of whose tokens may become a key word are then
checked in Python for a whole entry: every word of some entry of a key class among the words their tokens
may become (:func:`_forms`). A text that is not ASCII or holds a run of three equal letters (folded
differently) is always a candidate.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from careleads.text.triage._concepts import RULES
from careleads.text.triage._lexicon import COMMON_WORDS, CONTRACTION_PHRASES, CUE_CLASSES, WORD_CLASSES
from careleads.text.triage._normalise import CONTRACTIONS, correct, fold_word, glued_halves

__all__ = ["KEY_CLASSES", "KEY_WORDS", "candidates", "key_word"]

_CONTRACTED = frozenset(out for _, out in CONTRACTION_PHRASES)


# Cue classes by how rarely their words appear in ordinary messages, rarest first: a rule made of cues
# only is looked for by its rarest term.
_CUE_RARITY = (
    "BLUE", "ONE_SIDE", "QUANTITY", "QUANTITY_MILD", "SELF", "KILL", "ONSET", "WORST", "EXTREME",
    "DROWSY", "BREATH_FAST", "GUSH", "BLEED_HEAVY", "SEVERITY", "SPEECH", "MEDS", "LIPS", "FACE", "EYE",
    "HEAD", "RADIATE", "ARM_JAW", "RADIATE_TO", "LIMB", "WEIRD", "WORSE", "DISTRESS", "MANNER", "HIGH_TEMP",
    "INFANT", "CHILD", "HARM_VERB", "INGEST", "INABILITY", "STROKE_NOW",
    "IMMUNO", "POSTPARTUM", "ON_PURPOSE", "BURN_RED", "MEANS", "SEIZURE_SOFT", "FALLDOWN", "LIMB_ANY",
    "FINALITY", "INTENT", "HOURS",
)  # fmt: skip


def key_word(entry: str) -> str:
    """The word of an entry the filter looks for: its longest word that is neither common nor made by a
    contraction, else its longest word that no contraction makes (a stem keeps its ``*``)."""
    words = entry.split()
    plain = [w for w in words if w not in _CONTRACTED]
    rare = [w for w in plain if w not in COMMON_WORDS]
    return max(rare or plain or words, key=lambda w: len(w.rstrip("*")))


def _rarity(term: AbstractSet[str]) -> int:
    return max(_CUE_RARITY.index(c) if c in _CUE_RARITY else len(_CUE_RARITY) for c in term)


def _key_classes() -> frozenset[str]:
    keys = {name for name in WORD_CLASSES if name not in CUE_CLASSES}
    for rule in RULES:
        terms = [frozenset(term.split("|")) for term in rule.terms]
        if not any(term <= keys for term in terms):
            keys |= min(terms, key=_rarity)
    return frozenset(keys)


KEY_CLASSES = _key_classes()
"""Classes of which every text above ``none`` mentions one."""
KEY_WORDS = frozenset(key_word(entry) for name in KEY_CLASSES for entry in WORD_CLASSES[name])
"""The key word of every entry of the key classes (``*``: a prefix)."""
_STEMS = tuple(sorted(w[:-1] for w in KEY_WORDS if w.endswith("*")))
_EXACT = frozenset(w for w in KEY_WORDS if not w.endswith("*"))
# raw tokens that a contraction giving a key word may come from (one word of each of its phrases)
_TRIGGERS = frozenset(
    max(phrase.split(), key=len)
    for phrases, out in CONTRACTION_PHRASES
    if out in _EXACT
    for phrase in phrases
)


def _is_key(word: str) -> bool:
    return word in _EXACT or word.startswith(_STEMS)


# the entries of the key classes, as word tuples, by their key word (exact) or key stem
_ENTRIES: dict[str, list[tuple[str, ...]]] = {}
for _name in sorted(KEY_CLASSES):
    for _entry in WORD_CLASSES[_name]:
        _ENTRIES.setdefault(key_word(_entry), []).append(tuple(_entry.split()))


@lru_cache(maxsize=65_536)
def _forms(token: str) -> frozenset[str]:
    """Every normalised word a raw (folded) token may become alone: itself, its correction, the halves of
    its split."""
    fixed = correct(token)
    halves = glued_halves(token) if fixed == token else None
    return frozenset({token, fixed, *(halves or ())})


def _has(words: frozenset[str], word: str) -> bool:
    return any(w.startswith(word[:-1]) for w in words) if word.endswith("*") else word in words


def _may_mention(tokens: list[str]) -> bool:
    """Whether raw tokens may give every word of some entry of a key class (a contraction's result when
    every word of its phrase is there)."""
    raw = frozenset(fold_word(t) for t in tokens if t)
    words = frozenset().union(*(_forms(t) for t in raw))
    words |= {
        out
        for first in raw
        for phrase, out in CONTRACTIONS.get(first, ())  # a phrase is held only where its first word is
        if all(w in raw for w in phrase)
    }
    for word in words:
        keys = [word] if word in _ENTRIES else []
        if word.startswith(_STEMS):
            keys += [stem + "*" for stem in _STEMS if word.startswith(stem)]
        for key in keys:
            if any(all(_has(words, w) for w in entry) for entry in _ENTRIES[key]):
                return True
    return False


def _may_give_key(token: str) -> bool:
    """Whether a raw (folded) token may become a key word: as it is, corrected, split, or contracted."""
    return token in _TRIGGERS or any(_is_key(word) for word in _forms(token))


def candidates(texts: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """For each text, False when it is surely ``none`` (see the module); None and blank texts are False.

    Two steps: column-wise, the texts one of whose raw tokens may become a key word; then, for those, in
    Python, the texts whose raw tokens may give every word of an entry of a key class.
    """
    array = texts.cast(pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    valid = np.asarray(array.is_valid(), dtype=bool)
    lowered = pc.ascii_lower(pc.fill_null(array, ""))
    other = ~np.asarray(pc.string_is_ascii(lowered), dtype=bool) | np.asarray(
        pc.match_substring_regex(lowered, "|".join(c * 3 for c in "abcdefghijklmnopqrstuvwxyz")), dtype=bool
    )
    stripped = pc.replace_substring_regex(lowered, "['`]", "")
    spaced = pc.utf8_trim(pc.replace_substring_regex(stripped, "[^a-z0-9]+", " "), " ")
    tokens = pc.split_pattern(spaced, " ")
    flat = pc.list_flatten(tokens).dictionary_encode()
    distinct = flat.dictionary.to_pylist()
    give = np.array([bool(t) and _may_give_key(fold_word(t)) for t in distinct] + [False], dtype=bool)
    hits = give[np.asarray(flat.indices, dtype=np.intp)] if len(flat) else np.zeros(0, dtype=bool)
    offsets = np.asarray(tokens.offsets, dtype=np.int64)
    counts = np.cumsum(np.concatenate([[0], hits.astype(np.int64)]))
    found = valid & (counts[offsets[1:]] > counts[offsets[:-1]]) & ~other
    rows = np.flatnonzero(found)
    if len(rows):
        lists = tokens.take(pa.array(rows)).to_pylist()
        found[rows] = [_may_mention(t) for t in lists]
    return np.asarray(found | (valid & other), dtype=np.bool_)
