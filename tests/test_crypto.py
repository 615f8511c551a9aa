from __future__ import annotations

from pathlib import Path

import pytest

from careleads.errors import ConfigError, InputError
from careleads.privacy import ENCRYPTION_KEY_ENV, FieldCipher, generate_key


def test_round_trip_keeps_unicode() -> None:
    cipher = FieldCipher(generate_key())
    for value in ["Maria López", "", "555-123-4567", "名前 😀"]:
        token = cipher.encrypt(value)
        assert value not in token or value == ""
        assert cipher.decrypt(token) == value


def test_tokens_differ_on_every_call() -> None:
    cipher = FieldCipher(generate_key())
    assert cipher.encrypt("same") != cipher.encrypt("same")


def test_wrong_key_and_tampering_are_detected() -> None:
    token = FieldCipher(generate_key()).encrypt("secret")
    with pytest.raises(InputError, match="cannot decrypt"):
        FieldCipher(generate_key()).decrypt(token)
    cipher = FieldCipher(generate_key())
    token = cipher.encrypt("secret")
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(InputError):
        cipher.decrypt(tampered)


def test_rotation_old_tokens_still_decrypt_and_rotate_to_new_key() -> None:
    old, new = generate_key(), generate_key()
    token = FieldCipher(old).encrypt("Maria")
    both = FieldCipher(f"{new},{old}")
    assert both.n_keys == 2
    assert both.decrypt(token) == "Maria"
    assert FieldCipher(new).decrypt(both.rotate(token)) == "Maria"


def test_from_env_and_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = generate_key()
    monkeypatch.setenv(ENCRYPTION_KEY_ENV, key)
    token = FieldCipher.from_env().encrypt("x")
    path = tmp_path / "enc.key"
    path.write_text(key + "\n", encoding="utf-8")
    assert FieldCipher.from_env(key_file=path).decrypt(token) == "x"


def test_missing_or_bad_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENCRYPTION_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"{ENCRYPTION_KEY_ENV} is not set"):
        FieldCipher.from_env()
    with pytest.raises(ConfigError, match="not a valid Fernet key") as info:
        FieldCipher("not-a-key-at-all")
    assert "not-a-key-at-all" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        FieldCipher.from_env(key_file=tmp_path / "absent")
    with pytest.raises(ConfigError, match="no encryption key"):
        FieldCipher("  ")


def test_repr_hides_keys() -> None:
    key = generate_key()
    assert key not in repr(FieldCipher(key))


def test_encrypt_rejects_non_strings() -> None:
    with pytest.raises(InputError):
        FieldCipher(generate_key()).encrypt(5)  # type: ignore[arg-type]
