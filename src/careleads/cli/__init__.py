"""The `careleads` command. Each command group lives in its own module and registers itself here.

Commands only parse arguments, call one library function and print; the work is in the library.
"""

from __future__ import annotations

import os

import typer

from careleads.cli._help import show_flags_as_flags
from careleads.settings import prefer_sleeping_openmp_threads

show_flags_as_flags()

app = typer.Typer(
    name="careleads",
    help=(
        "Lead scoring for healthcare teams: calibrated, time-validated, leakage-audited, "
        "with people in the loop."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported here so that `careleads --help` stays fast and each module owns its commands.
    from careleads.cli import (
        _core,
        _dictionary,
        _evaluate,
        _governance,
        _jobs,
        _monitor,
        _score,
        _service,
        _sync,
    )

    for module in (_core, _dictionary, _evaluate, _monitor, _governance, _score, _service, _sync, _jobs):
        module.register(app)


def main() -> None:
    # this process is careleads' own: OpenMP reads its wait policy once, when LightGBM loads (below)
    prefer_sleeping_openmp_threads()
    # what careleads writes holds patients' data (stores, quarantine and flagged files, scored files,
    # reports): readable by the user running it only (folders 0700, files 0600)
    os.umask(0o077)
    _register()
    app()
