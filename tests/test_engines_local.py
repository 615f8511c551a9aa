"""Local batch engine: chunked equals one-shot, crash and restart give one decision per lead, CSV/Parquet."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from careleads.cli._score import register
from careleads.datasets import load_crm_folder
from careleads.dictionary import ingest_file, load_dictionary
from careleads.engines import ScoringOptions, decide_chunk, read_scores, score_file
from careleads.engines._chunks import Chunk, SeenKeys, hash_keys
from careleads.engines._pool import ChunkJob, ChunkQueue
from careleads.errors import InputError, NotFittedError
from careleads.features import Target
from careleads.models import LeadModel, train_model
from careleads.models._gbm import GradientBoostedScorer
from careleads.synth import generate

DECIDED_AT = "2025-06-02T09:00:00"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small export as CSV and Parquet, and a cold-start model trained on it."""
    base = tmp_path_factory.mktemp("engines")
    data = generate(4_000, seed=21)
    data.write(base / "csv")
    data.write(base / "pq", fmt="parquet")
    tables = load_crm_folder(base / "pq")
    model = train_model(tables.dataset(Target(as_of_hours=0), data_end=data.end), seed=0).model
    model.save(base / "model")
    return {
        "csv": base / "csv" / "leads.csv",
        "parquet": base / "pq" / "leads.parquet",
        "events": base / "pq" / "events.parquet",
        "model": base / "model",
    }


@pytest.fixture(scope="module")
def model(files: dict[str, Path]) -> LeadModel:
    return LeadModel.load(files["model"])


def test_chunked_scoring_equals_one_shot(files: dict[str, Path], model: LeadModel, tmp_path: Path) -> None:
    chunked = score_file(
        files["parquet"], model=model, out_path=tmp_path / "chunked", chunk_rows=700, decided_at=DECIDED_AT
    )
    whole = score_file(
        files["parquet"],
        model=model,
        out_path=tmp_path / "one.parquet",
        chunk_rows=10**6,
        decided_at=DECIDED_AT,
    )
    assert chunked.n_chunks == 6 and whole.n_chunks == 1
    assert chunked.n_read == whole.n_read == chunked.n_scored + chunked.n_quarantined
    a, b = read_scores(tmp_path / "chunked"), read_scores(tmp_path / "one.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert a["lead_id"].is_unique
    assert {"route_name", "overrides", "review_required", "model_version", "tier", "score"} <= set(a.columns)
    # the quarantined rows are the same ones, whatever the chunk size
    qa = pd.read_csv(tmp_path / "chunked" / "_quarantine.csv")
    qb = pd.read_csv(tmp_path / "one.quarantine.csv")
    assert qa["_row"].tolist() == qb["_row"].tolist()


def test_batch_equals_the_library_on_the_whole_file(
    files: dict[str, Path], model: LeadModel, tmp_path: Path
) -> None:
    """CSV in chunks == ingest the whole file, score_leads and decide_many at once (the API's path)."""
    summary = score_file(
        files["csv"], model=model, out_path=tmp_path / "out.csv", chunk_rows=900, decided_at=DECIDED_AT
    )
    ingested = ingest_file(files["csv"], load_dictionary(), "leads")
    expected = decide_chunk(model, ingested.clean, None, ScoringOptions(decided_at=DECIDED_AT))
    got = read_scores(tmp_path / "out.csv")
    assert summary.n_quarantined == ingested.summary.n_quarantined > 0
    assert got["lead_id"].tolist() == expected["lead_id"].astype(str).tolist()
    assert (got["probability"] - expected["probability"]).abs().max() < 1e-12
    assert got["tier"].tolist() == expected["tier"].tolist()
    assert got["route_name"].tolist() == expected["route_name"].tolist()
    quarantine = pd.read_csv(tmp_path / "out.quarantine.csv")
    assert quarantine["_row"].tolist() == ingested.quarantine["_row"].tolist()


class Interrupted(RuntimeError):
    pass


@pytest.mark.parametrize("stage", ["part_written", "checkpointed"])
def test_interrupted_run_restarts_with_one_decision_per_lead(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, stage: str
) -> None:
    out = tmp_path / "scores.parquet"

    def crash(at: str, chunk: int) -> None:
        if at == stage and chunk == 2:
            raise Interrupted(f"killed after chunk {chunk} ({at})")

    with pytest.raises(Interrupted):
        score_file(
            files["parquet"], model=model, out_path=out, chunk_rows=600, hook=crash, decided_at=DECIDED_AT
        )
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet.parts"]
    # the parts of one Parquet output are Arrow files (the output is written as chunks are committed)
    assert {p.suffix for p in (tmp_path / "scores.parquet.parts").glob("part-*")} == {".arrow"}
    resumed = score_file(files["parquet"], model=model, out_path=out, chunk_rows=600)
    assert resumed.n_chunks_resumed == (2 if stage == "part_written" else 3)
    reference = score_file(
        files["parquet"],
        model=model,
        out_path=tmp_path / "r.parquet",
        chunk_rows=600,
        decided_at=DECIDED_AT,
    )
    got, want = read_scores(out), read_scores(tmp_path / "r.parquet")
    assert got["lead_id"].is_unique
    pd.testing.assert_frame_equal(got, want)
    assert resumed.n_read == reference.n_read and resumed.n_quarantined == reference.n_quarantined
    # the quarantine of the chunks committed before the crash is kept, once
    quarantined = pd.read_csv(resumed.quarantine_path, dtype=str, keep_default_na=False)
    assert len(quarantined) == reference.n_quarantined > 0
    assert Path(resumed.quarantine_path).read_bytes() == Path(reference.quarantine_path).read_bytes()


@pytest.mark.parametrize(("workers", "compiled"), [(1, False), (2, False), (2, True)])
def test_process_killed_with_sigkill_resumes_exactly_once(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, workers: int, compiled: bool
) -> None:
    """With compiled trees the workers are forks of the killed process, otherwise of the fork server."""
    from careleads.engines._compiled import lleaves_available

    if compiled and not lleaves_available():
        pytest.skip("lleaves is not installed: no compiled trees")
    out = tmp_path / "killed"
    script = textwrap.dedent(
        f"""
        import multiprocessing, os, signal
        from careleads.engines import score_file
        from careleads.models import LeadModel

        def die(stage, chunk):
            if stage == "part_written" and chunk == 1:
                print(*[p.pid for p in multiprocessing.active_children()], flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        score_file({str(files["csv"])!r}, model=LeadModel.load({str(files["model"])!r}),
                   out_path={str(out)!r}, chunk_rows=1000, hook=die, compiled={compiled}, workers={workers})
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    pids = [int(p) for p in child.stdout.split()]
    assert len(pids) == (workers if workers > 1 else 0)
    for _ in range(100):  # workers end with the main process, not wait for chunks that never come
        if not any(_running(pid) for pid in pids):
            break
        time.sleep(0.1)
    assert not any(_running(pid) for pid in pids)
    assert (out / "part-00001.parquet").exists() and not (out / "_SUCCESS").exists()
    summary = score_file(
        files["csv"], model=model, out_path=out, chunk_rows=1000, compiled=compiled, workers=workers
    )
    assert summary.n_chunks_resumed == 1
    scores = read_scores(out)
    assert scores["lead_id"].is_unique
    expected = ingest_file(files["csv"], load_dictionary(), "leads").clean["lead_id"].astype(str)
    assert sorted(scores["lead_id"].astype(str)) == sorted(expected)
    assert (out / "_SUCCESS").exists() and not (out / "_checkpoint.json").exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("part-")) == [
        "_SUCCESS",
        "_flagged.csv",
        "_quarantine.csv",
    ]


def _running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_csv_quarantine_keeps_malformed_blank_and_repeated_rows(model: LeadModel, tmp_path: Path) -> None:
    leads = generate(600, seed=5).leads.astype("string").fillna("")
    body = leads.to_csv(index=False, lineterminator="\n").splitlines()
    n_columns = len(leads.columns)
    lines = body[:101] + ["only,three,fields"] + body[101:201] + [""] + body[201:] + [body[5]]
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = score_file(path, model=model, out_path=tmp_path / "out", chunk_rows=150, fmt="csv")
    quarantine = pd.read_csv(tmp_path / "out" / "_quarantine.csv", dtype={"_reason": str})
    assert summary.n_read == len(lines) - 1 == summary.n_scored + summary.n_quarantined
    malformed = quarantine[quarantine["_reason"].str.startswith("malformed line")]
    assert malformed["_row"].tolist() == [102]
    assert f"expected {n_columns} fields" in malformed["_reason"].iloc[0]
    assert "blank row" in quarantine.loc[quarantine["_row"] == 203, "_reason"].iloc[0]
    repeated = quarantine[quarantine["_reason"].str.contains("earlier chunk")]
    assert len(lines) in repeated["_row"].tolist()  # the copy of row 7 appended at the end
    scores = read_scores(tmp_path / "out")
    assert scores["lead_id"].is_unique and summary.n_scored == len(scores)


def test_seen_keys_finds_repeats_only() -> None:
    seen = SeenKeys()
    seen.add(hash_keys(pd.Series(["L1", "L2"], dtype="string")))
    seen.add(hash_keys(pd.Series(["L9"], dtype="string")))
    found = seen.contains(hash_keys(pd.Series(["L2", "L3", "L9", "L0"], dtype="string")))
    assert found.tolist() == [True, False, True, False]


def test_seen_keys_over_many_chunks_keep_few_runs() -> None:
    rng = np.random.default_rng(3)
    seen, stored = SeenKeys(), np.zeros(0, dtype=np.uint64)
    checked = SeenKeys()  # looked up and added in one step (what a run does)
    for size in [500] * 40 + [3, 0, 2_000, 1]:
        chunk = rng.integers(0, 2**20, size, dtype=np.uint64)  # small range: many repeats across chunks
        assert seen.contains(chunk).tolist() == np.isin(chunk, stored).tolist()
        assert checked.add_new(chunk).tolist() == np.isin(chunk, stored).tolist()
        seen.add(chunk)
        stored = np.concatenate([stored, chunk])
        assert len(seen) == len(stored)
    assert len(seen._runs) <= 8  # runs at least halve in size: about log2(n / chunk) of them


def test_finished_output_is_not_overwritten_silently(
    files: dict[str, Path], model: LeadModel, tmp_path: Path
) -> None:
    out = tmp_path / "s.parquet"
    score_file(files["parquet"], model=model, out_path=out, decisions=False)
    with pytest.raises(InputError, match="finished run"):
        score_file(files["parquet"], model=model, out_path=out, decisions=False)
    again = score_file(files["parquet"], model=model, out_path=out, decisions=False, overwrite=True)
    assert again.n_chunks_resumed == 0 and set(read_scores(out).columns) == {
        "lead_id",
        "as_of",
        "probability",
        "score",
        "tier",
        "action",
        "reasons",
        "scored_by",
        "model_version",
    }


def test_cli_score_writes_output_and_summary(files: dict[str, Path], tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `score` a named subcommand
    out = tmp_path / "cli.parquet"
    result = CliRunner().invoke(
        app,
        [
            "score",
            str(files["parquet"]),
            "--model",
            str(files["model"]),
            "--out",
            str(out),
            "--chunk-rows",
            "1500",
            "--events",
            str(files["events"]),
            "--reasons",
            "2",
            "--workers",
            "2",
            "--json",
            str(tmp_path / "summary.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    said = " ".join(result.stdout.split())
    # in words, the figures those of the run; JSON only in the file asked for
    assert (
        f"scored {summary['n_scored']:,} of {summary['n_read']:,} rows in {summary['n_chunks']} chunk(s)"
        in said
    )
    assert f"output: {out}" in said and "{" not in result.stdout
    scores = read_scores(out)
    assert scores["reasons"].str.len().gt(0).any()
    assert not multiprocessing.active_children()
    zero = CliRunner().invoke(
        app,
        ["score", str(files["parquet"]), "--model", str(files["model"]), "--out", str(out), "--workers", "0"],
    )
    assert zero.exit_code == 2 and "--workers" in zero.output
    missing = CliRunner().invoke(app, ["score", str(files["parquet"]), "--model", "v1", "--out", str(out)])
    assert missing.exit_code == 2 and "--registry" in missing.output


def test_events_change_engaged_scores(files: dict[str, Path], model: LeadModel, tmp_path: Path) -> None:
    cold = score_file(files["parquet"], model=model, out_path=tmp_path / "cold", decisions=False)
    warm = score_file(
        files["parquet"],
        model=model,
        out_path=tmp_path / "warm",
        decisions=False,
        events_path=files["events"],
        chunk_rows=1000,
    )
    assert cold.n_scored == warm.n_scored
    # a cold-start model scores at creation: events logged later must not change a single score
    a, b = read_scores(tmp_path / "cold"), read_scores(tmp_path / "warm")
    pd.testing.assert_series_equal(a["probability"], b["probability"])
    assert os.path.exists(tmp_path / "warm" / "_SUCCESS")


def test_decide_chunk_joins_scores_and_decision_columns_row_for_row(
    files: dict[str, Path], model: LeadModel
) -> None:
    from careleads.decisions import decide_columns
    from careleads.engines._chunks import _QUEUE_FIELDS, OUTPUT_TYPES
    from careleads.scoring import score_leads

    leads = ingest_file(files["parquet"], load_dictionary(), "leads").clean
    got = decide_chunk(model, leads, None, ScoringOptions(decided_at=DECIDED_AT))
    scored = score_leads(model, leads, None, n_reasons=0)
    decided = decide_columns(leads, scored, now=DECIDED_AT)
    fields = [c for c in decided.columns if c not in _QUEUE_FIELDS and c not in scored.columns]
    assert list(got.columns) == [c for c in OUTPUT_TYPES if c in got.columns] + [
        c for c in got.columns if c not in OUTPUT_TYPES
    ]
    assert sorted(got.columns) == sorted([*scored.columns, *fields])
    for name in got.columns:
        want = decided[name] if name in fields or name == "action" else scored[name]
        values = [None if pd.isna(v) else v for v in want.tolist()]
        assert [None if pd.isna(v) else v for v in got[name].tolist()] == values, name
    assert (got["action"] != scored["action"]).any()  # overrides changed some paths


@pytest.fixture(scope="module")
def messy_csv(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CSV export with a malformed line, a blank row and copies of early leads in later chunks."""
    lines = files["csv"].read_text(encoding="utf-8").splitlines()
    messy = (
        lines[:300]
        + ["only,three,fields"]
        + lines[300:1200]
        + [""]
        + lines[1200:]
        + lines[5:9]
        + [lines[700]]
    )
    path = tmp_path_factory.mktemp("messy") / "leads.csv"
    path.write_text("\n".join(messy) + "\n", encoding="utf-8")
    return path


def test_workers_give_the_same_output_and_quarantine(
    messy_csv: Path, model: LeadModel, tmp_path: Path
) -> None:
    runs = {
        n: score_file(
            messy_csv,
            model=model,
            out_path=tmp_path / f"w{n}",
            chunk_rows=500,
            decided_at=DECIDED_AT,
            workers=n,
        )
        for n in (1, 2)
    }
    one, two = runs[1], runs[2]
    assert one.n_chunks == two.n_chunks > 4 and one.decisions
    assert (one.n_read, one.n_scored, one.n_quarantined) == (two.n_read, two.n_scored, two.n_quarantined)
    assert one.predictor == two.predictor
    pd.testing.assert_frame_equal(read_scores(tmp_path / "w1"), read_scores(tmp_path / "w2"))
    q1 = (tmp_path / "w1" / "_quarantine.csv").read_bytes()
    assert q1 == (tmp_path / "w2" / "_quarantine.csv").read_bytes()
    reasons = pd.read_csv(tmp_path / "w1" / "_quarantine.csv", dtype={"_reason": str})["_reason"]
    assert reasons.str.startswith("malformed line").sum() == 1
    assert reasons.str.contains("blank row").sum() == 1
    assert reasons.str.contains("earlier chunk").sum() >= 5
    assert not multiprocessing.active_children()  # the pool is gone with the run


def test_workers_files_become_the_parts_of_a_single_parquet_output(
    messy_csv: Path, model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into one Parquet file, a chunk's part is the file its worker wrote, unless repeats were dropped; a
    run killed after some parts resumes from them."""
    import careleads.engines._local as local_module

    reference = score_file(
        messy_csv, model=model, out_path=tmp_path / "one", chunk_rows=500, decided_at=DECIDED_AT
    )
    written: list[str] = []
    write_part = local_module.write_part

    def counted(table: object, path: Path, fmt: str) -> None:
        written.append(path.name)
        write_part(table, path, fmt)  # type: ignore[arg-type]

    monkeypatch.setattr(local_module, "write_part", counted)
    out = tmp_path / "single" / "scores.parquet"
    out.parent.mkdir()
    kept: list[str] = []

    def crash(at: str, chunk: int) -> None:
        if at == "part_written":
            kept.extend(
                p.name
                for p in out.parent.rglob(f"part-{chunk:05d}.*")
                if p.parent.name not in ("_quarantine", "_flagged")
            )
            if chunk == 3:
                raise Interrupted(f"killed after chunk {chunk}")

    with pytest.raises(Interrupted):
        score_file(
            messy_csv, model=model, out_path=out, chunk_rows=500, hook=crash, decided_at=DECIDED_AT, workers=2
        )
    assert len(kept) == 4 and all(name.endswith(".arrow") for name in kept)
    resumed = score_file(messy_csv, model=model, out_path=out, chunk_rows=500, workers=2)
    assert resumed.n_chunks_resumed == 3 and resumed.n_chunks == reference.n_chunks
    # only the chunks that lost repeats to an earlier chunk were written again by the main process
    assert 0 < len(written) < reference.n_chunks
    pd.testing.assert_frame_equal(read_scores(out), read_scores(tmp_path / "one"))
    assert Path(resumed.quarantine_path).read_bytes() == Path(reference.quarantine_path).read_bytes()
    assert not list(tmp_path.rglob("out-*.arrow")) and not multiprocessing.active_children()


@pytest.mark.parametrize("first_workers", [1, 2])
def test_interrupted_run_restarted_with_workers_gives_one_decision_per_lead(
    messy_csv: Path, model: LeadModel, tmp_path: Path, first_workers: int
) -> None:
    out = tmp_path / "scores"

    def crash(at: str, chunk: int) -> None:
        if at == "part_written" and chunk == 3:
            raise Interrupted(f"killed after chunk {chunk} ({at})")

    with pytest.raises(Interrupted, match="after chunk 3"):
        score_file(
            messy_csv,
            model=model,
            out_path=out,
            chunk_rows=500,
            hook=crash,
            decided_at=DECIDED_AT,
            workers=first_workers,
        )
    assert not multiprocessing.active_children()
    assert (out / "part-00003.parquet").exists() and not (out / "_SUCCESS").exists()
    resumed = score_file(messy_csv, model=model, out_path=out, chunk_rows=500, workers=2)
    assert resumed.n_chunks_resumed == 3
    reference = score_file(
        messy_csv, model=model, out_path=tmp_path / "ref", chunk_rows=500, decided_at=DECIDED_AT
    )
    got = read_scores(out)
    assert got["lead_id"].is_unique
    pd.testing.assert_frame_equal(got, read_scores(tmp_path / "ref"))
    assert (out / "_quarantine.csv").read_bytes() == (tmp_path / "ref" / "_quarantine.csv").read_bytes()
    assert (resumed.n_read, resumed.n_scored, resumed.n_quarantined) == (
        reference.n_read,
        reference.n_scored,
        reference.n_quarantined,
    )


def test_an_error_in_a_worker_reaches_the_caller(
    files: dict[str, Path], model: LeadModel, tmp_path: Path
) -> None:
    # an unfitted scorer fails when a chunk is scored, which with workers happens in a worker process
    broken = dataclasses.replace(model, scorer=GradientBoostedScorer(**model.scorer.get_params()))
    errors = []
    for n in (1, 2):
        with pytest.raises(NotFittedError) as caught:
            score_file(
                files["parquet"],
                model=broken,
                out_path=tmp_path / f"w{n}",
                chunk_rows=1000,
                compiled=False,
                workers=n,
            )
        errors.append(caught.value)
    assert type(errors[0]) is type(errors[1]) and str(errors[0]) == str(errors[1]) != ""
    assert not multiprocessing.active_children()
    with pytest.raises(InputError, match="workers must be 1 or more"):
        score_file(files["parquet"], model=model, out_path=tmp_path / "w0", workers=0)


def test_workers_fall_back_to_lightgbm_with_the_main_process(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    import careleads.engines._compiled as compiled_module

    if not compiled_module.lleaves_available():
        pytest.skip("lleaves is not installed: there are no compiled trees to fall back from")
    score_file(
        files["parquet"],
        model=model,
        out_path=tmp_path / "lgb",
        chunk_rows=800,
        workers=2,
        decided_at=DECIDED_AT,
        compiled=False,
    )
    # compiled trees that score one off: the check finds them while the forked workers score the first
    # chunks with them, and those chunks are scored again with LightGBM
    predict_raw = compiled_module.CompiledScorer.predict_raw
    monkeypatch.setattr(
        compiled_module.CompiledScorer, "predict_raw", lambda self, X: predict_raw(self, X) + 1.0
    )
    pooled = score_file(
        files["parquet"],
        model=model,
        out_path=tmp_path / "w2",
        chunk_rows=800,
        workers=2,
        decided_at=DECIDED_AT,
    )
    assert pooled.predictor == "lightgbm" and any(
        "differ from LightGBM by 1.00e+00" in n for n in pooled.notes
    )
    pd.testing.assert_frame_equal(read_scores(tmp_path / "w2"), read_scores(tmp_path / "lgb"))
    monkeypatch.undo()
    # the workers, started with compiled trees, score with LightGBM once the main process asks them to
    # the main process's part: a pool, forked or from the fork server, starts again for LightGBM and
    # scores the chunks in flight again
    job, chunks = _job_and_chunks(files["parquet"], compiled_module.compile_trees(model), compiled=True)
    fallback = dataclasses.replace(job, model=model, compiled=False)
    for fork in (True, False):
        with ChunkQueue(2, tmp_path / "in_flight", fork=fork) as queue:
            queue.start(job)
            assert queue.put(job, chunks[0], 0.5) == []
            with pytest.raises(RuntimeError, match="change it with redo"):
                queue.put(fallback, chunks[1], 1.0)
            done = [*queue.redo(fallback), *queue.put(fallback, chunks[1], 1.0), *queue.drain()]
            assert queue.start_method == "forkserver"
        assert [(fraction, s.predictor) for _, fraction, s in done] == [(0.5, "lightgbm"), (1.0, "lightgbm")]


def test_one_process_checks_the_compiled_trees_and_falls_back_to_lightgbm(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one process, the first chunk's leads are checked before it is scored: compiled trees that score
    one off are found there, and every chunk is scored with LightGBM."""
    import careleads.engines._compiled as compiled_module

    if not compiled_module.lleaves_available():
        pytest.skip("lleaves is not installed: there are no compiled trees to fall back from")
    kwargs: dict[str, Any] = {"chunk_rows": 800, "workers": 1, "decided_at": DECIDED_AT}
    good = score_file(files["parquet"], model=model, out_path=tmp_path / "good", **kwargs)
    assert good.predictor == "lleaves" and good.n_chunks > 4 and not good.notes
    lgb = score_file(files["parquet"], model=model, out_path=tmp_path / "lgb", compiled=False, **kwargs)
    predict_raw = compiled_module.CompiledScorer.predict_raw
    monkeypatch.setattr(
        compiled_module.CompiledScorer, "predict_raw", lambda self, X: predict_raw(self, X) + 1.0
    )
    off = score_file(files["parquet"], model=model, out_path=tmp_path / "off", **kwargs)
    assert off.predictor == lgb.predictor == "lightgbm"
    assert any("differ from LightGBM by 1.00e+00" in note for note in off.notes)
    pd.testing.assert_frame_equal(read_scores(tmp_path / "off"), read_scores(tmp_path / "lgb"))
    pd.testing.assert_frame_equal(read_scores(tmp_path / "good"), read_scores(tmp_path / "lgb"), atol=1e-9)


def test_workers_start_no_pool_for_a_file_of_one_chunk(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import careleads.engines._pool as pool_module

    def no_pool(*_: object, **__: object) -> None:
        raise AssertionError("a pool was started for a file that fits one chunk")

    monkeypatch.setattr(pool_module, "ProcessPoolExecutor", no_pool)
    one = score_file(files["parquet"], model=model, out_path=tmp_path / "a", workers=2, decided_at=DECIDED_AT)
    assert one.n_chunks == 1
    with pytest.raises(AssertionError, match="a pool was started"):  # more than one chunk: the pool starts
        score_file(
            files["parquet"],
            model=model,
            out_path=tmp_path / "b",
            workers=2,
            chunk_rows=1_000,
            decided_at=DECIDED_AT,
        )


def _job_and_chunks(path: Path, model: LeadModel, *, compiled: bool) -> tuple[ChunkJob, list[Chunk]]:
    """A pool's job for the test export, and its first 2,000 leads as four chunks of 500."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    job = ChunkJob(
        model=model,
        dictionary=load_dictionary(),
        source="leads.parquet",
        options=ScoringOptions(decided_at=DECIDED_AT),
        events=None,
        compiled=compiled,
    )
    chunks = [
        Chunk(table=table.slice(500 * i, 500), rows=np.arange(2, 502) + 500 * i, malformed=pd.DataFrame())
        for i in range(4)
    ]
    return job, chunks


def test_the_main_process_scores_while_the_workers_start(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting the workers waits for the fork server (about a second): meanwhile the main process scores."""
    import threading

    release = threading.Event()
    spawn = ChunkQueue._spawn

    def held(queue: ChunkQueue) -> None:  # the workers start only once the first chunk is scored
        release.wait(60)
        spawn(queue)

    monkeypatch.setattr(ChunkQueue, "_spawn", held)
    job, chunks = _job_and_chunks(files["parquet"], model, compiled=False)
    folder = tmp_path / "in_flight"
    with ChunkQueue(2, folder) as queue:
        queue.start(job)
        assert queue.put(job, chunks[0], 0.25) == []
        assert folder.is_dir() and not any(folder.iterdir())  # scored here: no file left for a worker
        release.set()
        done = [*queue.put(job, chunks[1], 0.5), *queue.put(job, chunks[2], 0.75)]
        done += [*queue.put(job, chunks[3], 1.0), *queue.drain()]
    assert [fraction for _, fraction, _ in done] == [0.25, 0.5, 0.75, 1.0]
    for (_, _, scored), chunk in zip(done, chunks, strict=True):
        expected = job.run(chunk.frame, chunk.rows).decisions  # (Arrow's `equals` has NaN unequal to NaN)
        pd.testing.assert_frame_equal(scored.decisions.to_pandas(), expected.to_pandas())
    assert not multiprocessing.active_children()


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[1])


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_workers_that_never_call_lightgbm_are_forked_from_the_main_process(
    files: dict[str, Path], model: LeadModel, tmp_path: Path
) -> None:
    """Compiled trees without reason codes: the workers are forks of this process, started at the first
    chunk (after the compiled trees are checked), and score as this process does."""

    import careleads.engines._compiled as compiled_module

    if not compiled_module.lleaves_available():
        pytest.skip("lleaves is not installed: workers with LightGBM come from the fork server")
    job, chunks = _job_and_chunks(files["parquet"], compiled_module.compile_trees(model), compiled=True)
    with ChunkQueue(2, tmp_path / "in_flight") as queue:
        queue.start(job)
        assert queue.start_method == ""  # not yet: the main process may still turn the compiled trees off
        done = queue.put(job, chunks[0], 0.25)
        assert queue.start_method == "fork"
        workers = multiprocessing.active_children()
        assert len(workers) == 2 and all(_parent_of(w.pid or 0) == os.getpid() for w in workers)
        for i, chunk in enumerate(chunks[1:], start=2):
            done += queue.put(job, chunk, i / 4)
        with pytest.raises(RuntimeError, match="change it with redo"):  # the workers keep their job
            queue.put(dataclasses.replace(job, options=ScoringOptions(n_reasons=2)), chunks[0], 1.0)
        done += queue.drain()
    assert [fraction for _, fraction, _ in done] == [0.25, 0.5, 0.75, 1.0]
    for (_, _, scored), chunk in zip(done, chunks, strict=True):
        assert scored.predictor == "lleaves"
        expected = job.run(chunk.frame, chunk.rows).decisions
        pd.testing.assert_frame_equal(scored.decisions.to_pandas(), expected.to_pandas())
    assert not multiprocessing.active_children()

    # with reason codes (or LightGBM trees) the workers come from the fork server, forked before any OpenMP
    reasons = dataclasses.replace(job, options=ScoringOptions(n_reasons=2, decided_at=DECIDED_AT))
    with ChunkQueue(2, tmp_path / "in_flight") as queue:
        queue.start(reasons)
        assert queue.start_method == "forkserver"
        done = [*queue.put(reasons, chunks[0], 0.5), *queue.put(reasons, chunks[1], 1.0), *queue.drain()]
    assert len(done) == 2


def test_parquet_output_has_statistics_for_lead_ids_and_numbers_only(
    files: dict[str, Path], model: LeadModel, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "scores.parquet"
    score_file(files["parquet"], model=model, out_path=out, chunk_rows=1_500, decided_at=DECIDED_AT)
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == 3
    stats = {
        meta.schema.column(i).name: meta.row_group(0).column(i).is_stats_set for i in range(meta.num_columns)
    }
    assert stats["lead_id"] and stats["probability"] and stats["score"] and stats["as_of"]
    assert not stats["tier"] and not stats["notes"] and not stats["route_name"]
    # a dictionary for the few values of a column, none for the values each lead has on its own
    for name, dictionary in [("lead_id", False), ("as_of", False), ("tier", True), ("route_name", True)]:
        column = meta.row_group(0).column(meta.schema.names.index(name))
        assert (column.dictionary_page_offset is not None) is dictionary, name


@pytest.mark.parametrize("out_name", ["scores.parquet", "folder"])
def test_parquet_output_reads_back_as_plain_text_equal_to_the_library(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, out_name: str
) -> None:
    """Decision texts go from the workers to the writer as Arrow dictionaries; the files hold the output
    types (no categoricals for readers) and the values of the library's frame."""
    import pyarrow.parquet as pq

    from careleads.engines._chunks import OUTPUT_TYPES

    out = tmp_path / out_name
    score_file(
        files["parquet"], model=model, out_path=out, chunk_rows=1_500, decided_at=DECIDED_AT, workers=2
    )
    paths = [out] if out.suffix else sorted(out.glob("part-*"))
    assert len(paths) == (1 if out.suffix else 3)
    for path in paths:
        schema = pq.read_schema(path)
        assert {field.name: field.type for field in schema} == OUTPUT_TYPES, path.name
    got = read_scores(out)
    assert not any(isinstance(kind, pd.CategoricalDtype) for kind in got.dtypes)
    ingested = ingest_file(files["parquet"], load_dictionary(), "leads")
    want = decide_chunk(model, ingested.clean, None, ScoringOptions(decided_at=DECIDED_AT))
    assert list(got.columns) == list(want.columns)
    assert (got["probability"] - want["probability"]).abs().max() < 1e-12  # chunks of another size
    for name in want.columns.drop("probability"):
        values = [None if pd.isna(v) else v for v in want[name].tolist()]
        assert [None if pd.isna(v) else v for v in got[name].tolist()] == values, name


def test_parquet_columns_read_as_dictionaries_score_as_their_text(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Category, yes/no and number columns come from Parquet as dictionaries, one per chunk though a chunk
    spans row groups, and large ones (a value per lead or so) as text: the decisions and the quarantine are
    those of reading every column as text, with pool workers too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from careleads.engines import _local

    frame = pq.read_table(files["parquet"]).to_pandas()
    frame = pd.concat([frame, frame.iloc[5:9]], ignore_index=True)  # repeats, quarantined from raw rows
    for row, (name, value) in enumerate(
        [("service_line", "Dentistry"), ("consent_sms", "maybe"), ("distance_km", "far"), ("region", "N/A")]
    ):
        frame.loc[10 + row, name] = value
    path = tmp_path / "leads.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=333)

    reader = _local.Reader(path, load_dictionary(), decisions=True, model=model)
    schema = next(reader.chunks(500))[0].table.schema  # rows of two row groups
    assert pa.types.is_dictionary(schema.field("service_line").type)
    assert pa.types.is_dictionary(schema.field("consent_sms").type)
    for name in ("postal_code", "distance_km", "lead_id"):  # hundreds of values in 500 rows; an id
        assert not pa.types.is_dictionary(schema.field(name).type), name

    for name in ("dictionary", "text"):
        with monkeypatch.context() as patch:
            if name == "text":
                patch.setattr(_local, "repeats_values", lambda _spec: False)
            score_file(
                path, model=model, out_path=tmp_path / name, chunk_rows=500, decided_at=DECIDED_AT, workers=2
            )
    pd.testing.assert_frame_equal(read_scores(tmp_path / "dictionary"), read_scores(tmp_path / "text"))
    quarantine = (tmp_path / "dictionary" / "_quarantine.csv").read_bytes()
    assert quarantine == (tmp_path / "text" / "_quarantine.csv").read_bytes()
    reasons = pd.read_csv(tmp_path / "text" / "_quarantine.csv", dtype={"_reason": str})["_reason"]
    assert reasons.str.contains("earlier chunk").sum() >= 4
    # values the dictionary cannot read are listed, their rows scored
    flagged = (tmp_path / "dictionary" / "_flagged.csv").read_bytes()
    assert flagged == (tmp_path / "text" / "_flagged.csv").read_bytes()
    listed = pd.read_csv(tmp_path / "text" / "_flagged.csv", dtype=str)
    assert {"service_line", "consent_sms", "distance_km"} <= set(listed["_field"])
    assert not reasons.str.contains("service_line|consent_sms|distance_km").any()


def test_parquet_written_with_pandas_categories_scores_as_text(
    files: dict[str, Path], model: LeadModel, tmp_path: Path
) -> None:
    """A file whose columns were pandas categories (stored as Arrow dictionaries, ids, dates and free text
    included) gives the decisions and quarantine of the same file written as text, with pool workers and
    chunks that span row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pq.read_table(files["parquet"]).to_pandas()
    categories = frame.astype(dict.fromkeys(("lead_id", "created_at", "question", "region"), "category"))
    for name, table in (("text", frame), ("categories", categories)):
        pq.write_table(
            pa.Table.from_pandas(table, preserve_index=False),
            tmp_path / f"{name}.parquet",
            row_group_size=333,
        )
    assert pa.types.is_dictionary(
        pq.ParquetFile(tmp_path / "categories.parquet").schema_arrow.field("lead_id").type
    )
    for name in ("text", "categories"):
        score_file(
            tmp_path / f"{name}.parquet",
            model=model,
            out_path=tmp_path / f"out_{name}",
            chunk_rows=500,
            decided_at=DECIDED_AT,
            workers=2,
            quarantine_values=True,  # the refused values too: they must read the same from either file
        )
    pd.testing.assert_frame_equal(
        read_scores(tmp_path / "out_categories"), read_scores(tmp_path / "out_text")
    )
    quarantines = [
        pd.read_csv(tmp_path / f"out_{name}" / "_quarantine.csv", dtype=str, keep_default_na=False).drop(
            columns="_source"
        )
        for name in ("text", "categories")
    ]
    assert len(quarantines[0]) > 10
    pd.testing.assert_frame_equal(quarantines[1], quarantines[0])


def test_the_cli_quarantine_holds_reasons_not_values_unless_asked(
    files: dict[str, Path], tmp_path: Path
) -> None:
    leads = generate(300, seed=9).leads.astype("string").fillna("")
    leads.loc[:20, "created_at"] = "not a date"  # refused: no readable creation time
    leads.loc[:20, "email"] = [f"private{i}@example.org" for i in range(21)]
    repeated = leads.iloc[[30]].assign(lead_id="SECRET-ID-77")  # a repeated id: its reason quotes the id
    leads = pd.concat([leads, repeated, repeated], ignore_index=True)
    source = tmp_path / "leads.csv"
    leads.to_csv(source, index=False)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    for flag, out in (([], tmp_path / "plain"), (["--quarantine-values"], tmp_path / "values")):
        result = CliRunner().invoke(
            app, ["score", str(source), "--model", str(files["model"]), "--out", str(out), *flag]
        )
        assert result.exit_code == 0, result.output
        path = out / "_quarantine.csv"
        text = path.read_text(encoding="utf-8")
        assert (path.stat().st_mode & 0o777) == 0o600
        quarantine = pd.read_csv(path, dtype=str)
        assert len(quarantine) >= 21 and quarantine["_reason"].str.contains("created_at").any()
        if flag:
            assert "private3@example.org" in text
            assert "SECRET-ID-77" in text
        else:
            assert "private3@example.org" not in text and "SECRET-ID-77" not in text
            assert set(quarantine.columns) <= {"_source", "_row", "_field", "_reason", "_triage"}
            assert quarantine["_reason"].str.contains("(value)", regex=False).any()


def test_reasons_make_default_chunks_smaller_so_progress_moves(
    files: dict[str, Path], model: LeadModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reasons cost about ten times the score: by default their chunks are ten times smaller, so a file the
    bar crossed in one step without reasons is reported chunk by chunk with them."""
    import careleads.engines._local as local_module

    n_leads = len(pd.read_parquet(files["parquet"], columns=["lead_id"]))
    monkeypatch.setattr(local_module, "DEFAULT_CHUNK_ROWS", n_leads)  # the whole file is one plain chunk
    steps: dict[int, list[float]] = {0: [], 2: []}
    for n_reasons, seen in steps.items():
        summary = score_file(
            files["parquet"],
            model=model,
            out_path=tmp_path / f"reasons-{n_reasons}",
            n_reasons=n_reasons,
            progress=lambda step, seen=seen: seen.append(step.fraction),  # type: ignore[misc]
            decided_at=DECIDED_AT,
        )
        assert summary.n_scored > 0
    assert len(steps[0]) == 1
    assert len(steps[2]) >= 10
    assert steps[2] == sorted(steps[2]) and steps[2][-1] == pytest.approx(1.0)
