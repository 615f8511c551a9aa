"""`careleads sync`: pull a CRM's records into careleads and write scores back (HubSpot, Salesforce)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from careleads.cli._errors import command_errors
from careleads.cli._help import example

out = Console()


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    columns = list(rows[0]) if rows else []
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table


def _print_dry_run(data: dict[str, Any], records: str) -> None:
    pull, write = data["pull"], data["write"]
    created = write.get("properties_created") or []
    out.print(
        f"dry run, nothing written: {pull['n_seen']} {records} read, "
        f"{pull['n_created']} leads to create, {pull['n_updated']} to update, "
        f"{pull['n_unchanged']} unchanged, {pull['n_outcomes']} outcomes; "
        f"{write['n_pending']} linked {records} to write back (and each lead it would create)"
        + (f", properties to create: {', '.join(created)}" if created else "")
    )
    if pull["preview"]:
        out.print(_table(f"{records} (first records)", pull["preview"]))
    if write["preview"]:
        out.print(_table("write-back (first records)", write["preview"]))


def _print_report(data: dict[str, Any]) -> None:
    for part in ("pull", "write"):
        data[part].pop("preview", None)
    out.print(json.dumps(data))


def register(app: typer.Typer) -> None:
    """Add the sync commands to the `careleads` app."""
    sync_app = typer.Typer(
        help="Pull a CRM's records into careleads and write scores back.", no_args_is_help=True
    )
    app.add_typer(sync_app, name="sync")

    @sync_app.command("hubspot", epilog=example("careleads sync hubspot --dry-run --since 2026-11-01"))
    @command_errors()
    def hubspot(
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run", help="Show what would change (counts, the first records); write nothing."
            ),
        ] = False,
        since: Annotated[
            datetime | None,
            typer.Option(
                "--since", help="Pull contacts changed from this ISO moment (UTC) instead of the cursor."
            ),
        ] = None,
        mapping: Annotated[
            Path | None,
            typer.Option(
                "--mapping", help="Mapping YAML (default: CARELEADS_HUBSPOT_MAPPING_FILE, else shipped)."
            ),
        ] = None,
    ) -> None:
        """Pull HubSpot contacts changed since the last sync into leads, then write scores back onto them
        (token: CARELEADS_HUBSPOT_TOKEN)."""
        from careleads.connectors import sync_hubspot
        from careleads.settings import get_settings

        report = sync_hubspot(settings=get_settings(), since=since, mapping_path=mapping, dry_run=dry_run)
        if dry_run:
            _print_dry_run(report.to_dict(), "contacts")
            return
        _print_report(report.to_dict())

    @sync_app.command("salesforce", epilog=example("careleads sync salesforce --dry-run --since 2026-11-01"))
    @command_errors()
    def salesforce(
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Read Salesforce and the store only; print the counts and the first records of what "
                "would change; write nothing anywhere.",
            ),
        ] = False,
        since: Annotated[
            datetime | None,
            typer.Option(
                "--since",
                help="Pull the Lead records changed from this ISO moment (UTC) instead of the stored cursor.",
            ),
        ] = None,
        mapping: Annotated[
            Path | None,
            typer.Option(
                "--mapping",
                help="Mapping YAML: Lead fields, owners' e-mails, outcomes, write-back fields "
                "(default: CARELEADS_SALESFORCE_MAPPING_FILE, else the shipped one).",
            ),
        ] = None,
    ) -> None:
        """Pull Salesforce Lead records changed since the last sync into leads, then write score, tier,
        reasons, intent, route and OwnerId back through Bulk API 2.0 (CARELEADS_SALESFORCE_INSTANCE_URL
        and _SESSION_ID, or _USERNAME, _PASSWORD and _SECURITY_TOKEN).

        Example: careleads sync salesforce --dry-run --since 2025-03-01T00:00:00
        """
        from careleads.connectors import sync_salesforce
        from careleads.settings import get_settings

        report = sync_salesforce(settings=get_settings(), since=since, mapping_path=mapping, dry_run=dry_run)
        if dry_run:
            _print_dry_run(report.to_dict(), "leads")
            return
        _print_report(report.to_dict())
