"""Loading a CRM export folder (leads, events, outcomes) through the data dictionary."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from careleads.dictionary import Dictionary, FieldSpec, IngestResult, ingest_file, load_dictionary
from careleads.errors import InputError
from careleads.features import Cohort, LeadDataset, Target, build_dataset
from careleads.text import TextClassifiers
from careleads.types import PathLikeStr

TABLES: tuple[str, ...] = ("leads", "events", "outcomes")


def known_outcomes(dictionary: Dictionary, present: Sequence[str] = ()) -> list[str]:
    """The outcome names a target may name: the dictionary's outcome values and the outcomes `present`."""
    spec = _outcome_spec(dictionary)
    return sorted(set(spec.values if spec is not None else ()) | {str(name) for name in present})


def _outcome_spec(dictionary: Dictionary) -> FieldSpec | None:
    """The dictionary's ``outcomes.outcome`` field, if it declares one."""
    if "outcomes" not in dictionary.tables or "outcome" not in dictionary.tables["outcomes"].names:
        return None
    return dictionary.tables["outcomes"].field("outcome")


def check_target(target: Target, dictionary: Dictionary, present: Sequence[str] | None = None) -> None:
    """Refuse a target whose outcome is not one the data can hold, before any work is done.

    Before ingestion (`present` None) only a dictionary with a closed list of outcomes can tell; with the
    outcomes `present` in the data, an outcome neither listed nor present is refused too.

    Raises
    ------
    InputError
        Naming the unknown outcome and listing the known ones.

    Examples
    --------
    >>> from careleads.dictionary import load_dictionary
    >>> check_target(Target("contact", 30), load_dictionary())
    Traceback (most recent call last):
    ...
    careleads.errors.InputError: unknown outcome 'contact' in the target contact:30; known outcomes: ...
    """
    spec = _outcome_spec(dictionary)
    if present is None and (spec is None or not spec.is_closed):
        return
    known = known_outcomes(dictionary, present or ())
    if target.outcome not in known:
        raise InputError(
            f"unknown outcome {target.outcome!r} in the target {target.outcome}:{target.window_days}; "
            f"known outcomes: {', '.join(known) or 'none'} (give --target OUTCOME:DAYS with one of them)"
        )


@dataclass(frozen=True)
class CrmTables:
    """The ingested (clean) tables of one export, and each table's ingest result with its quarantine."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    results: dict[str, IngestResult]
    dictionary: Dictionary

    def summary(self) -> dict[str, dict[str, object]]:
        return {name: result.summary.to_dict() for name, result in self.results.items()}

    def cohort(self, cohort: Cohort) -> CrmTables:
        """The leads of one cohort (whose field `cohort.field` holds `cohort.value`), their events and
        outcomes: what a cohort model is trained on.

        Raises
        ------
        InputError
            If the leads table has no such field, or no lead of the cohort.
        """
        if cohort.field not in self.leads.columns:
            raise InputError(f"the leads have no field {cohort.field!r} to pick the cohort {cohort} by")
        keep = self.leads[cohort.field].astype("string") == cohort.value
        leads = self.leads[keep.fillna(False).to_numpy()]
        if leads.empty:
            raise InputError(f"no lead of the cohort {cohort}; check the field's values")
        key = str(self.dictionary.table("leads").key)
        ids = set(leads[key].astype("string"))
        events = self.events[self.events["lead_id"].astype("string").isin(ids).to_numpy()]
        outcomes = self.outcomes[self.outcomes["lead_id"].astype("string").isin(ids).to_numpy()]
        return dataclasses.replace(self, leads=leads, events=events, outcomes=outcomes)

    def dataset(
        self,
        target: Target,
        *,
        data_end: pd.Timestamp | None = None,
        drop: Sequence[str] = (),
        text: bool = False,
        classifiers: TextClassifiers | None = None,
        day_one_hours: float | None = None,
    ) -> LeadDataset:
        """Point-in-time features and labels of `target` (with `text`, the text features too; of a day-one
        model with `day_one_hours`; see :func:`careleads.features.build_dataset`).

        Raises
        ------
        InputError
            If the target's outcome is neither in the dictionary nor in the outcomes table.
        """
        check_target(target, self.dictionary, present=list(self.outcomes["outcome"].dropna().unique()))
        return build_dataset(
            self.leads,
            self.events,
            self.outcomes,
            target=target,
            table=self.dictionary.table("leads"),
            data_end=data_end,
            drop=drop,
            text=text,
            classifiers=classifiers,
            day_one_hours=day_one_hours,
        )


def ingest_folder(
    folder: PathLikeStr,
    tables: Mapping[str, str],
    *,
    dictionary: Dictionary,
    quarantine_dir: PathLikeStr | None = None,
    example: str = "see `careleads generate` for an example",
) -> dict[str, IngestResult]:
    """Ingest one file per table from `folder` through the dictionary.

    Parameters
    ----------
    folder : path
        The export folder.
    tables : mapping
        File name (without suffix) -> the dictionary table its rows are checked against. Each file may be
        Parquet, CSV, TSV or text (tried in that order).
    dictionary : Dictionary
        The data dictionary.
    quarantine_dir : path, optional
        Where quarantined rows are written.
    example : str
        How to get such a folder, said when a file is missing.

    Returns
    -------
    dict
        File name -> its ingest result (clean rows, quarantine, summary).
    """
    base = Path(folder)
    if not base.is_dir():
        raise InputError(f"{base} is not a folder; pass the folder that holds {_listed(tables)}")
    paths = {name: _find(base, name, tables, example) for name in tables}
    return {
        name: ingest_file(paths[name], dictionary, table, quarantine_dir) for name, table in tables.items()
    }


def _find(folder: Path, name: str, tables: Mapping[str, str], example: str) -> Path:
    for suffix in (".parquet", ".csv", ".tsv", ".txt"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            return path
    raise InputError(
        f"{folder} has no {name}.csv or {name}.parquet; the folder needs {_listed(tables)} files ({example})"
    )


def _listed(names: Mapping[str, str]) -> str:
    *first, last = names
    return f"{', '.join(first)} and {last}" if first else last


def load_crm_folder(
    folder: PathLikeStr,
    *,
    dictionary: Dictionary | None = None,
    quarantine_dir: PathLikeStr | None = None,
) -> CrmTables:
    """Ingest ``leads``, ``events`` and ``outcomes`` from `folder` (CSV or Parquet) through the dictionary.

    Every input row ends up stored or quarantined with its reason; quarantined rows are written to
    `quarantine_dir` when given.
    """
    dictionary = dictionary or load_dictionary()
    results = ingest_folder(
        folder, {name: name for name in TABLES}, dictionary=dictionary, quarantine_dir=quarantine_dir
    )
    return CrmTables(
        leads=results["leads"].clean,
        events=results["events"].clean,
        outcomes=results["outcomes"].clean,
        results=results,
        dictionary=dictionary,
    )
