from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from careleads.errors import InputError
from careleads.privacy import GENESIS_HASH, canonical_json, chain_hash, seal_entry, verify_chain


def make_log(n: int = 5) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for i in range(n):
        entry = {
            "id": f"a{i}",
            "at": f"2025-03-0{i + 1}T10:00:00+00:00",
            "actor": "u7",
            "role": "analyst" if i % 2 else "officer",
            "action": "view_lead",
            "subject": f"lead:L000000{i}",
            "details": {"fields": ["email"], "n_rows": i},
        }
        sealed = seal_entry(entry, prev)
        log.append(sealed)
        prev = sealed["hash"]
    return log


def test_intact_chain_verifies() -> None:
    log = make_log()
    result = verify_chain(log, expected_head=log[-1]["hash"])
    assert result.ok and result.n_entries == 5 and result.broken_index is None
    assert json.dumps(result.to_dict())


def test_tampered_entry_is_named() -> None:
    log = make_log()
    log[2]["details"] = {"fields": ["email"], "n_rows": 999}
    result = verify_chain(log)
    assert not result.ok
    assert (result.broken_index, result.broken_id, result.reason) == (2, "a2", "hash mismatch")
    assert result.found == log[2]["hash"] and result.expected != result.found
    assert "a2" in result.message


def test_removed_entry_breaks_the_next_link() -> None:
    log = make_log()
    del log[1]
    result = verify_chain(log)
    assert (result.broken_index, result.broken_id, result.reason) == (1, "a2", "prev_hash mismatch")


def test_reordered_entries_are_caught() -> None:
    log = make_log()
    log[3], log[4] = log[4], log[3]
    assert verify_chain(log).broken_index == 3


def test_rewritten_tail_is_caught_with_an_anchored_head() -> None:
    log = make_log()
    head = log[-1]["hash"]
    assert verify_chain(log[:-1]).ok  # a dropped tail alone verifies ...
    result = verify_chain(log[:-1], expected_head=head)  # ... unless the head was kept elsewhere
    assert not result.ok and result.reason == "head mismatch"


def test_details_as_json_text_and_datetime_hash_the_same() -> None:
    base = make_log(1)[0]
    as_text = dict(base, details=json.dumps(base["details"], indent=2))
    assert chain_hash(GENESIS_HASH, as_text) == base["hash"]
    when = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert chain_hash(GENESIS_HASH, dict(base, at=when)) == base["hash"]


def test_extra_columns_are_not_hashed_but_fields_are() -> None:
    base = make_log(1)[0]
    assert chain_hash(GENESIS_HASH, dict(base, row_number=17)) == base["hash"]
    for field in ("id", "at", "actor", "role", "action", "subject"):
        assert chain_hash(GENESIS_HASH, dict(base, **{field: "changed"})) != base["hash"], field
    assert chain_hash("f" * 64, base) != base["hash"]


def test_missing_field_is_reported() -> None:
    log = make_log(3)
    del log[1]["actor"]
    result = verify_chain(log)
    assert (result.broken_index, result.reason) == (1, "invalid entry")
    assert "actor" in result.message
    with pytest.raises(InputError, match="lacks the field"):
        chain_hash(GENESIS_HASH, {"id": "x"})


def test_canonical_json_is_order_independent() -> None:
    assert (
        canonical_json({"b": 1, "a": [1, "é"]})
        == canonical_json({"a": [1, "é"], "b": 1})
        == '{"a":[1,"é"],"b":1}'
    )


def test_empty_log_verifies() -> None:
    assert verify_chain([]).ok
