"""What a batch run reports besides its decisions: the quarantined rows (with the clinical-triage level of
their texts, since a row refused for its id may still describe an emergency) and the values of scored rows
that the dictionary could not read."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.dictionary import Dictionary, shows_value
from careleads.engines._chunks import TRIAGE_COLUMN

__all__ = ["LISTED_ROWS", "alarm_notes", "alarming_rows", "gather_parts", "hide_unshown", "report_chunk"]

logger = logging.getLogger(__name__)

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


#: what a value quoted in a reason becomes in a quarantine file without values
HIDDEN_VALUE = "(value)"
_QUOTED = re.compile(r"'[^']*'")
_KEPT = ("_source", "_row", "_field", "_reason", TRIAGE_COLUMN)


def _value_free(reason: str, values: list[str]) -> str:
    """`reason` without the values it quotes (a repeated id, an unknown category): the row's own values
    first (a value may hold a quote), then anything left in quotes; a malformed line's reason loses the
    line."""
    if reason.startswith("malformed line:"):
        return reason.split(" fields: ", 1)[0] + " fields"
    for value in values:
        reason = reason.replace(f"'{value}'", HIDDEN_VALUE)
    return _QUOTED.sub(HIDDEN_VALUE, reason)


def _without_values(quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine's row numbers, fields, reasons (without the values they quote) and triage levels: no
    identifier, no free text, no other value of the rows."""
    kept = [c for c in _KEPT if c in quarantine.columns]
    if "_reason" not in quarantine.columns or not len(quarantine):
        return quarantine[kept]
    originals = quarantine[[c for c in quarantine.columns if not str(c).startswith("_")]].astype("string")
    reasons = []
    for i, reason in enumerate(quarantine["_reason"].astype("string").fillna("")):
        row = originals.iloc[i] if len(originals.columns) else pd.Series(dtype="string")
        values = {str(v) for v in row.dropna()} | {str(v).strip() for v in row.dropna()}
        reasons.append(_value_free(str(reason), sorted((v for v in values if v), key=len, reverse=True)))
    return quarantine[kept].assign(_reason=pd.array(reasons, dtype="string"))


def _private_csv(frame: pd.DataFrame, path: Path) -> None:
    """`frame` as CSV at `path`, readable by its owner only."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="") as handle:
        frame.to_csv(handle, index=False)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


def gather_parts(parts: Sequence[Path], out: Path, header: Sequence[str]) -> None:
    """Concatenate CSV parts (the header once) into `out`, atomically; only the header when none."""
    tmp = out.with_name(f".{out.name}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as target:
        if not parts:
            target.write((",".join(header) + "\n").encode("utf-8"))
        for i, path in enumerate(parts):
            with path.open("rb") as part:
                if i:
                    part.readline()
                shutil.copyfileobj(part, target)
    os.replace(tmp, out)


def report_chunk(
    quarantine: pd.DataFrame,
    flagged: pd.DataFrame,
    state: dict[str, Any],
    *,
    files: tuple[Path, Path],
    dictionary: Dictionary,
    keep_values: bool,
) -> None:
    """Write a chunk's quarantine and flagged parts (`files`), count them in the run's `state`, and log each
    quarantined row that may describe an emergency (its row number and that it needs a human, never text).

    Without `keep_values` the quarantine keeps the reasons and where (row, field, triage level), not the
    rejected values nor the lead's id, and the flagged list hides the values of fields that are not
    ``safe``. Either way the files are readable by their owner only (0600).
    """
    alarming = alarming_rows(quarantine)
    if len(quarantine):
        if not keep_values:
            quarantine = _without_values(quarantine)
        _private_csv(quarantine, files[0])
    if len(flagged):
        if not keep_values:
            flagged = hide_unshown(flagged, dictionary)
        files[1].parent.mkdir(parents=True, exist_ok=True)
        _private_csv(flagged, files[1])
    state["n_flagged"] = state.get("n_flagged", 0) + int(flagged["_row"].nunique())
    state["n_alarming"] = state.get("n_alarming", 0) + len(alarming)
    state["alarming_rows"] = [*state.get("alarming_rows", []), *alarming][:LISTED_ROWS]
    for row, level in alarming:
        logger.warning(
            "quarantined row %d may describe an emergency (triage: %s): it needs a human now", row, level
        )
