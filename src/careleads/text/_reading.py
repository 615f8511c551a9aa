"""Each text read once within a unit of work: its redaction, its class probabilities and its clinical
triage remembered.

Scoring a lead and deciding its path both read its message: the text features (scoring) and the intent
(the decision) redact it and classify it with the same classifier. Inside :func:`reading_once` (a batch
chunk, one API request) the first reading is remembered and the second is a lookup. Nothing is kept after
the block, so the memo holds patient text no longer than the work that already holds it; blocks nest (the
outermost one remembers). Outside a block every call reads afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from careleads.privacy import remembered_redactions
from careleads.text.triage import remembered_triage
from careleads.types import FloatArray

__all__ = ["reading_once", "remembered_probabilities"]

#: per classifier (kept with its answers, so its id stays its own): redacted text -> class probabilities
_Memo = dict[int, tuple[object, dict[str, FloatArray]]]
_PROBABILITIES: ContextVar[_Memo | None] = ContextVar("careleads_text_probabilities", default=None)


@contextmanager
def reading_once() -> Iterator[None]:
    """Within the block, a text is redacted once, classified once by each classifier and triaged once by
    each triage detector."""
    if _PROBABILITIES.get() is not None:
        yield
        return
    token = _PROBABILITIES.set({})
    try:
        with remembered_redactions(), remembered_triage():
            yield
    finally:
        _PROBABILITIES.reset(token)


def remembered_probabilities(model: object) -> dict[str, FloatArray] | None:
    """The class probabilities `model` gave so far in the current :func:`reading_once` block, by redacted
    text (a dict to add to); None outside a block."""
    memo = _PROBABILITIES.get()
    if memo is None:
        return None
    entry = memo.get(id(model))
    if entry is None or entry[0] is not model:
        entry = memo[id(model)] = (model, {})
    return entry[1]
