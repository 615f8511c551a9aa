"""Core commands: generate, demo, train."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print the installed careleads version."""
        from careleads import __version__

        typer.echo(__version__)
