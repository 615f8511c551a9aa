"""Single-lead scoring without pandas: one clean record and its events in, the decision row out.

:func:`careleads.scoring.score_one` runs the batch pipeline (feature frames, the preprocessor, LightGBM on a
DataFrame) on a one-row table, which costs tens of milliseconds of fixed overhead. :class:`RecordScorer`
computes the same features from the record directly into a float vector (category codes from the fitted
preprocessor's levels, in the booster's own categorical order), asks the booster for the probability and
the contributions of that one row, and applies the model's calibrator, tiers and the rule fallback for
"do not profile" leads with the same arithmetic as the batch path. It returns exactly the dict
:func:`score_one` returns (tested on simulated leads with and without events, missing values and unseen
categories). Models with text features are scored through the batch path.

``python -m careleads.scoring_fast`` trains a small model on simulated leads and prints the in-process
latency (p50, p99) of the fast path next to :func:`score_one`.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit

from careleads.errors import InputError
from careleads.features._point_in_time import EVENT_TYPES, PAGE_TYPES
from careleads.models._lead_model import LeadModel, _plain
from careleads.rules._points import PointRule, PointsScorer
from careleads.scoring import _format_reasons, score_one
from careleads.stats._calibration import ProbabilityCalibrator, _logit

__all__ = [
    "RecordScorer",
    "calibrate_one",
    "lead_feature_values",
    "points_one",
    "record_scorer",
    "score_record",
]

_NS_PER_HOUR = np.timedelta64(1, "h")


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _as_text(value: Any) -> str | None:
    """``Series.astype("string")`` of one value: None when missing."""
    if _missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _as_float(value: Any) -> float:
    """``pd.to_numeric(errors="coerce")`` of one value."""
    if _missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | np.number):
        return float(value)
    try:
        return float(
            pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").astype("float64").iloc[0]
        )
    except (TypeError, ValueError):
        return math.nan


def _as_flag(value: Any, name: str) -> float:
    """``astype("Float64")`` of a yes/no value: 1.0, 0.0 or NaN."""
    if _missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_ | int | float | np.number):
        return float(value)
    raise InputError(f"{name}: {value!r} is not a yes/no value; pass the lead's clean (ingested) fields")


def _stamp(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise InputError("the lead has no creation time; pass the lead's clean (ingested) fields")
    return stamp


def _ns(stamp: pd.Timestamp) -> np.datetime64:
    """The moment as numpy datetime64[ns] (UTC for an aware timestamp), as the batch path compares them."""
    return np.datetime64(stamp.tz_convert(None) if stamp.tz is not None else stamp, "ns")


def lead_feature_values(
    model_spec: Any,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] | None,
    as_of: pd.Timestamp,
    *,
    with_pages: bool,
) -> dict[str, Any]:
    """The features of one lead as the batch path builds them (:func:`careleads.features.build_features`).

    Only the columns the batch frame would hold are present: ``has_<identifier>`` only when the record has
    the key, page counts only `with_pages`. Categorical values are text (None when missing), the others
    floats (NaN when missing).
    """
    spec = model_spec
    out: dict[str, Any] = {}
    for name in spec.categorical:
        out[name] = _as_text(record.get(name))
    for name in spec.numeric:
        out[name] = _as_float(record.get(name))
    for name in spec.boolean:
        out[name] = _as_flag(record.get(name), name)
    for name in spec.presence:
        if name in record:
            text = _as_text(record[name])
            out[f"has_{name}"] = 1.0 if text is not None and text.strip() != "" else 0.0
    created = _stamp(record[spec.time_column])
    out["created_month"] = float(created.month)
    out["created_weekday"] = float(created.day_of_week)
    out["created_hour"] = float(created.hour)

    cutoff = _ns(_stamp(as_of))
    counts = dict.fromkeys(EVENT_TYPES, 0)
    page_counts = dict.fromkeys(PAGE_TYPES, 0)
    n_events = 0
    latest: np.datetime64 | None = None
    for event in events or ():
        occurred_at: Any = event.get("occurred_at")
        if _missing(occurred_at) or pd.isna(occurred := pd.Timestamp(occurred_at)):
            continue
        moment = _ns(occurred)
        if not moment <= cutoff:
            continue
        n_events += 1
        latest = moment if latest is None or moment > latest else latest
        kind = _as_text(event.get("event_type"))
        if kind in counts:
            counts[kind] += 1
        if with_pages and kind == "page_view":
            page = _as_text(event.get("page"))
            if page in page_counts:
                page_counts[page] += 1
    for kind, n in counts.items():
        out[f"n_{kind}"] = float(n)
    if with_pages:
        for page, n in page_counts.items():
            out[f"n_page_{page}"] = float(n)
    out["n_events"] = float(n_events)
    out["hours_since_last_event"] = math.nan if latest is None else float((cutoff - latest) / _NS_PER_HOUR)
    return out


def _interp1d_linear(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """``scipy.interpolate.interp1d(xs, ys, kind="linear")`` at one point inside [xs[0], xs[-1]]."""
    if len(ys) == 1:
        return float(ys[0])
    hi = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    lo = hi - 1
    slope = (ys[hi] - ys[lo]) / (xs[hi] - xs[lo])
    return float(slope * (x - xs[lo]) + ys[lo])


def calibrate_one(calibrator: ProbabilityCalibrator, raw: float) -> float:
    """``calibrator.transform([raw])[0]`` with the same arithmetic, without scikit-learn's input checks."""
    model = calibrator.model_
    if calibrator.method_ == "isotonic":
        xs = model.X_thresholds_
        x = min(max(raw, float(model.X_min_)), float(model.X_max_))
        return _interp1d_linear(x, xs.tolist(), model.y_thresholds_.tolist())
    decision = _logit(np.array([raw], dtype=np.float64)) * model.coef_[0, 0] + model.intercept_[0]
    return float(expit(decision)[0])


def _rule_points(rule: PointRule, features: Mapping[str, Any]) -> float:
    """``careleads.rules._points._rule_points`` for one lead's feature values."""
    if rule.field not in features:
        return 0.0
    value = features[rule.field]
    if rule.per_event is not None:
        count = 0.0 if _missing(value) else float(value)
        cap = rule.maximum if rule.maximum is not None else math.inf
        return min(count * rule.per_event, cap)
    if rule.above is not None:
        return float(rule.points) if not _missing(value) and float(value) > rule.above else 0.0  # type: ignore[arg-type]
    points = rule.points
    assert isinstance(points, Mapping)
    if isinstance(value, str) or value is None:
        key = value or ""
    else:
        key = "" if _missing(value) else f"{value:g}"
    return float({str(k): float(v) for k, v in points.items()}.get(key, 0.0))


def _reason_text(rule: PointRule, value: Any) -> str:
    """``PointsScorer._reason_text`` for one lead's value."""
    name = rule.field.removeprefix("n_").replace("_", " ")
    if rule.per_event is not None:
        return f"{name} x{float(value):g}"
    if rule.above is not None:
        return f"{name} above {rule.above:g}"
    if isinstance(value, float) and value in (0.0, 1.0) and name.startswith("has "):
        return name if value else f"no {name[4:]}"
    shown = "<NA>" if value is None else str(value)
    return f"{name}: {shown.replace('_', ' ')}"


def points_one(
    scorer: PointsScorer, features: Mapping[str, Any], *, top: int = 3
) -> tuple[float, list[tuple[str, float]]]:
    """Total points and top reasons of one lead (:meth:`PointsScorer.points` and ``reasons``)."""
    table = scorer.table
    hours = features.get("hours_since_last_event", 0.0)
    hours = 0.0 if _missing(hours) else float(hours)
    decay = float((0.5 ** (np.array([hours], dtype=np.float64) / 24.0 / table.half_life_days))[0])
    rules = list(table.rules)
    values = []
    for rule in rules:
        pts = _rule_points(rule, features)
        values.append(pts * decay if rule.group == "intent" else pts)
    total = 0.0
    for pts in values:
        total += pts
    row = np.asarray(values, dtype=np.float64)
    order = np.argsort(-np.abs(row))[:top]
    reasons = [
        (_reason_text(rules[i], features.get(rules[i].field)), float(row[i])) for i in order if row[i] != 0
    ]
    return total, reasons


def _squash(points: float) -> float:
    return float(PointsScorer._squash(np.array([points], dtype=np.float64))[0])


class RecordScorer:
    """Scores one lead at a time with a fitted :class:`LeadModel`; the same results as the batch path.

    Build it once per model (see :func:`record_scorer`); it is safe to share between threads.

    Parameters
    ----------
    model : LeadModel
        The fitted model.
    """

    def __init__(self, model: LeadModel) -> None:
        self.model = model
        self.features = model.features
        self._position = {name: i for i, name in enumerate(self.features)}
        booster = model.scorer.booster_
        categories = model.preprocessor.categories_
        categorical = [name for name in self.features if name in categories]
        trained = list(getattr(booster, "pandas_categorical", None) or [])
        self.batch_only = bool(getattr(model.spec, "text", False)) or booster.feature_name() != self.features
        self._binary = str(booster.params.get("objective", "")) == "binary"  # predict() is the sigmoid
        if len(trained) != len(categorical):
            self.batch_only = True
        # value -> the code LightGBM sees: levels kept by the preprocessor, numbered as in training
        self._codes: dict[str, dict[str, float]] = {}
        for name, levels in zip(categorical, trained, strict=False):
            kept = set(categories[name])
            self._codes[name] = {str(v): float(i) for i, v in enumerate(levels) if str(v) in kept}
        self._names = [_plain(n) for n in self.features]
        self._iteration = model.scorer.n_estimators_

    def vector(self, features: Mapping[str, Any]) -> npt.NDArray[np.float64]:
        """The preprocessed 1-row matrix the booster reads (NaN where a value is missing or unseen)."""
        row = np.full((1, len(self.features)), np.nan, dtype=np.float64)
        for name, i in self._position.items():
            if name not in features:
                continue
            value = features[name]
            codes = self._codes.get(name)
            if codes is not None:
                text = _as_text(value)
                row[0, i] = codes.get(text, math.nan) if text is not None else math.nan
            else:
                row[0, i] = _as_float(value)
        return row

    def score(
        self,
        record: Mapping[str, Any],
        events: Sequence[Mapping[str, Any]] | None = None,
        *,
        as_of: pd.Timestamp | str | None = None,
        n_reasons: int = 3,
        with_pages: bool | None = None,
    ) -> dict[str, Any]:
        """Score one lead; the dict :func:`careleads.scoring.score_one` returns.

        Parameters
        ----------
        record : mapping
            The lead's clean fields (as after ingest), with the key and the creation time.
        events : sequence of mappings, optional
            The lead's events (``occurred_at``, ``event_type``, ``page``); None for a cold start.
        as_of : Timestamp, optional
            The scoring moment; default the creation time plus the target's offset.
        n_reasons : int
            Reasons, the largest contributions first.
        with_pages : bool, optional
            Whether the events carry pages (the batch path counts page views per page only when its
            events table has a ``page`` column); default: when `events` is given.

        Returns
        -------
        dict
            ``lead_id``, ``as_of``, ``probability``, ``score``, ``tier``, ``action``, ``reasons``,
            ``scored_by``, ``model_version``.
        """
        model = self.model
        spec = model.spec
        pages = events is not None if with_pages is None else with_pages
        created = _stamp(record[spec.time_column])
        when = (
            created + pd.Timedelta(hours=model.target.as_of_hours) if as_of is None else pd.Timestamp(as_of)
        )
        if model.cold_start is not None and when < created + pd.Timedelta(hours=model.target.as_of_hours):
            engaged = any(_stamp(e["occurred_at"]) <= when for e in events or ())
            if not engaged:
                return record_scorer(model.cold_start).score(
                    record, events, as_of=when, n_reasons=n_reasons, with_pages=with_pages
                )
        if self.batch_only:
            return self._batch(record, events, when, pages, n_reasons)
        features = lead_feature_values(spec, record, events, when, with_pages=pages)
        no_profile = (
            model.fallback is not None
            and "do_not_profile" in record
            and _no_profile(record["do_not_profile"])
        )
        if no_profile:
            assert model.fallback is not None
            points, reasons = points_one(model.fallback, features, top=n_reasons)
            probability = calibrate_one(model.fallback.calibrator_, _squash(points))
            if not n_reasons:
                reasons = []
            scored_by, version = "rules", model.fallback.table.version
        else:
            row = self.vector(features)
            booster = model.scorer.booster_
            reasons = []
            if n_reasons:
                contrib = np.asarray(booster.predict(row, num_iteration=self._iteration, pred_contrib=True))
                if self._binary:  # contributions add up to the raw score: one call gives both (~1e-15)
                    raw = float(expit(float(contrib[0].sum())))
                else:
                    raw = float(booster.predict(row, num_iteration=self._iteration)[0])
                values = contrib[0, :-1]
                order = np.argsort(-np.abs(values))[:n_reasons]
                reasons = [(self._names[i], float(values[i])) for i in order if abs(values[i]) > 1e-9]
            else:
                raw = float(booster.predict(row, num_iteration=self._iteration)[0])
            probability = calibrate_one(model.calibrator, raw)
            scored_by, version = "model", model.version
        tier = _tier(model, probability)
        return {
            "lead_id": record[spec.key],
            "as_of": when,
            "probability": probability,
            "score": round(probability * 100),
            "tier": tier,
            "action": model.tiers.actions[tier],
            "reasons": _format_reasons(reasons),
            "scored_by": scored_by,
            "model_version": version,
        }

    def _batch(
        self,
        record: Mapping[str, Any],
        events: Sequence[Mapping[str, Any]] | None,
        when: pd.Timestamp,
        pages: bool,
        n_reasons: int,
    ) -> dict[str, Any]:
        """The batch path (text features, or a model this scorer cannot read)."""
        from careleads.scoring import score_leads

        key = self.model.spec.key
        frame = pd.DataFrame([dict(record)])
        frame[self.model.spec.time_column] = pd.to_datetime(frame[self.model.spec.time_column])
        columns = ["lead_id", "occurred_at", "event_type", *(["page"] if pages else [])]
        rows = [{**{c: e.get(c) for c in columns[1:]}, "lead_id": record[key]} for e in events or ()]
        table = pd.DataFrame(rows, columns=columns)
        table["occurred_at"] = pd.to_datetime(table["occurred_at"])
        for column in columns:
            if column != "occurred_at":
                table[column] = table[column].astype("string")
        row = score_leads(self.model, frame, table, as_of=when, n_reasons=n_reasons).iloc[0].to_dict()
        return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def _no_profile(value: Any) -> bool:
    """``astype("boolean").fillna(False)`` of one value."""
    if _missing(value):
        return False
    if isinstance(value, bool | np.bool_ | int | float | np.number):
        return bool(value)
    raise InputError(f"do_not_profile: {value!r} is not a yes/no value; pass the lead's clean fields")


def _tier(model: LeadModel, probability: float) -> str:
    """``TierScheme.assign`` for one probability."""
    thresholds = model.tiers.thresholds_
    if thresholds is None:
        return str(model.tiers.assign(np.array([probability]))[0])  # raises NotFittedError
    index = sum(1 for edge in thresholds if probability < edge)
    return str(model.tiers.names[index])


_SCORERS: dict[int, tuple[LeadModel, RecordScorer]] = {}
_SCORERS_LOCK = threading.Lock()


def record_scorer(model: LeadModel) -> RecordScorer:
    """The cached :class:`RecordScorer` of `model` (built on first use, kept for that very object)."""
    entry = _SCORERS.get(id(model))
    if entry is not None and entry[0] is model:
        return entry[1]
    scorer = RecordScorer(model)
    with _SCORERS_LOCK:
        if len(_SCORERS) >= 16:
            _SCORERS.clear()
        _SCORERS[id(model)] = (model, scorer)
    return scorer


def score_record(
    model: LeadModel,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    n_reasons: int = 3,
) -> dict[str, Any]:
    """Score one lead with `model` through its cached :class:`RecordScorer` (see :meth:`RecordScorer.score`).

    Examples
    --------
    >>> # result = score_record(model, {"lead_id": "L1", "created_at": "2025-03-04T10:00", ...})
    >>> # result["tier"], result["reasons"]
    """
    return record_scorer(model).score(record, events, as_of=as_of, n_reasons=n_reasons)


def _latency(n: int = 2000) -> dict[str, Any]:
    """Train a small model on simulated leads and time the fast path and score_one on them."""
    import time

    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models import train_model
    from careleads.synth import generate

    data = generate(4000, seed=1)
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="careleads-fast-"))
    data.write(folder)
    tables = load_crm_folder(folder)
    model = train_model(tables.dataset(Target(), data_end=data.end), seed=0).model
    leads: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()} for row in tables.leads.head(n).to_dict("records")
    ]
    events_by_lead: dict[Any, list[dict[str, Any]]] = {}
    for event in tables.events.to_dict("records"):
        events_by_lead.setdefault(event["lead_id"], []).append({str(k): v for k, v in event.items()})
    scorer = record_scorer(model)

    def timed(call: Any, items: list[dict[str, Any]]) -> list[float]:
        out = []
        for lead in items:
            start = time.perf_counter()
            call(lead)
            out.append((time.perf_counter() - start) * 1000.0)
        return out

    for lead in leads[:50]:  # warm-up
        scorer.score(lead, events_by_lead.get(lead["lead_id"], []))
    fast = timed(lambda lead: scorer.score(lead, events_by_lead.get(lead["lead_id"], [])), leads)
    cold = timed(lambda lead: scorer.score(lead), leads)
    batch = timed(lambda lead: score_one(model, lead), leads[:100])

    def summary(values: list[float]) -> dict[str, float]:
        array = np.asarray(values)
        return {
            "n": len(values),
            "p50_ms": round(float(np.percentile(array, 50)), 3),
            "p99_ms": round(float(np.percentile(array, 99)), 3),
        }

    return {
        "record_scorer_with_events": summary(fast),
        "record_scorer_cold_start": summary(cold),
        "score_one_batch_path": summary(batch),
        "calibration": model.calibrator.method_,
        "trees": model.scorer.n_estimators_,
    }


if __name__ == "__main__":
    import json
    import sys

    sys.stdout.write(json.dumps(_latency(), indent=2) + "\n")
