"""Monitoring commands: monitor, pilot start|status|report, retrain.

`careleads monitor` exits with code 1 when the status is "act", so a scheduler (cron, Airflow) can page
someone; 0 for ok and watch; 2 for an error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from careleads.cli._core import progress_steps
from careleads.cli._errors import command_errors
from careleads.cli._help import example
from careleads.errors import InputError

console = Console(stderr=True)
out = Console()

ACT_EXIT_CODE = 1


class PriorChoice(StrEnum):
    first_come = "first_come"
    rules = "rules"


class ModeChoice(StrEnum):
    random = "random"
    shadow = "shadow"


class TriggerChoice(StrEnum):
    always = "always"
    drift = "drift"
    schedule = "schedule"


def _registry(registry: Path | None) -> Path:
    if registry is not None:
        return registry
    from careleads.settings import get_settings

    return get_settings().registry_path()


def _pilots_dir(pilots_dir: Path | None) -> Path:
    if pilots_dir is not None:
        return pilots_dir
    from careleads.settings import get_settings

    return get_settings().data_dir / "pilots"


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        out.print(escape(line), soft_wrap=True)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _source(
    data: Path | None, registry: Path | None, model: str | None, target: str | None, decisions: Path | None
) -> Any:
    from careleads.monitoring import FolderSource

    if data is None:
        raise InputError("pass --data DIR: the export folder with leads, events and outcomes.")
    return FolderSource(data, _registry(registry), version=model, target=target, decisions=decisions)


def _parse_scope(items: list[str]) -> dict[str, str]:
    scope: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"--scope {item!r} must look like FIELD=VALUE, e.g. service_line=orthopedics.")
        scope[key.strip()] = value.strip()
    return scope


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Export folder with leads, events and outcomes (CSV or Parquet)."),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model version to use (default: the published model).")
]
RegistryOpt = Annotated[
    Path | None,
    typer.Option(
        "--registry", help="Model registry folder (default: CARELEADS_REGISTRY_DIR or data_dir/models)."
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target", help="Target name such as appointment_scheduled_30d, when several are published."
    ),
]
DecisionsOpt = Annotated[
    Path | None,
    typer.Option(
        "--decisions", help="Decisions written when the leads were scored (lead_id, probability, tier, ...)."
    ),
]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the result as JSON to this file.")]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Write an HTML report with plots to this file.")
]
PilotsOpt = Annotated[
    Path | None, typer.Option("--pilots-dir", help="Folder of pilot definitions (default: data_dir/pilots).")
]


def register(app: typer.Typer) -> None:
    """Add `monitor`, `pilot` and `retrain` to the careleads command."""

    @app.command(
        epilog=example(
            "careleads monitor --data crm-export --registry models --since 2026-10-01 --report monitor.html"
        )
    )
    @command_errors()
    def monitor(
        data: DataOpt = None,
        model: ModelOpt = None,
        registry: RegistryOpt = None,
        target: TargetOpt = None,
        decisions: DecisionsOpt = None,
        since: Annotated[
            str | None,
            typer.Option(
                "--since", help="Start of the recent window, YYYY-MM-DD (default: 90 days before the end)."
            ),
        ] = None,
        until: Annotated[
            str | None,
            typer.Option("--until", help="End of the recent window, excluded (default: end of data)."),
        ] = None,
        json_out: JsonOpt = None,
        report: ReportOpt = None,
    ) -> None:
        """Drift, calibration by tier, tier order and business outcomes; exit code 1 when status is act."""
        from careleads.monitoring import MONITOR_STEPS
        from careleads.monitoring import monitor as run_monitor
        from careleads.report import write_monitor_report
        from careleads.settings import get_settings

        source = _source(data, registry, model, target, decisions)
        with progress_steps(total=len(MONITOR_STEPS) + (report is not None)) as step:
            result = run_monitor(
                source, since=since, until=until, settings=get_settings().monitor, progress=step
            )
            if report is not None:
                step("writing the report")
                write_monitor_report(result, report)
        if json_out is not None:
            _write_json(json_out, result.to_dict())
        _print_lines(result.summary_lines())
        if json_out is not None:
            out.print(f"json:   {json_out}")
        if report is not None:
            out.print(f"report: {report}")
        if result.status == "act":
            raise typer.Exit(code=ACT_EXIT_CODE)

    pilot_app = typer.Typer(
        help="Pilots: scoring against the prior routing on one service line, region or queue.",
        no_args_is_help=True,
    )
    app.add_typer(pilot_app, name="pilot")

    @pilot_app.command(
        "start",
        epilog=example(
            "careleads pilot start knee-pilot --start 2026-11-01 --scope service_line=orthopedics --share 0.5"
        ),
    )
    @command_errors()
    def pilot_start(
        name: Annotated[str, typer.Argument(help="Pilot name: lowercase letters, digits, '-' and '_'.")],
        start: Annotated[str, typer.Option("--start", help="First day of the pilot, YYYY-MM-DD.")],
        scope: Annotated[
            list[str] | None,
            typer.Option(
                "--scope",
                help="FIELD=VALUE limiting the pilot, e.g. service_line=orthopedics, region=north or "
                "queue=intake; repeat for several.",
            ),
        ] = None,
        prior: Annotated[
            PriorChoice,
            typer.Option("--prior", help="The prior routing: first-come order or the rule baseline."),
        ] = PriorChoice.first_come,
        mode: Annotated[
            ModeChoice,
            typer.Option("--mode", help="random: assign leads to arms; shadow: score without acting."),
        ] = ModeChoice.random,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the random assignment.")] = 0,
        share: Annotated[
            float, typer.Option("--share", help="Share of leads in the scoring arm (random mode).")
        ] = 0.5,
        capacity_per_day: Annotated[
            int | None,
            typer.Option(
                "--capacity-per-day", help="Calls the team makes a day in scope (needed in shadow mode)."
            ),
        ] = None,
        end: Annotated[str | None, typer.Option("--end", help="Last day of the pilot, excluded.")] = None,
        pilots_dir: PilotsOpt = None,
    ) -> None:
        """Define a pilot and save it; the router and the report use the same arm for each lead."""
        from careleads.monitoring import PilotDefinition, start_pilot

        definition = PilotDefinition(
            name=name,
            start=start,
            scope=_parse_scope(scope or []),
            prior=prior.value,  # type: ignore[arg-type]
            mode=mode.value,  # type: ignore[arg-type]
            seed=seed,
            treatment_share=share,
            capacity_per_day=capacity_per_day,
            end=end,
        )
        path = start_pilot(definition, _pilots_dir(pilots_dir))
        out.print(escape(definition.describe()))
        out.print(f"saved: {path}")

    @pilot_app.command(
        "status", epilog=example("careleads pilot status knee-pilot --data crm-export --registry models")
    )
    @command_errors()
    def pilot_status(
        name: Annotated[str, typer.Argument(help="Pilot name.")],
        data: DataOpt = None,
        model: ModelOpt = None,
        registry: RegistryOpt = None,
        target: TargetOpt = None,
        decisions: DecisionsOpt = None,
        pilots_dir: PilotsOpt = None,
        json_out: JsonOpt = None,
    ) -> None:
        """Leads so far in each arm, outcomes matured and still open, and how many more are needed."""
        from careleads.monitoring import load_pilot
        from careleads.monitoring import pilot_status as run_status
        from careleads.settings import get_settings

        definition = load_pilot(name, _pilots_dir(pilots_dir))
        source = _source(data, registry, model, target, decisions)
        with progress_steps(total=2) as step:
            step("reading leads, events and outcomes")
            loaded = source.load()
            step("scoring the pilot's leads and counting them per arm")
            result = run_status(definition, loaded, get_settings().monitor)
        if json_out is not None:
            _write_json(json_out, result.to_dict())
        _print_lines(result.summary_lines())

    @pilot_app.command(
        "report",
        epilog=example(
            "careleads pilot report knee-pilot --data crm-export --registry models --report pilot.html"
        ),
    )
    @command_errors()
    def pilot_report(
        name: Annotated[str, typer.Argument(help="Pilot name.")],
        data: DataOpt = None,
        model: ModelOpt = None,
        registry: RegistryOpt = None,
        target: TargetOpt = None,
        decisions: DecisionsOpt = None,
        pilots_dir: PilotsOpt = None,
        json_out: JsonOpt = None,
        report: ReportOpt = None,
    ) -> None:
        """Compare the arms (conversion, time to contact, significance): what should a manager decide?"""
        from careleads.monitoring import evaluate_pilot, load_pilot, save_pilot_result
        from careleads.report import write_pilot_report
        from careleads.settings import get_settings

        definition = load_pilot(name, _pilots_dir(pilots_dir))
        source = _source(data, registry, model, target, decisions)
        with progress_steps(total=2 + (report is not None)) as step:
            step("reading leads, events and outcomes")
            loaded = source.load()
            step("scoring the pilot's leads and comparing the arms")
            result = evaluate_pilot(definition, loaded, get_settings().monitor)
            if report is not None:
                step("writing the report")
                write_pilot_report(result, report)
        if json_out is not None:
            _write_json(json_out, result.to_dict())
        _print_lines(result.summary_lines())
        kept = save_pilot_result(result, _pilots_dir(pilots_dir), reported_at=datetime.now(UTC))
        out.print(f"kept for the dashboard: {kept}")

    @app.command(epilog=example("careleads retrain crm-export --registry models --dry-run"))
    @command_errors()
    def retrain(
        data_dir: Annotated[Path, typer.Argument(help="Export folder with leads, events and outcomes.")],
        when: Annotated[
            TriggerChoice,
            typer.Option(
                "--if",
                help="always: now; drift: only when monitoring says act; schedule: only when the published "
                "model is older than CARELEADS_MONITOR_RETRAIN_AFTER_DAYS.",
            ),
        ] = TriggerChoice.always,
        registry: RegistryOpt = None,
        feedback: Annotated[
            Path | None,
            typer.Option(
                "--feedback-file",
                help="CSV of reviewer labels (lead_id,label) added to training (`train --with-feedback` "
                "reads them from the store instead).",
            ),
        ] = None,
        target: Annotated[
            str | None,
            typer.Option(
                "--target", help="OUTCOME:DAYS, e.g. appointment_scheduled:30 (default: the published one)."
            ),
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of training.")] = 0,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Train and evaluate through the gate, but do not publish.")
        ] = False,
        json_out: JsonOpt = None,
    ) -> None:
        """Train on fresh data, compare with the published model on one recent window, publish via gate."""
        from careleads.features import Target
        from careleads.monitoring import retrain as run_retrain
        from careleads.settings import get_settings

        goal = Target.parse(target) if target else None
        with console.status("retraining"):
            result = run_retrain(
                data_dir,
                registry_dir=_registry(registry),
                target=goal,
                trigger=when.value,  # type: ignore[arg-type]
                feedback=feedback,
                settings=get_settings().monitor,
                seed=seed,
                publish=not dry_run,
            )
        if json_out is not None:
            _write_json(json_out, result.to_dict())
        _print_lines(result.summary_lines())
