"""`careleads evaluate`: can we predict who converts in this CRM export, honestly?"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from careleads.cli._errors import command_errors
from careleads.cli._help import example
from careleads.errors import CareleadsError


def unused_columns(result: Any) -> list[tuple[str, str]]:
    """Every column of the file not used by the model, with the reason (one row per column or part).

    The exclusions decided before training (request, identifiers, sensitive attributes, row numbers,
    leakage suspects, calendar parts training never saw) and the feature columns the model could not use
    because they hold one value in the training part.
    """
    rows = [(str(e["column"]), str(e["reason"])) for e in result.excluded]
    listed = {column for column, _ in rows}
    features = result.pipeline.named_steps["features"]
    used = set(features.feature_sources_.values())
    for column in features.kinds_:
        if column not in used and column not in listed:
            rows.append((str(column), "one value in the training part: nothing to learn from"))
    return rows


def _summary_tables(result: Any) -> list[Table]:
    tables = []
    unused = Table(title="Columns not used", show_lines=False, expand=False)
    unused.add_column("column", style="bold")
    unused.add_column("reason", overflow="fold")
    for column, reason in unused_columns(result):
        unused.add_row(Text(column), Text(reason))
    if unused.row_count == 0:
        unused.add_row("-", "every column is used")
    tables.append(unused)
    leak = Table(title="Leakage audit: suspects and watched columns", show_lines=False, expand=False)
    leak.add_column("column", style="bold")
    leak.add_column("decision")
    leak.add_column("evidence", overflow="fold")
    leak.add_column("validation AUC\nwith / without", justify="right")
    effects = getattr(result, "leakage_effects", {})
    for s in (*result.leakage.suspects, *result.leakage.watched):
        if s.suspect:
            decision = "kept (--keep)" if s.kept else "excluded"
        else:
            decision = "used, one sign only"
        effect = effects.get(s.column)
        auc = f"{effect['with']:.3f} / {effect['without']:.3f}" if effect else "-"
        # user data as Text, never as Rich markup
        leak.add_row(Text(s.column), decision, Text("\n".join(s.evidence)), auc)
    if leak.row_count == 0:
        leak.add_row("-", "-", "no suspects found", "-")
    tables.append(leak)

    metrics = Table(title=f"Test part ({result.split.kind} split, {result.split.test_rows:,} rows)")
    metrics.add_column("metric")
    metrics.add_column(f"model ({result.model_kind})", justify="right")
    metrics.add_column("logistic baseline", justify="right")
    test, base = result.test.to_dict(), result.baselines["logistic"].to_dict()
    for name in ("auc", "pr_auc", "brier", "ece", "lift_top_decile"):
        metrics.add_row(name, f"{test[name]:.3f}", f"{base[name]:.3f}")
    tables.append(metrics)

    tiers = Table(title="Conversion by tier (test part)")
    tiers.add_column("tier")
    tiers.add_column("leads", justify="right")
    tiers.add_column("conversion rate", justify="right")
    for row in result.tiers:
        rate = row["conversion_rate"]
        tiers.add_row(Text(str(row["tier"])), f"{row['leads']:,}", "n/a" if rate != rate else f"{rate:.1%}")
    tables.append(tiers)
    return tables


def register(app: typer.Typer) -> None:
    @app.command(
        epilog=example(
            "careleads evaluate leads.csv --label converted --positive yes --report evaluation.html"
        )
    )
    @command_errors(code=1, also=(OSError,))
    def evaluate(
        data: Annotated[
            Path, typer.Argument(help="The lead file: CSV (comma, semicolon or tab) or Parquet.")
        ],
        label: Annotated[str, typer.Option("--label", help="The outcome column (converted or not).")],
        positive: Annotated[
            str | None,
            typer.Option("--positive", help="The label value that means converted (default: 1/yes/true)."),
        ] = None,
        time_column: Annotated[
            str | None,
            typer.Option(
                "--time-column",
                help="Each row's scoring moment: train on earlier rows, test on later ones.",
            ),
        ] = None,
        row_order: Annotated[
            bool,
            typer.Option(
                "--row-order", help="The file is sorted by date: train on the first rows, test on the last."
            ),
        ] = False,
        group_column: Annotated[
            str | None,
            typer.Option(
                "--group-column", help="Keep all rows of one person or account on one side of the split."
            ),
        ] = None,
        exclude: Annotated[
            list[str] | None,
            typer.Option("--exclude", help="A column never to use (repeat the option for several)."),
        ] = None,
        keep: Annotated[
            list[str] | None,
            typer.Option(
                "--keep", help="A leakage suspect to use anyway; the output says so (repeat for several)."
            ),
        ] = None,
        dictionary: Annotated[
            Path | None,
            typer.Option(
                "--dictionary",
                help="A data dictionary YAML (edit the output of `careleads dictionary infer`); "
                "inferred from the file if absent.",
            ),
        ] = None,
        test_fraction: Annotated[
            float,
            typer.Option("--test-fraction", help="Share of rows (the latest) kept for the one test."),
        ] = 0.2,
        seed: Annotated[int, typer.Option("--seed", help="Seed of random splits and models.")] = 0,
        json_out: Annotated[
            Path | None, typer.Option("--json", help="Write the machine-readable result to this file.")
        ] = None,
        report: Annotated[
            Path | None,
            typer.Option(
                "--report", help="Write an HTML report with plots (ROC, calibration, tiers, drift)."
            ),
        ] = None,
    ) -> None:
        """Evaluate a CRM export: leakage audit, time-based validation, calibrated model, tiers, drift."""
        from careleads.models import evaluate_file
        from careleads.report import write_evaluation_report

        # an output that cannot be written is refused before any work starts
        for path in (json_out, report):
            if path is not None:
                _check_writable(path)
        console = Console(stderr=True)
        out = Console()
        with console.status("starting", spinner="dots") as status:
            result = evaluate_file(
                data,
                label=label,
                positive=positive,
                time_column=time_column,
                row_order=row_order,
                group_column=group_column,
                exclude=tuple(exclude or ()),
                keep=tuple(keep or ()),
                dictionary=dictionary,
                test_fraction=test_fraction,
                seed=seed,
                progress=lambda message: status.update(f"{message} ..."),
            )
            if json_out is not None:
                status.update("writing the JSON result ...")
                _write(json_out, json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
            if report is not None:
                status.update("writing the HTML report ...")
                write_evaluation_report(result, report)

        for line in result.summary_lines(include_warnings=False):
            out.print(line, markup=False, highlight=False)
        for table in _summary_tables(result):
            out.print(table)
        for warning in result.warnings:
            out.print(Text(f"warning: {warning}", style="yellow"))
        if json_out is not None:
            out.print(f"JSON written to {json_out}", markup=False, highlight=False)
        if report is not None:
            out.print(f"Report written to {report}", markup=False, highlight=False)


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise CareleadsError(f"cannot write {path}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise CareleadsError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CareleadsError(f"cannot write {path}: permission denied")


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
