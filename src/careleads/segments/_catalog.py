"""The segments as one catalogue: which tables, target and rule baseline each has, and one way to train,
score and decide each, shared by the command line, the batch file and the API.

- ``inbound``: new patient leads (the ``leads`` table), scored by the models of :mod:`careleads.models`.
- ``returning``: patient leads that went quiet and came back (:mod:`._returning`), scored at their return.
- ``partnership``: clinicians, practices and health systems (:mod:`._partnerships`), their own tables.

A model records its segment in its card (``segment``), and the registry keeps each segment's publications
apart (:func:`careleads.models.publication_key`), so a segment's model is found and published per segment.
When a segment has no published model, its rule baseline scores (the shipped points table of that segment:
uncalibrated points, and every decision says ``scored_by == "rules"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.datasets import load_crm_folder
from careleads.decisions import (
    BATCH_DECISION_COLUMNS,
    Decision,
    HardRules,
    Routing,
    decide_many,
    decisions_frame,
)
from careleads.dictionary import Dictionary, IngestResult, ingest_file, load_dictionary
from careleads.errors import InputError
from careleads.features import FeatureSpec, Target
from careleads.models import DEFAULT_SEGMENT, TrainingResult, publication_key, train_model
from careleads.rules import PointsScorer
from careleads.scoring import RulesBaseline, Scorer, rules_baseline
from careleads.segments._partnerships import (
    PARTNERSHIP_TARGET,
    load_partnership_folder,
    partnership_points_path,
    route_partnership,
    score_partnerships,
)
from careleads.segments._returning import (
    DEFAULT_QUIET_DAYS,
    build_reengagement_dataset,
    find_returns,
    score_returning,
)
from careleads.types import PathLikeStr

__all__ = [
    "SEGMENTS",
    "SEGMENT_NAMES",
    "Segment",
    "decide_segment",
    "get_segment",
    "score_segment",
    "score_segment_file",
    "segment_baseline",
    "segment_key",
    "train_segment",
]

SEGMENT_NAMES: tuple[str, ...] = (DEFAULT_SEGMENT, "returning", "partnership")


@dataclass(frozen=True)
class Segment:
    """One kind of lead: its dictionary tables, its default target and its rule baseline's points."""

    name: str
    leads_table: str
    events_table: str
    target: Target
    description: str
    points: str | None = None  # the shipped points table of its rule baseline (None: the patients')

    def points_scorer(self) -> PointsScorer:
        return PointsScorer(partnership_points_path() if self.points == "partnership" else None)


SEGMENTS: Mapping[str, Segment] = {
    DEFAULT_SEGMENT: Segment(
        DEFAULT_SEGMENT,
        "leads",
        "events",
        Target(),
        "new patient leads, scored from their arrival",
    ),
    "returning": Segment(
        "returning",
        "leads",
        "events",
        Target(),
        f"patient leads that did not convert and came back after {DEFAULT_QUIET_DAYS:g} quiet days or more, "
        "scored 24 hours after their return on their renewed activity and their decayed history",
    ),
    "partnership": Segment(
        "partnership",
        "partnership_leads",
        "partnership_events",
        PARTNERSHIP_TARGET,
        "clinicians, practices and health systems (their own tables), routed to business development",
        points="partnership",
    ),
}


def get_segment(name: str) -> Segment:
    """The segment called `name`.

    Raises
    ------
    InputError
        Naming the segments there are.
    """
    try:
        return SEGMENTS[name]
    except KeyError:
        raise InputError(f"unknown segment {name!r}; choose one of {list(SEGMENT_NAMES)}") from None


def segment_key(name: str, target: Target | None = None) -> str:
    """The registry key of a segment's published model (its default target unless `target`)."""
    goal = target or get_segment(name).target
    return publication_key(goal.name, name)


def segment_baseline(name: str, dictionary: Dictionary | None = None) -> RulesBaseline:
    """The rule baseline of a segment: its shipped points on its own features, uncalibrated."""
    segment = get_segment(name)
    table = (dictionary or load_dictionary()).table(segment.leads_table)
    return rules_baseline(FeatureSpec.from_table(table), segment.points_scorer())


def train_segment(
    name: str,
    folder: PathLikeStr,
    *,
    target: Target | None = None,
    dictionary: Dictionary | None = None,
    quarantine_dir: PathLikeStr | None = None,
    truth: pd.DataFrame | None = None,
    seed: int = 0,
    text: bool = False,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Train a returning-lead or partnership model (rule baseline, model, calibration, tiers) on an export.

    Parameters
    ----------
    name : {"returning", "partnership"}
        The segment. Returning leads are found in a patient export (``leads``, ``events``, ``outcomes``);
        partnership leads are read from ``partnership_leads``, ``partnership_events`` and
        ``partnership_outcomes``.
    folder : path
        The export folder (CSV or Parquet).
    target : Target, optional
        Default: the segment's (appointment scheduled within 30 days of the return; a meeting booked within
        30 days).
    dictionary, quarantine_dir
        As for :func:`careleads.datasets.load_crm_folder`.
    truth : DataFrame, optional
        The simulator's truth of the segment (``returns`` or ``partnership_truth``), for the oracle's figures.
    seed : int
        Seed of the model's sampling.
    text : bool
        Returning leads: also what their follow-up messages say (intent and urgency; the text classifiers
        are trained first, which takes a while). Off by default.

    Returns
    -------
    TrainingResult
        Its model's card records ``segment``.

    Raises
    ------
    InputError
        For the new-patient segment (train it with :func:`careleads.models.train_model`), or when the export
        holds no lead of the segment.
    """
    segment = get_segment(name)
    goal = target or segment.target
    say = progress or (lambda _message: None)
    say("ingesting")
    if name == "partnership":
        partners = load_partnership_folder(folder, dictionary=dictionary, quarantine_dir=quarantine_dir)
        say("building point-in-time features")
        dataset = partners.dataset(goal)
        points: Path | None = partnership_points_path()
    elif name == "returning":
        tables = load_crm_folder(folder, dictionary=dictionary, quarantine_dir=quarantine_dir)
        say("finding returns and building their features")
        dataset = build_reengagement_dataset(
            tables.leads,
            tables.events,
            tables.outcomes,
            table=tables.dictionary.table(segment.leads_table),
            target=goal,
            text=text,
        )
        points = None
    else:
        raise InputError(f"train_segment trains 'returning' or 'partnership', not {name!r}")
    if not len(dataset.lead_id):
        raise InputError(
            f"{folder}: no {name} leads to train on ({segment.description}); "
            "simulate some with `careleads generate --returning-share 0.2 --partnerships 5000`"
        )
    result = train_model(dataset, truth=truth, seed=seed, points_path=points, progress=say)
    result.model.card["segment"] = name
    return result


def score_segment(
    name: str,
    scorer: Scorer,
    leads: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    outcomes: pd.DataFrame | None = None,
    n_reasons: int = 3,
    quiet_days: float = DEFAULT_QUIET_DAYS,
) -> pd.DataFrame:
    """Score clean leads of a segment with its model or rule baseline; one row per scored lead.

    New patient and partnership leads are scored at the scorer's scoring moment; returning leads at their
    return's (:func:`find_returns`), and a lead without a return is not scored (it is a new lead, or still
    quiet).

    Returns
    -------
    DataFrame
        ``DECISION_COLUMNS`` (and ``quiet_days`` for returning leads).
    """
    get_segment(name)
    if name == "partnership":
        return score_partnerships(scorer, leads, events, n_reasons=n_reasons)
    if name == "returning":
        if events is None:
            raise InputError("returning leads are found in their events: give the leads' events")
        spec = scorer.spec
        returns = find_returns(
            leads,
            events,
            quiet_days=quiet_days,
            as_of_hours=scorer.target.as_of_hours if scorer.target.as_of_hours else 24,
            outcomes=outcomes,
            outcome=scorer.target.outcome,
            key=spec.key,
            time_column=spec.time_column,
        )
        return score_returning(scorer, leads, events, returns, n_reasons=n_reasons)
    from careleads.scoring import score_leads

    return score_leads(scorer, leads, events, n_reasons=n_reasons)


def decide_segment(
    name: str,
    leads: pd.DataFrame,
    scored: pd.DataFrame,
    *,
    routing: Routing | None = None,
    hard_rules: HardRules | None = None,
    now: pd.Timestamp | str | None = None,
    open_counts: Mapping[str, int] | None = None,
) -> list[Decision]:
    """The decisions of scored leads of a segment: hard rules, routing (partnership leads to business
    development with their scope's script), consent; one per row of `scored`."""
    get_segment(name)
    if name == "partnership":
        return route_partnership(
            leads, scored, routing=routing, hard_rules=hard_rules, now=now, open_counts=open_counts
        )
    return decide_many(
        leads, scored, routing=routing, hard_rules=hard_rules, now=now, open_counts=open_counts
    )


def _read(
    path: PathLikeStr | None, table: str, dictionary: Dictionary, quarantine_dir: Path
) -> IngestResult | None:
    return None if path is None else ingest_file(path, dictionary, table, quarantine_dir=quarantine_dir)


def score_segment_file(
    name: str,
    leads_path: PathLikeStr,
    *,
    scorer: Scorer,
    out_path: PathLikeStr,
    events_path: PathLikeStr | None = None,
    outcomes_path: PathLikeStr | None = None,
    dictionary: Dictionary | None = None,
    decisions: bool = True,
    n_reasons: int = 0,
    now: pd.Timestamp | str | None = None,
) -> dict[str, Any]:
    """Score a lead file of a returning or partnership segment in one pass (in memory), with its decisions.

    The files are read through the segment's dictionary tables; bad rows go to
    ``<file stem>.quarantine.csv`` beside `out_path`. The output (Parquet, or CSV when `out_path` ends in
    ``.csv``) has one row per scored lead: ``DECISION_COLUMNS`` and, with `decisions`, the batch decision
    columns (hard rules, route, review).

    Returns
    -------
    dict
        ``segment``, ``n_rows`` (lead rows read), ``n_quarantined``, ``n_scored``, ``n_not_scored`` (for
        returning leads: no return in their events), ``scored_by`` (rows per scorer) and ``out_path``.

    Raises
    ------
    InputError
        For new patient leads (score them with :func:`careleads.engines.score_file`, streamed).
    """
    segment = get_segment(name)
    if name == DEFAULT_SEGMENT:
        raise InputError("score_segment_file scores returning or partnership leads; new leads: score_file")
    dictionary = dictionary or load_dictionary()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    leads = _read(leads_path, segment.leads_table, dictionary, out.parent)
    assert leads is not None
    events = _read(events_path, segment.events_table, dictionary, out.parent)
    outcomes = _read(outcomes_path, "outcomes", dictionary, out.parent)
    scored = score_segment(
        name,
        scorer,
        leads.clean,
        None if events is None else events.clean,
        outcomes=None if outcomes is None else outcomes.clean,
        n_reasons=n_reasons,
    )
    frame = scored.reset_index(drop=True)
    if decisions and len(frame):
        decided = decisions_frame(decide_segment(name, leads.clean, frame, now=now))
        # the decision's action (an override's, or the tier's) replaces the tier's
        frame = pd.concat([frame.drop(columns="action"), decided[list(BATCH_DECISION_COLUMNS)]], axis=1)
    frame["lead_id"] = frame["lead_id"].astype("string")
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
    n_quarantined = sum(r.summary.n_quarantined for r in (leads, events, outcomes) if r is not None)
    return {
        "segment": name,
        "n_rows": int(leads.summary.n_read),
        "n_quarantined": int(n_quarantined),
        "n_scored": len(frame),
        "n_not_scored": int(len(leads.clean) - len(frame)),
        "scored_by": {str(k): int(v) for k, v in frame["scored_by"].value_counts().items()}
        if len(frame)
        else {},
        "out_path": str(out),
    }
