"""`careleads sync`: pull a CRM's records into careleads and write scores back (HubSpot)."""

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
        data = report.to_dict()
        if dry_run:
            pull, write = data["pull"], data["write"]
            out.print(
                f"dry run, nothing written: {pull['n_seen']} contacts read, "
                f"{pull['n_created']} leads to create, {pull['n_updated']} to update, "
                f"{pull['n_unchanged']} unchanged, {pull['n_outcomes']} outcomes; "
                f"{write['n_pending']} contacts to write back, properties to create: "
                f"{', '.join(write['properties_created']) or 'none'}"
            )
            if pull["preview"]:
                out.print(_table("contacts (first records)", pull["preview"]))
            if write["preview"]:
                out.print(_table("write-back (first records)", write["preview"]))
            return
        for part in ("pull", "write"):
            data[part].pop("preview", None)
        out.print(json.dumps(data))
