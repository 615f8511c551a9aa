"""Core commands: version, generate, demo, train, score."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from careleads.cli._errors import command_errors
from careleads.cli._help import example

if TYPE_CHECKING:
    import pandas as pd

    from careleads.dictionary import Dictionary
    from careleads.features import Target

console = Console(stderr=True)
out = Console()


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


class SegmentName(StrEnum):
    """The segments a model is trained for and scores (careleads.segments.SEGMENTS)."""

    inbound = "inbound"
    returning = "returning"
    partnership = "partnership"


SEGMENT_HELP = (
    "Which leads: inbound (new patient leads, the default), returning (patient leads that went quiet for 60 "
    "days or more and came back, scored 24 h after their return on renewed activity and decayed history) or "
    "partnership (clinicians, practices and health systems from the partnership_leads, partnership_events "
    "and partnership_outcomes files, routed to business development)."
)


@contextmanager
def progress_steps(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar advancing one step per message from the library."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("starting", total=total)
        started = 0

        def step(message: str) -> None:
            # a step is counted when the next one starts: the bar is full only when the work is done
            nonlocal started
            started += 1
            if started > total:  # the library said more than expected: the bar grows, never overflows
                bar.update(task, total=started)
            bar.update(task, completed=started - 1, description=message)

        yield step
        bar.update(task, total=max(total, started), completed=max(total, started), description="done")


def metrics_table(metrics: dict[str, dict[str, float]], title: str) -> Table:
    from careleads.report import METRIC_NAMES, cell_text, heading

    table = Table(title=title)
    table.add_column("scorer")
    for name in METRIC_NAMES:
        table.add_column(heading(name), justify="right")
    for scorer, values in metrics.items():
        table.add_row(scorer, *(cell_text(float(values.get(m, float("nan")))) for m in METRIC_NAMES))
    return table


def _feedback_rows(dictionary: Dictionary, target: Target) -> tuple[pd.DataFrame, pd.Series]:
    """Reviewer labels from the operational store, as extra training rows."""
    from careleads.service.feedback import feedback_training_rows
    from careleads.settings import get_settings
    from careleads.store import make_engine, make_sessionmaker, session_scope

    engine = make_engine(get_settings().database_url, lock_seconds=get_settings().lock_wait_seconds)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            rows: tuple[pd.DataFrame, pd.Series] = feedback_training_rows(
                session=session, dictionary=dictionary, target=target
            )
            return rows
    finally:
        engine.dispose()


def _print_trained(split: dict[str, Any], model_dir: Path, report: Path | None) -> None:
    """The end of `train`: the time split in words and the paths written."""
    valid_from, test_from = str(split["valid_start"])[:10], str(split["test_start"])[:10]
    out.print(
        f"split by time: {split['train_rows']:,} training rows, {split['valid_rows']:,} validation rows from "
        f"{valid_from}, {split['test_rows']:,} test rows from {test_from}"
    )
    _print_saved(model_dir)
    if report is not None:
        out.print(f"report: {report}")


def _read_truth(path: Path) -> pd.DataFrame:
    """A simulator truth file, its probabilities as numbers."""
    import pandas as pd

    from careleads.dictionary import read_table

    frame = read_table(path)
    for column in frame.columns:
        if column.startswith("p_"):
            frame[column] = pd.to_numeric(frame[column])
    return frame


def _train_segment(
    segment: str,
    data_dir: Path,
    out_dir: Path,
    quarantine_dir: Path,
    goal: Target,
    dictionary: Path | None,
    truth: Path | None,
    report: Path | None,
    seed: int,
    text: bool,
) -> None:
    """`careleads train --segment returning|partnership`."""
    from careleads.dictionary import load_dictionary
    from careleads.report import write_training_report
    from careleads.segments import train_segment

    with progress_steps(total=7) as step:
        result = train_segment(
            segment,
            data_dir,
            target=goal,
            dictionary=load_dictionary(dictionary) if dictionary else None,
            quarantine_dir=quarantine_dir,
            truth=_read_truth(truth) if truth is not None else None,
            seed=seed,
            text=text,
            progress=step,
        )
        step("saving the model")
        path = result.model.save(out_dir / result.model.version)
    if report is not None:
        write_training_report(report, result)
    out.print(metrics_table(result.metrics, f"Test window, {segment} leads ({goal.describe()})"))
    _print_trained(result.split.describe(), path, report)


def _train_folders(out_dir: Path | None) -> tuple[Path, Path]:
    """Where `careleads train` saves the model and its quarantine: the configured registry (and the data
    folder's quarantine, kept out of the registry and its backups) unless --out names a folder."""
    if out_dir is not None:
        return out_dir, out_dir / "quarantine"
    from careleads.settings import get_settings

    settings = get_settings()
    return settings.registry_path(), settings.data_dir / "quarantine"


def _print_saved(path: Path) -> None:
    """The saved model's folder and the next step: publish it, or import it first when it is elsewhere."""
    from careleads.settings import get_settings

    out.print(f"model: {path}")
    registry = get_settings().registry_path()
    if path.parent.resolve() == registry.resolve():
        out.print(f"in the registry {registry}; publish it with `careleads models publish {path.name}`")
    else:
        out.print(
            f"not in the registry ({registry}); bring it in with `careleads models import {path}`, "
            "then publish it"
        )


def register(app: typer.Typer) -> None:
    @app.command(epilog=example("careleads version"))
    @command_errors()
    def version() -> None:
        """Print the installed careleads version."""
        from careleads import __version__

        out.print(__version__)

    @app.command(
        epilog=example("careleads generate --out crm-export --leads 20000 --seed 7 --returning-share 0.1")
    )
    @command_errors()
    def generate(
        out_dir: Annotated[
            Path, typer.Option("--out", help="Folder to write leads, events, outcomes and truth to.")
        ],
        leads: Annotated[int, typer.Option("--leads", help="Number of leads to simulate.")] = 50_000,
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")
        ] = 0,
        months: Annotated[int, typer.Option("--months", help="Months of history (18 or more).")] = 26,
        fmt: Annotated[
            FileFormat, typer.Option("--format", help="File format of the tables.")
        ] = FileFormat.csv,
        returning_share: Annotated[
            float,
            typer.Option(
                "--returning-share",
                min=0.0,
                max=1.0,
                help="About this share of the leads that never schedule come back after three quiet months "
                "or more (for `train --segment returning`); their truth goes to returns. Default 0: none.",
            ),
        ] = 0.0,
        partnerships: Annotated[
            int,
            typer.Option(
                "--partnerships",
                min=0,
                help="Also simulate this many partnership (B2B) leads into partnership_leads, "
                "partnership_events, partnership_outcomes and partnership_truth (for `train --segment "
                "partnership`; at least 100). Default 0: none.",
            ),
        ] = 0,
    ) -> None:
        """Simulate a healthcare CRM export with a truth file of real conversion probabilities."""
        from careleads.errors import InputError
        from careleads.synth import generate as simulate
        from careleads.synth import generate_partnerships

        if 0 < partnerships < 100:
            raise InputError(f"--partnerships: give 0 or at least 100 partnership leads, got {partnerships}")
        with console.status(f"simulating {leads:,} leads"):
            data = simulate(leads, seed=seed, months=months, returning_share=returning_share)
            paths = data.write(out_dir, fmt=fmt.value)
            if partnerships:
                partners = generate_partnerships(partnerships, seed=seed, months=max(months, 12))
                paths.update(partners.write(out_dir, fmt=fmt.value))
        for name, path in paths.items():
            out.print(f"{name:20s} {path}")

    @app.command(epilog=example("careleads demo --leads 20000 --out careleads-demo"))
    @command_errors()
    def demo(
        leads: Annotated[int, typer.Option("--leads", help="Number of leads to simulate.")] = 50_000,
        out_dir: Annotated[
            Path, typer.Option("--out", help="Folder for data, model, metrics.json and report.html.")
        ] = (Path("careleads-demo")),
        seed: Annotated[int, typer.Option("--seed", help="Seed of the simulator and the model.")] = 7,
    ) -> None:
        """Run the whole loop on synthetic data: generate, ingest, train rules and model, evaluate, report."""
        from careleads.demo import run_demo

        with progress_steps(total=13) as step:
            result = run_demo(out_dir, n_leads=leads, seed=seed, progress=step)
        out.print(metrics_table(result.training.metrics, "Test window: model, rules and oracle"))
        comparison = result.metrics.get("text_comparison")
        if comparison:
            low, high = comparison["auc_gain_ci"]
            out.print(
                f"with text and conversational features: AUC {comparison['model + text']['auc']:.3f} "
                f"(gain {comparison['auc_gain']:+.3f}, 95% CI {low:+.3f} to {high:+.3f})"
            )
        tiers = Table(title="Model tiers on the test window")
        for column in ("tier", "action", "leads", "conversion rate"):
            tiers.add_column(column)
        for row in result.training.tiers["model"]:
            action = result.training.model.tiers.actions[row["tier"]]
            tiers.add_row(row["tier"], action, f"{row['leads']:,}", f"{row['conversion_rate']:.1%}")
        out.print(tiers)
        quarantined = sum(r.summary.n_quarantined for r in result.tables.results.values())
        out.print(f"quarantined rows: {quarantined:,} (see {result.out_dir / 'quarantine'})")
        flagged = sum(r.summary.n_flagged for r in result.tables.results.values())
        out.print(f"rows with flagged values (kept, read as unknown): {flagged:,} (*.flagged.csv there)")
        out.print(f"model:    {result.model_dir}")
        out.print(f"metrics:  {result.out_dir / 'metrics.json'}")
        out.print(f"report:   {result.report_path}")

    @app.command(
        epilog=example(
            "careleads train crm-export --target appointment_scheduled:30 --out models --report training.html"
        )
    )
    @command_errors()
    def train(
        data_dir: Annotated[
            Path, typer.Argument(help="Folder with leads, events and outcomes (CSV or Parquet).")
        ],
        out_dir: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Folder to save the model and its card in (and the quarantine, in its quarantine "
                "folder). Default: the model registry (CARELEADS_REGISTRY_DIR, else "
                "CARELEADS_DATA_DIR/models), ready for `careleads models publish`; the quarantine goes to "
                "CARELEADS_DATA_DIR/quarantine.",
            ),
        ] = None,
        target: Annotated[
            str | None,
            typer.Option(
                "--target",
                help="OUTCOME:DAYS, e.g. appointment_scheduled:30 (the window). Default: the segment's "
                "(appointment_scheduled:30; meeting_booked:30 for partnership).",
            ),
        ] = None,
        segment: Annotated[SegmentName, typer.Option("--segment", help=SEGMENT_HELP)] = SegmentName.inbound,
        as_of_hours: Annotated[
            int,
            typer.Option(
                "--as-of-hours",
                help="The scoring moment of the test figures and of a batch with events, in hours after "
                "arrival.",
            ),
        ] = 24,
        dictionary: Annotated[
            Path | None, typer.Option("--dictionary", help="Data dictionary YAML (default: the shipped one).")
        ] = None,
        truth: Annotated[
            Path | None, typer.Option("--truth", help="A simulator truth file, to compare with the oracle.")
        ] = None,
        report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report here.")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed for the model's sampling.")] = 0,
        day_one_hours: Annotated[
            float,
            typer.Option(
                "--day-one-hours",
                min=0,
                help="Train one day-one model on each lead at its arrival, after each of its events in "
                "these first hours, and at --as-of-hours, on what it had done by then: it scores a lead at "
                "any moment (arrival, each event, a batch) and its score moves only when the lead does "
                "something. 0 trains a model for the --as-of-hours moment only.",
            ),
        ] = 72.0,
        with_feedback: Annotated[
            bool,
            typer.Option(
                "--with-feedback",
                help="Add reviewer labels from the store (CARELEADS_DATABASE_URL) as training rows.",
            ),
        ] = False,
        text: Annotated[
            bool,
            typer.Option(
                "--text",
                help="Also use the text and conversational features (returning leads: what their follow-up "
                "messages say); their intent and urgency classifiers are trained now, stored in the model.",
            ),
        ] = False,
        cohort: Annotated[
            str | None,
            typer.Option(
                "--cohort",
                help="FIELD=VALUE, e.g. service_line=primary_care: train on the leads of one site or service "
                "line only; published, the model scores those leads for its target, the others keep the "
                "target's model of every lead.",
            ),
        ] = None,
    ) -> None:
        """Train the rule baseline and a calibrated model for one target with time-based validation.

        The model's card records its segment (--segment), so `careleads models publish` makes it the model
        of that segment only: a returning-lead model never scores new leads, nor a partnership model patients.
        A cohort model (--cohort) is published under TARGET@FIELD=VALUE, beside the target's model.
        """

        from careleads.datasets import check_target, load_crm_folder
        from careleads.dictionary import load_dictionary
        from careleads.errors import InputError
        from careleads.features import Cohort, Target
        from careleads.models import train_model
        from careleads.report import write_training_report
        from careleads.segments import get_segment

        chosen = get_segment(segment.value)
        goal = (
            Target.parse(target, as_of_hours=as_of_hours)
            if target is not None
            else Target(chosen.target.outcome, chosen.target.window_days, as_of_hours=as_of_hours)
        )
        check_target(goal, load_dictionary(dictionary))
        model_dir, quarantine_dir = _train_folders(out_dir)
        if segment is SegmentName.partnership and text:
            raise InputError("--text: partnership leads have no text features; leave it out")
        picked = Cohort.parse(cohort) if cohort is not None else None
        if segment is not SegmentName.inbound:
            if picked is not None:
                raise InputError("--cohort trains new patient leads only; leave out --segment")
            if with_feedback:
                raise InputError("--with-feedback trains new patient leads only; leave out --segment")
            _train_segment(
                segment.value,
                data_dir,
                model_dir,
                quarantine_dir,
                goal,
                dictionary,
                truth,
                report,
                seed,
                text,
            )
            return
        with progress_steps(total=7 + (report is not None)) as step:
            step("ingesting")
            tables = load_crm_folder(
                data_dir,
                dictionary=load_dictionary(dictionary) if dictionary else None,
                quarantine_dir=quarantine_dir,
            )
            if picked is not None:
                tables = tables.cohort(picked)
            step("building point-in-time features")
            dataset = tables.dataset(goal, text=text, day_one_hours=day_one_hours or None)
            truth_frame = _read_truth(truth) if truth is not None else None
            extra = _feedback_rows(tables.dictionary, goal) if with_feedback else None
            result = train_model(dataset, truth=truth_frame, seed=seed, progress=step, extra_training=extra)
            if picked is not None:
                result.model.card["cohort"] = picked.to_dict()
            step("saving the model")
            path = result.model.save(model_dir / result.model.version)
            if report is not None:
                step("writing the report")
                write_training_report(report, result, tables=tables)
        out.print(metrics_table(result.metrics, f"Test window ({goal.describe()})"))
        if with_feedback:
            n_feedback = result.model.card["training_period"]["feedback_rows"]
            out.print(f"reviewer feedback rows used in training: {n_feedback}")
        _print_trained(result.split.describe(), path, report)
