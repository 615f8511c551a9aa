"""Intent and urgency classifiers: a fast linear model over TF-IDF word and character n-grams.

They work offline: the default models are trained in a few seconds on labelled texts that the simulator
generates (:func:`careleads.synth._texts.make_labelled_texts`), optionally with user-labelled texts added.
They only sort messages for routing and scoring; they never make a clinical decision (see
:mod:`careleads.text.triage` for the clinical-triage override, which always wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import joblib  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from careleads.errors import InputError, NotEnoughDataError, NotFittedError
from careleads.synth import INTENTS, URGENCIES, make_labelled_texts
from careleads.types import FloatArray, PathLikeStr

__all__ = [
    "IntentClassifier",
    "UrgencyClassifier",
    "as_texts",
    "load_classifier",
    "load_labelled_texts",
    "train_default_classifier",
    "train_default_urgency_classifier",
]

_T = TypeVar("_T", bound="_TextClassifier")
DEFAULT_N_TEXTS = 20_000


def as_texts(texts: Sequence[str | None] | pd.Series[Any], where: str) -> list[str]:
    """Texts as a list of str; missing values become empty strings (they get the prior)."""
    values = list(texts)
    out: list[str] = []
    for row, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out.append("")
        elif isinstance(value, str):
            out.append(value)
        else:
            raise InputError(
                f"{where}: row {row} is a {type(value).__name__}, not text; pass strings or None."
            )
    return out


class _TextClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """TF-IDF (word 1-2 grams + char_wb 3-5 grams) followed by a logistic-loss SGD linear model."""

    _label_name = "label"

    def __init__(
        self,
        *,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (3, 5),
        min_df: int = 2,
        max_features: int | None = 300_000,
        alpha: float = 1e-5,
        max_iter: int = 30,
        class_weight: str | None = "balanced",
        random_state: int | None = 0,
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.alpha = alpha
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self: _T, texts: Sequence[str | None] | pd.Series[Any], y: Sequence[str] | pd.Series[Any]) -> _T:
        """Fit on texts and their labels.

        Parameters
        ----------
        texts
            Free texts (None / missing is read as empty text).
        y
            One label per text.

        Returns
        -------
        self
        """
        name = type(self).__name__
        docs = as_texts(texts, f"{name}.fit")
        labels = np.asarray([str(v) for v in y], dtype=object)
        if len(docs) != len(labels):
            raise InputError(
                f"{name}.fit: {len(docs)} texts but {len(labels)} labels; give one label per text."
            )
        if len(np.unique(labels)) < 2 or len(docs) < 20:
            raise NotEnoughDataError(
                f"{name}.fit: needs at least 20 texts and 2 distinct {self._label_name}s, got "
                f"{len(docs)} texts and {len(np.unique(labels))} {self._label_name}(s)."
            )
        features = FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(
                        ngram_range=self.word_ngram_range,
                        min_df=self.min_df,
                        max_features=self.max_features,
                        sublinear_tf=True,
                        strip_accents="unicode",
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=self.char_ngram_range,
                        min_df=self.min_df,
                        max_features=self.max_features,
                        sublinear_tf=True,
                        strip_accents="unicode",
                    ),
                ),
            ]
        )
        model = SGDClassifier(
            loss="log_loss",
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=None,
            class_weight=self.class_weight,
            random_state=self.random_state,
        )
        self.pipeline_ = Pipeline([("features", features), ("model", model)]).fit(docs, labels)
        self.classes_ = self.pipeline_.classes_
        return self

    def _check_fitted(self) -> Pipeline:
        pipeline = getattr(self, "pipeline_", None)
        if pipeline is None:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted: call fit() or train_default_classifier()."
            )
        return pipeline

    def predict_proba(self, texts: Sequence[str | None] | pd.Series[Any]) -> FloatArray:
        """Class probabilities, one row per text, columns in the order of ``classes_``."""
        pipeline = self._check_fitted()
        docs = as_texts(texts, f"{type(self).__name__}.predict_proba")
        if not docs:
            return np.empty((0, len(self.classes_)), dtype=np.float64)
        return np.asarray(pipeline.predict_proba(docs), dtype=np.float64)

    def predict(self, texts: Sequence[str | None] | pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.object_]]:
        """The most probable label per text."""
        proba = self.predict_proba(texts)
        return (
            np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]
            if len(proba)
            else np.empty(0, object)
        )

    def save(self, path: PathLikeStr) -> Path:
        """Write the fitted classifier with joblib; returns the path written.

        Only load files you wrote yourself: joblib files are pickles and can run code when loaded.
        """
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, target)
        return target


class IntentClassifier(_TextClassifier):
    """What the writer of a form question or chat message wants.

    Labels are the simulator's ``INTENTS`` by default (scheduling, insurance_pricing, pre_visit_question,
    billing_existing, referral_request, other, spam) but any label set can be fitted.

    Examples
    --------
    >>> from careleads.synth._texts import make_labelled_texts
    >>> frame = make_labelled_texts(2000, seed=0)
    >>> model = IntentClassifier().fit(frame["text"], frame["intent"])
    >>> str(model.predict(["Do you accept Aetna?"])[0])
    'insurance_pricing'
    """

    _label_name = "intent"


class UrgencyClassifier(_TextClassifier):
    """How soon the writer wants an answer: routine, soon or urgent (not a clinical judgement).

    Examples
    --------
    >>> from careleads.synth._texts import make_labelled_texts
    >>> frame = make_labelled_texts(2000, seed=0)
    >>> model = UrgencyClassifier().fit(frame["text"], frame["urgency"])
    >>> sorted(str(c) for c in model.classes_)
    ['routine', 'soon', 'urgent']
    """

    _label_name = "urgency"


def load_labelled_texts(path: PathLikeStr, *, require_urgency: bool = False) -> pd.DataFrame:
    """Read user-labelled texts (CSV with columns ``text``, ``intent`` and optionally ``urgency``).

    Parameters
    ----------
    path
        A CSV file; extra columns are ignored.
    require_urgency
        Fail when the ``urgency`` column is absent.

    Returns
    -------
    pandas.DataFrame
        Columns ``text``, ``intent`` and ``urgency`` (missing urgency stays missing).

    Raises
    ------
    InputError
        Missing columns, empty texts or labels outside the known sets, with the file, row and field.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source}: no such file; give a CSV with columns text, intent[, urgency].")
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    wanted = ["text", "intent"] + (["urgency"] if require_urgency else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}."
        )
    if "urgency" not in frame.columns:
        frame["urgency"] = ""
    problems: list[str] = []
    for row, (text, intent, urgency) in enumerate(
        zip(frame["text"], frame["intent"], frame["urgency"], strict=True)
    ):
        line = row + 2  # header is line 1
        if not text.strip():
            problems.append(f"line {line}, field text: empty")
        if intent.strip() not in INTENTS:
            problems.append(f"line {line}, field intent: {intent!r} is not one of {', '.join(INTENTS)}")
        if urgency.strip() and urgency.strip() not in URGENCIES:
            problems.append(f"line {line}, field urgency: {urgency!r} is not one of {', '.join(URGENCIES)}")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InputError(f"{source}: {len(problems)} bad value(s): {shown}. Fix these rows and retry.")
    urgency = frame["urgency"].str.strip()
    return pd.DataFrame(
        {
            "text": frame["text"],
            "intent": frame["intent"].str.strip(),
            "urgency": urgency.where(urgency != "", None),
        }
    )


def _training_frame(n_texts: int, seed: int, extra: pd.DataFrame | None, label: str) -> pd.DataFrame:
    frame = make_labelled_texts(n_texts, seed)[["text", label]]
    if extra is not None:
        missing = [c for c in ("text", label) if c not in extra.columns]
        if missing:
            raise InputError(f"extra labelled texts: missing column(s) {', '.join(missing)}.")
        labelled = extra.loc[extra[label].notna(), ["text", label]]
        frame = pd.concat([frame, labelled], ignore_index=True)
    return frame


def train_default_classifier(
    seed: int = 0,
    *,
    n_texts: int = DEFAULT_N_TEXTS,
    extra: pd.DataFrame | None = None,
) -> IntentClassifier:
    """Train the default intent classifier on simulator texts (plus user-labelled texts, if given).

    Parameters
    ----------
    seed
        Seed of the simulator texts and of the model.
    n_texts
        Number of simulator texts.
    extra
        User-labelled texts with columns ``text`` and ``intent`` (e.g. from :func:`load_labelled_texts`),
        added to the simulator texts.

    Returns
    -------
    IntentClassifier
        Fitted.
    """
    frame = _training_frame(n_texts, seed, extra, "intent")
    return IntentClassifier(random_state=seed).fit(frame["text"], frame["intent"])


def train_default_urgency_classifier(
    seed: int = 0,
    *,
    n_texts: int = DEFAULT_N_TEXTS,
    extra: pd.DataFrame | None = None,
) -> UrgencyClassifier:
    """Train the default urgency classifier; see :func:`train_default_classifier`.

    Rows of ``extra`` without an urgency label are left out.
    """
    frame = _training_frame(n_texts, seed, extra, "urgency")
    return UrgencyClassifier(random_state=seed).fit(frame["text"], frame["urgency"])


def load_classifier(path: PathLikeStr) -> IntentClassifier | UrgencyClassifier:
    """Load a classifier written by ``save``.

    Only load files you wrote yourself: joblib files are pickles and can run code when loaded.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source}: no such file; write one with IntentClassifier.save().")
    model = joblib.load(source)
    if not isinstance(model, IntentClassifier | UrgencyClassifier):
        raise InputError(
            f"{source}: holds a {type(model).__name__}, not an IntentClassifier or UrgencyClassifier."
        )
    return model
