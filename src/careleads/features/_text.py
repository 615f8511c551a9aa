"""Text and conversational features: what a lead wrote and how the conversation went,.

From the form's free-text question (known at creation) come intent and urgency probabilities; from chat
and SMS messages and guided-intake events up to ``as_of`` come conversational signals: how many messages,
the intent of the latest one, the urgency stated, whether a service preference was captured, the intake
step reached and the typical time between messages.

Privacy: every text is redacted (:func:`careleads.privacy.redact_texts`) before it is classified, so
names, contact details and record numbers never reach a classifier or a feature table; only class
probabilities and counts leave this module.

No leakage: the classifiers are trained on labelled texts the simulator generates (when a model with text
features is built, :func:`careleads.features.build_dataset`; the shipped defaults,
:func:`careleads.text.default_classifiers`, likewise), never on the leads being scored or their outcomes,
and a message counts only when it was written at or before the scoring moment. Nothing is fitted here:
a model's features come from the classifiers its artifact carries (``FeatureSpec.text_classifiers``).

The classifiers sort messages for scoring; they never make a clinical decision. Urgent clinical symptoms
are the business of the clinical-triage override (:mod:`careleads.decisions`), which reads the question
itself and always wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from careleads.errors import InputError

if TYPE_CHECKING:
    from careleads.text import IntentClassifier, UrgencyClassifier

__all__ = ["MESSAGE_EVENT_TYPES", "TEXT_FEATURE_PREFIXES", "class_probabilities", "text_features"]

MESSAGE_EVENT_TYPES: tuple[str, ...] = ("chat_message", "sms_message")
INTAKE_STEPS: dict[str, float] = {"intake_started": 1.0, "intake_completed": 2.0}
#: Column-name prefixes of the features made here (for reports and model cards).
TEXT_FEATURE_PREFIXES: tuple[str, ...] = ("question_", "message_", "last_message_", "n_messages")

# Words that show the lead named the service it wants (a service preference captured in the conversation).
_SERVICE_RE = re.compile(
    r"\b(?:derm\w*|skin|mole|acne|eczema|rash|cardi\w*|heart|echo\w*|stress test|ortho\w*|knee|hip|shoulder|"
    r"back pain|acl|sports?|physical therapy|physio\w*|pt|rehab\w*|sleep|cpap|snor\w*|insomnia|apnea|"
    r"mammogram|pap|ob|gyn\w*|obgyn|prenatal|well-woman|women'?s health|therap\w*|counsel\w*|psychiat\w*|"
    r"mental health|behavio\w*|anxiety|depression|primary care|family medicine|pcp|physical|check-?up|"
    r"mri|x-?ray|ultrasound|colonoscopy|lab work|blood work|dermatolog\w*|cardiolog\w*|ortopedia|"
    r"cardiolog[ií]a|dermatolog[ií]a|ginecolog[ií]a|salud mental|terapia|sue[nñ]o)\b",
    re.IGNORECASE,
)


def _texts_of(values: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for value in values.astype(object).tolist():
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out.append(None)
        else:
            out.append(str(value))
    return out


def class_probabilities(
    models: Sequence[IntentClassifier | UrgencyClassifier], texts: Sequence[str]
) -> list[npt.NDArray[np.float64]]:
    """Class probabilities of each model for each text, sharing the text vectors between the models.

    The same result as ``[m.predict_proba(texts) for m in models]``, in a fraction of the time: classifiers
    trained on the same texts share their TF-IDF vectors (:meth:`careleads.text.LinearTextModel.vectors`),
    which are computed once.

    Parameters
    ----------
    models
        Fitted :class:`careleads.text.IntentClassifier` or :class:`careleads.text.UrgencyClassifier`.
    texts
        Texts (already redacted).

    Returns
    -------
    list of arrays
        One ``(len(texts), n_classes)`` array per model, columns in the order of the model's ``classes_``.
    """
    from careleads.text import remembered_probabilities

    docs = list(texts)
    memos = [remembered_probabilities(model) for model in models]
    if docs and all(memo is not None for memo in memos):  # inside careleads.text.reading_once
        known = [memo for memo in memos if memo is not None]
        new = [doc for doc in dict.fromkeys(docs) if any(doc not in memo for memo in known)]
        if new:
            for memo, proba in zip(known, _class_probabilities(models, new), strict=True):
                memo.update(zip(new, proba, strict=True))
        return [np.array([memo[doc] for doc in docs], dtype=np.float64) for memo in known]
    return _class_probabilities(models, docs)


def _class_probabilities(
    models: Sequence[IntentClassifier | UrgencyClassifier], docs: list[str]
) -> list[npt.NDArray[np.float64]]:
    out: list[npt.NDArray[np.float64]] = []
    cache: list[tuple[Any, sp.csr_matrix]] = []
    for model in models:
        linear = getattr(model, "model_", None)
        if linear is None or not docs:
            out.append(np.asarray(model.predict_proba(docs), dtype=np.float64))  # raises NotFittedError
            continue
        vectors = next((v for f, v in cache if f.same_as(linear.vectors)), None)
        if vectors is None:
            vectors = linear.vectors.transform(docs)
            cache.append((linear.vectors, vectors))
        out.append(linear.proba_of(vectors))
    return out


def _check_inputs(leads: pd.DataFrame, events: pd.DataFrame | None, as_of: pd.Series, key: str) -> None:
    if key not in leads.columns:
        raise InputError(f"text_features: the leads table has no {key!r} column; pass ingested leads")
    if len(as_of) != len(leads):
        raise InputError(
            f"text_features: {len(as_of)} scoring moments for {len(leads)} leads; give one as_of per lead"
        )
    if events is not None and len(events):
        missing = [c for c in ("lead_id", "occurred_at", "event_type") if c not in events.columns]
        if missing:
            raise InputError(f"text_features: the events table lacks {missing}; pass ingested events")


def text_features(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    as_of: pd.Series,
    *,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
    key: str = "lead_id",
    question_column: str = "question",
) -> pd.DataFrame:
    """Intent and urgency of each lead's (redacted) question, and conversational signals up to `as_of`.

    Parameters
    ----------
    leads : DataFrame
        Clean (ingested) leads; the question column may be missing or empty (features are then NaN).
    events : DataFrame or None
        Clean events (``lead_id``, ``occurred_at``, ``event_type`` and, for chat and SMS, ``message_text``).
        Only events at or before each lead's `as_of` count.
    as_of : Series
        The scoring moment of each lead, aligned with `leads`.
    classifiers : (IntentClassifier, UrgencyClassifier), optional
        Fitted classifiers; default :func:`careleads.text.default_classifiers` (the shipped ones, read once
        per process).
    key, question_column : str
        The lead id and free-text question columns.

    Returns
    -------
    DataFrame
        Aligned with `leads` (same index):

        - ``question_intent_p_<intent>``, ``question_urgency_p_<level>``: class probabilities of the question;
        - ``n_messages``: chat and SMS messages up to `as_of`;
        - ``last_message_intent``: the most probable intent of the latest message (text, missing if none);
        - ``last_message_p_scheduling``: its probability of a scheduling intent;
        - ``message_urgency_max``: the highest probability of "urgent" among the messages (urgency stated);
        - ``service_preference_captured``: 1 when the question or a message names a service;
        - ``intake_step_reached``: 0 none, 1 guided intake started, 2 completed;
        - ``message_median_gap_minutes``: median time between consecutive messages, or from a staff message
          to the lead's reply when the events have a ``direction`` column (``outbound`` / ``inbound``);
        - ``hours_since_last_message``.

    Examples
    --------
    >>> import pandas as pd
    >>> from careleads.text import IntentClassifier, UrgencyClassifier
    >>> from careleads.synth._texts import make_labelled_texts
    >>> texts = make_labelled_texts(600, seed=0)
    >>> models = (IntentClassifier().fit(texts["text"], texts["intent"]),
    ...           UrgencyClassifier().fit(texts["text"], texts["urgency"]))
    >>> leads = pd.DataFrame({"lead_id": ["L1"], "question": ["Can I book a skin check next week?"]})
    >>> out = text_features(leads, None, pd.Series([pd.Timestamp("2025-01-02")]), classifiers=models)
    >>> int(out.loc[0, "service_preference_captured"]), float(out.loc[0, "n_messages"])
    (1, 0.0)
    """
    from careleads.privacy import redact_texts

    _check_inputs(leads, events, as_of, key)
    if classifiers is None:
        from careleads.text import default_classifiers

        classifiers = default_classifiers()
    intent_model, urgency_model = classifiers
    n = len(leads)
    ids = pd.Index(leads[key].astype("string").to_numpy())
    when = pd.to_datetime(pd.Series(np.asarray(as_of), index=leads.index)).to_numpy(dtype="datetime64[ns]")

    questions: list[str | None] = (
        redact_texts(_texts_of(leads[question_column])) if question_column in leads.columns else [None] * n
    )

    # events of these leads up to their scoring moment
    if events is None or not len(events):
        events = pd.DataFrame({"lead_id": [], "occurred_at": [], "event_type": []})
    row = ids.get_indexer(pd.Index(events["lead_id"].astype("string")))
    stamps = pd.to_datetime(events["occurred_at"]).to_numpy(dtype="datetime64[ns]")
    keep = row >= 0
    keep[keep] = stamps[keep] <= when[row[keep]]
    kinds = events["event_type"].astype("string").fillna("").to_numpy()[keep]
    rows, stamps = row[keep], stamps[keep]
    talk = np.isin(kinds, MESSAGE_EVENT_TYPES)
    if "message_text" in events.columns:
        raw_messages = _texts_of(events["message_text"].loc[keep].loc[talk])
    else:
        raw_messages = [None] * int(talk.sum())
    messages = redact_texts(raw_messages)
    msg_rows, msg_at = rows[talk], stamps[talk]
    direction = (
        events["direction"].astype("string").fillna("").str.lower().to_numpy()[keep][talk]
        if "direction" in events.columns
        else None
    )

    # classify each distinct text once, questions and messages together
    vocabulary: dict[str, int] = {}
    for text in (*questions, *messages):
        if text is not None and text.strip():
            vocabulary.setdefault(text, len(vocabulary))
    unique = list(vocabulary)
    p_intent, p_urgency = class_probabilities((intent_model, urgency_model), unique)

    def lookup(texts: list[str | None]) -> npt.NDArray[np.int64]:
        return np.array(
            [vocabulary.get(t, -1) if t is not None else -1 for t in texts], dtype=np.int64
        ).reshape(-1)

    columns: dict[str, Any] = {}
    q_idx = lookup(questions)
    q_ok = q_idx >= 0
    for prefix, proba, model in (
        ("question_intent_p_", p_intent, intent_model),
        ("question_urgency_p_", p_urgency, urgency_model),
    ):
        for j, label in enumerate(model.classes_):
            values = np.full(n, np.nan)
            values[q_ok] = proba[q_idx[q_ok], j]
            columns[f"{prefix}{label}"] = values

    # conversational signals
    columns["n_messages"] = np.bincount(msg_rows, minlength=n).astype("float64")
    m_idx = lookup(messages)
    m_ok = m_idx >= 0
    intent_labels = np.asarray(intent_model.classes_, dtype=object)
    last_intent = np.full(n, None, dtype=object)
    last_sched = np.full(n, np.nan)
    urgent_max = np.full(n, np.nan)
    if m_ok.any():
        order = np.lexsort((msg_at[m_ok], msg_rows[m_ok]))
        r, k = msg_rows[m_ok][order], m_idx[m_ok][order]
        last = np.r_[r[1:] != r[:-1], True]  # the latest message of each lead
        last_intent[r[last]] = intent_labels[p_intent[k[last]].argmax(axis=1)]
        labels = list(intent_model.classes_)
        if "scheduling" in labels:
            last_sched[r[last]] = p_intent[k[last], labels.index("scheduling")]
        urgency_labels = list(urgency_model.classes_)
        if "urgent" in urgency_labels:
            p_urgent = p_urgency[k, urgency_labels.index("urgent")]
            frame = pd.Series(p_urgent).groupby(r).max()
            urgent_max[frame.index.to_numpy()] = frame.to_numpy()
    columns["last_message_intent"] = pd.array(last_intent, dtype="string")
    columns["last_message_p_scheduling"] = last_sched
    columns["message_urgency_max"] = urgent_max

    named = np.array([bool(t and _SERVICE_RE.search(t)) for t in questions], dtype=bool)
    said = np.array([bool(t and _SERVICE_RE.search(t)) for t in messages], dtype=bool)
    named[msg_rows[said]] = True
    columns["service_preference_captured"] = named.astype("float64")

    step = np.zeros(n)
    for kind, level in INTAKE_STEPS.items():
        hit = rows[kinds == kind]
        step[hit] = np.maximum(step[hit], level)
    columns["intake_step_reached"] = step

    columns["message_median_gap_minutes"] = _median_gaps(msg_rows, msg_at, direction, n)
    latest = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(msg_rows):
        order = np.argsort(msg_at, kind="stable")
        latest[msg_rows[order]] = msg_at[order]
    hours = (when - latest) / np.timedelta64(1, "h")
    columns["hours_since_last_message"] = np.where(np.isnat(latest), np.nan, hours)
    return pd.DataFrame(columns, index=leads.index)


def _median_gaps(
    rows: npt.NDArray[np.int64],
    at: npt.NDArray[np.datetime64],
    direction: npt.NDArray[np.object_] | None,
    n: int,
) -> npt.NDArray[np.float64]:
    """Median minutes between consecutive messages per lead (staff message -> lead reply when known)."""
    out = np.full(n, np.nan)
    if len(rows) < 2:
        return out
    order = np.lexsort((at, rows))
    r, t = rows[order], at[order]
    same = r[1:] == r[:-1]
    gap = (t[1:] - t[:-1]) / np.timedelta64(1, "m")
    if direction is not None:
        d = np.asarray(direction, dtype=object)[order]
        same &= (d[:-1] == "outbound") & (d[1:] == "inbound")
    if not same.any():
        return out
    medians = pd.Series(gap[same]).groupby(r[1:][same]).median()
    out[medians.index.to_numpy()] = medians.to_numpy()
    return out
