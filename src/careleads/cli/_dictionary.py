"""`careleads dictionary ...`: infer a dictionary from any CSV, check a file against a dictionary, list the
values stored leads hold that the dictionary does not know and map one to a known value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from careleads.cli._errors import command_errors
from careleads.cli._help import example
from careleads.errors import InputError

sub = typer.Typer(
    name="dictionary",
    help="Data dictionaries: infer one from a CSV, check a file against one (quarantining rows that cannot "
    "be identified, flagging values it cannot read), list and map the unknown values of stored leads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@sub.command(
    "infer",
    epilog=example("careleads dictionary infer export.csv --label converted --out my_dictionary.yaml"),
)
@command_errors(code=1)
def infer(
    data: Annotated[Path, typer.Argument(help="The CSV or Parquet file to describe.")],
    label: Annotated[
        str | None, typer.Option("--label", help="The outcome column (its positive value is guessed).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the YAML to this file instead of standard output.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Dictionary name (default: the file's stem).")
    ] = None,
) -> None:
    """Infer a data dictionary (types, placeholders, identifiers, sensitivity, label) and print it as YAML."""
    from careleads.dictionary import dump_dictionary, infer_dictionary

    text = dump_dictionary(infer_dictionary(data, label=label, name=name))
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror}); choose another path") from None
    typer.echo(f"wrote {out}; review types, values, sensitivity and `known` before use", err=True)


@sub.command(
    "check",
    epilog=example(
        "careleads dictionary check leads.csv --dictionary my_dictionary.yaml --quarantine quarantine.csv"
    ),
)
@command_errors(code=1)
def check(
    data: Annotated[Path, typer.Argument(help="The CSV or Parquet file to check.")],
    dictionary: Annotated[
        Path | None,
        typer.Option(
            "--dictionary", help="Dictionary YAML file (default: the shipped healthcare dictionary)."
        ),
    ] = None,
    table: Annotated[str, typer.Option("--table", help="The dictionary table the file holds.")] = "leads",
    quarantine: Annotated[
        Path | None,
        typer.Option("--quarantine", help="Write the quarantined rows, with reasons, to this CSV."),
    ] = None,
    flagged: Annotated[
        Path | None,
        typer.Option(
            "--flagged",
            help="Write the values the dictionary could not read (rows kept), with what to do, to this CSV.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with status 3 when any row is quarantined.")
    ] = False,
) -> None:
    """Ingest a file against the dictionary and print what was stored, flagged and quarantined, and why."""
    from careleads.dictionary import ingest_file, load_dictionary, write_quarantine

    result = ingest_file(data, load_dictionary(dictionary), table)
    try:
        if quarantine is not None:
            write_quarantine(result, quarantine)
        if flagged is not None:
            flagged.parent.mkdir(parents=True, exist_ok=True)
            result.flagged.to_csv(flagged, index=False)
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename} ({exc.strerror}); choose another path") from None
    summary = result.summary
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary, quarantine)
    if strict and summary.n_quarantined:
        raise typer.Exit(code=3)


def _print_summary(summary: object, quarantine: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from careleads.dictionary import IngestSummary

    assert isinstance(summary, IngestSummary)
    console = Console(soft_wrap=True)
    counts = Table(title=f"{summary.source} -> table {summary.table!r}", show_header=False)
    counts.add_row("rows read", str(summary.n_read))
    counts.add_row("rows stored", str(summary.n_stored))
    counts.add_row("rows quarantined", str(summary.n_quarantined))
    if summary.unknown_columns:
        counts.add_row("unknown columns (kept as text)", ", ".join(summary.unknown_columns))
    if summary.missing_columns:
        counts.add_row("fields without a column", ", ".join(summary.missing_columns))
    if summary.n_placeholders:
        counts.add_row(
            "placeholders read as missing", ", ".join(f"{k}: {v}" for k, v in summary.n_placeholders.items())
        )
    if summary.n_normalised:
        counts.add_row("values normalised", ", ".join(f"{k}: {v}" for k, v in summary.n_normalised.items()))
    console.print(counts)
    if summary.flagged_reasons:
        flags = Table(title=f"flagged values (rows kept, values read as unknown): {summary.n_flagged} rows")
        flags.add_column("field: problem")
        flags.add_column("values", justify="right")
        for reason, n_values in summary.flagged_reasons.items():
            flags.add_row(reason, str(n_values))
        console.print(flags)
    if summary.field_reasons:
        reasons = Table(title="quarantine reasons (rows)")
        reasons.add_column("field: problem")
        reasons.add_column("rows", justify="right")
        for reason, n_rows in summary.field_reasons.items():
            reasons.add_row(reason, str(n_rows))
        console.print(reasons)
    if quarantine is not None:
        console.print(f"quarantined rows written to {quarantine}")


@sub.command("unknowns", epilog=example("careleads dictionary unknowns --json"))
@command_errors()
def unknowns(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the values stored leads hold that the dictionary does not know: field, value, leads, a few ids."""
    from rich.console import Console
    from rich.table import Table

    from careleads.cli._service import cli_actor, open_sessions
    from careleads.service.context import ServiceContext
    from careleads.service.unknowns import unknown_values
    from careleads.settings import get_settings
    from careleads.store import session_scope

    ctx = ServiceContext.from_settings(get_settings())
    with open_sessions() as factory, session_scope(factory) as session:
        items = unknown_values(session=session, ctx=ctx, actor=cli_actor(), role="admin")
    if as_json:
        typer.echo(json.dumps([u.to_dict() for u in items], indent=2))
        return
    listed = Table(title="unknown values of stored leads")
    for column in ("field", "problem", "value", "leads", "lead ids", "map to"):
        listed.add_column(column)
    for u in items:
        shown = "(hidden)" if u.value is None else repr(u.value)
        targets = ", ".join(u.known_values) + ", or a new value" if u.mappable else "-"
        ids = ", ".join(map(str, u.lead_ids))
        listed.add_row(u.field, u.kind, shown, str(u.n_leads), ids, targets)
    Console(soft_wrap=True).print(listed)


@sub.command(
    "map", epilog=example("careleads dictionary map source 'Dr referral' physician_referral --renormalise")
)
@command_errors()
def map_value(
    field: Annotated[str, typer.Argument(help="The field, e.g. a category of the leads table.")],
    value: Annotated[str, typer.Argument(help="The value as written on the leads.")],
    to: Annotated[str, typer.Argument(help="A known value, a new value, or true/false for a yes/no field.")],
    renormalise: Annotated[
        bool,
        typer.Option(
            "--renormalise/--no-renormalise",
            help="Also read stored leads with this value again and re-score.",
        ),
    ] = True,
) -> None:
    """Map a value to a known value (or add it as a new one) in the clinic's dictionary extension."""
    from careleads.cli._service import cli_actor, open_sessions
    from careleads.service.context import ServiceContext
    from careleads.service.unknowns import map_unknown_value
    from careleads.settings import get_settings
    from careleads.store import session_scope

    ctx = ServiceContext.from_settings(get_settings())
    with open_sessions() as factory, session_scope(factory) as session:
        result = map_unknown_value(
            session=session,
            ctx=ctx,
            field=field,
            value=value,
            to=to,
            renormalise=renormalise,
            actor=cli_actor(),
            role="admin",
        )
    typer.echo(json.dumps(result.to_dict(), indent=2))


def register(app: typer.Typer) -> None:
    """Add the `dictionary` command group to the `careleads` command."""
    app.add_typer(sub, name="dictionary")
