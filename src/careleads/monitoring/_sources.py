"""What monitoring reads: leads, events, outcomes, the model and the decisions written at scoring time.

A source (:class:`FolderSource` for a CRM export folder and a model registry folder; the store offers the
same :class:`MonitorSource` protocol) loads :class:`MonitorData`; :func:`scored_frame` turns it into one row
per lead at its scoring moment, with the probability and tier it was given, its label (or that its outcome
window is still open) and the follow-up figures that business outcomes need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from careleads.datasets import load_crm_folder
from careleads.dictionary import read_table
from careleads.errors import InputError, NotFoundError
from careleads.features import FeatureSpec, assemble_dataset, build_features, end_of_data, scoring_moments
from careleads.models import LeadModel, ModelRegistry
from careleads.settings import MonitorSettings

__all__ = [
    "DECISION_FIELDS",
    "FolderSource",
    "MonitorData",
    "MonitorSource",
    "resolve_model",
    "scored_frame",
]


#: Optional columns of a decisions file, by meaning; the first name present is used.
DECISION_FIELDS: dict[str, tuple[str, ...]] = {
    "manual_review": ("review_required", "manual_review"),
    "override": ("override", "overrides", "override_rule"),
    "feedback": ("feedback", "feedback_label"),
    "sla_breached": ("sla_breached", "sla_breach"),
    "hours_to_first_contact": ("hours_to_first_contact",),
}


@dataclass(frozen=True)
class MonitorData:
    """What monitoring reads, whatever the source: clean leads, events and outcomes, the model, decisions.

    ``decisions`` (optional) holds what scoring decided at the time, one row per lead: ``lead_id``,
    ``probability`` and ``tier``, and any of the columns named in :data:`DECISION_FIELDS`.
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    model: LeadModel
    data_end: pd.Timestamp
    decisions: pd.DataFrame | None = None
    description: str = ""


class MonitorSource(Protocol):
    """Anything that can load :class:`MonitorData` (an export folder, the store)."""

    def load(self) -> MonitorData:
        """Read the data and the model."""
        ...


def resolve_model(
    registry: ModelRegistry, version: str | None = None, target: str | None = None
) -> LeadModel:
    """The model to monitor: ``version`` if given, else the published model of ``target``.

    With neither, the registry must have exactly one target with a published model.
    """
    if version:
        return registry.load(version)
    targets = sorted({e.target for e in registry.versions() if e.published})
    if target is None:
        if len(targets) != 1:
            raise NotFoundError(
                f"the registry at {registry.root} has published models for {targets or 'no target'}; "
                "pass --model VERSION (or publish one model first)."
            )
        target = targets[0]
    model = registry.published(target)
    if model is None:
        raise NotFoundError(
            f"no model is published for {target} in {registry.root}; pass --model VERSION or publish one."
        )
    return model


@dataclass(frozen=True)
class FolderSource:
    """An export folder (leads, events, outcomes as CSV or Parquet) and a model from a registry folder.

    Parameters
    ----------
    data_dir : path
        Folder with ``leads``, ``events`` and ``outcomes`` files.
    registry_dir : path
        Model registry folder.
    version : str, optional
        Model version; default the published model (of ``target`` when several targets are published).
    target : str, optional
        Target name such as ``appointment_scheduled_30d``.
    decisions : path, optional
        The decisions written when the leads were scored (CSV or Parquet with ``lead_id, probability,
        tier``); without it the model scores the leads now.
    data_end : Timestamp, optional
        When the export was taken; default the latest timestamp in the tables.
    """

    data_dir: Path
    registry_dir: Path
    version: str | None = None
    target: str | None = None
    decisions: Path | None = None
    data_end: pd.Timestamp | None = None

    def load(self) -> MonitorData:
        """Ingest the export through the data dictionary and load the model."""
        model = resolve_model(ModelRegistry(self.registry_dir), self.version, self.target)
        tables = load_crm_folder(self.data_dir)
        decisions = None
        if self.decisions is not None:
            if not Path(self.decisions).exists():
                raise InputError(f"decisions file {self.decisions} does not exist; pass the scored file.")
            decisions = read_table(self.decisions)
        return MonitorData(
            leads=tables.leads,
            events=tables.events,
            outcomes=tables.outcomes,
            model=model,
            data_end=end_of_data(
                tables.leads,
                tables.events,
                tables.outcomes,
                time_column=str(tables.dictionary.table("leads").time_column),
                given=self.data_end,
            ),
            decisions=decisions,
            description=f"export {self.data_dir}",
        )


def scored_frame(
    data: MonitorData, settings: MonitorSettings | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One row per lead at its scoring moment: features, probability, tier, label, censoring, follow-up.

    Columns: ``lead_id, created_at, as_of``, the model's features, ``probability, tier, label`` (NaN while the
    outcome window is open or when the lead converted before scoring), ``censored, converted_before,
    n_appointments, hours_to_first_contact`` and the decision columns found (see :data:`DECISION_FIELDS`).

    Returns
    -------
    (DataFrame, list of str)
        The frame and notes on what was filled in or left out.
    """
    cfg = settings or MonitorSettings()
    model, spec = data.model, data.model.spec
    notes: list[str] = []
    leads = data.leads.reset_index(drop=True)
    for column in (spec.key, spec.time_column):
        if column not in leads.columns:
            raise InputError(f"the leads table has no {column!r} column, which the model's features need.")
    created = pd.to_datetime(leads[spec.time_column])

    def features(
        leads: pd.DataFrame, events: pd.DataFrame, moments: pd.DataFrame, spec: FeatureSpec
    ) -> pd.DataFrame:
        return build_features(leads, events, moments["as_of"], spec)

    # the model's own data set: the scoring moments, features and labels every builder makes
    dataset = assemble_dataset(
        leads,
        data.events,
        data.outcomes,
        moments=scoring_moments(leads, spec, model.target),
        features=features,
        spec=spec,
        target=model.target,
        data_end=data.data_end,
    )
    X, as_of = dataset.X, pd.to_datetime(dataset.as_of)
    frame = pd.DataFrame(
        {
            "lead_id": leads[spec.key].astype(str).to_numpy(),
            "created_at": created.to_numpy(),
            "as_of": as_of.to_numpy(),
        }
    )
    used = [c for c in model.features if c in X.columns]
    frame = pd.concat([frame, X[used].reset_index(drop=True)], axis=1)
    probability = pd.Series(model.predict_proba(X), index=frame.index)
    tier = pd.Series(model.tiers.assign(probability.to_numpy()), index=frame.index, dtype=object)
    if data.decisions is not None:
        probability, tier = _from_decisions(frame, data.decisions, probability, tier, notes)
    frame["probability"] = probability.astype(float).to_numpy()
    frame["tier"] = tier.to_numpy()
    frame["label"] = dataset.y.astype("Float64").astype(float).to_numpy()
    frame["censored"] = dataset.censored.to_numpy(dtype=bool)
    frame["converted_before"] = dataset.converted_before.to_numpy(dtype=bool)

    outcomes = data.outcomes
    ids = frame["lead_id"]
    kinds = outcomes["outcome"].astype(str) if len(outcomes) else pd.Series(dtype=str)
    appts = outcomes.loc[kinds == cfg.appointment_outcome]
    frame["n_appointments"] = (
        ids.map(appts["lead_id"].astype(str).value_counts()).fillna(0).astype(float).to_numpy()
    )
    contacts = outcomes.loc[kinds.isin(list(cfg.contact_outcomes))]
    if len(contacts):
        first = (
            contacts.assign(lead_id=contacts["lead_id"].astype(str)).groupby("lead_id")["occurred_at"].min()
        )
        first_at = pd.to_datetime(ids.map(first))
        hours = (first_at - frame["created_at"]).dt.total_seconds() / 3600
        frame["hours_to_first_contact"] = hours.where(hours >= 0).to_numpy()
    if data.decisions is not None:
        _decision_columns(frame, data.decisions, notes)
    return frame, notes


def _from_decisions(
    frame: pd.DataFrame,
    decisions: pd.DataFrame,
    probability: pd.Series,
    tier: pd.Series,
    notes: list[str],
) -> tuple[pd.Series, pd.Series]:
    missing = [c for c in ("lead_id", "probability", "tier") if c not in decisions.columns]
    if missing:
        raise InputError(
            f"the decisions file lacks column(s) {missing}; it needs lead_id, probability and tier "
            "(as written by `careleads score`)."
        )
    table = decisions.assign(lead_id=decisions["lead_id"].astype(str)).drop_duplicates("lead_id", keep="last")
    table = table.set_index("lead_id")
    p_given = pd.to_numeric(frame["lead_id"].map(table["probability"]), errors="coerce")
    t_given = frame["lead_id"].map(table["tier"])
    have = p_given.notna() & t_given.notna()
    if int((~have).sum()):
        notes.append(
            f"{int((~have).sum())} lead(s) have no row in the decisions file: the model scored them now."
        )
    if bool(((p_given < 0) | (p_given > 1)).any()):
        raise InputError("the decisions file's probability column must hold probabilities in [0, 1].")
    return probability.where(~have, p_given), tier.where(~have, t_given.astype(object))


def _decision_columns(frame: pd.DataFrame, decisions: pd.DataFrame, notes: list[str]) -> None:
    table = decisions.assign(lead_id=decisions["lead_id"].astype(str)).drop_duplicates("lead_id", keep="last")
    table = table.set_index("lead_id")
    found = []
    for meaning, names in DECISION_FIELDS.items():
        name = next((n for n in names if n in table.columns), None)
        if name is None:
            continue
        frame[meaning] = frame["lead_id"].map(table[name]).to_numpy()
        found.append(meaning)
    if found:
        notes.append(f"From the decisions file: {', '.join(found)}.")
