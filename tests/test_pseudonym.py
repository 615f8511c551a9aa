from __future__ import annotations

import hashlib
import hmac
import math
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


def test_pseudonym_is_hmac_sha256_hex_and_stable() -> None:
    value = "maria.lopez@example.org"
    expected = hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()
    assert pseudonymise(value, KEY) == expected
    assert pseudonymise(value, KEY) == pseudonymise(value, KEY)
    assert len(expected) == 64 and int(expected, 16) >= 0


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
    monkeypatch.setenv("MY_KEY", "tooshort-secret")
    with pytest.raises(ConfigError, match="fewer than 32") as info:
        load_key("MY_KEY")
    assert "tooshort-secret" not in str(info.value)
