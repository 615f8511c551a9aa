"""Clinical triage of every text of a lead: its free-text fields and the texts that arrived later.

A lead's triage level is the highest level (``urgent``, ``possible``, ``none``) of the clinical-triage
detector (:class:`careleads.text.ClinicalTriageDetector`) over all of its texts: the free-text fields of the
lead (the dictionary's ``text`` fields that are not direct identifiers: a form question, staff notes) and
every text that came later (chat, SMS, e-mail replies, guided-intake answers, reviewers' notes). The words
that made the verdict are kept per text, as character offsets into the text as given, so a page can
highlight them.

Each text is named by its source: a lead field by its name, a later text by a label the caller gives
(``event:12``, ``feedback:3``). Levels are computed column-wise (a text column of a table, or the texts of
one lead, through the detector's batch path); the spans only for the leads whose level is above ``none``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from careleads.dictionary import Dictionary, FieldType, Sensitivity, load_dictionary
from careleads.text import TriageResult, default_detector
from careleads.text.triage import LEVELS

#: ``text -> verdict``: True or False (urgent or not), or a :class:`careleads.text.TriageResult` (level and
#: the words that made it); default the clinical-triage detector
UrgentDetector = Callable[[str], "bool | TriageResult"]
Levels = npt.NDArray[np.int8]
#: level number -> name (0 none, 1 possible, 2 urgent)
LEVEL_NAMES: tuple[str, ...] = tuple(sorted(LEVELS, key=LEVELS.__getitem__))
NONE, POSSIBLE, URGENT = (LEVELS[name] for name in ("none", "possible", "urgent"))


@dataclass(frozen=True)
class TextFields:
    """Where a lead's free text is: the lead fields holding text, and the text fields of its events.

    Build it from a dictionary with :meth:`of_dictionary`; the default is the shipped dictionary's.
    """

    leads: tuple[str, ...]
    events: tuple[str, ...] = ()
    event_key: str | None = None  # the events' own id, to name each event's text
    lead_key: str = "lead_id"  # the events' column holding their lead's id

    @staticmethod
    def of_dictionary(dictionary: Dictionary) -> TextFields:
        """The free-text fields (type text, not a direct identifier) of the tables of leads and events."""
        leads = dictionary.table("leads")

        def free_text(table: str) -> tuple[str, ...]:
            if table not in dictionary.tables:
                return ()
            spec = dictionary.table(table)
            return tuple(
                f.name
                for f in spec.fields
                if f.type is FieldType.TEXT
                and f.sensitivity is not Sensitivity.DIRECT_IDENTIFIER
                and f.name not in (spec.key, spec.time_column)
            )

        events = dictionary.tables.get("events")
        return TextFields(
            leads=free_text("leads"),
            events=free_text("events"),
            event_key=None if events is None or events.key is None else str(events.key),
            lead_key=str(leads.key or "lead_id"),
        )


@lru_cache(maxsize=1)
def shipped_text_fields() -> TextFields:
    """The text fields of the shipped dictionary."""
    return TextFields.of_dictionary(load_dictionary())


@dataclass(frozen=True)
class Finding:
    """One text of a lead at a triage level above ``none``: its source, level, category and spans."""

    source: str
    level: str
    category: str | None
    spans: tuple[tuple[int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "level": self.level,
            "category": self.category,
            "spans": [list(s) for s in self.spans],
        }


@dataclass(frozen=True)
class Triage:
    """A lead's triage: the highest level over its texts and the texts that reached it (and lower ones)."""

    level: str = "none"
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (stored with the route of a ledger entry)."""
        return {"level": self.level, "findings": [f.to_dict() for f in self.findings]}

    def source_level(self, source: str) -> str:
        """The level of the text of `source` (``none`` when it did not reach ``possible``)."""
        return next((f.level for f in self.findings if f.source == source), "none")


NO_TRIAGE = Triage()


def clean_spans(spans: Sequence[Sequence[int]], length: int) -> tuple[tuple[int, int], ...]:
    """Spans sorted, clipped to the text and merged where they overlap or touch (ready to highlight)."""
    out: list[list[int]] = []
    for start, end in sorted((max(0, int(a)), min(length, int(b))) for a, b in spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def verdict(result: bool | TriageResult) -> TriageResult:
    """A detector's answer as a :class:`TriageResult` (a plain True is an urgent text without spans)."""
    if isinstance(result, TriageResult):
        return result
    return TriageResult(bool(result))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def detect_texts(texts: Sequence[Any], detector: UrgentDetector | None) -> list[TriageResult]:
    """The triage of each text (None, blank or not text: no finding)."""
    if detector is None:
        return default_detector().detect_many([t if _is_text(t) else None for t in texts])
    found: dict[str, TriageResult] = {}
    out = []
    for text in texts:
        if not _is_text(text):
            out.append(TriageResult(False))
            continue
        if text not in found:
            found[text] = verdict(detector(text))
        out.append(found[text])
    return out


def text_levels(texts: Sequence[Any] | pa.Array, detector: UrgentDetector | None) -> Levels:
    """The triage level of each text as a number (:data:`careleads.text.triage.LEVELS`)."""
    if detector is None and isinstance(texts, pa.Array | pa.ChunkedArray):
        array = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        encoded = pc.dictionary_encode(array)
        if 2 * len(encoded.dictionary) <= len(array):  # texts repeat (notes from templates): each once
            distinct = np.append(_column_levels(encoded.dictionary), np.int8(NONE))  # the last for nulls
            indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            return np.asarray(distinct[indices], dtype=np.int8)
        return _column_levels(array)
    values = list(texts.to_pylist() if isinstance(texts, pa.Array | pa.ChunkedArray) else texts)
    return np.array([LEVELS[r.level] for r in detect_texts(values, detector)], dtype=np.int8)


def _column_levels(array: pa.Array) -> Levels:
    """The default detector's levels of a text column (its column-wise path: pre-filter, distinct texts)."""
    return default_detector().levels_many(array)


@dataclass(frozen=True)
class LaterTexts:
    """Texts that arrived after the leads (messages, notes): each with its lead's row and its source.

    Text ``k`` belongs to the lead of row ``rows[k]`` and is named ``prefix + str(labels[k])`` (names are
    built only for the leads whose triage is shown).
    """

    rows: npt.NDArray[np.intp]  # the row of each text's lead among the leads
    texts: Sequence[Any] | pa.Array
    labels: Sequence[Any] | npt.NDArray[Any]
    prefix: str = ""

    def __len__(self) -> int:
        return len(self.rows)

    def source(self, k: int) -> str:
        return f"{self.prefix}{self.labels[k]}"

    @staticmethod
    def of_record(texts: Sequence[tuple[str, str | None]]) -> LaterTexts:
        """One lead's later texts as ``(source, text)`` pairs."""
        return LaterTexts(
            rows=np.zeros(len(texts), dtype=np.intp),
            texts=[text for _, text in texts],
            labels=[source for source, _ in texts],
        )


def later_texts_of_events(
    lead_ids: pd.Series, events: pd.DataFrame, text_fields: TextFields | None
) -> LaterTexts | None:
    """The texts of the events of the leads `lead_ids` (one per lead row), named ``event:<event id>``.

    Events of other leads and events without text are left out; None when no event has text.
    """
    fields = text_fields or shipped_text_fields()
    names = [name for name in fields.events if name in events.columns]
    if not names or fields.lead_key not in events.columns or not len(events):
        return None
    with_text = np.logical_or.reduce([events[name].notna().to_numpy(dtype=bool) for name in names])
    if not with_text.any():  # most events (page views, clicks) carry no text: left out before any work
        return None
    key = fields.event_key
    wanted = [fields.lead_key, *([key] if key is not None and key in events.columns else []), *names]
    sub = events[list(dict.fromkeys(wanted))].iloc[np.flatnonzero(with_text)]
    owners = pd.Index(sub[fields.lead_key].astype("string"))
    position = pd.Index(lead_ids.astype("string")).get_indexer(owners)
    ids = sub[key].to_numpy() if key in sub.columns else np.flatnonzero(with_text)
    rows: list[npt.NDArray[np.intp]] = []
    texts: list[pa.Array] = []
    labels: list[npt.NDArray[Any]] = []
    for name in names:
        column = sub[name]
        keep = (position >= 0) & column.notna().to_numpy(dtype=bool)
        if not keep.any():
            continue
        rows.append(position[keep].astype(np.intp))
        texts.append(pa.array(column[keep].astype("string"), type=pa.large_string(), from_pandas=True))
        # an event with several text fields names each text by its field too
        suffix = "" if len(names) == 1 else f":{name}"
        named = ids[keep]
        labels.append(named if not suffix else np.array([f"{i}{suffix}" for i in named], dtype=object))
    if not rows:
        return None
    return LaterTexts(
        rows=np.concatenate(rows),
        texts=pa.concat_arrays(texts),
        labels=np.concatenate(labels),
        prefix="event:",
    )


def findings_of(texts: Mapping[str, Any], detector: UrgentDetector | None) -> tuple[Finding, ...]:
    """The findings among one lead's texts (source -> text), most concerning first, then in given order."""
    sources = list(texts)
    results = detect_texts([texts[s] for s in sources], detector)
    found = []
    for source, result in zip(sources, results, strict=True):
        if result.level == "none":
            continue
        text = texts[source]
        found.append(Finding(source, result.level, result.category, clean_spans(result.spans, len(text))))
    found.sort(key=lambda f: -LEVELS[f.level])  # stable: the given order within a level
    return tuple(found)
