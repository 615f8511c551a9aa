"""The rule baseline: points in YAML, split into fit and intent, with decay of engagement points.

A points file (the shipped ``careleads/data/points.yaml`` or the user's own) is read by :func:`load_points`
into a :class:`PointsTable`; errors name the file, line and rule. :class:`PointsScorer` applies the table to
feature columns, a table or one record alike (see :mod:`careleads.columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.base import BaseEstimator

from careleads.columns import Column, Columns, Text, floats, is_missing, n_rows, positions, texts
from careleads.config import load_config, read_config_text
from careleads.errors import NotFittedError
from careleads.stats import ProbabilityCalibrator
from careleads.types import FloatArray, PathLikeStr


@dataclass(frozen=True)
class PointRule:
    """One line of the points table."""

    group: str  # "fit" or "intent"
    field: str
    points: Mapping[str, float] | float
    above: float | None = None
    per_event: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        if self.per_event is not None:
            return f"{self.field}: {self.per_event:g} points each (at most {self.maximum:g})"
        if self.above is not None:
            return f"{self.field} above {self.above:g}: {self.points} points"
        return f"{self.field}: {dict(self.points) if isinstance(self.points, Mapping) else self.points}"

    def points_of(self, column: Column | None, n: int) -> FloatArray:
        """This rule's points for each of `n` leads, given the rule field's column (None: no such field)."""
        if column is None:
            return np.zeros(n)
        if self.per_event is not None:
            counts = np.nan_to_num(floats(column), nan=0.0)
            return np.minimum(counts * self.per_event, self.maximum if self.maximum is not None else np.inf)
        if self.above is not None:
            return np.where(floats(column) > self.above, float(self.points), 0.0)  # type: ignore[arg-type]
        assert isinstance(self.points, Mapping)
        values = np.append(np.asarray(list(self.points.values()), dtype=np.float64), 0.0)
        return np.asarray(values[positions(_keys(column), list(self.points))])  # -1: the 0 appended

    def reason(self, value: Any) -> str:
        """The lead's own value in plain words, e.g. "insurance: self pay" or "pricing page view x2"."""
        name = self.field.removeprefix("n_").replace("_", " ")
        if self.per_event is not None:
            return f"{name} x{float(value):g}"
        if self.above is not None:
            return f"{name} above {self.above:g}"
        if isinstance(value, float | np.floating) and float(value) in (0.0, 1.0) and name.startswith("has "):
            return name if value else f"no {name[4:]}"
        shown = "<NA>" if is_missing(value) else str(value)
        return f"{name}: {shown.replace('_', ' ')}"


def _keys(column: Column) -> Text:
    """The text a points table is keyed by: a number as ``%g`` (1.0 -> "1"), text as it is, missing as ""."""
    numeric = (
        pd.api.types.is_numeric_dtype(column.dtype)
        if isinstance(column, pd.Series | np.ndarray)
        else pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    )
    if numeric:
        values = np.asarray(column, dtype=np.float64)
        return np.array(["" if np.isnan(v) else f"{v:g}" for v in values], dtype=object)
    text = texts(column)
    if isinstance(text, np.ndarray):
        return np.array(["" if v is None else v for v in text], dtype=object)
    return pc.fill_null(text, "")


@dataclass(frozen=True)
class PointsTable:
    name: str
    half_life_days: float
    rules: tuple[PointRule, ...]
    source: str = "<shipped>"

    @property
    def version(self) -> str:
        return f"rules:{self.name}"


class _Rule(BaseModel):
    """One rule as written in the file: a mapping of values to points, a threshold, or points per event."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str
    points: dict[str | int | float | bool, float] | float | None = None
    above: float | None = None
    per_event: float | None = None
    maximum: float | None = Field(default=None, alias="max")

    @model_validator(mode="after")
    def _one_kind(self) -> _Rule:
        if self.per_event is not None:
            if self.above is not None or self.points is not None:
                raise ValueError("a per_event rule takes per_event and max only")
        elif self.above is not None:
            if not isinstance(self.points, float | int):
                raise ValueError("a rule with 'above' needs numeric 'points'")
        elif not isinstance(self.points, dict) or not self.points:
            raise ValueError("needs 'points' as a mapping of value -> points (or 'above' or 'per_event')")
        return self

    def rule(self, group: Literal["fit", "intent"]) -> PointRule:
        if self.per_event is not None:
            maximum = self.maximum if self.maximum is not None else self.per_event * 3
            return PointRule(group, self.field, 0.0, per_event=self.per_event, maximum=maximum)
        if self.above is not None:
            return PointRule(group, self.field, float(self.points), above=self.above)  # type: ignore[arg-type]
        assert isinstance(self.points, dict)
        return PointRule(group, self.field, {str(k): float(v) for k, v in self.points.items()})


class _Table(BaseModel):
    """A points file: fit and intent rules, the half-life of intent points in days."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    name: str | None = None
    half_life_days: float = Field(default=14.0, gt=0)
    fit: list[_Rule] = Field(default_factory=list)
    intent: list[_Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_rules(self) -> _Table:
        if not self.fit and not self.intent:
            raise ValueError("no rules under 'fit' or 'intent'")
        return self


def load_points(path: PathLikeStr | None = None, *, shipped: str = "points.yaml") -> PointsTable:
    """Load and validate a points table; None loads the shipped file `shipped` (under careleads/data).

    Raises
    ------
    ConfigError
        Naming the file, line and rule of each problem.
    """
    text, where = read_config_text(None if path is None else Path(path), shipped=shipped)
    table = load_config(text, _Table, source=where)
    rules = [raw.rule("fit") for raw in table.fit] + [raw.rule("intent") for raw in table.intent]
    return PointsTable(
        name=table.name or Path(where).stem,
        half_life_days=table.half_life_days,
        rules=tuple(rules),
        source=where,
    )


class PointsScorer(BaseEstimator):  # type: ignore[misc]
    """Score leads with the points table; `fit` only learns how points map to a probability.

    Parameters
    ----------
    points_path : path, optional
        A points YAML file; None uses the shipped default.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"inquiry_type": ["scheduling", "billing_existing"], "n_call_request": [1.0, 0.0],
    ...                   "hours_since_last_event": [0.0, 2.0]})
    >>> PointsScorer().points(X).tolist()
    [20.0, -5.0]
    """

    def __init__(self, points_path: PathLikeStr | None = None) -> None:
        self.points_path = points_path

    @property
    def table(self) -> PointsTable:
        if not hasattr(self, "table_"):
            self.table_: PointsTable = load_points(self.points_path)
        return self.table_

    def _contributions(self, X: Columns) -> list[tuple[PointRule, FloatArray]]:
        table = self.table
        n = n_rows(X)
        hours = (
            np.nan_to_num(floats(X["hours_since_last_event"]), nan=0.0)
            if "hours_since_last_event" in X
            else np.zeros(n)
        )
        decay = 0.5 ** (hours / 24.0 / table.half_life_days)
        out = []
        for rule in table.rules:
            pts = rule.points_of(X[rule.field] if rule.field in X else None, n)
            out.append((rule, pts * decay if rule.group == "intent" else pts))
        return out

    def points(self, X: Columns) -> FloatArray:
        """Total points per lead (fit plus decayed intent), for a feature table or one record's columns."""
        total = np.zeros(n_rows(X))
        for _rule, pts in self._contributions(X):
            total += pts
        return total

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> PointsScorer:
        self.table_ = load_points(self.points_path)
        calibrator = ProbabilityCalibrator(method="isotonic")
        self.calibrator_: ProbabilityCalibrator = calibrator.fit(squash(self.points(X)), y)
        return self

    def predict_proba(self, X: Columns) -> FloatArray:
        if not hasattr(self, "calibrator_"):
            raise NotFittedError("the points scorer maps points to probabilities only after fit")
        p = self.calibrator_.transform(squash(self.points(X)))
        return np.column_stack([1 - p, p])

    def reasons(self, X: Columns, *, top: int = 3) -> list[list[tuple[str, float]]]:
        """The rules that gave each lead the most points, positive and negative, as (description, points)."""
        contributions = self._contributions(X)
        rules = [rule for rule, _pts in contributions]
        matrix = np.column_stack([pts for _rule, pts in contributions])
        out = []
        for r, row in enumerate(matrix):
            order = np.argsort(-np.abs(row))[:top]
            out.append(
                [(rules[i].reason(_value(X[rules[i].field], r)), float(row[i])) for i in order if row[i] != 0]
            )
        return out


def squash(points: npt.ArrayLike) -> FloatArray:
    """A monotone map of points into (0, 1), read as raw scores by the calibrator and the baseline tiers."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(points, dtype=np.float64) / 10.0)), dtype=np.float64)


def _value(column: Column, row: int) -> Any:
    if isinstance(column, pd.Series):
        return column.iloc[row]
    if isinstance(column, pa.Array | pa.ChunkedArray):
        return column[row].as_py()
    return column[row]
