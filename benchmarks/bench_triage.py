"""The clinical-triage detector, against an earlier version in the same run:
``python benchmarks/bench_triage.py [--old-commit REV] [--n-leads N]``.

Quality, for each detector (this checkout's, and the triage package of `--old-commit` loaded beside it):

- the development set ``tests/data/triage_dev.csv``: recall of urgent messages (level urgent; urgent or
  possible), false alarms (urgent or possible) on non-urgent ones, overall and by group (symptom
  look-alikes: skin, joints, chronic aches, hair, digestion, other mild symptoms; scheduling: scheduling,
  admin and SMS replies). The current classifier was trained on this set: its figures are development
  figures, not acceptance figures.
- the hand-written intent sets ``tests/data/intent_messages.csv`` and ``intent_messages_fresh.csv``: their
  ``urgency`` column is how soon the writer wants an answer (a same-day appointment, a bill in collections,
  spam "act now"), not clinical urgency, so the figures are false alarms on the routine and soon rows, and
  the level of each urgent row;
- simulator texts (``make_labelled_texts``): recall and false alarms against the simulator's flag;
- the blind acceptance set ``tests/data/triage_blind.csv`` (written after the detector was frozen, by a writer
  who had not seen the detector, its lexicon, its development set or its tests; see
  ``tests/data/TRIAGE_BLIND.md``): recall of its ``urgent`` group, false alarms on its ``symptom`` and
  ``scheduling`` groups (:func:`blind_figures`, the rule the acceptance test holds).
- the tuning set ``tests/data/triage_tuning.csv`` (a former blind set, same columns; the vocabularies were
  broadened on its misses and the current classifier was trained on it too: development figures, not
  acceptance figures), by the same rule.

Speed: ``levels_many`` on the question column of a demo-sized simulated export (``generate(n_leads)``, as an
Arrow array, the batch path), seconds and the ratio new / old measured in this run; the old detector's
``triggered_many`` (its column-wise path with the pre-filter) too.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from careleads.synth import generate, make_labelled_texts
from careleads.text.triage import ClinicalTriageDetector

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LOOK_ALIKES = {"skin", "joints", "chronic", "hair", "digestion", "other_symptom"}
SCHEDULING = {"scheduling", "admin", "sms"}
_PACKAGE = "src/careleads/text/triage"


def load_old_detector(commit: str, into: Path) -> Any:
    """The default detector of the triage package at `commit`, imported as ``careleads_old_triage``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, _PACKAGE],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / "careleads_old_triage"
    (into / _PACKAGE).rename(package)
    for path in package.rglob("*.py"):
        path.write_text(
            path.read_text("utf-8").replace("careleads.text.triage", "careleads_old_triage"), "utf-8"
        )
    sys.path.insert(0, str(into))
    for name in [
        m for m in sys.modules if m == "careleads_old_triage" or m.startswith("careleads_old_triage.")
    ]:
        del sys.modules[name]  # a second revision in the same process is imported afresh, not reused
    return importlib.import_module("careleads_old_triage").default_detector()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def _levels(detector: Any, texts: Sequence[str]) -> np.ndarray:
    return np.array([{"urgent": 2, "possible": 1, "none": 0}[detector.detect(t).level] for t in texts])


def _share(mask: np.ndarray) -> float:
    return round(float(mask.mean()), 3) if len(mask) else float("nan")


def quality(detector: Any) -> dict[str, Any]:
    """The quality figures of one detector (see the module)."""
    out: dict[str, Any] = {}
    dev = _rows(DATA / "triage_dev.csv")
    levels = _levels(detector, [r["text"] for r in dev])
    urgent = np.array([r["label"] == "urgent" for r in dev])
    kinds = np.array([r["kind"] for r in dev])
    out["dev"] = {
        "n_urgent": int(urgent.sum()),
        "n_not_urgent": int((~urgent).sum()),
        "recall_urgent": _share(levels[urgent] == 2),
        "recall_urgent_or_possible": _share(levels[urgent] >= 1),
        "false_alarms": _share(levels[~urgent] >= 1),
        "false_alarms_symptom_look_alikes": _share(levels[np.isin(kinds, list(LOOK_ALIKES))] >= 1),
        "false_alarms_scheduling": _share(levels[np.isin(kinds, list(SCHEDULING))] >= 1),
        "probe_recall_urgent": _share(levels[urgent][-95:] == 2),
    }
    for name in ("intent_messages.csv", "intent_messages_fresh.csv"):
        rows = _rows(DATA / name)
        got = _levels(detector, [r["text"] for r in rows])
        soon = np.array([r["urgency"] == "urgent" for r in rows])
        out[name] = {
            "n_routine_or_soon": int((~soon).sum()),
            "false_alarms_routine_or_soon": _share(got[~soon] >= 1),
            "n_urgent": int(soon.sum()),
            "urgent_rows_by_level": {
                k: int((got[soon] == v).sum()) for k, v in (("urgent", 2), ("possible", 1))
            },
        }
    frame = make_labelled_texts(10_000, seed=4)
    flags = _levels(detector, frame["text"].tolist())
    truth = frame["clinical_urgent"].to_numpy(dtype=bool)
    out["simulator"] = {
        "n_urgent": int(truth.sum()),
        "recall_urgent": _share(flags[truth] == 2),
        "false_alarms": _share(flags[~truth] >= 1),
        "false_urgent": round(float((flags[~truth] == 2).mean()), 4),
    }
    if TUNING.exists():
        tuning = blind_figures(detector, TUNING)
        out["tuning"] = {k: v for k, v in tuning.items() if k not in ("missed", "false_alarms")}
    if BLIND.exists():
        out["blind"] = blind_figures(detector)
    return out


BLIND = DATA / "triage_blind.csv"
TUNING = DATA / "triage_tuning.csv"


def blind_figures(detector: Any, path: Path = BLIND) -> dict[str, Any]:
    """Recall and false alarms of `detector` on the blind set at `path` (groups urgent, symptom, scheduling).

    Recall counts an urgent message found when it reaches a human: level urgent (the triage line) or
    possible (the top of the review queue); ``recall_urgent_level`` counts the triage line alone. A false
    alarm is a non-urgent message given level urgent or possible; ``false_urgent_*`` counts level urgent
    alone. Misses and false alarms are listed by row number (1 = the first data row) and topic.
    """
    rows = _rows(path)
    levels = _levels(detector, [r["text"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    unknown = sorted(set(groups) - {"urgent", "symptom", "scheduling"})
    if unknown:
        raise ValueError(f"{path}: unknown group(s) {unknown}; expected urgent, symptom or scheduling")
    urgent, symptom, scheduling = (groups == g for g in ("urgent", "symptom", "scheduling"))
    return {
        "n_urgent": int(urgent.sum()),
        "n_symptom": int(symptom.sum()),
        "n_scheduling": int(scheduling.sum()),
        "recall": _share(levels[urgent] >= 1),
        "recall_urgent_level": _share(levels[urgent] == 2),
        "false_alarms_symptom": _share(levels[symptom] >= 1),
        "false_alarms_scheduling": _share(levels[scheduling] >= 1),
        "false_urgent_symptom": _share(levels[symptom] == 2),
        "false_urgent_scheduling": _share(levels[scheduling] == 2),
        "missed": [(i + 1, rows[i]["topic"]) for i in np.flatnonzero(urgent & (levels == 0)).tolist()],
        "false_alarms": [
            (i + 1, rows[i]["group"], rows[i]["topic"])
            for i in np.flatnonzero(~urgent & (levels >= 1)).tolist()
        ],
    }


def _seconds(call: Callable[[], object], repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_triage.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--old-commit", default="1584fdb", help="the revision whose triage package is the reference"
    )
    parser.add_argument(
        "--n-leads", type=int, default=50_000, help="leads in the simulated export (the demo's size)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = sys.stdout
    with tempfile.TemporaryDirectory() as folder:
        old = load_old_detector(args.old_commit, Path(folder))
        new = ClinicalTriageDetector()
        rules = ClinicalTriageDetector(classifier=False)
        figures: dict[str, Any] = {
            "old": quality(old),
            "new": quality(new),
            "new_rules_only": quality(rules),
        }
        column = pa.array(generate(args.n_leads, seed=args.seed).leads["question"].tolist(), type=pa.string())
        fresh_old = type(old)()  # no texts seen: no warm caches beyond the module's own
        figures["speed"] = {
            "n_texts": len(column),
            "n_distinct": len(column.unique()),
            "old_levels_many_s": _seconds(lambda: fresh_old.levels_many(column)),
            "old_triggered_many_s": _seconds(lambda: fresh_old.triggered_many(column)),
            "new_levels_many_s": _seconds(lambda: new.levels_many(column)),
        }
        speed = figures["speed"]
        speed["new_over_old_levels_many"] = round(speed["new_levels_many_s"] / speed["old_levels_many_s"], 2)
        speed["new_over_old_triggered_many"] = round(
            speed["new_levels_many_s"] / speed["old_triggered_many_s"], 2
        )
    out.write(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
