"""Loading a CRM export folder (leads, events, outcomes) through the data dictionary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from careleads.dictionary import Dictionary, IngestResult, ingest_file, load_dictionary
from careleads.errors import InputError
from careleads.features import LeadDataset, Target, build_dataset
from careleads.types import PathLikeStr

TABLES: tuple[str, ...] = ("leads", "events", "outcomes")


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

    def dataset(
        self, target: Target, *, data_end: pd.Timestamp | None = None, drop: Sequence[str] = ()
    ) -> LeadDataset:
        """Point-in-time features and labels of `target`."""
        return build_dataset(
            self.leads,
            self.events,
            self.outcomes,
            target=target,
            table=self.dictionary.table("leads"),
            data_end=data_end,
            drop=drop,
        )


def _find(folder: Path, name: str) -> Path:
    for suffix in (".parquet", ".csv", ".tsv", ".txt"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            return path
    raise InputError(
        f"{folder} has no {name}.csv or {name}.parquet; a CRM export folder needs "
        f"{', '.join(TABLES)} files (see `careleads generate` for an example)"
    )


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
    base = Path(folder)
    if not base.is_dir():
        raise InputError(f"{base} is not a folder; pass the folder that holds leads, events and outcomes")
    dictionary = dictionary or load_dictionary()
    results = {name: ingest_file(_find(base, name), dictionary, name, quarantine_dir) for name in TABLES}
    return CrmTables(
        leads=results["leads"].clean,
        events=results["events"].clean,
        outcomes=results["outcomes"].clean,
        results=results,
        dictionary=dictionary,
    )
