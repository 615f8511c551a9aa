"""Synthetic free-text messages for leads: web form questions and chat / SMS messages.

Each text is labelled with an intent (what the writer wants) and an urgency (how soon). A few urgent
texts describe urgent clinical symptoms (the clinical-triage override must catch them) and a few routine
ones mention a symptom only to deny it ("no chest pain, just a checkup"), so that a negation-aware
detector can be tested against realistic traps.

Texts carry no identifiers: no names, phone numbers, e-mail addresses, dates of birth or record numbers.

The templates are data (``data/texts.yaml``, shipped with the package). Speed: they are read and rendered
into pools once per process (deterministically, from a fixed internal seed); each call only draws indices
with the caller's generator and joins a few strings per text, so a million texts take a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from careleads.errors import ConfigError, InputError

__all__ = [
    "INTENTS",
    "KINDS",
    "URGENCIES",
    "generate_texts",
    "generate_labelled",
    "make_labelled_texts",
]

INTENTS: tuple[str, ...] = (
    "scheduling",
    "insurance_pricing",
    "pre_visit_question",
    "billing_existing",
    "referral_request",
    "other",
    "spam",
)
URGENCIES: tuple[str, ...] = ("routine", "soon", "urgent")
KINDS: tuple[str, ...] = ("question", "chat")

# Probabilities per text (tuned so that the labelled set stays learnable but noisy).
_P_SPANISH = 0.06
_P_TYPO = 0.10
_P_LOWER = 0.10
_P_UPPER = 0.015
_P_SYMPTOM_IF_URGENT = 0.05
_P_NEGATED_IF_NOT_URGENT = 0.03
_P_URGENCY_CUE = {"routine": 0.45, "soon": 0.8, "urgent": 0.85}
_POOL_SEED = 20_250_301
_FILLS_PER_TEMPLATE = 40

_TEMPLATES = "data/texts.yaml"
_LANGUAGES = ("english", "spanish")


@dataclass(frozen=True)
class _Templates:
    """The template data of ``data/texts.yaml`` (see the comments there), as read once."""

    fills: dict[str, list[str]]
    fills_by_urgency: dict[str, dict[str, list[str]]]
    bodies: dict[str, dict[str, list[str]]]  # question / chat / spanish -> intent -> templates
    urgency_cues: dict[str, dict[str, list[str]]]  # question / chat / spanish -> urgency -> cues
    greetings: dict[str, dict[str, list[str]]]  # kind -> language -> options
    closings: dict[str, dict[str, list[str]]]
    symptoms: dict[str, list[str]]  # kind -> clauses
    negated_symptoms: dict[str, list[str]]
    keyboard_neighbours: dict[str, str]


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{_TEMPLATES}: {where} must be a list of strings")
    return value


def _table(value: object, keys: Sequence[str], where: str) -> dict[str, list[str]]:
    if not isinstance(value, dict) or set(value) != set(keys):
        raise ConfigError(f"{_TEMPLATES}: {where} must have exactly the keys {', '.join(keys)}")
    return {key: _strings(value[key], f"{where}.{key}") for key in value}


@lru_cache(maxsize=1)
def _templates() -> _Templates:
    """The shipped templates, read once per process."""
    text = resources.files("careleads.synth").joinpath(_TEMPLATES).read_text(encoding="utf-8")
    return _read_templates(text)


def _read_templates(text: str) -> _Templates:
    """Parse and check the template file's text: every section with every intent, urgency, kind, language."""
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(raw, dict):
        raise ConfigError(f"{_TEMPLATES}: expected a mapping of template sections")
    sections: dict[str, dict[str, Any]] = {}
    for name in _Templates.__dataclass_fields__:
        section = raw.get(name)
        if not isinstance(section, dict):
            raise ConfigError(f"{_TEMPLATES}: no section {name} (a mapping)")
        sections[name] = section
    neighbours = sections["keyboard_neighbours"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in neighbours.items()):
        raise ConfigError(f"{_TEMPLATES}: keyboard_neighbours must map letters to letters")
    groups = (*KINDS, "spanish")
    return _Templates(
        fills={name: _strings(values, f"fills.{name}") for name, values in sections["fills"].items()},
        fills_by_urgency={
            name: _table(values, URGENCIES, f"fills_by_urgency.{name}")
            for name, values in sections["fills_by_urgency"].items()
        },
        bodies={g: _table(sections["bodies"].get(g), INTENTS, f"bodies.{g}") for g in groups},
        urgency_cues={
            g: _table(sections["urgency_cues"].get(g), URGENCIES, f"urgency_cues.{g}") for g in groups
        },
        greetings={k: _table(sections["greetings"].get(k), _LANGUAGES, f"greetings.{k}") for k in KINDS},
        closings={k: _table(sections["closings"].get(k), _LANGUAGES, f"closings.{k}") for k in KINDS},
        symptoms=_table(sections["symptoms"], KINDS, "symptoms"),
        negated_symptoms=_table(sections["negated_symptoms"], KINDS, "negated_symptoms"),
        keyboard_neighbours=dict(neighbours),
    )


class _Pool:
    """A flat array of rendered strings with per-group offsets and sizes."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        flat: list[str] = []
        offsets: list[int] = []
        sizes: list[int] = []
        for group in groups:
            offsets.append(len(flat))
            sizes.append(len(group))
            flat.extend(group)
        self.items: npt.NDArray[np.object_] = np.array(flat, dtype=object)
        self.offsets = np.array(offsets, dtype=np.int64)
        self.sizes = np.array(sizes, dtype=np.int64)

    def draw(self, group: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.object_]:
        """One item per row, uniformly within the row's group."""
        within = (rng.random(group.shape[0]) * self.sizes[group]).astype(np.int64)
        drawn: npt.NDArray[np.object_] = self.items[self.offsets[group] + within]
        return drawn


def _render(templates: Sequence[str], rng: np.random.Generator, fill: dict[str, list[str]]) -> list[str]:
    """Fill each template's slots a number of times; duplicates are removed, order kept."""
    seen: dict[str, None] = {}
    for template in templates:
        slots = [name for name in fill if "{" + name + "}" in template]
        n_fills = 1 if not slots else _FILLS_PER_TEMPLATE
        for _ in range(n_fills):
            values = {name: fill[name][int(rng.integers(len(fill[name])))] for name in slots}
            text = template.format(**values)
            seen[text[0].upper() + text[1:] if template[0] == "{" else text] = None
    return list(seen)


class _Pools:
    """All rendered pools.

    Body group index = (language * n_intents + intent) * n_urgencies + urgency; urgency-cue group index =
    language * n_urgencies + urgency; greetings and closings by language.
    """

    def __init__(self, templates: _Templates) -> None:
        rng = np.random.default_rng(_POOL_SEED)
        # the slot values of each urgency, in the file's order (the order of the draws depends on it)
        fill = {
            u: {**templates.fills, **{name: days[u] for name, days in templates.fills_by_urgency.items()}}
            for u in URGENCIES
        }
        spanish = templates.bodies["spanish"]
        self.body: dict[str, _Pool] = {}
        self.urgency: dict[str, _Pool] = {}
        self.greeting: dict[str, _Pool] = {}
        self.closing: dict[str, _Pool] = {}
        self.symptom: dict[str, _Pool] = {}
        self.negated: dict[str, _Pool] = {}
        for kind in KINDS:
            english = templates.bodies[kind]
            body_groups = [_render(english[i], rng, fill[u]) for i in INTENTS for u in URGENCIES]
            body_groups += [_render(spanish[i], rng, fill[u]) for i in INTENTS for u in URGENCIES]
            self.body[kind] = _Pool(body_groups)
            cues = templates.urgency_cues
            self.urgency[kind] = _Pool(
                [cues[kind][u] for u in URGENCIES] + [cues["spanish"][u] for u in URGENCIES]
            )
            self.greeting[kind] = _Pool([templates.greetings[kind][language] for language in _LANGUAGES])
            self.closing[kind] = _Pool([templates.closings[kind][language] for language in _LANGUAGES])
            self.symptom[kind] = _Pool([_render(templates.symptoms[kind], rng, fill["routine"])])
            self.negated[kind] = _Pool([_render(templates.negated_symptoms[kind], rng, fill["routine"])])
        self.neighbours = templates.keyboard_neighbours


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    return _Pools(_templates())


def _codes(values: Sequence[str], allowed: tuple[str, ...], field: str) -> npt.NDArray[np.int64]:
    lookup = {name: code for code, name in enumerate(allowed)}
    try:
        return np.fromiter((lookup[v] for v in values), dtype=np.int64, count=len(values))
    except KeyError as exc:
        raise InputError(
            f"generate_texts: unknown {field} {exc.args[0]!r}; use one of {', '.join(allowed)}."
        ) from None


def _typo(text: str, position: float, operation: int, letter: float, keyboard: dict[str, str]) -> str:
    """One keyboard-style typo: swap, drop, double or replace a letter (never the first one)."""
    if len(text) < 4:
        return text
    i = 1 + int(position * (len(text) - 2))
    char = text[i]
    if operation == 0:
        return text[:i] + text[i + 1] + char + text[i + 2 :]
    if operation == 1:
        return text[:i] + text[i + 1 :]
    if operation == 2:
        return text[:i] + char + text[i:]
    neighbours = keyboard.get(char.lower())
    if not neighbours:
        return text
    return text[:i] + neighbours[int(letter * len(neighbours))] + text[i + 1 :]


def generate_labelled(
    intents: Sequence[str],
    urgencies: Sequence[str],
    rng: np.random.Generator,
    *,
    kind: str = "question",
) -> tuple[list[str], npt.NDArray[np.bool_]]:
    """Generate texts and say which ones describe urgent clinical symptoms.

    Parameters
    ----------
    intents, urgencies
        One intent (from ``INTENTS``) and one urgency (from ``URGENCIES``) per text, same length.
    rng
        The random generator; the same generator state gives the same texts.
    kind
        ``"question"`` (web form question, 1-3 sentences) or ``"chat"`` (short chat / SMS message).

    Returns
    -------
    texts, clinical_urgent
        The texts, and a boolean array that is true where an urgent clinical symptom was written in
        (only ever for urgent texts; negated or past symptoms do not count).
    """
    if kind not in KINDS:
        raise InputError(f"generate_texts: kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    if len(intents) != len(urgencies):
        raise InputError(
            f"generate_texts: intents ({len(intents)}) and urgencies ({len(urgencies)}) differ in length."
        )
    n = len(intents)
    intent = _codes(intents, INTENTS, "intent")
    urgency = _codes(urgencies, URGENCIES, "urgency")
    pools = _pools()

    spanish = (rng.random(n) < _P_SPANISH).astype(np.int64)
    body = pools.body[kind].draw((spanish * len(INTENTS) + intent) * len(URGENCIES) + urgency, rng)
    cue_p = np.array([_P_URGENCY_CUE[u] for u in URGENCIES])[urgency]
    with_cue = rng.random(n) < cue_p
    cue = pools.urgency[kind].draw(spanish * len(URGENCIES) + urgency, rng)
    greeting = pools.greeting[kind].draw(spanish, rng)
    closing = pools.closing[kind].draw(spanish, rng)
    cue_first = rng.random(n) < 0.3

    is_urgent = urgency == URGENCIES.index("urgent")
    not_spam = intent != INTENTS.index("spam")
    english = spanish == 0
    u = rng.random(n)
    clinical = is_urgent & not_spam & english & (u < _P_SYMPTOM_IF_URGENT)
    negated = ~is_urgent & not_spam & english & (u < _P_NEGATED_IF_NOT_URGENT)
    zero = np.zeros(n, dtype=np.int64)
    symptom = pools.symptom[kind].draw(zero, rng)
    denial = pools.negated[kind].draw(zero, rng)

    texts: list[str] = []
    for g, b, c, cl, wc, cf, sy, de, cli, neg in zip(
        greeting, body, cue, closing, with_cue, cue_first, symptom, denial, clinical, negated, strict=True
    ):
        extra = sy if cli else (de if neg else "")
        cue_text = c if wc else ""
        parts = (g, extra, cue_text, b, cl) if cf else (g, b, extra, cue_text, cl)
        texts.append(" ".join(p for p in parts if p))

    noisy = np.flatnonzero(rng.random(n) < _P_TYPO)
    params = rng.random((noisy.shape[0], 3))
    operations = rng.integers(0, 4, noisy.shape[0])
    for row, (position, letter, second), operation in zip(noisy, params, operations, strict=True):
        text = _typo(texts[row], position, int(operation), letter, pools.neighbours)
        texts[row] = (
            _typo(text, second, int(operation + 1) % 4, letter, pools.neighbours) if second < 0.3 else text
        )

    casing = rng.random(n)
    for row in np.flatnonzero(casing < _P_LOWER + _P_UPPER):
        texts[row] = texts[row].upper() if casing[row] < _P_UPPER else texts[row].lower()
    return texts, clinical


def generate_texts(
    intents: Sequence[str],
    urgencies: Sequence[str],
    rng: np.random.Generator,
    *,
    kind: str = "question",
) -> list[str]:
    """Generate one free-text message per (intent, urgency) pair.

    Parameters
    ----------
    intents
        One of ``INTENTS`` per text.
    urgencies
        One of ``URGENCIES`` per text (same length as ``intents``).
    rng
        The random generator; the same generator state gives the same texts.
    kind
        ``"question"`` for a web form question (1-3 sentences) or ``"chat"`` for a short chat / SMS message.

    Returns
    -------
    list of str
        The texts, without identifiers. About 10% carry typos, some are all lower or upper case, about 6%
        are in Spanish, a few urgent ones describe urgent clinical symptoms and a few non-urgent ones
        mention a symptom only to deny it.

    Examples
    --------
    >>> import numpy as np
    >>> texts = generate_texts(["scheduling", "spam"], ["urgent", "routine"], np.random.default_rng(0))
    >>> len(texts)
    2
    """
    texts, _ = generate_labelled(intents, urgencies, rng, kind=kind)
    return texts


# Urgency mix per intent: (routine, soon, urgent).
_URGENCY_MIX: dict[str, tuple[float, float, float]] = {
    "scheduling": (0.45, 0.35, 0.20),
    "insurance_pricing": (0.6, 0.3, 0.1),
    "pre_visit_question": (0.5, 0.35, 0.15),
    "billing_existing": (0.5, 0.3, 0.2),
    "referral_request": (0.45, 0.35, 0.2),
    "other": (0.7, 0.2, 0.1),
    "spam": (0.7, 0.1, 0.2),
}


def make_labelled_texts(n: int, seed: int, *, chat_share: float = 0.4) -> pd.DataFrame:
    """A labelled training set of simulator texts.

    Parameters
    ----------
    n
        Number of texts.
    seed
        Seed of the random generator; the same seed gives the same frame.
    chat_share
        Share of chat / SMS messages (the rest are web form questions).

    Returns
    -------
    pandas.DataFrame
        Columns ``text``, ``intent``, ``urgency`` (strings) and ``clinical_urgent`` (bool: the text
        describes urgent clinical symptoms).

    Examples
    --------
    >>> frame = make_labelled_texts(50, seed=1)
    >>> list(frame.columns)
    ['text', 'intent', 'urgency', 'clinical_urgent']
    """
    if n < 0:
        raise InputError(f"make_labelled_texts: n must be >= 0, got {n}.")
    rng = np.random.default_rng(seed)
    intent = rng.integers(0, len(INTENTS), n)
    mix = np.array([_URGENCY_MIX[i] for i in INTENTS])
    cumulative = mix.cumsum(axis=1)[intent]
    urgency = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, len(URGENCIES) - 1)
    chat = rng.random(n) < chat_share
    intents = np.array(INTENTS, dtype=object)[intent]
    urgencies = np.array(URGENCIES, dtype=object)[urgency]
    texts = np.empty(n, dtype=object)
    clinical = np.zeros(n, dtype=bool)
    for kind, mask in (("question", ~chat), ("chat", chat)):
        rows = np.flatnonzero(mask)
        part, flags = generate_labelled(list(intents[rows]), list(urgencies[rows]), rng, kind=kind)
        texts[rows] = part
        clinical[rows] = flags
    return pd.DataFrame(
        {
            "text": texts.tolist(),
            "intent": intents,
            "urgency": urgencies,
            "clinical_urgent": clinical,
        }
    )
