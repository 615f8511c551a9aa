"""The rule baseline: points in YAML, split into fit and intent, with decay of engagement points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from sklearn.base import BaseEstimator

from careleads.errors import ConfigError, NotFittedError
from careleads.types import PathLikeStr

if TYPE_CHECKING:
    from careleads.stats._calibration import ProbabilityCalibrator


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


@dataclass(frozen=True)
class PointsTable:
    name: str
    half_life_days: float
    rules: tuple[PointRule, ...]
    source: str = "<shipped>"

    @property
    def version(self) -> str:
        return f"rules:{self.name}"


def _parse_rule(group: str, raw: Any, where: str) -> PointRule:
    if not isinstance(raw, Mapping) or "field" not in raw:
        raise ConfigError(f"{where}: each {group} rule needs a 'field' key, got {raw!r}")
    field = str(raw["field"])
    if "per_event" in raw:
        try:
            per_event = float(raw["per_event"])
            maximum = float(raw.get("max", per_event * 3))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: rule for {field!r} needs numeric per_event and max") from None
        return PointRule(group, field, 0.0, per_event=per_event, maximum=maximum)
    points = raw.get("points")
    if "above" in raw:
        try:
            return PointRule(group, field, float(points), above=float(raw["above"]))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: rule for {field!r} needs numeric 'above' and 'points'") from None
    if not isinstance(points, Mapping) or not points:
        raise ConfigError(f"{where}: rule for {field!r} needs 'points' as a mapping of value -> points")
    try:
        return PointRule(group, field, {str(k): float(v) for k, v in points.items()})
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: every point value of {field!r} must be a number") from None


def load_points(path: PathLikeStr | None = None) -> PointsTable:
    """Load and validate a points table; None loads the shipped default."""
    if path is None:
        text = resources.files("careleads").joinpath("data/points.yaml").read_text(encoding="utf-8")
        where = "careleads/data/points.yaml"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the points file {where}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'fit' and 'intent' lists")
    rules = []
    for group in ("fit", "intent"):
        for i, raw in enumerate(data.get(group) or []):
            rules.append(_parse_rule(group, raw, f"{where}: {group}[{i}]"))
    if not rules:
        raise ConfigError(f"{where}: no rules under 'fit' or 'intent'")
    half_life = float(data.get("half_life_days", 14))
    if half_life <= 0:
        raise ConfigError(f"{where}: half_life_days must be positive")
    return PointsTable(
        name=str(data.get("name", Path(where).stem)),
        half_life_days=half_life,
        rules=tuple(rules),
        source=where,
    )


def _rule_points(rule: PointRule, X: pd.DataFrame) -> npt.NDArray[np.float64]:
    if rule.field not in X:
        return np.zeros(len(X))
    column = X[rule.field]
    if rule.per_event is not None:
        counts = pd.to_numeric(column, errors="coerce").fillna(0).to_numpy(dtype=np.float64)
        return np.minimum(counts * rule.per_event, rule.maximum if rule.maximum is not None else np.inf)
    if rule.above is not None:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        return np.where(values > rule.above, float(rule.points), 0.0)  # type: ignore[arg-type]
    points = rule.points
    assert isinstance(points, Mapping)
    if pd.api.types.is_numeric_dtype(column):
        keys = column.map(lambda v: "" if pd.isna(v) else f"{v:g}")
    else:
        keys = column.astype("string").fillna("")
    table = {str(k): float(v) for k, v in points.items()}
    return np.asarray(keys.map(table).fillna(0.0).to_numpy(dtype=np.float64), dtype=np.float64)


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

    def _contributions(self, X: pd.DataFrame) -> list[tuple[PointRule, npt.NDArray[np.float64]]]:
        table = self.table
        hours = (
            pd.to_numeric(X["hours_since_last_event"], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
            if "hours_since_last_event" in X
            else np.zeros(len(X))
        )
        decay = 0.5 ** (hours / 24.0 / table.half_life_days)
        out = []
        for rule in table.rules:
            pts = _rule_points(rule, X)
            out.append((rule, pts * decay if rule.group == "intent" else pts))
        return out

    def points(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Total points per lead (fit plus decayed intent)."""
        total = np.zeros(len(X))
        for _rule, pts in self._contributions(X):
            total += pts
        return total

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> PointsScorer:
        self.table_ = load_points(self.points_path)
        # imported here: careleads.models imports this module, so a top-level import would be circular
        from careleads.stats._calibration import ProbabilityCalibrator

        calibrator = ProbabilityCalibrator(method="isotonic")
        self.calibrator_: ProbabilityCalibrator = calibrator.fit(self._squash(self.points(X)), y)
        return self

    @staticmethod
    def _squash(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # a monotone map of points into (0, 1) so the shared calibrator can read them as raw scores
        return np.asarray(1.0 / (1.0 + np.exp(-points / 10.0)), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        if not hasattr(self, "calibrator_"):
            raise NotFittedError("the points scorer maps points to probabilities only after fit")
        p = self.calibrator_.transform(self._squash(self.points(X)))
        return np.column_stack([1 - p, p])

    def reasons(self, X: pd.DataFrame, *, top: int = 3) -> list[list[tuple[str, float]]]:
        """The rules that gave each lead the most points, positive and negative, as (description, points)."""
        contributions = self._contributions(X)
        rules = [rule for rule, _pts in contributions]
        matrix = np.column_stack([pts for _rule, pts in contributions])
        out = []
        for r, row in enumerate(matrix):
            order = np.argsort(-np.abs(row))[:top]
            out.append([(self._reason_text(rules[i], X, r), float(row[i])) for i in order if row[i] != 0])
        return out

    @staticmethod
    def _reason_text(rule: PointRule, X: pd.DataFrame, row: int) -> str:
        """The lead's own value in plain words, e.g. "insurance: self pay" or "pricing page view x2"."""
        value = X[rule.field].iloc[row]
        name = rule.field.removeprefix("n_").replace("_", " ")
        if rule.per_event is not None:
            return f"{name} x{float(value):g}"
        if rule.above is not None:
            return f"{name} above {rule.above:g}"
        if isinstance(value, float | np.floating) and float(value) in (0.0, 1.0) and name.startswith("has "):
            return name if value else f"no {name[4:]}"
        return f"{name}: {str(value).replace('_', ' ')}"
