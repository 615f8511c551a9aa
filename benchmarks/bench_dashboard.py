"""The dashboard page on a store of many leads: ``python benchmarks/bench_dashboard.py [--leads 5000]
[--repeat 5] [--against DIR]``.

Fills a fresh SQLite store with `--leads` leads of the last 90 days (ledger entries, outcomes, review tasks;
written directly, as a store after months of use holds them), then times ``GET /ui/dashboard`` (the page
with its charts) and ``GET /ui/dashboard.json`` through the app, `--repeat` times each after one
warm-up: each time after a new outcome is stored (the figures are made again) and once more with the store
unchanged (the page may reuse them); medians, against a pure-Python yardstick measured in the same run.
With ``--against DIR`` the same steps also run on the sources of another checkout (``DIR/src``, for
example the main branch) in a fresh interpreter, and the ratios of the medians are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, emit_line, machine, python_yardstick, ratio  # noqa: E402

_TIERS = ("A", "B", "C", "D")
_RATES = (0.35, 0.2, 0.1, 0.04)


def _fill(sessions: Any, n_leads: int, now: datetime, seed: int = 7) -> None:
    from careleads.store import Lead, Outcome, ReviewTask, ScoreEntry, session_scope

    rng = np.random.default_rng(seed)
    with session_scope(sessions) as session:
        for i in range(n_leads):
            created = now - timedelta(days=float(rng.uniform(0, 90)))
            tier_i = int(rng.integers(0, 4))
            lead = Lead(
                pseudonym=f"bench-{seed}-{i}",
                external_id=None,
                identifiers=None,
                identifier_fields=[],
                texts=None,
                fields={
                    "service_line": ("orthopedics", "cardiology", "dermatology")[i % 3],
                    "region": "north",
                },
                created_at=created,
                received_at=created,
                created_by="bench",
            )
            session.add(lead)
            session.flush()
            probability = float(np.clip(rng.normal(_RATES[tier_i], 0.03), 0.005, 0.95))
            session.add(
                ScoreEntry(
                    lead_id=lead.id,
                    at=created,
                    scored_by="model",
                    model_version="bench",
                    probability=probability,
                    score=round(probability * 100),
                    tier=_TIERS[tier_i],
                    queue="intake_general",
                    owner=None,
                    reasons=[],
                    route={"name": "intake_review", "queue": "intake_general"},
                    overrides=[],
                    review_required=tier_i < 2,
                    fallback=False,
                    change_reason="created",
                )
            )
            if rng.random() < _RATES[tier_i]:
                at = created + timedelta(days=float(rng.uniform(0.5, 25)))
                if at < now:
                    session.add(
                        Outcome(
                            lead_id=lead.id, outcome="appointment_scheduled", occurred_at=at, received_at=at
                        )
                    )
            if tier_i < 2:
                done = rng.random() < 0.8
                session.add(
                    ReviewTask(
                        lead_id=lead.id,
                        queue="intake_general",
                        owner=None,
                        tier=_TIERS[tier_i],
                        tier_rank=tier_i,
                        intent=None,
                        sla_due=created + timedelta(hours=10),
                        status="done" if done else "open",
                        created_at=created,
                        closed_at=created + timedelta(hours=float(rng.uniform(1, 20))) if done else None,
                    )
                )


def _touch(sessions: Any, i: int) -> None:
    from careleads.store import Outcome, session_scope

    at = datetime.now().replace(microsecond=0)  # noqa: DTZ005  naive like the store
    with session_scope(sessions) as session:
        session.add(Outcome(lead_id=i + 1, outcome="intake_call_completed", occurred_at=at, received_at=at))


def _time(client: Any, path: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text[:300]
    return (time.perf_counter() - start) * 1000


def measure(n_leads: int, repeat: int) -> dict[str, Any]:
    """Fill a store, time the page and its JSON twin; figures in milliseconds (medians)."""
    from fastapi.testclient import TestClient

    from careleads.app import create_app
    from careleads.service.users import create_token, create_user
    from careleads.settings import Settings
    from careleads.store import make_engine, session_scope, upgrade

    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        settings = Settings(
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'careleads.db'}",
            analytics_background=False,
        )
        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
        app = create_app(settings)
        with session_scope(app.state.sessions) as session:
            create_user(session=session, name="bench-analyst", role="analyst")
            token = create_token(session=session, user_name="bench-analyst")
        _fill(app.state.sessions, n_leads, datetime.now().replace(microsecond=0))  # noqa: DTZ005  naive like the store
        headers = {"Authorization": f"Bearer {token}"}
        figures: dict[str, Any] = {"leads": n_leads, "repeat": repeat}
        with TestClient(app) as client:
            for path, name in (("/ui/dashboard", "page_ms"), ("/ui/dashboard.json", "json_ms")):
                assert client.get(path, headers=headers).status_code == 200  # warm-up
                drawn, kept = [], []
                for i in range(repeat):
                    _touch(app.state.sessions, i)  # a new outcome: the figures must be made again
                    drawn.append(_time(client, path, headers))
                    kept.append(_time(client, path, headers))  # the store unchanged since
                figures[name] = round(statistics.median(drawn), 1)
                figures[name.replace("_ms", "_unchanged_store_ms")] = round(statistics.median(kept), 1)
    figures["python_yardstick_s"] = round(python_yardstick(), 3)
    figures["page_per_yardstick"] = ratio(figures["page_ms"] / 1000, figures["python_yardstick_s"])
    return figures


def _other_checkout(folder: Path, n_leads: int, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(folder / "src")}
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--leads", str(n_leads), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the dashboard of {folder} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", type=Path, default=None, help="another checkout (its src/ is used)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        emit_line(measure(args.leads, args.repeat))
        return 0
    figures: dict[str, Any] = {"machine": machine(), "this": measure(args.leads, args.repeat)}
    if args.against is not None:
        other = _other_checkout(args.against, args.leads, args.repeat)
        figures["against"] = {"checkout": str(args.against), **other}
        figures["page_time_this_over_against"] = ratio(figures["this"]["page_ms"], other["page_ms"])
        figures["json_time_this_over_against"] = ratio(figures["this"]["json_ms"], other["json_ms"])
        figures["unchanged_page_time_this_over_against"] = ratio(
            figures["this"]["page_unchanged_store_ms"], other["page_unchanged_store_ms"]
        )
    emit(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
