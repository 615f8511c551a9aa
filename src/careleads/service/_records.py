"""Lead records: checking input against the dictionary, redacting free text, identifiers, store lookups.

What is stored follows the data dictionary's sensitivity classes:

- direct identifiers: encrypted (Fernet) in ``leads.identifiers``, nowhere else;
- sensitive free text: redacted (typed placeholders) in ``leads.texts`` and ``events.message_text``;
- the other dictionary fields in ``leads.fields``; columns the dictionary does not know are not stored
  (the response lists them as ignored).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.dictionary import FieldType, Sensitivity, ingest_table, record_validator
from careleads.errors import InputError, NotFoundError
from careleads.privacy import PLACEHOLDERS, redact_texts
from careleads.service.context import ServiceContext
from careleads.store import Lead, ScoreEntry

__all__ = [
    "PRESENT",
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
) -> tuple[pd.DataFrame, list[str]]:
    """Check records against the dictionary exactly as files are checked (:func:`ingest_table`).

    Returns
    -------
    (DataFrame, list of str)
        The clean rows and the input fields the dictionary does not know (not stored).

    Raises
    ------
    LeadValidationError
        When any record is rejected; ``problems`` names each field and what is wrong.
    """
    frame = pd.DataFrame([{str(k): _raw_text(v) for k, v in r.items()} for r in records])
    try:
        result = ingest_table(frame, ctx.dictionary, table, source="request")
    except InputError as exc:
        raise LeadValidationError(str(exc), [{"field": "", "message": str(exc)}]) from None
    if len(result.quarantine):
        names = ctx.dictionary.table(table).names
        problems = _problems(result.quarantine, names)
        if len(records) > 1:
            for problem, row in zip(problems, result.quarantine["_row"], strict=False):
                problem["row"] = str(int(row) - 2)
        raise LeadValidationError(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "the input was rejected", problems
        )
    return result.clean, list(result.summary.unknown_columns)


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
    record: dict[str, Any] = dict(lead.fields or {})
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
