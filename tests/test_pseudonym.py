from __future__ import annotations

import hashlib
import hmac
import math
import re
from pathlib import Path

import pytest

from careleads.errors import ConfigError, InputError
from careleads.privacy import (
    PSEUDONYM_KEY_ENV,
    Pseudonymiser,
    generate_pseudonym_key,
    load_key,
    normalise_identifier,
    pseudonymise,
)

KEY = b"k" * 32


def test_pseudonym_is_the_published_hmac_sha256_test_vector() -> None:
    # RFC 4231, test cases 6 and 7 (a 131-byte key): computed by the RFC's authors, not by this code
    key = b"\xaa" * 131
    assert pseudonymise("Test Using Larger Than Block-Size Key - Hash Key First", key) == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )
    data = (
        "This is a test using a larger than block-size key and a larger than block-size data. "
        "The key needs to be hashed before being used by the HMAC algorithm."
    )
    assert pseudonymise(data, key) == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"


@pytest.mark.parametrize("value", ["maria.lopez@example.org", "José Núñez", "+1 555 0100", " spaced "])
def test_pseudonym_is_hmac_sha256_of_the_utf8_value_as_lowercase_hex(value: str) -> None:
    got = pseudonymise(value, KEY)
    assert got == hmac.new(KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()
    assert re.fullmatch("[0-9a-f]{64}", got)


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [
        ("email", " Maria.Lopez@Example.org ", "maria.lopez@example.org"),
        ("phone", "+1 (555) 123-4567", "5551234567"),
        ("phone", "44 20 7946 0958", "442079460958"),
        ("name", "  Maria   LOPEZ ", "maria lopez"),
        ("name", "STRAẞE", "strasse"),
        ("text", "  as given  ", "as given"),
    ],
)
def test_a_kind_pseudonymises_the_documented_normal_form(kind: str, raw: str, normal: str) -> None:
    expected = hmac.new(KEY, normal.encode("utf-8"), hashlib.sha256).hexdigest()
    assert Pseudonymiser(KEY).pseudonymise(raw, kind=kind) == expected
    assert Pseudonymiser(KEY).pseudonymise_many([raw], kind=kind) == [expected]


def test_different_values_and_keys_never_share_a_pseudonym() -> None:
    values = [f"lead{i}@example.org" for i in range(500)]
    first = {pseudonymise(v, KEY) for v in values}
    second = {pseudonymise(v, b"j" * 32) for v in values}
    assert len(first) == len(second) == 500 and not first & second


def test_pseudonym_depends_on_key_and_value() -> None:
    assert pseudonymise("a", KEY) != pseudonymise("a", b"j" * 32)
    assert pseudonymise("a", KEY) != pseudonymise("b", KEY)
    # a plain hash would be guessable from a list of emails; the keyed one is not
    assert pseudonymise("a", KEY) != hashlib.sha256(b"a").hexdigest()


def test_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        pseudonymise("a", b"short")


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("email", " Maria.Lopez@Example.org ", "maria.lopez@example.org"),
        ("phone", "+1 (555) 123-4567", "555.123.4567"),
        ("name", "  Maria   LOPEZ ", "maria lopez"),
    ],
)
def test_normalised_variants_share_a_pseudonym(kind: str, a: str, b: str) -> None:
    p = Pseudonymiser(KEY)
    assert p.pseudonymise(a, kind=kind) == p.pseudonymise(b, kind=kind)
    assert p.pseudonymise(a) != p.pseudonymise(b)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown identifier kind"):
        normalise_identifier("x", "fax")


def test_pseudonymise_many_keeps_missing() -> None:
    p = Pseudonymiser(KEY)
    out = p.pseudonymise_many(["a@b.org", None, math.nan, "  "], kind="email")  # type: ignore[list-item]
    assert out[0] == pseudonymise("a@b.org", KEY)
    assert out[1:] == [None, None, None]
    with pytest.raises(InputError, match="item 0"):
        p.pseudonymise_many([3])  # type: ignore[list-item]


def test_repr_hides_the_key() -> None:
    assert "kkkk" not in repr(Pseudonymiser(KEY))


def test_load_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_pseudonym_key()
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, key + "\n")
    assert load_key() == key.encode()
    assert Pseudonymiser.from_env().pseudonymise("x") == pseudonymise("x", key.encode())


def test_load_key_from_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "e" * 40)
    path = tmp_path / "pseudonym.key"
    path.write_text("f" * 64 + "\n", encoding="utf-8")
    assert load_key(key_file=path) == b"f" * 64


def test_missing_key_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"{PSEUDONYM_KEY_ENV} is not set.*token_hex"):
        load_key()


def test_missing_key_file_and_short_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_key(key_file=tmp_path / "absent.key")
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "tooshort-secret")
    with pytest.raises(ConfigError, match="fewer than 32") as info:
        load_key()
    assert "tooshort-secret" not in str(info.value)
