"""Start-up with a text-feature model: ``python benchmarks/bench_startup.py [--reference 1584fdb]``.

Trains a small model with text and conversational features (its intent and urgency classifiers trained
with it, ``--leads`` simulated leads) and writes it as an artifact. Then, for this checkout's code and for
the reference revision's (checked out with ``git worktree`` into a temporary folder and removed
afterwards), each in fresh processes on a fresh SQLite file:

- start-up: the model is published before ``careleads serve`` starts; the time from starting the process
  to the answer of the first ``POST /v1/leads`` (a lead with a free-text question): import, app creation,
  reading the model, scoring;
- publishing: the server runs with no model; the model is published through ``POST
  /v1/models/{version}/publish``, and the first ``POST /v1/leads`` after it is timed (and the publish call).

Each is repeated ``--repeats`` times; the medians, every run, the ratios reference / this code, the goal
(start-up under 5 s), the CPU seconds the server's processes used until the first answer (the wall clock
of a shared machine mostly measures the other jobs), the load average and the machine's Python-loop
yardstick are printed as JSON and a table. The same
artifact serves both codes (a release that does not know the text classifiers' file ignores it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common

REPO = Path(__file__).resolve().parent.parent
GOAL_STARTUP_S = 5.0
QUESTION = "Hi, can I book a knee appointment next week? Do you take Aetna PPO?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_artifact(folder: Path, *, n_leads: int, n_texts: int) -> str:
    """Train a text-feature model on `n_leads` simulated leads and save it under `folder`; its version."""
    import dataclasses

    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models import train_model
    from careleads.synth import generate
    from careleads.text import train_text_classifiers

    data = generate(n_leads, seed=1, text_signals=True)
    data.write(folder / "export")
    tables = load_crm_folder(folder / "export")
    classifiers = train_text_classifiers(0, n_texts=n_texts)
    dataset = tables.dataset(Target(), data_end=data.end, text=True, classifiers=classifiers)
    dataset = dataclasses.replace(dataset, as_of=dataset.as_of.astype("datetime64[ns]"))
    model = train_model(dataset, seed=0).model
    model.save(folder / "model" / model.version)
    return model.version


def lead(n: int) -> dict[str, Any]:
    """A new lead with a free-text question (fields known at creation)."""
    return {
        "lead_id": f"START-{n}",
        "created_at": "2025-03-04T10:00:00",
        "lead_type": "patient",
        "service_line": "Ortho",
        "source": "Doctor referral",
        "insurance": "PPO",
        "consent_marketing": True,
        "question": QUESTION,
    }


def prepare(data_dir: Path, artifact: Path, *, publish: bool) -> dict[str, str]:
    """(child, with the code under test) Migrate, add users and tokens, register the artifact."""
    from careleads.models import ModelRegistry
    from careleads.service.users import create_token, create_user
    from careleads.settings import Settings
    from careleads.store import make_engine, make_sessionmaker, session_scope, upgrade

    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'careleads.db'}")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    tokens = {}
    with session_scope(make_sessionmaker(engine)) as session:
        for role in ("integration", "analyst"):
            create_user(session=session, name=f"bench-{role}", role=role)
            tokens[role] = create_token(session=session, user_name=f"bench-{role}")
    engine.dispose()
    registry = ModelRegistry(settings.registry_path())
    shutil.copytree(artifact, registry.root / artifact.name)
    if publish:
        registry.publish(artifact.name, actor="bench")
    return tokens


def _child(src: Path, argv: Sequence[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, __file__, "--child", *argv], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench_startup step {argv[0]} failed:\n{done.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _serve(src: Path, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "CARELEADS_DATA_DIR": str(data_dir),
        "CARELEADS_DATABASE_URL": f"sqlite:///{data_dir / 'careleads.db'}",
        "CARELEADS_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-c", "from careleads.cli import main; main()", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _post_until_served(url: str, body: dict[str, Any], token: str, server: subprocess.Popen[bytes]) -> None:
    """POST `body` as soon as the server listens; returns once it is answered with 201."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"the server exited: {server.stderr.read().decode()[-2000:] if server.stderr else ''}"
            )
        try:
            answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=300)
        except httpx.TransportError:
            time.sleep(0.02)
            continue
        if answer.status_code != 201:
            raise RuntimeError(f"POST {url} answered {answer.status_code}: {answer.text[:500]}")
        return
    raise RuntimeError("the server did not answer within 300 s")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by process `root` and every live process descending from it
    (the analytics writer): on a shared machine the wall clock mostly measures the other jobs."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime, stime
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def _wait_listening(base: str, server: subprocess.Popen[bytes]) -> None:
    """Returns once the server answers ``GET /v1/health`` (uvicorn listens after the app's start-up)."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=60).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError("the server did not listen within 300 s")


def measure_startup(src: Path, artifact: Path) -> tuple[float, float, float]:
    """Seconds from starting ``careleads serve`` (model published) until it listens (the app created and
    started), and until the first scored lead's answer; and the CPU seconds the server's processes used
    until then."""
    with tempfile.TemporaryDirectory(prefix="careleads-startup-") as tmp:
        data_dir = Path(tmp)
        tokens = _child(src, ["prepare", str(data_dir), str(artifact), "publish"])
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        server = _serve(src, data_dir, port)
        try:
            _wait_listening(base, server)
            listening = time.perf_counter() - start
            _post_until_served(f"{base}/v1/leads", lead(0), tokens["integration"], server)
            return listening, time.perf_counter() - start, tree_cpu_seconds(server.pid)
        finally:
            _stop(server)


def measure_publishing(src: Path, artifact: Path) -> tuple[float, float]:
    """(seconds of the publish call, seconds of the first scored lead after it), on a running server."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="careleads-publish-") as tmp:
        data_dir = Path(tmp)
        tokens = _child(src, ["prepare", str(data_dir), str(artifact), "register"])
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = _serve(src, data_dir, port)
        try:
            # a first lead scored by the rule baseline: the app is up and warm before the model is published
            _post_until_served(f"{base}/v1/leads", lead(0), tokens["integration"], server)
            start = time.perf_counter()
            published = httpx.post(
                f"{base}/v1/models/{artifact.name}/publish",
                headers={"Authorization": f"Bearer {tokens['analyst']}"},
                timeout=300,
            )
            publish_s = time.perf_counter() - start
            if published.status_code != 200:
                raise RuntimeError(f"publish answered {published.status_code}: {published.text[:500]}")
            start = time.perf_counter()
            _post_until_served(f"{base}/v1/leads", lead(1), tokens["integration"], server)
            return publish_s, time.perf_counter() - start
        finally:
            _stop(server)


def _reference_checkout(revision: str, folder: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), revision],
        check=True,
        capture_output=True,
    )
    return folder / "src"


def _remove_checkout(folder: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)],
        check=False,
        capture_output=True,
    )


def run_benchmark(
    *, reference: str | None, n_leads: int = 3_000, n_texts: int = 20_000, repeats: int = 3
) -> dict[str, Any]:
    """Measure this code and the reference revision's (see the module docstring); returns the figures."""
    figures: dict[str, Any] = {
        "machine": _common.machine(),
        "python_loop_seconds": _common.python_yardstick(),
        "leads_trained_on": n_leads,
        "classifier_texts": n_texts,
        "repeats": repeats,
        "goal_startup_s": GOAL_STARTUP_S,
    }
    with tempfile.TemporaryDirectory(prefix="careleads-bench-startup-") as tmp:
        root = Path(tmp)
        version = build_artifact(root, n_leads=n_leads, n_texts=n_texts)
        artifact = root / "model" / version
        codes = {"this": REPO / "src"}
        checkout = root / "reference"
        try:
            if reference:
                codes["reference"] = _reference_checkout(reference, checkout)
                figures["reference_revision"] = reference
            for name, src in codes.items():
                runs: dict[str, list[float]] = {
                    "listening_s": [],
                    "startup_s": [],
                    "startup_cpu_s": [],
                    "publish_s": [],
                    "first_after_publish_s": [],
                }
                for _ in range(repeats):
                    listening_s, startup_s, cpu_s = measure_startup(src, artifact)
                    runs["startup_cpu_s"].append(round(cpu_s, 3))
                    runs["listening_s"].append(round(listening_s, 3))
                    runs["startup_s"].append(round(startup_s, 3))
                    publish_s, first_s = measure_publishing(src, artifact)
                    runs["publish_s"].append(round(publish_s, 3))
                    runs["first_after_publish_s"].append(round(first_s, 3))
                figures[name] = {
                    **{f"{key}_median": round(statistics.median(values), 3) for key, values in runs.items()},
                    "runs": runs,
                }
        finally:
            if reference:
                _remove_checkout(checkout)
    this = figures["this"]
    this["startup_under_goal"] = this["startup_s_median"] < GOAL_STARTUP_S
    figures["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    if "reference" in figures:
        ref = figures["reference"]
        figures["reference_over_this"] = {
            key: _common.ratio(ref[f"{key}_median"], this[f"{key}_median"])
            for key in ("startup_s", "startup_cpu_s", "first_after_publish_s")
        }
        figures["reference_over_this"]["publish_then_first_lead"] = _common.ratio(
            ref["publish_s_median"] + ref["first_after_publish_s_median"],
            this["publish_s_median"] + this["first_after_publish_s_median"],
        )
    return figures


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for name in ("this", "reference"):
        if name in figures:
            part = figures[name]
            label = "this code" if name == "this" else f"reference {figures['reference_revision']}"
            rows += [
                (f"{label}: start-up until listening (s)", f"{part['listening_s_median']:.2f}"),
                (f"{label}: start-up to first scored lead (s)", f"{part['startup_s_median']:.2f}"),
                (f"{label}: CPU used by then (s)", f"{part['startup_cpu_s_median']:.2f}"),
                (f"{label}: publish call (s)", f"{part['publish_s_median']:.2f}"),
                (f"{label}: first lead after publishing (s)", f"{part['first_after_publish_s_median']:.2f}"),
            ]
    for key, value in figures.get("reference_over_this", {}).items():
        rows.append((f"reference / this: {key}", f"{value:.1f}x"))
    rows.append(("python loop yardstick (s)", f"{figures['python_loop_seconds']:.2f}"))
    rows.append(
        (
            "load average, start / end",
            f"{figures['machine']['load_average_1m']} / {figures['load_average_1m_at_end']}",
        )
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reference", default="1584fdb", help="git revision to compare with ('' for none)")
    parser.add_argument("--leads", type=int, default=3_000, help="simulated leads the model is trained on")
    parser.add_argument("--n-texts", type=int, default=20_000, help="texts the text classifiers learn from")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (medians reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        step, data_dir, artifact, mode = args.child
        assert step == "prepare"
        _common.emit_line(prepare(Path(data_dir), Path(artifact), publish=mode == "publish"))
        return 0
    figures = run_benchmark(
        reference=args.reference or None, n_leads=args.leads, n_texts=args.n_texts, repeats=args.repeats
    )
    _common.emit(
        figures, json_path=args.json, text=_common.table("Start-up with a text-feature model", _rows(figures))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
