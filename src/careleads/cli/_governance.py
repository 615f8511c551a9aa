"""Governance commands: the fairness report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from careleads.cli._core import console, out
from careleads.cli._errors import command_errors
from careleads.cli._help import example


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} points"


def register(app: typer.Typer) -> None:
    @app.command(
        epilog=example(
            "careleads fairness crm-export --model models/VERSION --by region --report fairness.html"
        )
    )
    @command_errors()
    def fairness(
        data_dir: Annotated[Path, typer.Argument(help="Export folder with leads, events and outcomes.")],
        model: Annotated[Path, typer.Option("--model", help="Folder of a trained model.")],
        dictionary: Annotated[
            Path | None, typer.Option("--dictionary", help="Data dictionary YAML (default: the shipped one).")
        ] = None,
        json_out: Annotated[
            Path | None, typer.Option("--json", help="Write the figures as JSON here.")
        ] = None,
        report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report here.")] = None,
        by: Annotated[
            list[str] | None,
            typer.Option(
                "--by",
                help="Also compare the groups of this column of the leads (repeat for more); default: "
                "CARELEADS_MONITOR_FAIRNESS_COLUMNS (insurance, the payer).",
            ),
        ] = None,
    ) -> None:
        """Tier, score and conversion by group: the sensitive attributes (age band, sex) and the payer or the
        columns named with --by, with warnings above thresholds."""
        from careleads.datasets import load_crm_folder
        from careleads.dictionary import load_dictionary
        from careleads.models import LeadModel
        from careleads.monitoring import fairness_of_model
        from careleads.report import fairness_section, render_report
        from careleads.settings import get_settings

        columns = list(by) if by else list(get_settings().monitor.fairness_columns)

        with console.status("scoring labelled leads and comparing groups"):
            lead_model = LeadModel.load(model)
            tables = load_crm_folder(data_dir, dictionary=load_dictionary(dictionary) if dictionary else None)
            dataset = tables.dataset(lead_model.target)
            result = fairness_of_model(
                lead_model, dataset, tables.leads, dictionary=tables.dictionary, by=columns
            )
        for attribute in result.attributes:
            out.print(
                f"{attribute.column}: parity difference {_points(attribute.parity_difference)}, "
                f"equal opportunity difference {_points(attribute.equal_opportunity_difference)}"
            )
        for warning in result.warnings:
            out.print(f"[yellow]warning:[/] {warning}")
        if json_out is not None:
            json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        if report is not None:
            render_report(
                report,
                title="careleads: fairness report",
                summary_lines=result.warnings or ["No warnings above the thresholds."],
                sections=[fairness_section(result)],
            )
