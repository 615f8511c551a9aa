"""Turn an arbitrary ingested lead table into model features, without manual encoding.

Numeric columns stay numeric, categoricals become pandas ``category`` (LightGBM splits on them natively),
booleans become 0/1, datetime columns become days relative to the row's scoring moment plus calendar parts
of that moment, and free text only contributes its length and whether it is missing: never its content.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from careleads.errors import InputError, NotFittedError

ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "text"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "text")

RARE_LEVEL = "(rare)"
_TRUE = frozenset({"1", "1.0", "true", "t", "yes", "y", "on", "x"})
_FALSE = frozenset({"0", "0.0", "false", "f", "no", "n", "off"})
# Mean characters per value from which an object column with many distinct values is treated as text.
_TEXT_MIN_LENGTH = 40
# Distances between pairs of dates are built for at most this many dates besides the scoring moment.
MAX_PAIRED_DATES = 5


def infer_kinds(frame: pd.DataFrame) -> dict[str, ColumnKind]:
    """Guess each column's kind from its pandas dtype (used when no data dictionary is given).

    Examples
    --------
    >>> import pandas as pd
    >>> infer_kinds(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [True, False]}))
    {'a': 'numeric', 'b': 'categorical', 'c': 'boolean'}
    """
    kinds: dict[str, ColumnKind] = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            kinds[str(name)] = "boolean"
        elif pd.api.types.is_numeric_dtype(col):
            kinds[str(name)] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(col):
            kinds[str(name)] = "datetime"
        else:
            values = col.dropna().astype(str)
            long = len(values) > 0 and float(values.str.len().mean()) >= _TEXT_MIN_LENGTH
            many = values.nunique() > 0.5 * max(1, len(values))
            kinds[str(name)] = "text" if long and many else "categorical"
    return kinds


def to_numeric(col: pd.Series) -> pd.Series:
    """Numbers as float64; anything unparsable becomes missing."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64")
    return pd.to_numeric(col, errors="coerce").astype("float64")


def to_boolean(col: pd.Series) -> pd.Series:
    """Yes/no, true/false, 1/0 and similar as 1.0/0.0; anything else missing."""
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return pd.to_numeric(col, errors="coerce").astype("float64").where(lambda s: s.isin([0.0, 1.0]))
    text = col.astype("string").str.strip().str.lower()
    out = pd.Series(np.nan, index=col.index, dtype="float64")
    out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = 1.0
    out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = 0.0
    return out


def to_datetime(col: pd.Series) -> pd.Series:
    """Timestamps as timezone-naive datetime64; anything unparsable becomes missing."""
    if pd.api.types.is_datetime64_any_dtype(col):
        out = col
    else:
        # One inferred format is fast on millions of rows; per-value parsing only when that format misses.
        text = col.astype("string").str.strip()
        text = text.where(text.str.len() > 0)
        with warnings.catch_warnings():
            # "could not infer format": expected for columns that are not dates; unparsable become missing
            warnings.simplefilter("ignore", UserWarning)
            out = pd.to_datetime(text, errors="coerce")
            if int(out.isna().sum()) > int(text.isna().sum()):
                out = pd.to_datetime(text, errors="coerce", format="mixed")
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    # a moment nanoseconds cannot hold (year 1 from a month name read alone) is unreadable, not an error
    low, high = pd.Timestamp.min.as_unit("us"), pd.Timestamp.max.as_unit("us")
    out = out.where((out >= low) & (out <= high))
    return out.astype("datetime64[ns]")


def to_text(col: pd.Series) -> pd.Series:
    """Strings with missing kept missing (empty strings count as missing)."""
    text = col.astype("string")
    return text.where(text.str.strip().str.len() > 0)


class TabularFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Model features from a lead table, following the scikit-learn transformer contract.

    Parameters
    ----------
    kinds
        Column name -> one of ``numeric``, ``categorical``, ``boolean``, ``datetime``, ``text``. Columns not
        named are ignored. ``None`` guesses every column's kind from its dtype at ``fit``.
    time_column
        The scoring moment of each row. Other datetime columns become days relative to it (negative: before
        the scoring moment: ``<date>__days``, the lead time of a planned date), and each pair of them (the
        first `MAX_PAIRED_DATES`) their distance in days (``<a>__minus__<b>__days``); the scoring moment
        contributes its weekday, hour and month. No date is ever a raw timestamp. Without a time column,
        the first datetime column plays its role.
    min_frequency
        Category levels seen in fewer training rows are grouped into one ``(rare)`` level.
    max_levels
        At most this many levels per categorical column (the most frequent), the rest grouped as rare.

    Levels unseen at ``fit`` become missing at ``transform``. Features that are constant on the training
    data are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"visits": ["3", "5", "x"], "source": ["web", "web", "phone"]})
    >>> tf = TabularFeatures(kinds={"visits": "numeric", "source": "categorical"}, min_frequency=1)
    >>> out = tf.fit_transform(frame)
    >>> out["visits"].tolist()[:2], list(out["source"].cat.categories)
    ([3.0, 5.0], ['web', 'phone'])
    """

    def __init__(
        self,
        *,
        kinds: Mapping[str, str] | None = None,
        time_column: str | None = None,
        min_frequency: int = 20,
        max_levels: int = 200,
    ) -> None:
        self.kinds = kinds
        self.time_column = time_column
        self.min_frequency = min_frequency
        self.max_levels = max_levels

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y: Any = None) -> TabularFeatures:  # noqa: ARG002 (sklearn signature)
        if not isinstance(X, pd.DataFrame):
            raise InputError("TabularFeatures needs a pandas DataFrame with named columns")
        kinds: dict[str, str] = dict(self.kinds) if self.kinds is not None else dict(infer_kinds(X))
        unknown = {name: kind for name, kind in kinds.items() if kind not in KINDS}
        if unknown:
            raise InputError(f"unknown column kinds {unknown}; use one of {', '.join(KINDS)}")
        missing = [name for name in kinds if name not in X.columns]
        if missing:
            raise InputError(f"columns {missing} are not in the table; its columns are {list(X.columns)}")
        if self.min_frequency < 1 or self.max_levels < 1:
            raise InputError("min_frequency and max_levels must be at least 1")
        datetimes = [name for name, kind in kinds.items() if kind == "datetime"]
        reference = self.time_column
        if reference is not None and reference not in X.columns:
            raise InputError(f"time column {reference!r} is not in the table")
        if reference is None and datetimes:
            reference = datetimes[0]
        self.kinds_: dict[str, str] = kinds
        self.reference_column_: str | None = reference
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.categories_: dict[str, list[str]] = {}
        self.rare_levels_: dict[str, list[str]] = {}
        for name, kind in kinds.items():
            if kind != "categorical":
                continue
            counts = X[name].dropna().astype(str).value_counts()
            kept = counts[counts >= self.min_frequency].index[: self.max_levels]
            levels = [str(v) for v in kept]
            if len(levels) < len(counts):
                levels.append(RARE_LEVEL)
                self.rare_levels_[name] = [str(v) for v in counts.index[len(kept) :]]
            self.categories_[name] = levels
        raw, sources = self._build(X)
        constant = [c for c in raw.columns if raw[c].nunique(dropna=False) <= 1]
        self.dropped_constant_: list[str] = constant
        self.feature_names_out_ = np.asarray([c for c in raw.columns if c not in constant], dtype=object)
        self.feature_sources_: dict[str, str] = {
            f: src for f, src in sources.items() if f in set(self.feature_names_out_)
        }
        return self

    # ------------------------------------------------------------ transform
    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("TabularFeatures is not fitted; call fit on the training rows first")
        if not isinstance(X, pd.DataFrame):
            raise InputError("TabularFeatures needs a pandas DataFrame with named columns")
        missing = [name for name in self.kinds_ if name not in X.columns]
        if missing:
            raise InputError(f"columns {missing} were present at fit but are missing now")
        raw, _ = self._build(X)
        return raw[list(self.feature_names_out_)]

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:  # noqa: ARG002
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("TabularFeatures is not fitted")
        return np.asarray(self.feature_names_out_, dtype=object)

    def source_column(self, feature: str) -> str:
        """The input column a feature was derived from (``"signup__days"`` -> ``"signup"``)."""
        if not hasattr(self, "feature_sources_"):
            raise NotFittedError("TabularFeatures is not fitted")
        return self.feature_sources_[feature]

    def _build(self, X: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
        out: dict[str, pd.Series] = {}
        sources: dict[str, str] = {}
        stamps: dict[str, pd.Series] = {}  # each date parsed once, for its distances
        reference = self.reference_column_
        ref_time = to_datetime(X[reference]) if reference is not None else None
        for name, kind in self.kinds_.items():
            col = X[name]
            if kind == "numeric":
                out[name] = to_numeric(col)
            elif kind == "boolean":
                out[name] = to_boolean(col)
            elif kind == "categorical":
                levels = self.categories_[name]
                text = col.astype("string")
                rare = self.rare_levels_.get(name)
                if rare:
                    text = text.mask(text.isin(rare).fillna(False), RARE_LEVEL)
                # a level never seen at fit time is missing, not rare
                text = text.where(text.isin(levels).fillna(False))
                out[name] = pd.Series(
                    pd.Categorical(text, categories=levels),
                    index=X.index,
                )
            elif kind == "text":
                text = to_text(col)
                out[f"{name}__length"] = text.str.len().astype("float64")
                out[f"{name}__missing"] = text.isna().astype("float64")
            elif kind == "datetime":
                stamp = stamps[name] = to_datetime(col)
                if name == reference:
                    out[f"{name}__weekday"] = stamp.dt.day_of_week.astype("float64")
                    out[f"{name}__hour"] = stamp.dt.hour.astype("float64")
                    out[f"{name}__month"] = stamp.dt.month.astype("float64")
                elif ref_time is not None:
                    out[f"{name}__days"] = (stamp - ref_time).dt.total_seconds() / 86400.0
            for feature in out:
                sources.setdefault(feature, name)
        others = [n for n, k in self.kinds_.items() if k == "datetime" and n != reference][:MAX_PAIRED_DATES]
        for i, first in enumerate(others):
            for second in others[i + 1 :]:
                feature = f"{first}__minus__{second}__days"
                out[feature] = (stamps[first] - stamps[second]).dt.total_seconds() / 86400.0
                sources[feature] = first
        return pd.DataFrame(out, index=X.index), sources

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def logistic_baseline(
    *,
    kinds: Mapping[str, str] | None = None,
    time_column: str | None = None,
    min_frequency: int = 20,
    C: float = 1.0,
) -> Pipeline:
    """The logistic-regression baseline: features, one-hot + imputation + scaling, then a logistic model.

    Categorical levels below ``min_frequency`` are grouped; levels unseen at fit are ignored at predict time;
    missing numbers are imputed by the median with a missing-indicator column.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"visits": [1, 2, 3, 4] * 5, "source": ["web", "phone"] * 10})
    >>> model = logistic_baseline(min_frequency=1).fit(frame, [0, 0, 1, 1] * 5)
    >>> model.predict_proba(frame).shape
    (20, 2)
    """
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=True)),
        ]
    )
    encode = ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_include="category")),
        ],
        sparse_threshold=0.3,
    )
    return Pipeline(
        [
            (
                "features",
                TabularFeatures(kinds=kinds, time_column=time_column, min_frequency=min_frequency),
            ),
            ("encode", encode),
            ("model", LogisticRegression(C=C, max_iter=2000)),
        ]
    )
