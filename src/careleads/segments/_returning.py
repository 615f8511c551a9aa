"""Returning leads: leads that did not convert and come back after a quiet period, re-scored when they return.

A return is the first activity after at least ``quiet_days`` without any (a pricing page, guided intake
started again, a follow-up question in chat), later than the lead's own first scoring moment, by a lead
that has not reached the target outcome. It is scored ``as_of_hours`` after it began, on

- the lead's inbound signals (who the lead is, as for a new lead),
- its renewed activity only (counts from the return to the scoring moment, with the same names as the
  engagement features of a new lead, so the points baseline scores them alike),
- with ``text``, what its follow-up messages say (intent and urgency, redacted first; see
  :func:`text_features`),
- the time since its last contact and since it was created, and its earlier engagement with decayed
  weight: each earlier event counts ``0.5 ** (age_days / half_life_days)``, the half-life of the points
  baseline, so engagement points fade with inactivity.

Scoring such a lead "as new" instead means running the new-lead model on all its history as if it had just
arrived; :func:`evaluate_reengagement` compares both on a later window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.dictionary import TableSpec
from careleads.errors import InputError
from careleads.features import (
    FeatureSpec,
    LeadDataset,
    Target,
    assemble_dataset,
    build_features,
    engagement_features,
    lead_features,
    text_features,
)
from careleads.models import LeadModel, TrainingResult
from careleads.rules import load_points
from careleads.scoring import Scorer, decide_scores
from careleads.stats import binary_metrics
from careleads.text import train_text_classifiers

if TYPE_CHECKING:
    from careleads.text import IntentClassifier, UrgencyClassifier

__all__ = [
    "DEFAULT_QUIET_DAYS",
    "RETURN_COLUMNS",
    "build_reengagement_dataset",
    "evaluate_reengagement",
    "find_returns",
    "first_returns",
    "reengagement_features",
    "score_returning",
]

RETURN_COLUMNS: tuple[str, ...] = ("lead_id", "last_contact_at", "returned_at", "as_of", "quiet_days")
DEFAULT_QUIET_DAYS = 60.0


def find_returns(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    *,
    quiet_days: float = DEFAULT_QUIET_DAYS,
    as_of_hours: int = 24,
    outcomes: pd.DataFrame | None = None,
    outcome: str = "appointment_scheduled",
    key: str = "lead_id",
    time_column: str = "created_at",
) -> pd.DataFrame:
    """The first return of each lead that went quiet for at least `quiet_days` and then became active again.

    Parameters
    ----------
    leads, events : DataFrame
        Clean leads (``key``, ``time_column``) and events (``lead_id``, ``occurred_at``).
    quiet_days : float
        Days without any event (counted from the previous event, or from creation) that make the next
        event a return.
    as_of_hours : int
        Hours after the return at which it is scored; also, a return must begin after the lead's own first
        scoring moment (creation plus these hours).
    outcomes : DataFrame, optional
        When given, leads that reached `outcome` before they returned are left out (they converted).
    outcome, key, time_column : str
        The target outcome, the lead id column and the creation time column.

    Returns
    -------
    DataFrame
        One row per returning lead: ``lead_id``, ``last_contact_at``, ``returned_at``, ``as_of`` and
        ``quiet_days``, in order of return.
    """
    for name, frame, needed in (
        ("leads", leads, (key, time_column)),
        ("events", events, ("lead_id", "occurred_at")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise InputError(f"find_returns: the {name} table lacks {missing}; pass ingested tables")
    created = pd.Series(
        pd.to_datetime(leads[time_column]).to_numpy(dtype="datetime64[ns]"),
        index=leads[key].astype("string").to_numpy(),
    )
    created = created[~created.index.duplicated()]
    frame = pd.DataFrame(
        {
            "lead_id": events["lead_id"].astype("string").to_numpy(),
            "at": pd.to_datetime(events["occurred_at"]).to_numpy(dtype="datetime64[ns]"),
        }
    )
    frame = frame.loc[frame["lead_id"].isin(created.index)].sort_values(["lead_id", "at"], kind="stable")
    ids = frame["lead_id"].to_numpy()
    at = frame["at"].to_numpy(dtype="datetime64[ns]")
    rows, previous, gap = first_returns(
        ids, at, created.reindex(ids).to_numpy(), quiet_days=quiet_days, as_of_hours=as_of_hours
    )
    out = pd.DataFrame(
        {
            "lead_id": ids[rows],
            "last_contact_at": previous,
            "returned_at": at[rows],
            "as_of": at[rows] + np.timedelta64(as_of_hours, "h"),
            "quiet_days": gap,
        }
    )
    if outcomes is not None and len(out):
        reached = outcomes.loc[outcomes["outcome"].astype("string") == outcome]
        first = pd.to_datetime(reached["occurred_at"]).groupby(reached["lead_id"].astype("string")).min()
        before = first.reindex(out["lead_id"]).to_numpy(dtype="datetime64[ns]")
        converted = ~np.isnat(before) & (before <= out["returned_at"].to_numpy())
        out = out.loc[~converted]
    return out.sort_values("returned_at", kind="stable").reset_index(drop=True)


def first_returns(
    ids: npt.NDArray[Any],
    at: npt.NDArray[np.datetime64],
    born: npt.NDArray[np.datetime64],
    *,
    quiet_days: float = DEFAULT_QUIET_DAYS,
    as_of_hours: int = 24,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
    """The return rule on arrays: each lead's first event after `quiet_days` without any (counted from its
    previous event, or from its creation `born`), later than its own first scoring moment.

    `ids`, `at` and `born` (the lead's creation time on each of its event rows) must be sorted by lead, then
    time. :func:`find_returns` (a table) and one lead's events in the service both go through it.

    Returns
    -------
    (rows, previous, gap)
        Positions of the returning events (one per lead at most), the moment of each one's previous
        contact, and the quiet days before it.
    """
    if quiet_days <= 0:
        raise InputError(f"find_returns: quiet_days must be positive, got {quiet_days}")
    at = at.astype("datetime64[ns]")
    born = born.astype("datetime64[ns]")
    same = np.zeros(len(ids), dtype=bool)
    same[1:] = ids[1:] == ids[:-1]
    previous = born.copy()
    previous[1:] = np.where(same[1:], at[:-1], born[1:])
    gap = (at - previous) / np.timedelta64(1, "D")
    is_return = (gap >= quiet_days) & (at > born + np.timedelta64(as_of_hours, "h"))
    hits = np.flatnonzero(is_return)
    first = hits[np.unique(ids[hits], return_index=True)[1]] if len(hits) else hits
    first = np.sort(first)
    return first.astype(np.intp), previous[first], gap[first].astype(np.float64)


def _half_life_days(half_life_days: float | None) -> float:
    if half_life_days is not None:
        if half_life_days <= 0:
            raise InputError(f"half_life_days must be positive, got {half_life_days}")
        return float(half_life_days)
    return load_points().half_life_days


def _rows_of(leads: pd.DataFrame, returns: pd.DataFrame, key: str) -> pd.DataFrame:
    ids = pd.Index(leads[key].astype("string"))
    position = ids.get_indexer(pd.Index(returns["lead_id"].astype("string")))
    if (position < 0).any():
        absent = returns["lead_id"][position < 0].head(5).tolist()
        raise InputError(
            f"{int((position < 0).sum())} returning leads are not in the leads table, e.g. {absent}"
        )
    return leads.take(position).reset_index(drop=True)


def reengagement_features(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    returns: pd.DataFrame,
    spec: FeatureSpec,
    *,
    half_life_days: float | None = None,
    text: bool = True,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
) -> pd.DataFrame:
    """Features of each returning lead at its return's scoring moment (one row per row of `returns`).

    Parameters
    ----------
    leads, events : DataFrame
        Clean leads and events.
    returns : DataFrame
        Returns as found by :func:`find_returns` (``lead_id``, ``last_contact_at``, ``returned_at``,
        ``as_of``).
    spec : FeatureSpec
        Which lead fields are inbound features (see :meth:`FeatureSpec.from_table`).
    half_life_days : float, optional
        Half-life of earlier engagement; default the points baseline's (14 days).
    text : bool
        Add the question's intent and urgency and what the follow-up messages say.
    classifiers : (IntentClassifier, UrgencyClassifier), optional
        For the text features; default the ones trained on simulator texts.

    Returns
    -------
    DataFrame
        Inbound features; ``n_<event type>``, ``n_page_<page>``, ``n_events`` and
        ``hours_since_last_event`` of the renewed activity only; ``days_since_last_contact``,
        ``days_since_created``, ``prior_n_events`` and ``prior_engagement_decayed``; and with `text` the
        question and message features of :func:`careleads.features.text_features` (messages since the
        return only).
    """
    missing = [c for c in RETURN_COLUMNS if c not in returns.columns]
    if missing:
        raise InputError(f"reengagement_features: returns lack {missing}; build them with find_returns")
    half_life = _half_life_days(half_life_days)
    rows = _rows_of(leads, returns, spec.key)
    as_of = pd.Series(pd.to_datetime(returns["as_of"]).to_numpy(dtype="datetime64[ns]"))
    returned_at = pd.Series(
        pd.to_datetime(returns["returned_at"]).to_numpy(dtype="datetime64[ns]"),
        index=returns["lead_id"].astype("string").to_numpy(),
    )
    ids = returns["lead_id"].astype("string").reset_index(drop=True)
    ev_ids = events["lead_id"].astype("string")
    mine = ev_ids.isin(returned_at.index).to_numpy()
    ev = events.loc[mine]
    ev_at = pd.to_datetime(ev["occurred_at"]).to_numpy(dtype="datetime64[ns]")
    start = returned_at.reindex(ev["lead_id"].astype("string")).to_numpy()
    renewed = ev.loc[ev_at >= start]
    prior_at, prior_ids = ev_at[ev_at < start], ev["lead_id"].astype("string").to_numpy()[ev_at < start]

    parts = [lead_features(rows, spec), engagement_features(ids, as_of, renewed)]
    scoring_at = pd.Series(as_of.to_numpy(), index=ids.to_numpy())
    age_days = (scoring_at.reindex(prior_ids).to_numpy() - prior_at) / np.timedelta64(1, "D")
    weights = pd.Series(0.5 ** (age_days / half_life)).groupby(prior_ids).sum()
    counts = pd.Series(np.ones(len(prior_ids))).groupby(prior_ids).sum()
    created = pd.to_datetime(rows[spec.time_column]).to_numpy(dtype="datetime64[ns]")
    history = pd.DataFrame(
        {
            "days_since_last_contact": (
                as_of.to_numpy() - pd.to_datetime(returns["last_contact_at"]).to_numpy(dtype="datetime64[ns]")
            )
            / np.timedelta64(1, "D"),
            "days_since_created": (as_of.to_numpy() - created) / np.timedelta64(1, "D"),
            "prior_n_events": counts.reindex(ids.to_numpy()).fillna(0.0).to_numpy(),
            "prior_engagement_decayed": weights.reindex(ids.to_numpy()).fillna(0.0).to_numpy(),
        }
    )
    parts.append(history)
    if text:
        said = text_features(rows, renewed, as_of, classifiers=classifiers, key=spec.key)
        parts.append(said.rename(columns=lambda c: c if c.startswith("question_") else f"renewed_{c}"))
    out = pd.concat([p.reset_index(drop=True) for p in parts], axis=1)
    return out.set_axis(returns.index, axis=0)


def build_reengagement_dataset(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    table: TableSpec,
    target: Target | None = None,
    data_end: pd.Timestamp | None = None,
    quiet_days: float = DEFAULT_QUIET_DAYS,
    half_life_days: float | None = None,
    text: bool = False,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
    drop: Sequence[str] = (),
) -> LeadDataset:
    """Point-in-time data set of returning leads: features at each return's scoring moment, labels after.

    The label is `target` (default appointment_scheduled within 30 days) counted from the return's
    scoring moment; returns whose window is still open at `data_end` (default: the latest time in the
    tables, :func:`careleads.features.end_of_data`) are censored. The result trains with
    :func:`careleads.models.train_model` like any other data set (its ``as_of`` is the return's).
    With `text` (off by default, as for new leads), what the question and the follow-up messages say join
    the features; the classifiers (`classifiers`, default trained here) travel with the spec and the model.
    """
    target = target or Target()
    spec = FeatureSpec.from_table(table, drop=drop, text=text)
    if text:
        # as for new leads: the text classifiers are trained with the model and travel with it
        classifiers = classifiers if classifiers is not None else train_text_classifiers()
        spec = replace(spec, text_classifiers=classifiers)
    returns = find_returns(
        leads,
        events,
        quiet_days=quiet_days,
        as_of_hours=target.as_of_hours,
        outcomes=outcomes,
        outcome=target.outcome,
        key=spec.key,
        time_column=spec.time_column,
    )

    def features(
        leads: pd.DataFrame, events: pd.DataFrame, moments: pd.DataFrame, spec: FeatureSpec
    ) -> pd.DataFrame:
        return reengagement_features(
            leads, events, moments, spec, half_life_days=half_life_days, text=text, classifiers=classifiers
        )

    return assemble_dataset(
        leads,
        events,
        outcomes,
        moments=returns,
        features=features,
        spec=spec,
        target=target,
        data_end=data_end,
    )


def score_returning(
    model: Scorer,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    returns: pd.DataFrame,
    *,
    half_life_days: float | None = None,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Score returning leads with a re-engagement model (or the rule baseline of
    :func:`careleads.segments.segment_baseline`), ready for :func:`careleads.decisions.decide_many`.

    A lead marked "do not profile" gets the model's rule fallback instead, and ``scored_by`` says so.

    Returns
    -------
    DataFrame
        ``lead_id``, ``as_of``, ``probability``, ``score``, ``tier``, ``action``, ``reasons``,
        ``scored_by``, ``model_version``, ``quiet_days`` (one row per return).
    """
    # a rule baseline reads no text features
    text = isinstance(model, LeadModel) and any(
        name.startswith("renewed_n_messages") for name in model.features
    )
    classifiers = classifiers if classifiers is not None else model.spec.text_classifiers
    X = reengagement_features(
        leads, events, returns, model.spec, half_life_days=half_life_days, text=text, classifiers=classifiers
    )
    rows = _rows_of(leads, returns, model.spec.key)
    scored = decide_scores(
        model,
        X,
        lead_ids=returns["lead_id"],
        as_of=returns["as_of"],
        do_not_profile=rows["do_not_profile"] if "do_not_profile" in rows else None,
        n_reasons=n_reasons,
    )
    scored["quiet_days"] = returns["quiet_days"].to_numpy()
    return scored


def evaluate_reengagement(
    training: TrainingResult,
    dataset: LeadDataset,
    new_model: LeadModel,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    *,
    truth: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """AUC on the returning leads of the re-engagement test window, re-scored versus scored as new.

    Parameters
    ----------
    training : TrainingResult
        :func:`careleads.models.train_model` on `dataset` (its test window is used).
    dataset : LeadDataset
        The returning leads (:func:`build_reengagement_dataset`).
    new_model : LeadModel
        The new-lead model; "as new" runs it on each returning lead's whole history at the return's
        scoring moment, as if the lead had just arrived.
    leads, events : DataFrame
        Clean tables.
    truth : DataFrame, optional
        The simulator's ``returns`` truth (``lead_id`` and ``p_<target>``); adds the oracle's AUC.

    Returns
    -------
    dict
        ``n``, ``positive_rate``, ``auc_renewed`` (the re-engagement model), ``auc_as_new`` (the new-lead
        model), ``auc_rules`` (points baseline on the renewed features) and, with `truth`, ``auc_oracle``.
    """
    test = training.split.test
    frame = training.test_frame
    rows = _rows_of(leads, pd.DataFrame({"lead_id": dataset.lead_id[test].to_numpy()}), new_model.spec.key)
    as_of = pd.Series(dataset.as_of[test].to_numpy())
    X_new = build_features(rows, events, as_of, new_model.spec)
    as_new = new_model.predict_proba(X_new)
    y = frame["y"].to_numpy()
    result: dict[str, Any] = {
        "n": int(len(y)),
        "positive_rate": float(np.mean(y)) if len(y) else float("nan"),
        "auc_renewed": binary_metrics(y, frame["model"].to_numpy()).auc,
        "auc_as_new": binary_metrics(y, as_new).auc,
        "auc_rules": binary_metrics(y, frame["rules"].to_numpy()).auc,
        "test_start": training.split.test_start.isoformat(),
    }
    column = dataset.target.truth_column
    if truth is not None and column in truth:
        oracle = truth.drop_duplicates("lead_id").set_index("lead_id")[column]
        p = oracle.reindex(frame["lead_id"].astype(str)).to_numpy()
        known = ~np.isnan(p)
        if known.sum() and len(np.unique(y[known])) == 2:
            result["auc_oracle"] = binary_metrics(y[known], p[known]).auc
            result["oracle_coverage"] = float(known.mean())
    return result
