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

from careleads.memo import BlockMemo
from careleads.privacy import remembered_redactions
from careleads.text.triage import remembered_triage
from careleads.types import FloatArray

__all__ = ["reading_once", "remembered_probabilities"]

#: per classifier: redacted text -> class probabilities
_PROBABILITIES = BlockMemo("careleads_text_probabilities")


@contextmanager
def reading_once() -> Iterator[None]:
    """Within the block, a text is redacted once, classified once by each classifier and triaged once by
    each triage detector."""
    with _PROBABILITIES.block(), remembered_redactions(), remembered_triage():
        yield


def remembered_probabilities(model: object) -> dict[str, FloatArray] | None:
    """The class probabilities `model` gave so far in the current :func:`reading_once` block, by redacted
    text (a dict to add to); None outside a block."""
    return _PROBABILITIES.of(model)
