"""Memos that live for one unit of work (a request, a batch chunk): what was computed once inside a block
is looked up when it is met again there, and nothing is kept after the block.

Texts read in a request (its redactions, class probabilities and triage findings) are remembered this way:
the memo holds patient text no longer than the work that already holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["BlockMemo"]


class BlockMemo:
    """A memo per owner (a classifier, a detector; None for a plain function) that exists only inside
    :meth:`block`. Blocks nest: the outermost one remembers.

    Examples
    --------
    >>> squares = BlockMemo("squares")
    >>> squares.of() is None  # outside a block nothing is remembered
    True
    >>> with squares.block():
    ...     squares.of()[3] = 9
    ...     with squares.block():
    ...         inner = squares.of().get(3)
    >>> inner, squares.of()
    (9, None)
    """

    def __init__(self, name: str) -> None:
        # per owner, kept with its memo so that its id stays its own while the block lasts
        self._memos: ContextVar[dict[int, tuple[object, dict[Any, Any]]] | None] = ContextVar(
            name, default=None
        )

    @contextmanager
    def block(self) -> Iterator[None]:
        """Remember within the block (a block inside another uses the outer one's memo)."""
        if self._memos.get() is not None:
            yield
            return
        token = self._memos.set({})
        try:
            yield
        finally:
            self._memos.reset(token)

    def of(self, owner: object = None) -> dict[Any, Any] | None:
        """`owner`'s memo in the current block (a dict to add to); None outside a block."""
        memos = self._memos.get()
        if memos is None:
            return None
        entry = memos.get(id(owner))
        if entry is None or entry[0] is not owner:
            entry = memos[id(owner)] = (owner, {})
        return entry[1]
