"""Lead records: checking input against the dictionary, redacting free text, identifiers, store lookups.

What is stored follows the data dictionary's sensitivity classes:

- direct identifiers: encrypted (Fernet) in ``leads.identifiers``, nowhere else;
- sensitive free text: redacted (typed placeholders) in ``leads.texts`` and ``events.message_text``;
- the other dictionary fields in ``leads.fields``; columns the dictionary does not know are not stored
  (the response lists them as ignored).

A lead is checked by :func:`check_lead`. Clinical triage reads every text of the record first, before the
dictionary does: a record that is refused (it cannot be identified, or is not a record at all) but whose
text may describe an emergency is kept as an *unidentified* lead, with a generated id, for a human to see.
A value the dictionary cannot read (a new service line, say) does not refuse the lead: it is kept as written
under ``leads.fields["_flagged"]``, read as missing by scoring and decisions, and listed in the answer.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.columns import repaired_record
from careleads.dictionary import (
    FLAGS_KEY,
    MISSING_REQUIRED,
    FieldProblem,
    FieldSpec,
    FieldType,
    FlaggedValue,
    KnownAt,
    Sensitivity,
    TableSpec,
    flag_problems,
    ingest_table,
    match_columns,
    record_validator,
    unreadable_values,
)
from careleads.errors import InputError, NotFoundError
from careleads.privacy import PLACEHOLDERS, redact_texts
from careleads.service.context import ServiceContext
from careleads.store import Lead, ScoreEntry
from careleads.text import default_detector
from careleads.text.triage import LEVELS

__all__ = [
    "MAX_FIELD_CHARS",
    "PRESENT",
    "UNIDENTIFIED_PREFIX",
    "CheckedEvent",
    "CheckedLead",
    "check_event",
    "check_lead",
    "flags_of",
    "lead_fields",
    "record_texts",
    "LeadErasedError",
    "LeadValidationError",
    "current_entry",
    "decrypt_identifiers",
    "get_lead",
    "identifier_names",
    "lead_record",
    "ledger",
    "plain",
    "redact_known",
    "split_fields",
    "utcnow",
    "validate_one",
    "validate_table",
]

PRESENT = "[present]"  # stands in for a direct identifier when only its presence matters
#: the external id of a lead kept for triage although it could not be identified starts with this
UNIDENTIFIED_PREFIX = "unidentified-"
MAX_FIELD_CHARS = 5000  # longest text value of a record
MAX_ID_CHARS = 200  # longest external id (the store's column)
_MAX_TEXTS = 200  # texts of one record that triage reads (a record is a few dozen fields)
log = logging.getLogger("careleads.service")


def utcnow() -> datetime:
    """Now as naive UTC (the store's time convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


class LeadValidationError(InputError):
    """Input that the data dictionary rejects; ``problems`` lists ``{"field", "message"}`` per problem."""

    def __init__(self, message: str, problems: Sequence[Mapping[str, str]]) -> None:
        super().__init__(message)
        self.problems = [dict(p) for p in problems]


class LeadErasedError(NotFoundError):
    """The lead was erased; only its tombstone remains."""


# ------------------------------------------------------------------------------------------ conversion


def plain(value: Any) -> Any:
    """A JSON-ready scalar: Timestamps as ISO text, missing as None, numpy scalars as Python values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _raw_text(value: Any) -> str:
    """A JSON value as the text ingest reads (missing as an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _problems(quarantine: pd.DataFrame, known: Sequence[str]) -> list[dict[str, str]]:
    """Field-level problems from ingest's quarantine rows (``_field`` and ``_reason`` joined by '; ')."""
    out: list[dict[str, str]] = []
    for _, row in quarantine.iterrows():
        fields = [f for f in str(row["_field"]).split("; ") if f]
        current: dict[str, str] | None = None
        for piece in str(row["_reason"]).split("; "):
            name = next((f for f in (*fields, *known) if piece.startswith(f"{f}:")), None)
            if name is not None:
                current = {"field": name, "message": piece[len(name) + 1 :].strip()}
                out.append(current)
            elif current is not None:
                current["message"] += "; " + piece
            else:
                out.append({"field": fields[0] if fields else "", "message": piece})
    return out


_WORD = re.compile(r"[\w.'+-]+@[\w.-]+|\w[\w'-]*\w", re.UNICODE)


def redact_known(texts: Sequence[str | None], identifiers: Mapping[str, str]) -> list[str | None]:
    """Redact free texts: the library's detectors, then the lead's own identifiers wherever they appear.

    The detectors cannot know every name; the lead's own name, e-mail and phone are known, so each of
    their words (three characters or more) is replaced as a whole word, case-insensitively.
    """
    redacted = redact_texts(list(texts))
    replacement: dict[str, str] = {}  # lower-cased word -> placeholder
    for value in identifiers.values():
        placeholder = (
            PLACEHOLDERS["EMAIL"]
            if "@" in value
            else PLACEHOLDERS["PHONE"]
            if sum(c.isdigit() for c in value) >= 7
            else PLACEHOLDERS["NAME"]
        )
        if placeholder == PLACEHOLDERS["NAME"]:
            words = [w for w in _WORD.findall(value) if len(w) >= 3]
        else:
            words = [value.strip()] if placeholder == PLACEHOLDERS["EMAIL"] else []
        for word in words:
            replacement.setdefault(word.lower(), placeholder)
    if not replacement or all(text is None for text in redacted):
        return redacted
    # one pattern for all of the lead's words, longest first (an e-mail before the name inside it)
    alternatives = "|".join(re.escape(w) for w in sorted(replacement, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def placeholder_of(match: re.Match[str]) -> str:
        # a case variant whose lower form differs (rare Unicode) is still redacted, as a name
        return replacement.get(match.group(0).lower(), PLACEHOLDERS["NAME"])

    return [pattern.sub(placeholder_of, text) if text is not None else None for text in redacted]


def validate_table(
    ctx: ServiceContext, records: Sequence[Mapping[str, Any]], table: str
) -> tuple[pd.DataFrame, list[str], list[list[FlaggedValue]]]:
    """Check records against the dictionary exactly as files are checked (:func:`ingest_table`).

    Returns
    -------
    (DataFrame, list of str, list of list of FlaggedValue)
        The clean rows, the input fields the dictionary does not know (not stored), and per record the
        values kept as written and read as missing.

    Raises
    ------
    LeadValidationError
        When any record cannot be identified; ``problems`` names each field and what is wrong (and says
        so when a text of the record may describe an emergency).
    """
    repaired = [repaired_record(dict(r)) for r in records]  # no NUL or unpaired surrogate goes further
    records = [fixed for fixed, _changed in repaired]
    spec = ctx.refresh_dictionary().table(table)
    refused: list[dict[str, str]] = []
    for row, (_fixed, changed) in enumerate(repaired):
        for problem in _repaired_flags(spec, changed, []):  # an id that is not text: the record is refused
            refused.append({**problem, **({"row": str(row)} if len(records) > 1 else {})})
    if refused:
        raise LeadValidationError("; ".join(f"{p['field']}: {p['message']}" for p in refused), refused)
    frame = pd.DataFrame([{str(k): _raw_text(v) for k, v in r.items()} for r in records])
    try:
        result = ingest_table(frame, ctx.dictionary, table, source="request")
    except InputError as exc:
        raise LeadValidationError(str(exc), [{"field": "", "message": str(exc)}]) from None
    if len(result.quarantine):
        names = ctx.dictionary.table(table).names
        problems = _problems(result.quarantine, names)
        rows = [int(row) - 2 for row in result.quarantine["_row"]]
        levels = default_detector().detect_many([" ".join(record_texts(records[r])) for r in rows])
        for problem, row, found in zip(problems, rows, levels, strict=False):
            if len(records) > 1:
                problem["row"] = str(row)
            if found.level != "none":
                problem["message"] += (
                    f" (a text of this record may describe an emergency, triage level {found.level}: "
                    "send it to a clinician now)"
                )
        raise LeadValidationError(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "the input was rejected", problems
        )
    flags: list[list[FlaggedValue]] = [[] for _ in records]
    flagged = result.flagged
    for position, name, kind, value, reason, action in zip(
        flagged["_row"].tolist(),
        flagged["_field"].tolist(),
        flagged["_kind"].tolist(),
        flagged["_value"].tolist(),
        flagged["_reason"].tolist(),
        flagged["_action"].tolist(),
        strict=True,
    ):
        flags[int(position) - 2].append(
            FlaggedValue(
                field=str(name),
                kind=str(kind),
                value=None if pd.isna(value) else str(value),
                message=str(reason).partition(": ")[2],
                action=str(action),
            )
        )
    for row_flags, (_fixed, changed) in zip(flags, repaired, strict=True):
        _repaired_flags(spec, changed, row_flags)
    return result.clean, list(result.summary.unknown_columns), flags


def validate_one(
    ctx: ServiceContext, record: Mapping[str, Any], table: str
) -> tuple[dict[str, Any], list[str]]:
    """Check one record against the dictionary: :func:`validate_table` without frames, the same answers.

    Returns
    -------
    (dict, list of str)
        The clean record (every field of the table, None where missing) and the input fields the
        dictionary does not know (not stored).

    Raises
    ------
    LeadValidationError
        When the record is rejected; ``problems`` names each field and what is wrong.
    """
    validator = record_validator(ctx.dictionary, table)
    try:
        clean, found = validator.validate(record, source="request")
    except InputError as exc:
        raise LeadValidationError(str(exc), [{"field": "", "message": str(exc)}]) from None
    if found:
        problems = [{"field": p.field, "message": p.detail} for p in found]
        raise LeadValidationError("; ".join(f"{p['field']}: {p['message']}" for p in problems), problems)
    names = set(validator.table.names)
    return clean, [name for name in clean if name not in names]


# ------------------------------------------------------------------------------------------ intake


@dataclass
class CheckedLead:
    """A lead record after triage and the dictionary: what to store, what was flagged, whether identified.

    Attributes
    ----------
    row : dict
        The clean record (every field of the table; None where missing or flagged).
    ignored : list of str
        Keys of the record the dictionary does not know (not stored).
    flags : list of FlaggedValue
        Values kept as written and read as missing; for an unidentified lead, also why it was refused.
    triage_level : str
        The highest clinical-triage level among the record's texts (``"urgent"``, ``"possible"``,
        ``"none"``).
    unidentified : bool
        True when the record was refused but kept, under a generated id, because a text may describe an
        emergency.
    """

    row: dict[str, Any]
    ignored: list[str]
    flags: list[FlaggedValue] = field(default_factory=list)
    triage_level: str = "none"
    unidentified: bool = False


def record_texts(value: Any) -> list[str]:
    """Every text a record holds, whatever its shape (values of a mapping, items of a list, nested ones).

    Keys are not texts; at most a few hundred texts are returned, each cut to the longest field allowed.
    """
    found: list[str] = []
    pending = [value]
    while pending and len(found) < _MAX_TEXTS:
        item = pending.pop()
        if isinstance(item, str):
            if item.strip():
                found.append(item[:MAX_FIELD_CHARS])
        elif isinstance(item, Mapping):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            pending.extend(reversed(item))
    return found


def _triage_fields(table: TableSpec) -> list[FieldSpec]:
    """The free-text fields the decision path reads for clinical triage: texts known when the lead arrives
    that are not direct identifiers."""
    return [
        spec
        for spec in table.fields
        if spec.type is FieldType.TEXT
        and spec.known is KnownAt.CREATION
        and spec.sensitivity is not Sensitivity.DIRECT_IDENTIFIER
    ]


def _shape_problems(record: Any) -> list[dict[str, str]]:
    """What makes a record unreadable as a record at all (not an object, values that are not scalars)."""
    if not isinstance(record, Mapping):
        return [{"field": "", "message": "a lead is a JSON object of field names and values"}]
    problems = []
    for name, value in record.items():
        if not isinstance(value, str | int | float | bool) and value is not None:
            problems.append({"field": str(name), "message": "must be a text, number, true/false or null"})
        elif isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            problems.append({"field": str(name), "message": f"is longer than {MAX_FIELD_CHARS} characters"})
    return problems


def _alarming_texts(value: Any) -> tuple[list[str], str]:
    """The texts of a record (any shape) that may describe an emergency, and the highest triage level."""
    texts = record_texts(value)
    levels = [result.level for result in default_detector().detect_many(texts)] if texts else []
    alarming = [text for text, level in zip(texts, levels, strict=True) if level != "none"]
    return alarming, max(levels, key=LEVELS.__getitem__, default="none")


def check_lead(ctx: ServiceContext, lead_in: Any, *, now: datetime) -> CheckedLead:
    """Triage every text of a record, then check it against the dictionary; refuse only what cannot be kept.

    1. Clinical triage (:func:`careleads.text.default_detector`) reads every text of the record, whatever
       its key or shape.
    2. A record that is not an object, or has no usable key or time (:func:`careleads.dictionary.refuses`),
       is refused, unless a text may describe an emergency (triage level ``urgent`` or ``possible``): it
       is then kept as an unidentified lead with a generated external id, its refusal listed in ``flags``.
    3. Any other value the dictionary cannot read is flagged: kept as written, read as missing.
    4. A text that may describe an emergency but is not in a field triage reads (an unknown key, a
       category value) is added to the first such field, so the decision path reads it and a human sees it.

    Parameters
    ----------
    ctx : ServiceContext
        The dictionary.
    lead_in : any
        The record as received (a JSON value).
    now : datetime
        Naive UTC; the creation time of a lead that gives none (or an unreadable one, when kept for triage).

    Raises
    ------
    LeadValidationError
        When the record is refused and no text may describe an emergency.
    """
    table = ctx.refresh_dictionary().table("leads")
    time_column = str(table.time_column)
    lead_in, repaired = repaired_record(lead_in)  # no NUL or unpaired surrogate goes further
    alarming, level = _alarming_texts(lead_in)
    refused = _shape_problems(lead_in)
    row: dict[str, Any] = {}
    ignored: list[str] = []
    flags: list[FlaggedValue] = []
    if not refused:
        record = dict(lead_in)
        if not record.get(time_column):
            record[time_column] = now.isoformat()
        validator = record_validator(ctx.dictionary, "leads")
        try:
            row, found = validator.validate(record, source="request")
        except InputError as exc:
            found = _unmatched(table, record, exc)
        problems, flags = flag_problems(table, found)
        row.update(unreadable_values(table, [f.field for f in flags]))  # consents read the cautious way
        refused = [{"field": p.field, "message": p.detail} for p in problems]
        key = str(table.key)
        if row.get(key) is not None and len(str(row[key]).strip()) > MAX_ID_CHARS:
            refused.append({"field": key, "message": f"is longer than {MAX_ID_CHARS} characters"})
        refused += _repaired_flags(table, repaired, flags)
        names = set(validator.table.names)
        ignored = [name for name in row if name not in names]
    if refused and not alarming:
        raise LeadValidationError(
            "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in refused),
            refused,
        )
    unidentified = bool(refused)
    if unidentified:
        row, flags = _unidentified_row(ctx, lead_in, refused, now)
        flags.extend(
            FlaggedValue(
                field=p["field"],
                kind="refused",
                value=None,
                message=p["message"],
                action="the record could not be identified; it was kept for a clinician because its text "
                "may describe an emergency: send it again complete, and tell the triage line",
            )
            for p in refused
        )
        ignored = []
        log.warning("an unidentified lead is kept for triage (level %s)", level)
    _carry_alarming(_triage_fields(table), row, alarming)
    return CheckedLead(row=row, ignored=ignored, flags=flags, triage_level=level, unidentified=unidentified)


@dataclass
class CheckedEvent:
    """An event after triage and the dictionary: what to store, what was flagged.

    Attributes
    ----------
    row : dict
        The clean event (every field of the table; None where flagged).
    flags : list of FlaggedValue
        Values kept as written and read as missing; for an event kept for triage, also why it was refused.
    raw : dict
        Field -> the value as written, for each flagged field (the store keeps an unknown event type as
        written).
    triage_level : str
        The highest clinical-triage level among the event's texts.
    """

    row: dict[str, Any]
    flags: list[FlaggedValue] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    triage_level: str = "none"


def check_event(ctx: ServiceContext, event_in: Mapping[str, Any], *, now: datetime) -> CheckedEvent:
    """Triage every text of an event, then check it against the dictionary; refuse only what cannot be kept.

    As :func:`check_lead` does for a lead: a value the dictionary cannot read (an event type or page it does
    not know) is flagged, kept as written and read as missing; an event without a usable id or time is
    refused, unless a text may describe an emergency: it is then kept under a generated id at the time
    `now`, its texts in the message field, so the lead is triaged again and a human sees it.

    Raises
    ------
    LeadValidationError
        When the event is refused and no text may describe an emergency.
    """
    table = ctx.refresh_dictionary().table("events")
    key, time_column = str(table.key), str(table.time_column)
    event_in, repaired = repaired_record(event_in)  # no NUL or unpaired surrogate goes further
    alarming, level = _alarming_texts(event_in)
    refused = _shape_problems(event_in)
    row: dict[str, Any] = {}
    flags: list[FlaggedValue] = []
    if not refused:
        try:
            row, found = record_validator(ctx.dictionary, "events").validate(dict(event_in), source="request")
        except InputError as exc:
            found = _unmatched(table, event_in, exc)
        problems, flags = flag_problems(table, found)
        row.update(unreadable_values(table, [f.field for f in flags]))
        refused = [{"field": p.field, "message": p.detail} for p in problems]
        refused += _repaired_flags(table, repaired, flags)
    if refused and not alarming:
        raise LeadValidationError(
            "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in refused),
            refused,
        )
    if refused:
        bad = {p["field"] for p in refused}
        row = {name: (None if name in bad else row.get(name)) for name in table.names}
        if row.get(key) is None:
            row[key] = f"{UNIDENTIFIED_PREFIX}{uuid.uuid4().hex}"
        if row.get(time_column) is None:
            row[time_column] = pd.Timestamp(now)
        flags.extend(
            FlaggedValue(
                field=p["field"],
                kind="refused",
                value=None,
                message=p["message"],
                action="the event was kept for a clinician because its text may describe an emergency",
            )
            for p in refused
        )
        log.warning("an event that could not be read is kept for triage (level %s)", level)
    raw = {f.field: f.value for f in flags if f.value is not None}
    # texts that may describe an emergency reach the field triage reads (the event's message)
    _carry_alarming([spec for spec in table.fields if spec.type is FieldType.TEXT], row, alarming)
    return CheckedEvent(row=row, flags=flags, raw=raw, triage_level=level)


#: the flag of a value that held characters that are not text, repaired on the way in
REPAIRED_TEXT = "repaired_text"
_NOT_TEXT_MESSAGE = "held characters that are not text (a NUL byte or an unpaired surrogate)"


def _repaired_flags(table: TableSpec, repaired: list[str], flags: list[FlaggedValue]) -> list[dict[str, str]]:
    """Flag each field whose value held characters that are not text (kept with U+FFFD in their place),
    adding to `flags`; the record's refusal when the field is its key (an id must be exact)."""
    if not repaired:
        return []
    try:
        canonical = match_columns(repaired, table, "request")
    except InputError:
        canonical = {}
    refused = []
    for given in repaired:
        name = canonical.get(given, given)
        if name == table.key:
            refused.append({"field": name, "message": f"{_NOT_TEXT_MESSAGE}; send the id as UTF-8 text"})
            continue
        flags.append(
            FlaggedValue(
                field=name,
                kind=REPAIRED_TEXT,
                value=None,
                message=_NOT_TEXT_MESSAGE,
                action="kept with U+FFFD in their place; send text as UTF-8 at the source",
            )
        )
    return refused


def _unmatched(table: TableSpec, record: Mapping[str, Any], exc: InputError) -> list[FieldProblem]:
    """The problems of a record whose keys do not match the table: each required field without a key, or
    (keys matching one field twice) the error itself."""
    try:
        claimed = set(match_columns([str(k) for k in record], table, "request").values())
    except InputError:
        return [FieldProblem("", "unreadable", str(exc))]
    return [
        FieldProblem(spec.name, MISSING_REQUIRED, f"{spec.name}: required value is missing")
        for spec in table.fields
        if (spec.required or spec.name == table.key) and spec.name not in claimed
    ] or [FieldProblem("", "unreadable", str(exc))]


def _unidentified_row(
    ctx: ServiceContext, lead_in: Any, refused: Sequence[Mapping[str, str]], now: datetime
) -> tuple[dict[str, Any], list[FlaggedValue]]:
    """What can be read of a refused record, under a generated id (and the time now, when its own is
    unreadable): its other fields, identifiers and texts, for the human who will see it."""
    table = ctx.dictionary.table("leads")
    key, time_column = str(table.key), str(table.time_column)
    generated = f"{UNIDENTIFIED_PREFIX}{uuid.uuid4().hex}"
    row: dict[str, Any] = {key: generated, time_column: pd.Timestamp(now)}
    if _shape_problems(lead_in):
        return row, []
    bad = {p["field"] for p in refused}
    record = {k: v for k, v in dict(lead_in).items() if str(k) not in bad}
    record[key] = generated
    record.setdefault(time_column, now.isoformat())
    try:
        clean, found = record_validator(ctx.dictionary, "leads").validate(record, source="request")
    except InputError:
        return row, []  # keys that still match one field twice: the texts are carried over alone
    problems, flags = flag_problems(table, found)
    if problems:
        return row, flags
    clean.update(unreadable_values(table, [f.field for f in flags]))
    return {name: value for name, value in clean.items() if name in table.names}, flags


def _carry_alarming(fields: Sequence[FieldSpec], row: dict[str, Any], alarming: Sequence[str]) -> None:
    """Add the texts that may describe an emergency to the first of `fields` (those triage reads), unless
    one of them already holds it."""
    if not fields or not alarming:
        return
    read = [str(row[spec.name]) for spec in fields if row.get(spec.name)]
    missing = [text.strip() for text in alarming if not any(text.strip() in r for r in read)]
    if missing:
        target = fields[0].name
        row[target] = "\n".join([*([str(row[target])] if row.get(target) else []), *dict.fromkeys(missing)])


def flags_of(flags: Sequence[FlaggedValue], identifiers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Flags as stored under ``leads.fields["_flagged"]``: field -> kind, value as written, message.

    The values are redacted as free text is (someone may type a name where a category belongs).
    """
    values = redact_known([f.value for f in flags], identifiers)
    return {
        f.field or "(record)": {"kind": f.kind, "value": value, "message": f.message}
        for f, value in zip(flags, values, strict=True)
    }


def lead_fields(lead: Lead) -> dict[str, Any]:
    """The lead's stored fields without its flags (what scoring and decisions read)."""
    fields = dict(lead.fields or {})
    fields.pop(FLAGS_KEY, None)
    return fields


# ------------------------------------------------------------------------------------------ storing


def split_fields(
    ctx: ServiceContext, row: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """(direct identifiers, redacted free texts, other fields) of one clean lead row."""
    table = ctx.dictionary.table("leads")
    identifiers: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    fields: dict[str, Any] = {}
    for spec in table.fields:
        if spec.name in (table.key, table.time_column) or spec.name not in row:
            continue
        value = plain(row[spec.name])
        if spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
            if value is not None and str(value).strip():
                identifiers[spec.name] = str(value)
        elif spec.type is FieldType.TEXT and spec.sensitivity is Sensitivity.SENSITIVE:
            texts[spec.name] = None if value is None else str(value)
        else:
            fields[spec.name] = value
    names = list(texts)
    redacted = redact_known([texts[n] for n in names], identifiers)
    return identifiers, {n: t for n, t in zip(names, redacted, strict=True) if t is not None}, fields


def lead_record(ctx: ServiceContext, lead: Lead, present: Sequence[str]) -> dict[str, Any]:
    """The lead as scoring and decisions see it: fields, redacted texts, identifiers only as presence."""
    table = ctx.dictionary.table("leads")
    record: dict[str, Any] = lead_fields(lead)
    record.update(lead.texts or {})
    for name in present:
        record[name] = PRESENT
    record[str(table.key)] = str(lead.id)
    record[str(table.time_column)] = pd.Timestamp(lead.created_at)
    return record


def identifier_names(lead: Lead) -> list[str]:
    """Which direct identifiers the lead has (names only; the values stay encrypted)."""
    return sorted(str(n) for n in (lead.identifier_fields or []))


def decrypt_identifiers(ctx: ServiceContext, lead: Lead) -> dict[str, str]:
    """The lead's direct identifiers in clear (for the roles allowed to see them)."""
    if not lead.identifiers:
        return {}
    data: dict[str, str] = json.loads(ctx.cipher.decrypt(lead.identifiers))
    return data


def get_lead(*, session: Session, lead_id: int, allow_erased: bool = False) -> Lead:
    """The lead with internal id `lead_id`.

    Raises
    ------
    NotFoundError
        If there is no such lead.
    LeadErasedError
        If it was erased (unless `allow_erased`).
    """
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead with id {lead_id}; use the id returned when the lead was created")
    if lead.erased and not allow_erased:
        raise LeadErasedError(f"lead {lead_id} was erased; only its tombstone remains")
    return lead


def current_entry(*, session: Session, lead: Lead) -> ScoreEntry:
    """The lead's latest ledger entry."""
    entry = session.scalar(
        select(ScoreEntry).where(ScoreEntry.lead_id == lead.id).order_by(ScoreEntry.id.desc()).limit(1)
    )
    if entry is None:
        raise NotFoundError(f"lead {lead.id} has no score yet")
    return entry


def ledger(*, session: Session, lead: Lead) -> list[ScoreEntry]:
    """Every ledger entry of the lead, oldest first."""
    return list(
        session.scalars(select(ScoreEntry).where(ScoreEntry.lead_id == lead.id).order_by(ScoreEntry.id))
    )
