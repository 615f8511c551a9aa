"""The intent of a lead's message as the decisions read it: a label with its probability, or none.

One rule for one lead and for a table (:func:`read_intents`, on the distinct texts of either): the free
text of the routing file's ``intent_field`` (the form's question by default) is redacted, as every text is
before a classifier reads it, and classified by the intent classifier; the most probable label is the
lead's intent and its class probability the intent's probability. A lead without text (missing or blank)
has no intent: label and probability are missing, never a guess ("no message" in plain words).

The texts are classified by :func:`careleads.features.class_probabilities`, the code the text features
use: inside :func:`careleads.text.reading_once` (a batch chunk, an API request) a message the lead's
scoring already read is looked up, not redacted and classified again. The answers of the last few texts met
are also kept across requests by a digest of the text (never the text), so a lead decided again on each
new event is not classified again.

The intent joins the lead's fields as :data:`INTENT` and :data:`INTENT_PROBABILITY`, like the scoring
output, so routing rules (``intent``, ``intent_min_probability``) and hard rules (``{field: intent, ...}``)
read it like any other field; hard rules, clinical triage first, still decide before any routing rule.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.decisions._fields import Codes, is_missing_value
from careleads.decisions._overrides import Condition, HardRules
from careleads.decisions._routing import Routing, matches_any
from careleads.errors import ConfigError
from careleads.features import class_probabilities
from careleads.privacy import redact_texts
from careleads.text import default_classifiers

#: the decision inputs the intent adds to a lead's fields (they take precedence over lead fields so named)
INTENT = "intent"
INTENT_PROBABILITY = "intent_probability"
INTENT_KEYS: tuple[str, ...] = (INTENT, INTENT_PROBABILITY)
#: what a lead without a message is said to have, in plain words
NO_MESSAGE = "no message"


class IntentModel(Protocol):
    """A fitted intent classifier: its labels and their probabilities for texts."""

    @property
    def classes_(self) -> Any: ...

    def predict_proba(self, texts: Any) -> Any: ...


def default_intent_model() -> IntentModel:
    """The intent classifier of :func:`careleads.text.default_classifiers`."""
    model: IntentModel = default_classifiers()[0]
    return model


def intent_model_for(scorer: object) -> IntentModel:
    """The intent classifier that decides with `scorer`: the one its text features come from when it has
    them (``scorer.spec.text_classifiers``, stored in its artifact), else the default
    (:func:`default_intent_model`), so a lead's decision and its model read its message alike."""
    classifiers = getattr(getattr(scorer, "spec", None), "text_classifiers", None)
    if classifiers:
        own: IntentModel = classifiers[0]
        return own
    return default_intent_model()


def read_intents(
    texts: Sequence[str | None], model: IntentModel
) -> tuple[list[str | None], npt.NDArray[np.float64]]:
    """Each text's intent and its probability; None and NaN for a missing or blank text.

    Parameters
    ----------
    texts : sequence of str or None
        Free texts (as written: they are redacted here before the classifier reads them).
    model : IntentModel
        A fitted intent classifier.

    Returns
    -------
    (labels, probabilities)
        The most probable label of each text and its probability.
    """
    labels: list[str | None] = [None] * len(texts)
    probability = np.full(len(texts), np.nan, dtype=np.float64)
    present = [i for i, text in enumerate(texts) if not is_missing_value(text)]
    if not present:
        return labels, probability
    given = [str(texts[i]) for i in present]
    known = _known(model) if len(given) <= _FEW_TEXTS else None
    keys = [_digest(text) for text in given] if known is not None else []
    new = [k for k in range(len(given)) if known is None or keys[k] not in known]
    found: dict[int, tuple[str, float]] = {}
    if new:
        redacted = [text or "" for text in redact_texts([given[k] for k in new])]
        proba = np.asarray(class_probabilities([model], redacted)[0], dtype=np.float64)  # type: ignore[list-item]
        best = proba.argmax(axis=1)
        classes = [str(c) for c in model.classes_]
        for row, k in enumerate(new):
            found[k] = (classes[int(best[row])], float(proba[row, best[row]]))
            if known is not None:
                known[keys[k]] = found[k]
                while len(known) > _KNOWN_SIZE:
                    known.popitem(last=False)
    for k, i in enumerate(present):
        labels[i], probability[i] = found[k] if k in found else known[keys[k]]  # type: ignore[index]
    return labels, probability


#: up to this many texts (a request's), answers are kept across requests by digest
_FEW_TEXTS = 16
_KNOWN_SIZE = 20_000
#: per classifier (kept alive with its answers, so its id stays its own): digest of a text -> its intent
_KNOWN: OrderedDict[int, tuple[IntentModel, OrderedDict[bytes, tuple[str, float]]]] = OrderedDict()


def _known(model: IntentModel) -> OrderedDict[bytes, tuple[str, float]]:
    """The answers kept for `model` (the last few classifiers met keep theirs)."""
    entry = _KNOWN.get(id(model))
    if entry is None or entry[0] is not model:
        entry = _KNOWN[id(model)] = (model, OrderedDict())
        while len(_KNOWN) > 4:
            _KNOWN.popitem(last=False)
    return entry[1]


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def record_with_intent(record: Mapping[str, Any], model: IntentModel, field: str | None) -> dict[str, Any]:
    """One lead's fields with its intent added (none when `field` is None: intent is switched off)."""
    out = dict(record)
    labels, probability = read_intents([_text(record.get(field)) if field else None], model)
    out[INTENT] = labels[0]
    out[INTENT_PROBABILITY] = None if np.isnan(probability[0]) else float(probability[0])
    return out


def frame_with_intent(frame: pd.DataFrame, model: IntentModel, field: str | None) -> pd.DataFrame:
    """The leads of a table with their intents added (as a categorical and a float column); each distinct
    text is classified once. `frame` is changed in place and returned."""
    n = len(frame)
    if field is None or field not in frame.columns or n == 0:
        codes: Codes = np.full(n, -1, dtype=np.intp)
        distinct: list[str] = []
        probability = np.full(n, np.nan, dtype=np.float64)
    else:
        text_codes, uniques = pd.factorize(frame[field], use_na_sentinel=True)
        labels, chances = read_intents([_text(v) for v in uniques.tolist()], model)
        distinct = sorted({label for label in labels if label is not None})
        position = {label: k for k, label in enumerate(distinct)}
        label_code = np.array([-1 if v is None else position[v] for v in [*labels, None]], dtype=np.intp)
        codes = label_code[text_codes]  # code -1 (a missing text) picks the last, None
        probability = np.append(chances, np.nan)[text_codes]
    frame[INTENT] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(distinct))
    frame[INTENT_PROBABILITY] = probability
    return frame


def _text(value: Any) -> str | None:
    return None if is_missing_value(value) else str(value)


def intent_names(routing: Routing, hard_rules: HardRules) -> list[tuple[str, str]]:
    """(where, label pattern) of every intent the routing rules and hard rules name."""
    out = [
        (f"{routing.source}: rules[{rule.index}].intent", pattern)
        for rule in routing.rules
        for pattern in rule.patterns.get(INTENT, ())
    ]

    def walk(condition: Condition, where: str) -> None:
        if condition.field == INTENT and condition.op in ("equals", "in"):
            values = condition.value if condition.op == "in" else (condition.value,)
            out.extend((where, str(v)) for v in values)
        for child in condition.children:
            walk(child, where)

    for rule in hard_rules.rules:
        walk(rule.condition, f"{hard_rules.source}: rule {rule.name!r}")
    return out


_CHECKED: dict[tuple[int, int, int], tuple[Routing, HardRules, IntentModel]] = {}


def checked_intent_model(model: IntentModel | None, routing: Routing, hard_rules: HardRules) -> IntentModel:
    """`model` (default :func:`default_intent_model`), refused when the rules name an intent it never gives
    (a typo would never match).

    Raises
    ------
    ConfigError
        Naming the file, the rule and the unknown intent, with the classifier's labels.
    """
    model = model if model is not None else default_intent_model()
    key = (id(routing), id(hard_rules), id(model))
    known = _CHECKED.get(key)
    if known is not None and known[0] is routing and known[1] is hard_rules and known[2] is model:
        return model
    classes = [str(c) for c in model.classes_]
    problems = [
        f"{where}: {pattern!r} is not an intent the classifier gives; known: {classes}"
        for where, pattern in intent_names(routing, hard_rules)
        if not any(matches_any(label, (pattern,)) for label in classes)
    ]
    if problems:
        raise ConfigError("\n".join(problems))
    if len(_CHECKED) > 16:
        _CHECKED.clear()
    _CHECKED[key] = (routing, hard_rules, model)
    return model
