"""Unknown values: what the dictionary could not read on stored leads, and an admin's mapping of a value.

A lead keeps a value the dictionary could not read as written, under ``leads.fields["_flagged"]``, and is
scored with that field unknown (:mod:`careleads.service._records`). :func:`unknown_values` lists those values
per field with counts and a few lead ids (never free text or identifiers: values of fields that are not
``safe`` are counted, not shown). :func:`map_unknown_value` maps one value to a known value, or adds it as a
new one: the mapping is written to the clinic's dictionary extension (``dictionary_extension.json`` in the
data directory), so later leads are read with it, and the leads already stored with that value get it, lose
the flag and are scored again. Both are admin-only and audited.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from careleads.dictionary import (
    FLAGS_KEY,
    MAPPABLE_KINDS,
    Dictionary,
    FieldType,
    add_mapping,
    extend_dictionary,
    load_extension,
    mappable,
    normalise_token,
    save_extension,
    shows_value,
    validate_record,
)
from careleads.errors import InputError
from careleads.service._ledger import rescore_lead
from careleads.service._records import utcnow
from careleads.service.access import ADMIN_ONLY, authorize
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.store import Lead

__all__ = ["MappingResult", "UnknownValue", "map_unknown_value", "unknown_values"]

log = logging.getLogger("careleads.service")
_EXAMPLES = 5  # lead ids listed per value
_HIDDEN = None  # the value of a field whose values are not shown


@dataclass
class UnknownValue:
    """One value (or, for fields whose values are not shown, one kind of problem) flagged on stored leads.

    Attributes
    ----------
    field, kind : str
        The field and the problem kind.
    value : str or None
        The value as written; None when the field's values are not shown.
    n_leads : int
        Stored leads (not erased) flagged with it.
    lead_ids : list of int
        A few of them, for an admin to look at.
    mappable : bool
        Whether it can be mapped to a known value (categories with a list of values, yes/no fields).
    known_values : list of str
        What it can be mapped to (for a category, a new value may be given too).
    """

    field: str
    kind: str
    value: str | None
    n_leads: int = 0
    lead_ids: list[int] = dataclasses.field(default_factory=list)
    mappable: bool = False
    known_values: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "value": self.value,
            "n_leads": self.n_leads,
            "lead_ids": list(self.lead_ids),
            "mappable": self.mappable,
            "known_values": list(self.known_values),
        }


@dataclass
class MappingResult:
    """What a mapping did: the field, the value, what it now means, and the leads read again."""

    field: str
    value: str
    to: str
    new_value: bool
    n_renormalised: int
    n_rescored: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "to": self.to,
            "new_value": self.new_value,
            "n_renormalised": self.n_renormalised,
            "n_rescored": self.n_rescored,
        }


def _flagged_leads(session: Session) -> Iterator[Lead]:
    """Stored leads (not erased) with at least one flagged value; the JSON column is matched as text, which
    SQLite and PostgreSQL read alike."""
    query = (
        select(Lead)
        .where(Lead.erased.is_(False), cast(Lead.fields, String).like(f'%"{FLAGS_KEY}"%'))
        .order_by(Lead.id)
        .execution_options(yield_per=500)
    )
    for lead in session.scalars(query):
        if (lead.fields or {}).get(FLAGS_KEY):
            yield lead


def unknown_values(*, session: Session, ctx: ServiceContext, actor: str, role: str) -> list[UnknownValue]:
    """The values stored leads hold that the dictionary could not read, most frequent first; audited.

    Raises
    ------
    PermissionDenied
        For any role but admin.
    """
    authorize(role, ADMIN_ONLY)
    table = ctx.refresh_dictionary().table("leads")
    found: dict[tuple[str, str, str | None], UnknownValue] = {}
    for lead in _flagged_leads(session):
        for name, flag in dict(lead.fields[FLAGS_KEY]).items():
            if name not in table.names:
                continue  # a refused record's flag: the lead itself is in the review queue
            spec = table.field(name)
            kind = str(flag.get("kind", ""))
            value = flag.get("value") if shows_value(spec) else _HIDDEN
            key = (name, kind, None if value is None else str(value))
            item = found.get(key)
            if item is None:
                can_map = mappable(spec) and kind in MAPPABLE_KINDS and value is not None
                known = (
                    ["true", "false"]
                    if spec.type is FieldType.BOOLEAN
                    else list(spec.values)
                    if can_map
                    else []
                )
                item = found[key] = UnknownValue(name, kind, key[2], mappable=can_map, known_values=known)
            item.n_leads += 1
            if len(item.lead_ids) < _EXAMPLES:
                item.lead_ids.append(lead.id)
    items = sorted(found.values(), key=lambda u: (-u.n_leads, u.field, u.kind, u.value or ""))
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="dictionary.unknowns",
        subject="dictionary",
        details={"n_values": len(items), "n_leads": sum(u.n_leads for u in items)},
    )
    return items


def map_unknown_value(
    *,
    session: Session,
    ctx: ServiceContext,
    field: str,
    value: str,
    to: str,
    actor: str,
    role: str,
    renormalise: bool = True,
    now: datetime | None = None,
) -> MappingResult:
    """Map a value of a field to a known value, or add it as a new value; audited.

    The mapping is added to the clinic's dictionary extension (later leads are read with it) and, with
    `renormalise`, the stored leads flagged with that value get the mapped value, lose the flag and are
    scored again (a ledger entry where the score, tier or route changed).

    Parameters
    ----------
    field : str
        A category field with a list of values, or a yes/no field, of the leads table.
    value : str
        The value as written on the leads.
    to : str
        A value the field lists, a new value (categories), or ``true``/``false`` (yes/no fields).

    Raises
    ------
    PermissionDenied
        For any role but admin.
    InputError
        For a field that cannot be mapped, or a yes/no field mapped to anything but true or false.
    """
    authorize(role, ADMIN_ONLY)
    now = now or utcnow()
    dictionary = ctx.refresh_dictionary()
    table = dictionary.table("leads")
    if field not in table.names:
        raise InputError(f"the leads table has no field {field!r}; use a field name from Unknown values")
    extension = add_mapping(
        load_extension(ctx.extension_path), dictionary, table="leads", field=field, value=value, to=to
    )
    mapped_to = next(
        canonical for canonical, spellings in extension["leads"][field].items() if value.strip() in spellings
    )
    new_value = mapped_to not in table.field(field).values
    n_renormalised = n_rescored = 0
    if renormalise:
        extended = extend_dictionary(ctx.base_dictionary or dictionary, extension)
        n_renormalised, n_rescored = _renormalise(session, ctx, extended, field, value, now)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="dictionary.map",
        subject=f"dictionary:leads.{field}",
        details={
            "field": field,
            "value": value.strip(),
            "to": mapped_to,
            "new_value": new_value,
            "n_renormalised": n_renormalised,
            "n_rescored": n_rescored,
        },
    )
    # written last: a mapping that failed on the way leaves the dictionary as it was
    save_extension(extension, ctx.extension_path)
    ctx.refresh_dictionary()
    log.info("dictionary mapping of leads.%s added; %d leads read again", field, n_renormalised)
    return MappingResult(field, value.strip(), mapped_to, new_value, n_renormalised, n_rescored)


def _renormalise(
    session: Session, ctx: ServiceContext, dictionary: Dictionary, field: str, value: str, now: datetime
) -> tuple[int, int]:
    """Read the flagged value of each stored lead again with the extended dictionary; re-score those it
    now reads. Values are compared as the dictionary compares them (case, spaces, punctuation ignored)."""
    table = dictionary.table("leads")
    wanted = normalise_token(value)
    n_renormalised = n_rescored = 0
    for lead in list(_flagged_leads(session)):
        flags = dict(lead.fields[FLAGS_KEY])
        flag = flags.get(field)
        if flag is None or flag.get("value") is None or normalise_token(str(flag["value"])) != wanted:
            continue
        record = {
            str(table.key): "x",
            str(table.time_column): lead.created_at.isoformat(),
            field: flag["value"],
        }
        clean, problems = validate_record(record, dictionary, "leads")
        if any(p.field == field for p in problems):
            continue
        fields = dict(lead.fields)
        fields[field] = clean[field]
        flags.pop(field)
        if flags:
            fields[FLAGS_KEY] = flags
        else:
            fields.pop(FLAGS_KEY)
        lead.fields = fields  # a new dict: the JSON column sees the change
        session.flush()
        n_renormalised += 1
        _entry, changed = rescore_lead(
            session=session, ctx=ctx, lead=lead, reason=f"dictionary mapping of {field}", now=now
        )
        n_rescored += int(changed)
    return n_renormalised, n_rescored
