"""Field encryption for direct identifiers in the operational store (cryptography's Fernet).

Fernet is AES-128-CBC with HMAC-SHA256 authentication and a timestamp; a wrong key or a changed token is
detected on decryption. Several keys can be given (comma-separated) to rotate: the first encrypts, all
decrypt, and :meth:`FieldCipher.rotate` re-encrypts a token under the first key.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from careleads.errors import ConfigError, InputError
from careleads.settings import get_settings
from careleads.types import PathLikeStr

__all__ = ["ENCRYPTION_KEY_ENV", "FieldCipher", "generate_key"]

ENCRYPTION_KEY_ENV = "CARELEADS_ENCRYPTION_KEY"
_HOW = (
    "create a key with `python -c 'from careleads.privacy import generate_key; print(generate_key())'` "
    f"and put it in {ENCRYPTION_KEY_ENV} or a key file "
    "(several keys comma-separated, newest first, to rotate)"
)


def generate_key() -> str:
    """A new Fernet key (URL-safe base64 text of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


class FieldCipher:
    """Encrypts and decrypts string fields.

    Parameters
    ----------
    keys : str, bytes or sequence of them
        One Fernet key, or several (newest first) for rotation; a string may hold comma-separated keys.

    Examples
    --------
    >>> cipher = FieldCipher(generate_key())
    >>> cipher.decrypt(cipher.encrypt("Maria Lopez"))
    'Maria Lopez'
    """

    def __init__(self, keys: str | bytes | list[str] | list[bytes] | tuple[str | bytes, ...]) -> None:
        if isinstance(keys, (str, bytes)):
            text = keys.decode("ascii", errors="replace") if isinstance(keys, bytes) else keys
            key_list = [k.strip() for k in text.split(",") if k.strip()]
        else:
            key_list = [
                (k.decode("ascii", errors="replace") if isinstance(k, bytes) else k).strip() for k in keys
            ]
        if not key_list:
            raise ConfigError(f"FieldCipher: no encryption key given; {_HOW}")
        fernets: list[Fernet] = []
        for position, key in enumerate(key_list):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"encryption key number {position + 1} is not a valid Fernet key (32 url-safe base64 "
                    f"bytes); {_HOW}"
                ) from exc
        self._fernet = MultiFernet(fernets)
        self.n_keys = len(fernets)

    @classmethod
    def from_env(cls, key_file: PathLikeStr | None = None) -> FieldCipher:
        """Build one from a key file (wins when given), the settings' key file or the settings' key
        (``CARELEADS_ENCRYPTION_KEY``).

        Raises
        ------
        ConfigError
            If no key is found or a key is malformed; the message never contains a key.
        """
        settings = get_settings()
        named = "the encryption key file given" if key_file is not None else None
        key_file = key_file if key_file is not None else settings.encryption_key_file
        if key_file is not None:
            path = Path(key_file)
            named = named or f"the key file set by {ENCRYPTION_KEY_ENV}_FILE"  # never the server's path
            try:
                raw = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read {named}: {exc.strerror}; {_HOW}") from None
        else:
            raw = settings.encryption_key.strip()
            if not raw:
                raise ConfigError(
                    f"no encryption key: environment variable {ENCRYPTION_KEY_ENV} is not set; {_HOW}"
                )
        return cls(raw)

    def __repr__(self) -> str:  # never show a key
        return f"FieldCipher(n_keys={self.n_keys})"

    def encrypt(self, value: str) -> str:
        """Encrypt a string; the token is ASCII text, different on every call."""
        if not isinstance(value, str):
            raise InputError(f"FieldCipher.encrypt expects a string, got {type(value).__name__}")
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with any of the keys.

        Raises
        ------
        InputError
            If the token was changed or made with another key.
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise InputError(
                "cannot decrypt a field: the token was altered or encrypted with a key that is not "
                "configured; "
                f"check {ENCRYPTION_KEY_ENV} (keep old keys after the new one while rotating)"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise InputError(
                "cannot rotate a field: the token was altered or made with an unknown key"
            ) from exc
