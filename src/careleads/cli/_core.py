"""Core commands: version, generate, demo, train, score."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from careleads.cli._errors import command_errors

if TYPE_CHECKING:
    import pandas as pd

    from careleads.dictionary import Dictionary
    from careleads.features import Target

console = Console(stderr=True)
out = Console()


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


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

        def step(message: str) -> None:
            bar.update(task, advance=1, description=message)

        yield step
        bar.update(task, completed=total, description="done")


def metrics_table(metrics: dict[str, dict[str, float]], title: str) -> Table:
    from careleads.report import METRIC_NAMES

    table = Table(title=title)
    table.add_column("scorer")
    for name in METRIC_NAMES:
        table.add_column(name, justify="right")
    for scorer, values in metrics.items():
        table.add_row(scorer, *(f"{values.get(m, float('nan')):.3f}" for m in METRIC_NAMES))
    return table


def _feedback_rows(dictionary: Dictionary, target: Target) -> tuple[pd.DataFrame, pd.Series]:
    """Reviewer labels from the operational store, as extra training rows."""
    from careleads.service.feedback import feedback_training_rows
    from careleads.settings import get_settings
    from careleads.store import make_engine, make_sessionmaker, session_scope

    engine = make_engine(get_settings().database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            rows: tuple[pd.DataFrame, pd.Series] = feedback_training_rows(
                session=session, dictionary=dictionary, target=target
            )
            return rows
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command()
    @command_errors()
    def version() -> None:
        """Print the installed careleads version."""
        from careleads import __version__

        out.print(__version__)

    @app.command()
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
    ) -> None:
        """Simulate a healthcare CRM export with a truth file of real conversion probabilities."""
        from careleads.synth import generate as simulate

        with console.status(f"simulating {leads:,} leads"):
            data = simulate(leads, seed=seed, months=months)
            paths = data.write(out_dir, fmt=fmt.value)
        for name, path in paths.items():
            out.print(f"{name:9s} {path}")

    @app.command()
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

    @app.command()
    @command_errors()
    def train(
        data_dir: Annotated[
            Path, typer.Argument(help="Folder with leads, events and outcomes (CSV or Parquet).")
        ],
        out_dir: Annotated[
            Path, typer.Option("--out", help="Folder to save the model and its card in.")
        ] = Path("models"),
        target: Annotated[
            str, typer.Option("--target", help="OUTCOME:DAYS, e.g. appointment_scheduled:30 (the window).")
        ] = "appointment_scheduled:30",
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
                help="Also use the text and conversational features; their intent and urgency classifiers "
                "are trained now and stored in the model.",
            ),
        ] = False,
    ) -> None:
        """Train the rule baseline and a calibrated model for one target with time-based validation."""
        import pandas as pd

        from careleads.datasets import load_crm_folder
        from careleads.dictionary import load_dictionary, read_table
        from careleads.features import Target
        from careleads.models import train_model
        from careleads.report import write_training_report

        goal = Target.parse(target, as_of_hours=as_of_hours)
        with progress_steps(total=7) as step:
            step("ingesting")
            tables = load_crm_folder(
                data_dir,
                dictionary=load_dictionary(dictionary) if dictionary else None,
                quarantine_dir=out_dir / "quarantine",
            )
            step("building point-in-time features")
            dataset = tables.dataset(goal, text=text, day_one_hours=day_one_hours or None)
            truth_frame = None
            if truth is not None:
                truth_frame = read_table(truth)
                for column in truth_frame.columns:
                    if column.startswith("p_"):
                        truth_frame[column] = pd.to_numeric(truth_frame[column])
            extra = _feedback_rows(tables.dictionary, goal) if with_feedback else None
            result = train_model(dataset, truth=truth_frame, seed=seed, progress=step, extra_training=extra)
        path = result.model.save(out_dir / result.model.version)
        if report is not None:
            write_training_report(report, result, tables=tables)
        out.print(metrics_table(result.metrics, f"Test window ({goal.describe()})"))
        if with_feedback:
            n_feedback = result.model.card["training_period"]["feedback_rows"]
            out.print(f"reviewer feedback rows used in training: {n_feedback}")
        out.print(f"model: {path}")
        out.print(json.dumps(result.split.describe()))
