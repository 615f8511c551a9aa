"""`careleads dictionary ...`: infer a dictionary from any CSV, check a file against a dictionary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from careleads.cli._errors import command_errors
from careleads.errors import InputError

sub = typer.Typer(
    name="dictionary",
    help="Data dictionaries: infer one from a CSV, check a file against one (quarantining bad rows).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@sub.command("infer")
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


@sub.command("check")
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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with status 3 when any row is quarantined.")
    ] = False,
) -> None:
    """Ingest a file against the dictionary and print what was stored, what was quarantined and why."""
    from careleads.dictionary import ingest_file, load_dictionary, write_quarantine

    result = ingest_file(data, load_dictionary(dictionary), table)
    if quarantine is not None:
        try:
            write_quarantine(result, quarantine)
        except OSError as exc:
            raise InputError(f"cannot write {quarantine} ({exc.strerror}); choose another path") from None
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
    if summary.field_reasons:
        reasons = Table(title="quarantine reasons (rows)")
        reasons.add_column("field: problem")
        reasons.add_column("rows", justify="right")
        for reason, n_rows in summary.field_reasons.items():
            reasons.add_row(reason, str(n_rows))
        console.print(reasons)
    if quarantine is not None:
        console.print(f"quarantined rows written to {quarantine}")


def register(app: typer.Typer) -> None:
    """Add the `dictionary` command group to the `careleads` command."""
    app.add_typer(sub, name="dictionary")
