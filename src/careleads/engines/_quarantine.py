"""What a batch run reports besides its decisions: the quarantined rows (with the clinical-triage level of
their texts, since a row refused for its id may still describe an emergency) and the values of scored rows
that the dictionary could not read."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.dictionary import Dictionary, shows_value
from careleads.engines._chunks import TRIAGE_COLUMN

__all__ = ["LISTED_ROWS", "alarm_notes", "alarming_rows", "gather_parts", "hide_unshown"]

LISTED_ROWS = 100  # quarantined rows that may describe an emergency, named in the summary's notes


def alarming_rows(quarantine: pd.DataFrame) -> list[tuple[int, str]]:
    """(row, triage level) of the quarantined rows whose texts may describe an emergency."""
    if TRIAGE_COLUMN not in quarantine.columns or not len(quarantine):
        return []
    levels = quarantine[TRIAGE_COLUMN].astype("string").fillna("none")
    hit = (levels != "none").to_numpy(dtype=bool)
    return [
        (int(row), str(level))
        for row, level in zip(quarantine["_row"].to_numpy()[hit], levels.to_numpy()[hit], strict=True)
    ]


def alarm_notes(state: dict[str, Any], quarantine_path: Path) -> list[str]:
    """The loud note of a run that quarantined rows which may describe an emergency (row numbers only)."""
    n = int(state.get("n_alarming", 0))
    if not n:
        return []
    rows = ", ".join(f"{row} ({level})" for row, level in state.get("alarming_rows", []))
    more = " and more" if n > len(state.get("alarming_rows", [])) else ""
    return [
        f"URGENT: {n} quarantined row(s) may describe an emergency and need a human now: rows {rows}{more} "
        f"(column {TRIAGE_COLUMN} of the quarantine file, {quarantine_path.name})"
    ]


def hide_unshown(flagged: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """The flagged list without the values of fields whose values are not shown (not ``safe``)."""
    table = dictionary.table("leads")
    hidden = [spec.name for spec in table.fields if not shows_value(spec)]
    out = flagged.copy()
    out.loc[out["_field"].isin(hidden), "_value"] = pd.NA
    return out


def gather_parts(parts: Sequence[Path], out: Path, header: Sequence[str]) -> None:
    """Concatenate CSV parts (the header once) into `out`, atomically; only the header when none."""
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("wb") as target:
        if not parts:
            target.write((",".join(header) + "\n").encode("utf-8"))
        for i, path in enumerate(parts):
            with path.open("rb") as part:
                if i:
                    part.readline()
                shutil.copyfileobj(part, target)
    os.replace(tmp, out)
