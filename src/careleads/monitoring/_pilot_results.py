"""A pilot's latest report, kept beside its definition so the running service can show it.

``careleads pilot report`` evaluates a pilot on an export folder (the store holds no pilot arms);
:func:`save_pilot_result` keeps that result as ``<pilots folder>/results/<name>.json`` with the moment it
was made, and :func:`pilot_results` reads them back for the dashboard, which says how old each one is.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from careleads.errors import ConfigError
from careleads.monitoring._pilot_study import PilotResult
from careleads.types import JSONDict, PathLikeStr

__all__ = ["RESULTS_FOLDER", "pilot_results", "save_pilot_result"]

RESULTS_FOLDER = "results"


def save_pilot_result(result: PilotResult, folder: PathLikeStr, *, reported_at: datetime) -> Path:
    """Keep `result` as the pilot's latest report (``folder/results/<name>.json``, replaced atomically)."""
    target = Path(folder) / RESULTS_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{result.definition.name}.json"
    part = path.with_suffix(".json.part")
    payload = {**result.to_dict(), "reported_at": reported_at.isoformat(timespec="seconds")}
    part.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    part.replace(path)
    return path


def pilot_results(folder: PathLikeStr) -> list[JSONDict]:
    """The latest report of each pilot in `folder`, by pilot name (none when nothing was reported).

    Raises
    ------
    ConfigError
        If a kept report is not valid JSON (naming the file).
    """
    base = Path(folder) / RESULTS_FOLDER
    found: list[JSONDict] = []
    for path in sorted(base.glob("*.json")) if base.is_dir() else []:
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path} is not valid JSON ({exc}); run `careleads pilot report` again"
            ) from None
    return found
