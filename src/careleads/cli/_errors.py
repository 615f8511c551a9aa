"""The command line's one error boundary: a careleads error ends a command with one message, no traceback.

Every command is wrapped by :func:`command_errors`: the library raises
:class:`~careleads.errors.CareleadsError` with a message that says what to fix, and the command prints
``error: <message>`` on standard error and exits with its group's code: 2, or 1 for ``dictionary`` and
``evaluate`` (whose exit codes are documented for scripts).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import typer
from rich.console import Console
from rich.text import Text

from careleads.errors import CareleadsError

__all__ = ["command_errors", "fail"]

console = Console(stderr=True)
Command = TypeVar("Command", bound=Callable[..., Any])


def fail(error: BaseException, *, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` on standard error and return the exit to raise.

    The message is printed as it is, never read as Rich markup (messages quote values such as ``['a']``), and
    not wrapped at the terminal's width.
    """
    message = str(error) or type(error).__name__
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    return typer.Exit(code=code)


def command_errors(code: int = 2, *, also: tuple[type[Exception], ...] = ()) -> Callable[[Command], Command]:
    """Wrap a command: a :class:`CareleadsError` (or one of `also`) becomes :func:`fail` with `code`.

    Put it under the ``@app.command()`` decorator; the command keeps its name, help and parameters.
    """
    caught: tuple[type[Exception], ...] = (CareleadsError, *also)

    def wrap(command: Command) -> Command:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except caught as exc:
                raise fail(exc, code=code) from None

        run.error_exit_code = code  # type: ignore[attr-defined]  # marks the boundary (tests look for it)
        return cast(Command, run)

    return wrap
