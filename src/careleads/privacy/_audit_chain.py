"""Pure functions for a hash-chained, append-only audit log.

Each entry carries the hash of the previous entry (``prev_hash``) and its own ``hash``, the SHA-256 of
the canonical JSON of its fields plus ``prev_hash``. Changing, removing, inserting or reordering an
entry breaks the chain at that point, and :func:`verify_chain` names the first broken link.

Someone able to rewrite the whole log from the changed entry on could recompute every later hash, so
keep the latest hash somewhere else too (a report, a ticket, another system) and pass it as
``expected_head`` when verifying.

The store must give back exactly what it hashed: keep ``at`` as the ISO string and ``details`` as JSON
(a JSON string and the equal dict hash the same).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from careleads.errors import InputError
from careleads.types import JSONDict

__all__ = [
    "AUDIT_FIELDS",
    "GENESIS_HASH",
    "VerifyResult",
    "canonical_json",
    "chain_hash",
    "seal_entry",
    "verify_chain",
]

#: The fields that are hashed, besides ``prev_hash``.
AUDIT_FIELDS: tuple[str, ...] = ("id", "at", "actor", "role", "action", "subject", "details")
#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and UTF-8 characters kept: the same data gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _hashed_view(entry: Mapping[str, Any], prev_hash: str) -> JSONDict:
    missing = [f for f in AUDIT_FIELDS if f not in entry]
    if missing:
        raise InputError(
            f"audit entry {entry.get('id', '<no id>')!r} lacks the field(s) {', '.join(missing)}; "
            f"every entry needs {', '.join(AUDIT_FIELDS)}"
        )
    view: JSONDict = {f: entry[f] for f in AUDIT_FIELDS}
    at = view["at"]
    if isinstance(at, datetime):
        view["at"] = at.isoformat()
    details = view["details"]
    if isinstance(details, str):
        try:
            view["details"] = json.loads(details) if details else None
        except json.JSONDecodeError as exc:
            raise InputError(f"audit entry {view['id']!r}: details is not valid JSON ({exc.msg})") from exc
    view["prev_hash"] = prev_hash
    return view


def chain_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the entry's fields and ``prev_hash``.

    Parameters
    ----------
    prev_hash : str
        Hash of the previous entry, :data:`GENESIS_HASH` for the first.
    entry : mapping
        Needs the keys in :data:`AUDIT_FIELDS`; other keys (``hash``, ``prev_hash``, database columns) are
        ignored. ``at`` may be an ISO string or a datetime, ``details`` a JSON-able value or a JSON string.

    Returns
    -------
    str

    Raises
    ------
    InputError
        If a field is missing or ``details`` is neither JSON-able nor a JSON string.

    Examples
    --------
    >>> e = {"id": "a1", "at": "2025-03-04T14:22:10+00:00", "actor": "u1", "role": "analyst",
    ...      "action": "export", "subject": "lead:L0000001", "details": {}}
    >>> len(chain_hash(GENESIS_HASH, e))
    64
    """
    try:
        text = canonical_json(_hashed_view(entry, prev_hash))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"audit entry {entry.get('id', '<no id>')!r} is not JSON-able: {exc}") from exc
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_entry(entry: Mapping[str, Any], prev_hash: str) -> JSONDict:
    """A copy of ``entry`` with ``prev_hash`` and ``hash`` set, ready to append.

    Examples
    --------
    >>> e = {"id": "a1", "at": "2025-03-04T14:22:10+00:00", "actor": "u1", "role": "analyst",
    ...      "action": "export", "subject": "lead:L0000001", "details": {"n_rows": 3}}
    >>> sealed = seal_entry(e, GENESIS_HASH)
    >>> verify_chain([sealed]).ok
    True
    """
    sealed: JSONDict = dict(entry)
    sealed["prev_hash"] = prev_hash
    sealed["hash"] = chain_hash(prev_hash, entry)
    return sealed


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`.

    Attributes
    ----------
    ok : bool
        True when every link holds (and the head matches ``expected_head`` when given).
    n_entries : int
        Entries read (up to and including the first broken one).
    broken_index : int or None
        Position (0-based) of the first broken entry.
    broken_id : str or None
        Its ``id``.
    reason : str or None
        ``"prev_hash mismatch"`` (an entry before it was removed, inserted or reordered),
        ``"hash mismatch"`` (its content was changed), ``"invalid entry"`` or ``"head mismatch"``.
    expected, found : str or None
        The hash that should be there and the one that is.
    message : str
        One plain sentence for people.
    """

    ok: bool
    n_entries: int
    broken_index: int | None = None
    broken_id: str | None = None
    reason: str | None = None
    expected: str | None = None
    found: str | None = None
    message: str = ""

    def to_dict(self) -> JSONDict:
        """JSON-able form."""
        return asdict(self)


def verify_chain(entries: Iterable[Mapping[str, Any]], *, expected_head: str | None = None) -> VerifyResult:
    """Check every link of an audit log, in log order, and report the first broken one.

    Parameters
    ----------
    entries : iterable of mappings
        The log from its first entry on, each with :data:`AUDIT_FIELDS`, ``prev_hash`` and ``hash``.
    expected_head : str, optional
        The last entry's hash as recorded elsewhere; catches a rewritten tail.

    Returns
    -------
    VerifyResult
    """
    prev = GENESIS_HASH
    n = 0
    last_hash = GENESIS_HASH
    for index, entry in enumerate(entries):
        n = index + 1
        entry_id = str(entry.get("id"))
        stored_prev = entry.get("prev_hash")
        if stored_prev != prev:
            return VerifyResult(
                False,
                n,
                index,
                entry_id,
                "prev_hash mismatch",
                prev,
                str(stored_prev),
                f"entry {index} (id {entry_id}) does not point to the entry before it: an entry was removed, "
                "inserted or reordered just before it",
            )
        try:
            computed = chain_hash(prev, entry)
        except InputError as exc:
            return VerifyResult(False, n, index, entry_id, "invalid entry", None, None, str(exc))
        stored = entry.get("hash")
        if stored != computed:
            return VerifyResult(
                False,
                n,
                index,
                entry_id,
                "hash mismatch",
                computed,
                str(stored),
                f"entry {index} (id {entry_id}) was changed after it was written: its content no longer "
                "matches its hash",
            )
        prev = last_hash = computed
    if expected_head is not None and last_hash != expected_head:
        return VerifyResult(
            False,
            n,
            n - 1 if n else None,
            None,
            "head mismatch",
            expected_head,
            last_hash,
            "the last entry's hash differs from the one recorded elsewhere: entries were removed or "
            "rewritten "
            "at the end of the log",
        )
    return VerifyResult(True, n, message=f"all {n} entries verified")
