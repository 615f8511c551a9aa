"""Intent and urgency classifiers: a fast linear model over TF-IDF word and character n-grams.

They work offline: they are trained in a few seconds on labelled texts that the simulator generates
(:func:`careleads.synth._texts.make_labelled_texts`), optionally with user-labelled texts added, when a
model is built, and travel as JSON (:func:`classifiers_to_dict`) inside the model's artifact; the defaults
ship as package data (:func:`careleads.text.default_classifiers`). Fitting uses scikit-learn; predicting uses
the fitted pipeline's numpy form (:class:`careleads.text._linear.LinearTextModel`), so a classifier read
back from JSON predicts exactly as the one that was fitted. They only sort messages for routing and
scoring; they never make a clinical decision (see :mod:`careleads.text.triage` for the clinical-triage
override, which always wins).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from careleads.errors import ConfigError, InputError, NotEnoughDataError, NotFittedError
from careleads.synth import INTENTS, URGENCIES, make_labelled_texts
from careleads.text._linear import LinearTextModel, TextVectors
from careleads.types import FloatArray, PathLikeStr

__all__ = [
    "TEXT_MODELS_FORMAT",
    "IntentClassifier",
    "TextClassifiers",
    "UrgencyClassifier",
    "as_texts",
    "classifiers_from_dict",
    "classifiers_to_dict",
    "load_classifier",
    "load_labelled_texts",
    "train_default_classifier",
    "train_default_urgency_classifier",
    "train_text_classifiers",
]

_T = TypeVar("_T", bound="_TextClassifier")
DEFAULT_N_TEXTS = 20_000
TEXT_MODELS_FORMAT = "careleads-text-classifiers"
TEXT_MODELS_VERSION = 1


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
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import SGDClassifier
        from sklearn.pipeline import FeatureUnion, Pipeline

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
        # the fitted pipeline is kept for inspection; predictions come from its numpy form, as after loading
        self.pipeline_ = Pipeline([("features", features), ("model", model)]).fit(docs, labels)
        self.model_ = LinearTextModel.from_pipeline(self.pipeline_)
        self.classes_ = np.asarray(self.model_.classes, dtype=object)
        return self

    def _check_fitted(self) -> LinearTextModel:
        model = getattr(self, "model_", None)
        if not isinstance(model, LinearTextModel):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted: call fit() or train_default_classifier()."
            )
        return model

    def predict_proba(self, texts: Sequence[str | None] | pd.Series[Any]) -> FloatArray:
        """Class probabilities, one row per text, columns in the order of ``classes_``."""
        model = self._check_fitted()
        return model.predict_proba(as_texts(texts, f"{type(self).__name__}.predict_proba"))

    def predict(self, texts: Sequence[str | None] | pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.object_]]:
        """The most probable label per text."""
        proba = self.predict_proba(texts)
        return (
            np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]
            if len(proba)
            else np.empty(0, object)
        )

    def to_dict(self, *, vectors: int | None = None) -> dict[str, Any]:
        """The fitted classifier as JSON-ready data: its settings and its numpy form (see
        :meth:`LinearTextModel.to_dict`; `vectors` refers to shared text vectors written elsewhere)."""
        model = self._check_fitted()
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        return {"kind": type(self).__name__, "params": params, "model": model.to_dict(vectors=vectors)}

    @classmethod
    def from_dict(cls: type[_T], data: dict[str, Any], where: str, shared: Sequence[TextVectors] = ()) -> _T:
        """A fitted classifier from :meth:`to_dict`'s output (predict-only: no ``pipeline_``)."""
        if data.get("kind") != cls.__name__:
            raise ConfigError(f"{where}: holds a {data.get('kind')!r}, not an {cls.__name__}")
        params: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data["params"].items()
        }
        out = cls(**params)
        out.model_ = LinearTextModel.from_dict(data["model"], where, shared)
        out.classes_ = np.asarray(out.model_.classes, dtype=object)
        return out

    def save(self, path: PathLikeStr) -> Path:
        """Write the fitted classifier as JSON (data, no pickle); returns the path written."""
        data = self.to_dict()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data) + "\n", encoding="utf-8")
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


#: The intent and the urgency classifier a model's text features come from.
TextClassifiers = tuple[IntentClassifier, UrgencyClassifier]


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


def train_text_classifiers(
    seed: int = 0, *, n_texts: int = DEFAULT_N_TEXTS, extra: pd.DataFrame | None = None
) -> TextClassifiers:
    """The intent and the urgency classifier, trained on the same texts (see
    :func:`train_default_classifier`)."""
    return (
        train_default_classifier(seed, n_texts=n_texts, extra=extra),
        train_default_urgency_classifier(seed, n_texts=n_texts, extra=extra),
    )


def classifiers_to_dict(classifiers: TextClassifiers, **about: Any) -> dict[str, Any]:
    """Intent and urgency classifiers as one JSON-ready document; text vectors they share are written once.

    Parameters
    ----------
    classifiers
        Fitted intent and urgency classifiers.
    **about
        Anything worth recording with them (e.g. how they were trained).
    """
    shared: list[TextVectors] = []
    written = []
    for classifier in classifiers:
        vectors = classifier._check_fitted().vectors
        index = next((i for i, seen in enumerate(shared) if seen.same_as(vectors)), None)
        if index is None:
            index = len(shared)
            shared.append(vectors)
        written.append(classifier.to_dict(vectors=index))
    return {
        "format": TEXT_MODELS_FORMAT,
        "format_version": TEXT_MODELS_VERSION,
        **about,
        "vectors": [vectors.to_dict() for vectors in shared],
        "intent": written[0],
        "urgency": written[1],
    }


def classifiers_from_dict(data: dict[str, Any], where: str) -> TextClassifiers:
    """Read :func:`classifiers_to_dict`'s output; the classifiers share the text vectors written once.

    Raises
    ------
    ConfigError
        When `data` is not such a document or is in another version, with `where` it came from.
    """
    if data.get("format") != TEXT_MODELS_FORMAT or data.get("format_version") != TEXT_MODELS_VERSION:
        raise ConfigError(
            f"{where}: text classifiers in format {data.get('format')!r} version "
            f"{data.get('format_version')!r}; this release reads {TEXT_MODELS_FORMAT!r} version "
            f"{TEXT_MODELS_VERSION}: retrain with `careleads train --text`"
        )
    shared = [TextVectors.from_dict(vectors, where) for vectors in data["vectors"]]
    return (
        IntentClassifier.from_dict(data["intent"], where, shared),
        UrgencyClassifier.from_dict(data["urgency"], where, shared),
    )


def load_classifier(path: PathLikeStr) -> IntentClassifier | UrgencyClassifier:
    """Load a classifier written by ``save`` (JSON; reading it runs no code)."""
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source}: no such file; write one with IntentClassifier.save().")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(
            f"{source}: not a classifier written by save() ({error}); a pickle (joblib) file is not read, "
            "since it can run code: train the classifier again and save it."
        ) from error
    kind = data.get("kind") if isinstance(data, dict) else None
    for cls in (IntentClassifier, UrgencyClassifier):
        if kind == cls.__name__:
            return cls.from_dict(data, str(source))
    raise InputError(f"{source}: holds a {kind!r}, not an IntentClassifier or UrgencyClassifier.")
