"""Partnership (B2B) leads: clinicians, practices and health systems, their model and their routing.

Their target is a meeting booked with business development within a window (default 30 days, scored one
day after the lead arrived). They have their own tables (``partnership_leads`` and ``partnership_events``
in the shipped dictionary; outcomes use the ``outcomes`` table with ``meeting_booked``), their own
features (job-role match, webinar and event attendance, case-study downloads, topic interest), their own
rule baseline (``data/partnership_points.yaml``) and their own model, trained like any other with
:func:`careleads.models.train_model`.

Routing: the shipped ``routing.yaml`` sends partnership leads to business development by lead type, tier
and region (BD queues per region, the enterprise team for health systems and national organisations).
The partnership scope then picks the meeting script and brief: a research collaboration is prepared
differently from a referral network (:data:`SCOPE_SCRIPTS`). Hard rules still run first: a lead without a
phone number or e-mail goes to data completion, whatever its score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from careleads.datasets import ingest_folder
from careleads.decisions import Decision, HardRules, Routing, decide_many
from careleads.dictionary import Dictionary, IngestResult, TableSpec, load_dictionary
from careleads.features import (
    FeatureSpec,
    LeadDataset,
    Target,
    assemble_dataset,
    engagement_features,
    lead_features,
    scoring_moments,
)
from careleads.models import TrainingResult, train_model
from careleads.scoring import Scorer, score_leads
from careleads.synth import PARTNERSHIP_EVENT_TYPES, PARTNERSHIP_PAGES, TARGET_ROLES
from careleads.types import PathLikeStr

__all__ = [
    "PARTNERSHIP_TARGET",
    "SCOPE_SCRIPTS",
    "PartnershipTables",
    "build_partnership_dataset",
    "load_partnership_folder",
    "partnership_features",
    "partnership_points_path",
    "route_partnership",
    "score_partnerships",
    "train_partnership_model",
]

PARTNERSHIP_TARGET = Target(outcome="meeting_booked", window_days=30, as_of_hours=24)
#: Partnership scope -> (meeting call script, meeting brief form) used by business development.
SCOPE_SCRIPTS: Mapping[str, tuple[str, str]] = {
    "referral_network": ("bd_referral_network_v1", "brief_referral_network_v1"),
    "clinical_affiliation": ("bd_clinical_affiliation_v1", "brief_affiliation_v1"),
    "telehealth_services": ("bd_telehealth_v1", "brief_telehealth_v1"),
    "research_collaboration": ("bd_research_v1", "brief_research_v1"),
    "employer_health": ("bd_employer_health_v1", "brief_employer_health_v1"),
}
#: File name -> the dictionary table its rows are checked against.
TABLES: Mapping[str, str] = {
    "partnership_leads": "partnership_leads",
    "partnership_events": "partnership_events",
    "partnership_outcomes": "outcomes",
}


def partnership_points_path() -> Path:
    """The shipped points table of the partnership rule baseline."""
    return Path(str(resources.files("careleads").joinpath("data/partnership_points.yaml")))


@dataclass(frozen=True)
class PartnershipTables:
    """The ingested partnership tables and each one's ingest result (with its quarantine)."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    results: dict[str, IngestResult]
    dictionary: Dictionary

    def dataset(
        self, target: Target = PARTNERSHIP_TARGET, *, data_end: pd.Timestamp | None = None
    ) -> LeadDataset:
        """Point-in-time features and labels of `target` (default: meeting booked within 30 days)."""
        return build_partnership_dataset(
            self.leads,
            self.events,
            self.outcomes,
            table=self.dictionary.table("partnership_leads"),
            target=target,
            data_end=data_end,
        )


def load_partnership_folder(
    folder: PathLikeStr, *, dictionary: Dictionary | None = None, quarantine_dir: PathLikeStr | None = None
) -> PartnershipTables:
    """Ingest ``partnership_leads``, ``partnership_events`` and ``partnership_outcomes`` (CSV or Parquet).

    Leads and events go through their own dictionary tables; outcomes through the ``outcomes`` table.
    """
    dictionary = dictionary or load_dictionary()
    results = ingest_folder(
        folder,
        TABLES,
        dictionary=dictionary,
        quarantine_dir=quarantine_dir,
        example="write them with generate_partnerships(...).write()",
    )
    return PartnershipTables(
        leads=results["partnership_leads"].clean,
        events=results["partnership_events"].clean,
        outcomes=results["partnership_outcomes"].clean,
        results=results,
        dictionary=dictionary,
    )


def partnership_features(
    leads: pd.DataFrame, events: pd.DataFrame | None, as_of: pd.Series, spec: FeatureSpec
) -> pd.DataFrame:
    """Features of partnership leads as of `as_of`: inbound fields, job-role match and engagement.

    Returns
    -------
    DataFrame
        The inbound features of `spec`, ``job_role_match`` (1 when the contact's role decides for that kind
        of organisation, see :data:`careleads.synth.TARGET_ROLES`), and counts of each
        partnership event type (``n_webinar_attended``, ``n_event_attended``, ``n_case_study_download``,
        ...) and page (``n_page_case_studies``, ...) up to `as_of`, with ``hours_since_last_event``.
    """
    if events is None:
        events = pd.DataFrame({"lead_id": [], "occurred_at": [], "event_type": [], "page": []})
    inbound = lead_features(leads, spec)
    if "job_role" in leads and "lead_type" in leads:
        pairs = zip(leads["lead_type"].astype("string"), leads["job_role"].astype("string"), strict=True)
        match = [
            np.nan if pd.isna(t) or pd.isna(r) else float(str(r) in TARGET_ROLES.get(str(t), ()))
            for t, r in pairs
        ]
        inbound["job_role_match"] = np.asarray(match, dtype="float64")
    engaged = engagement_features(
        leads[spec.key], as_of, events, event_types=PARTNERSHIP_EVENT_TYPES, page_types=PARTNERSHIP_PAGES
    )
    return pd.concat([inbound, engaged], axis=1)


def build_partnership_dataset(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    table: TableSpec,
    target: Target = PARTNERSHIP_TARGET,
    data_end: pd.Timestamp | None = None,
) -> LeadDataset:
    """The point-in-time data set of partnership leads (`table`: the ``partnership_leads`` TableSpec).

    One row per lead, scored ``target.as_of_hours`` after it arrived, with :func:`partnership_features`;
    `data_end` defaults to the latest time in the tables (:func:`careleads.features.end_of_data`).
    """
    spec = FeatureSpec.from_table(table)
    leads = leads.reset_index(drop=True)

    def features(
        leads: pd.DataFrame, events: pd.DataFrame, moments: pd.DataFrame, spec: FeatureSpec
    ) -> pd.DataFrame:
        return partnership_features(leads, events, moments["as_of"], spec)

    return assemble_dataset(
        leads,
        events,
        outcomes,
        moments=scoring_moments(leads, spec, target),
        features=features,
        spec=spec,
        target=target,
        data_end=data_end,
    )


def train_partnership_model(
    dataset: LeadDataset,
    *,
    truth: pd.DataFrame | None = None,
    seed: int = 0,
    points_path: PathLikeStr | None = None,
    test_fraction: float = 0.25,
    valid_fraction: float = 0.15,
) -> TrainingResult:
    """Train the partnership rule baseline and model with a time split (see :func:`train_model`).

    `points_path` defaults to the shipped partnership points table; `truth` (the simulator's
    ``partnership_truth``) adds the oracle's figures.
    """
    return train_model(
        dataset,
        truth=truth,
        seed=seed,
        points_path=points_path or partnership_points_path(),
        test_fraction=test_fraction,
        valid_fraction=valid_fraction,
    )


def score_partnerships(
    model: Scorer,
    leads: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Score partnership leads with their model (or their rule baseline, see
    :func:`careleads.segments.segment_baseline`); one row per lead with the columns decide_many expects.

    Returns
    -------
    DataFrame
        ``lead_id``, ``as_of``, ``probability``, ``score``, ``tier``, ``action``, ``reasons``,
        ``scored_by`` and ``model_version``.
    """
    return score_leads(
        model,
        leads,
        events,
        as_of=as_of,
        n_reasons=n_reasons,
        features=partnership_features,
    )


def route_partnership(
    leads: pd.DataFrame,
    scored: pd.DataFrame,
    *,
    routing: Routing | None = None,
    hard_rules: HardRules | None = None,
    now: pd.Timestamp | str | None = None,
    open_counts: Mapping[str, int] | None = None,
    scope_scripts: Mapping[str, tuple[str, str]] | None = None,
) -> list[Decision]:
    """Route scored partnership leads to business development by region, lead type and partnership scope.

    The decision engine (:func:`careleads.decisions.decide_many`) applies the hard rules and the routing
    file (partnership rules match on ``lead_type``, ``tier`` and ``region``); the partnership scope then
    sets the meeting script and brief of business-development routes (`scope_scripts`, default
    :data:`SCOPE_SCRIPTS`). Overridden leads (data completion, review) keep their route's script.

    Parameters
    ----------
    leads : DataFrame
        Clean partnership leads (``lead_id``, ``lead_type``, ``region``, ``partnership_scope``, contact
        fields and consent).
    scored : DataFrame
        The output of :func:`score_partnerships`.
    routing, hard_rules, now, open_counts
        As for :func:`careleads.decisions.decide_many`.
    scope_scripts : mapping, optional
        Partnership scope -> (call script, brief form).

    Returns
    -------
    list of Decision
    """
    scripts = SCOPE_SCRIPTS if scope_scripts is None else scope_scripts
    decisions = decide_many(
        leads, scored, routing=routing, hard_rules=hard_rules, now=now, open_counts=open_counts
    )
    if "partnership_scope" not in leads:
        return decisions
    scope_of = dict(zip(leads["lead_id"].astype(str), leads["partnership_scope"].astype(object), strict=True))
    out = []
    for decision in decisions:
        scope = scope_of.get(decision.lead_id)
        forced = any(o.effect == "force_route" for o in decision.overrides)
        meeting = decision.route.kind == "intake" and decision.route.queue.startswith("bd_")
        if meeting and not forced and isinstance(scope, str) and scope in scripts:
            script, brief = scripts[scope]
            decision = replace(
                decision,
                route=replace(decision.route, call_script=script, intake_form=brief),
                notes=(*decision.notes, f"partnership scope {scope}: script {script}"),
            )
        out.append(decision)
    return out
