"""`careleads score`: batch scoring of a lead file with the local or the Spark engine."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from careleads.cli._core import SEGMENT_HELP, SegmentName, console, out
from careleads.cli._errors import command_errors
from careleads.cli._help import example
from careleads.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from careleads.engines import BatchSummary
    from careleads.models import LeadModel


class Engine(StrEnum):
    local = "local"
    spark = "spark"


def load_model(model: str, registry: Path | None, segment: str = "inbound") -> LeadModel:
    """A model from its folder, the newest model of `segment` in a folder of models (what `careleads train
    --out` writes), or a version of the registry."""
    from careleads.models import CARD_FILE, LeadModel, ModelRegistry

    path = Path(model)
    if path.is_dir() and not (path / CARD_FILE).exists():
        folder = ModelRegistry(path)
        return folder.load(folder.latest(segment))
    if path.is_dir():
        return LeadModel.load(path)
    if registry is None:
        raise NotFoundError(
            f"{model!r} is not a model folder; give a folder, or a version with --registry DIR"
        )
    return ModelRegistry(registry).load(model)


def moment_line(model: LeadModel, *, events: bool, as_of_hours: float | None = None) -> str:
    """The line that says when the leads of a run are scored, and from what."""
    from careleads.scoring import default_offset

    if as_of_hours is None:
        as_of_hours = default_offset(model, with_events=events).total_seconds() / 3600
    if events:
        return (
            f"with --events: every lead is scored {as_of_hours:g} hours after its creation, with its events "
            "up to then"
        )
    if as_of_hours == 0:
        return (
            "no --events: every lead is scored as at its arrival (0 hours after creation), from its inbound "
            "fields only"
        )
    return (
        f"no --events: every lead is scored {as_of_hours:g} hours after its creation as a lead that has done "
        "nothing since it arrived"
    )


def check_segment(lead_model: LeadModel, segment: str) -> None:
    """A model scores only the segment it was trained for (its card says which)."""
    from careleads.models import DEFAULT_SEGMENT

    trained_for = str(lead_model.card.get("segment") or DEFAULT_SEGMENT)
    if trained_for != segment:
        raise InputError(
            f"model {lead_model.version} was trained for {trained_for} leads, not {segment} leads; "
            f"pass --segment {trained_for}, or a model trained with --segment {segment}"
        )


def _finish(summary: dict[str, Any], json_out: Path | None) -> None:
    """Write the run's summary as JSON to `json_out` (``-``: standard output) when asked."""
    if json_out is None:
        return
    text = json.dumps(summary, indent=2)
    if str(json_out) == "-":
        typer.echo(text)
    else:
        json_out.write_text(text + "\n", encoding="utf-8")
        out.print(f"json:   {json_out}")


def _print_summary(summary: BatchSummary) -> None:
    """A batch run in words: what was scored, refused and flagged, how fast, and where it went."""
    rate = f"{summary.leads_per_second:,.0f} leads/s" if summary.seconds > 0 else "no time measured"
    resumed = f", {summary.n_chunks_resumed} resumed" if summary.n_chunks_resumed else ""
    out.print(
        f"scored {summary.n_scored:,} of {summary.n_read:,} rows in {summary.n_chunks} chunk(s){resumed}, "
        f"{summary.seconds:,.1f} s ({rate}, {summary.predictor}, model {summary.model_version})"
    )
    out.print(f"output:      {summary.out_path}")
    if summary.n_quarantined:
        where = summary.quarantine_path
        out.print(f"quarantined: {summary.n_quarantined:,} rows in {where} (row, field, reason)")
    if summary.n_flagged:
        where = summary.flagged_path
        out.print(f"flagged:     {summary.n_flagged:,} rows kept, values read as unknown: {where}")
    for note in summary.notes:
        if not note.startswith("URGENT"):  # said loudly below
            out.print(f"note: {note}")


def register(app: typer.Typer) -> None:
    @app.command(
        epilog=example(
            "careleads score leads.csv --model models --out scored.parquet --reasons 3 --workers 2"
        )
    )
    @command_errors()
    def score(
        input_path: Annotated[Path, typer.Argument(help="Lead file to score (CSV or Parquet).")],
        model: Annotated[
            str,
            typer.Option(
                "--model",
                help="A model's folder; a folder of models (as `careleads train --out` writes), whose newest "
                "model of --segment is used; or a model version in --registry.",
            ),
        ],
        out_path: Annotated[
            Path,
            typer.Option(
                "--out", help="Output: a .parquet or .csv file, or a folder of part files (any other name)."
            ),
        ],
        engine: Annotated[
            Engine, typer.Option("--engine", help="local (streaming, resumable) or spark.")
        ] = Engine.local,
        chunk_rows: Annotated[
            int | None,
            typer.Option(
                "--chunk-rows",
                help="Leads per chunk (local) or per Arrow batch (spark); the progress bar moves once per "
                "chunk. Default: 200,000 (local: shared among the --workers, and ten times fewer with "
                "--reasons, which cost about ten times the score).",
            ),
        ] = None,
        events: Annotated[
            Path | None,
            typer.Option(
                "--events",
                help="Events of the leads (CSV/Parquet): each lead is scored at the model's scoring moment "
                "(--as-of-hours of `careleads train`, 24 by default) with its events up to then. Without "
                "it, each lead is scored as at its arrival (0 hours after creation), from its inbound "
                "fields only.",
            ),
        ] = None,
        segment: Annotated[
            SegmentName,
            typer.Option(
                "--segment",
                help=SEGMENT_HELP + " The model must have been trained for it. Returning and partnership "
                "files are scored in one pass in memory (local engine; --chunk-rows and --workers do not "
                "apply) and only returning leads with a return in their events get a row.",
            ),
        ] = SegmentName.inbound,
        outcomes: Annotated[
            Path | None,
            typer.Option(
                "--outcomes",
                help="--segment returning: outcomes of the leads, so that leads that converted before they "
                "came back are not scored as returns.",
            ),
        ] = None,
        spark_master: Annotated[
            str, typer.Option("--spark-master", help="Spark master URL, e.g. local[2] or spark://host:7077.")
        ] = "local[2]",
        registry: Annotated[
            Path | None, typer.Option("--registry", help="Model registry folder, to name a model by version.")
        ] = None,
        reasons: Annotated[
            int,
            typer.Option("--reasons", help="Reason codes per lead (0 = none; costs ~10x the score)."),
        ] = 0,
        decisions: Annotated[
            bool,
            typer.Option("--decisions/--no-decisions", help="Apply hard rules and routing."),
        ] = True,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace a finished output at --out.")
        ] = False,
        json_out: Annotated[
            Path | None,
            typer.Option(
                "--json", help="Also write the run's summary as JSON to this file (- for standard output)."
            ),
        ] = None,
        quarantine_values: Annotated[
            bool,
            typer.Option(
                "--quarantine-values",
                help="Keep the refused rows' values (names, contact details, messages) in the quarantine "
                "file, to correct them at the source; the file is readable by you only. Default: row "
                "number, field and reason only.",
            ),
        ] = False,
        as_of_hours: Annotated[
            float | None,
            typer.Option(
                "--as-of-hours",
                min=0,
                help="Score every lead this many hours after its creation, with its --events up to then "
                "(default: at arrival without --events, the model's scoring moment with them).",
            ),
        ] = None,
        workers: Annotated[
            int,
            typer.Option(
                "--workers",
                min=1,
                help="Processes that score chunks in parallel (local engine; the Spark engine ignores it and "
                "uses its own executors). Output and restarts are the same for any N; memory grows with N "
                "(about N + 1 chunks in flight and a model per process). With 2 on 2 cores: about 1.35x "
                "the speed of one process, with or without routing. Default 1.",
            ),
        ] = 1,
    ) -> None:
        """Score a lead file in chunks; a rerun after a crash resumes where the last committed chunk ended.

        Without --events every lead is scored as at its arrival (from its inbound fields only); the output
        says so.
        """
        from careleads.engines import (
            DEFAULT_CHUNK_ROWS,
            BatchProgress,
            keep_freed_memory,
            score_file,
            score_file_spark,
        )
        from careleads.service.context import clinic_dictionary
        from careleads.settings import get_settings

        lead_model = load_model(model, registry, segment.value)
        check_segment(lead_model, segment.value)
        if segment is not SegmentName.inbound:
            if engine is Engine.spark:
                raise InputError("--engine spark scores new patient leads only; leave it out with --segment")
            from careleads.segments import score_segment_file

            with console.status(f"scoring {segment.value} leads"):
                result = score_segment_file(
                    segment.value,
                    input_path,
                    scorer=lead_model,
                    out_path=out_path,
                    events_path=events,
                    outcomes_path=outcomes,
                    decisions=decisions,
                    n_reasons=reasons,
                )
            _finish(result, json_out)
            out.print(
                f"{result['segment']} leads: {result['n_scored']:,} scored of {result['n_rows']:,} rows "
                f"({result['n_quarantined']:,} quarantined, {result['n_not_scored']:,} not scored: see the "
                "notes of --segment)"
            )
            out.print(f"output: {result['out_path']}")
            return
        if outcomes is not None:
            raise InputError("--outcomes is read for --segment returning only")
        out.print(moment_line(lead_model, events=events is not None, as_of_hours=as_of_hours))
        if engine is Engine.spark:
            with console.status(f"scoring on Spark ({spark_master})"):
                summary = score_file_spark(
                    input_path,
                    model=lead_model,
                    out_path=out_path,
                    events_path=events,
                    master=spark_master,
                    batch_rows=chunk_rows if chunk_rows is not None else DEFAULT_CHUNK_ROWS,
                    n_reasons=reasons,
                    decisions=decisions,
                    overwrite=overwrite,
                    as_of_hours=as_of_hours,
                )
        else:
            keep_freed_memory()  # this process exists for the run: reuse what each chunk frees
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("scoring", total=1.0)

                def advance(step: BatchProgress) -> None:
                    bar.update(
                        task,
                        completed=step.fraction,
                        description=f"{step.n_scored:,} scored, {step.n_quarantined:,} quarantined",
                    )

                summary = score_file(
                    input_path,
                    model=lead_model,
                    out_path=out_path,
                    chunk_rows=chunk_rows,
                    events_path=events,
                    progress=advance,
                    n_reasons=reasons,
                    decisions=decisions,
                    overwrite=overwrite,
                    quarantine_values=quarantine_values,
                    workers=workers,
                    as_of_hours=as_of_hours,
                    dictionary=clinic_dictionary(get_settings()),  # with the clinic's mapped values
                )
        _finish(summary.to_dict(), json_out)
        _print_summary(summary)
        for note in summary.notes:
            if note.startswith("URGENT"):  # a refused row that may describe an emergency: say it loudly
                console.print(f"[bold red]{note}[/bold red]")
