"""The cost of reading each lead's intent in its decision: ``python benchmarks/bench_intent.py [--leads N]``.

Decides the same simulated leads (``generate(N, seed=9)``, random scores) with the shipped hard rules and
routing twice in one run: reading intents (the shipped routing) and not (its ``intent_field`` set to null),
for a table (``decide_columns``, leads/s) and one lead at a time (``decide``, ms per lead, each message new
to the classifier); the ratios compare the two.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import _common
from careleads.decisions import decide, decide_columns, default_intent_model, load_routing
from careleads.synth import generate

NOW = "2025-03-05 10:00"


def _leads(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads = generate(n, seed=9, bad_row_rate=0.0).leads.drop_duplicates("lead_id").reset_index(drop=True)
    for column in ("consent_marketing", "consent_sms"):
        leads[column] = leads[column].astype(str).str.lower().isin(["true", "yes", "1", "y"])
    leads["question"] = leads["question"].astype("string")
    p = np.random.default_rng(0).random(len(leads))
    scored = pd.DataFrame(
        {
            "lead_id": leads["lead_id"],
            "probability": p,
            "score": (p * 100).astype(int),
            "tier": np.array(["D", "C", "B", "A"])[np.searchsorted([0.4, 0.7, 0.9], p)],
            "action": "act",
            "reasons": "",
            "scored_by": "model",
            "model_version": "m",
        }
    )
    return leads, scored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000, help="leads decided as a table")
    parser.add_argument("--one", type=int, default=200, help="leads decided one at a time")
    args = parser.parse_args(argv)
    default_intent_model()  # made once, before any timing
    leads, scored = _leads(args.leads)
    shipped = load_routing()
    figures: dict[str, Any] = {"machine": _common.machine(), "python_loop_s": _common.python_yardstick()}
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in leads.head(args.one).to_dict("records")
    ]
    scores: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in scored.head(args.one).to_dict("records")
    ]
    for name, routing in (
        ("with_intent", shipped),
        ("without_intent", dataclasses.replace(shipped, intent_field=None)),
    ):
        decide_columns(leads.head(50), scored.head(50), routing=routing, now=NOW)
        start = time.perf_counter()
        decide_columns(leads, scored, routing=routing, now=NOW)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        for record, score in zip(records, scores, strict=True):
            decide(record, score, routing=routing, now=NOW)
        one_ms = (time.perf_counter() - start) / len(records) * 1000
        figures[name] = {
            "leads": len(leads),
            "leads_per_s": round(len(leads) / seconds),
            "one_lead_ms": one_ms,
        }
    figures["ratios"] = {
        "table_speed_with_over_without": _common.ratio(
            figures["with_intent"]["leads_per_s"], figures["without_intent"]["leads_per_s"]
        ),
        "one_lead_time_with_over_without": _common.ratio(
            figures["with_intent"]["one_lead_ms"], figures["without_intent"]["one_lead_ms"]
        ),
    }
    rows = [
        (
            f"{name}: table",
            f"{figures[name]['leads_per_s']:,} leads/s; one lead {figures[name]['one_lead_ms']:.2f} ms",
        )
        for name in ("with_intent", "without_intent")
    ]
    rows += [(k, f"{v:.3f}") for k, v in figures["ratios"].items()]
    _common.emit(figures, text=_common.table("intent in the decision", rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
