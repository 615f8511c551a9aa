"""Do day-one scores move the way the truth does? ``python benchmarks/bench_day_one.py prepare DIR`` then
``python benchmarks/bench_day_one.py measure DIR``.

``prepare`` simulates leads (``--leads``, ``--seed``), writes the export to ``DIR/data`` and, for the leads of
the last months that did something on their first day, the simulator's oracle probability after each of
their first-day events and at each moment of a grid of hours (``DIR/oracle.parquet``). It needs the
simulator's oracle (``careleads.synth.Oracle``).

``measure`` trains a model on ``DIR/data`` with the careleads on the path (a day-one model where the release
has one, else the 24-hour model with its cold-start model, as `careleads train` builds them) and scores the
same leads two ways:

- as the API does: at creation, then after each first-day event at that event's moment with the events so
  far (``careleads.scoring.score_record``, the function the service calls);
- as a batch does: each lead at each moment of the grid with its events up to then (``score_leads``, the
  function of every batch chunk).

For every step where the oracle probability rose, it counts the steps whose score (0-100, as shown) did not
fall, and prints the shares as JSON. Running ``measure`` with an older release on the path (``PYTHONPATH``)
on the same folder gives that release's figures on the same leads.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GRID_HOURS: tuple[float, ...] = (0, 0.5, 1, 2, 3, 6, 12, 24)


def prepare(folder: Path, *, n_leads: int, seed: int, n_eval: int) -> dict[str, Any]:
    from careleads.synth import generate

    data = generate(n_leads, seed=seed)
    data.write(folder / "data")
    assert data.oracle is not None
    leads = data.truth.loc[data.truth["injected_defect"] == "", "lead_id"]
    created = pd.Series(data.oracle.created, index=data.oracle.lead_id)
    recent = created.loc[created >= created.quantile(0.8)]
    events = data.events
    first_day = events.merge(recent.rename("created"), left_on="lead_id", right_index=True)
    first_day = first_day.loc[first_day["occurred_at"] < first_day["created"] + pd.Timedelta(hours=24)]
    active = pd.Index(first_day["lead_id"].unique()).intersection(pd.Index(leads))
    chosen = np.random.default_rng(seed).permutation(np.asarray(active, dtype=object))[:n_eval]
    rows: list[dict[str, Any]] = []
    for lead_id in chosen:
        mine = first_day.loc[first_day["lead_id"] == lead_id].sort_values("occurred_at", kind="stable")
        moments = [("created", 0, created[lead_id])]
        moments += [("event", k + 1, at) for k, at in enumerate(mine["occurred_at"])]
        moments += [("grid", j, created[lead_id] + pd.Timedelta(hours=h)) for j, h in enumerate(GRID_HOURS)]
        rows.extend(
            {"lead_id": lead_id, "path": path, "step": step, "as_of": pd.Timestamp(at)}
            for path, step, at in moments
        )
    frame = pd.DataFrame(rows)
    frame["oracle"] = data.oracle.as_of(frame["lead_id"].to_numpy(), frame["as_of"].to_numpy(), events)
    frame.to_parquet(folder / "oracle.parquet", index=False)
    return {"leads": len(chosen), "rows": len(frame)}


def _train(folder: Path, seed: int) -> Any:
    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models import train_model

    tables = load_crm_folder(folder / "data", quarantine_dir=folder / "quarantine")
    target = Target()
    if "cold_start" in inspect.signature(train_model).parameters:  # a release with the cold-start switch
        dataset = tables.dataset(target)
        cold = tables.dataset(Target(target.outcome, target.window_days, as_of_hours=0))
        old_train: Any = train_model  # that release's signature, not this one's
        return tables, old_train(dataset, cold_start=cold, seed=seed).model
    from careleads.features import DAY_ONE_HOURS

    dataset = tables.dataset(target, day_one_hours=DAY_ONE_HOURS)
    return tables, train_model(dataset, seed=seed).model


def _share(before: np.ndarray, after: np.ndarray, rose: np.ndarray) -> dict[str, Any]:
    n = int(rose.sum())
    kept = (after >= before)[rose]
    return {"steps_where_oracle_rose": n, "score_did_not_fall": float(kept.mean()) if n else float("nan")}


def measure(folder: Path, *, seed: int) -> dict[str, Any]:
    import careleads
    from careleads.scoring import score_leads, score_record

    started = time.perf_counter()
    tables, model = _train(folder, seed)
    trained_s = time.perf_counter() - started
    oracle = pd.read_parquet(folder / "oracle.parquet")
    leads = tables.leads.set_index("lead_id", drop=False)
    events = tables.events
    api: list[pd.DataFrame] = []
    batch: list[pd.DataFrame] = []
    for lead_id, rows in oracle.groupby("lead_id", sort=False):
        if lead_id not in leads.index:
            continue
        record = leads.loc[lead_id].to_dict()
        created = pd.Timestamp(record["created_at"])
        mine = events.loc[events["lead_id"] == lead_id].sort_values("occurred_at", kind="stable")
        listed = [
            {"occurred_at": e["occurred_at"], "event_type": e["event_type"], "page": e.get("page")}
            for e in mine.to_dict(orient="records")
        ]
        steps = rows.loc[rows["path"].isin(["created", "event"])].sort_values("step")
        scores = []
        for step in steps["step"]:
            so_far = listed[: int(step)]
            moment = max([created, *(pd.Timestamp(e["occurred_at"]) for e in so_far)])
            scored = score_record(model, record, so_far if step else None, as_of=moment, with_pages=True)
            scores.append(scored["score"])
        api.append(steps.assign(score=scores))
        grid = rows.loc[rows["path"] == "grid"].sort_values("step")
        frame = pd.DataFrame([record])
        frame["created_at"] = pd.to_datetime(frame["created_at"])
        scores = [
            int(score_leads(model, frame, mine, as_of=pd.Timestamp(at), n_reasons=0)["score"].iloc[0])
            for at in grid["as_of"]
        ]
        batch.append(grid.assign(score=scores))
    out: dict[str, Any] = {"careleads": careleads.__file__, "model_version": model.version}
    for name, parts in (("api", api), ("batch", batch)):
        path = pd.concat(parts, ignore_index=True)
        previous = path.groupby("lead_id", sort=False)[["oracle", "score"]].shift(1)
        has = previous["oracle"].notna().to_numpy()
        rose = (path["oracle"].to_numpy() > previous["oracle"].to_numpy() + 1e-12) & has
        out[name] = _share(previous["score"].to_numpy(), path["score"].to_numpy(), rose)
        out[name]["leads"] = int(path["lead_id"].nunique())
    out["training_seconds"] = round(trained_s, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("prepare", "measure"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--leads", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--eval", type=int, default=300, help="leads whose score paths are followed")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    if args.stage == "prepare":
        result = prepare(args.folder, n_leads=args.leads, seed=args.seed, n_eval=args.eval)
    else:
        result = measure(args.folder, seed=args.seed)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
