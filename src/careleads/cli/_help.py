"""How `--help` shows options: a flag is shown as a flag, never with a value placeholder.

Typer's Rich help prints a type placeholder beside every option, flags included (``--overwrite <bool>``),
which reads as if the flag took a value: ``--row-order true`` then fails with "Got unexpected extra
argument". :func:`show_flags_as_flags` makes the placeholder of a flag empty, for every command at once.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

__all__ = ["example", "show_flags_as_flags"]

_typer_display_type = TyperOption.display_type_rich


def _display_type(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag:
        return None
    return _typer_display_type(self, ctx)


def show_flags_as_flags() -> None:
    """Show flags without a value placeholder in every command's `--help` (idempotent)."""
    TyperOption.display_type_rich = _display_type  # type: ignore[method-assign]


def example(command_line: str) -> str:
    """The epilog of a command's `--help`: one command line that works as written (tests parse each).

    Examples
    --------
    >>> example("careleads version")
    'Example: careleads version'
    """
    return f"Example: {command_line}"
