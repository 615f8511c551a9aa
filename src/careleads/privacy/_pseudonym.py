"""Keyed pseudonyms (HMAC-SHA256) for direct identifiers, and loading the key.

The analytics layer and every model see ``pseudonymise(value, key)`` instead of a name, email or phone:
stable for joins and de-duplication, not reversible without the key, and not guessable by hashing a list
of candidate values (unlike a plain hash) as long as the key stays secret.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from careleads.errors import ConfigError, InputError
from careleads.settings import get_settings
from careleads.types import PathLikeStr

__all__ = [
    "MIN_KEY_BYTES",
    "PSEUDONYM_KEY_ENV",
    "Pseudonymiser",
    "generate_pseudonym_key",
    "load_key",
    "normalise_identifier",
    "pseudonymise",
]

PSEUDONYM_KEY_ENV = "CARELEADS_PSEUDONYM_KEY"
MIN_KEY_BYTES = 32
_KINDS = ("email", "phone", "name", "text")
_SPACES_RE = re.compile(r"\s+")


def pseudonymise(value: str, key: bytes) -> str:
    """Keyed pseudonym of ``value``: HMAC-SHA256 over its UTF-8 bytes, as 64 lowercase hex digits.

    Parameters
    ----------
    value : str
        The identifier, used exactly as given (see :func:`normalise_identifier`).
    key : bytes
        The secret key, at least :data:`MIN_KEY_BYTES` bytes.

    Returns
    -------
    str

    Examples
    --------
    >>> pseudonymise("maria@example.org", b"k" * 32)[:16]
    '8415dc5caec7848e'
    """
    if not isinstance(value, str):
        raise InputError(f"pseudonymise expects a string value, got {type(value).__name__}")
    _check_key(key, "pseudonymise")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def normalise_identifier(value: str, kind: str) -> str:
    """Canonical form of an identifier so that spelling variants get the same pseudonym.

    Parameters
    ----------
    value : str
        The raw identifier.
    kind : {"email", "phone", "name", "text"}
        ``email``: trimmed and lowercased; ``phone``: digits only, a leading US country code 1 dropped
        from 11 digits; ``name``: casefolded, inner whitespace collapsed; ``text``: trimmed only.

    Returns
    -------
    str

    Examples
    --------
    >>> normalise_identifier("+1 (555) 123-4567", "phone")
    '5551234567'
    """
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        digits = "".join(c for c in value if c.isdigit())
        return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    if kind == "name":
        return _SPACES_RE.sub(" ", value.strip()).casefold()
    if kind == "text":
        return value.strip()
    raise InputError(f"unknown identifier kind {kind!r}; use one of {', '.join(_KINDS)}")


def generate_pseudonym_key() -> str:
    """A new random key (64 hex characters) to put in ``CARELEADS_PSEUDONYM_KEY`` or a key file."""
    return secrets.token_hex(32)


def load_key(key_file: PathLikeStr | None = None) -> bytes:
    """Load the pseudonymisation key from a key file or the settings (``CARELEADS_PSEUDONYM_KEY``).

    The key is the UTF-8 bytes of the stripped text (for example the output of
    :func:`generate_pseudonym_key`). ``key_file`` wins when given, then the settings' key file.

    Parameters
    ----------
    key_file : path, optional
        File holding the key on its first line.

    Returns
    -------
    bytes

    Raises
    ------
    ConfigError
        If the key is absent, unreadable or shorter than :data:`MIN_KEY_BYTES` bytes. The message never
        contains the key.
    """
    settings = get_settings()
    return _read_secret(
        PSEUDONYM_KEY_ENV,
        settings.pseudonym_key,
        key_file if key_file is not None else settings.pseudonym_key_file,
        what="pseudonymisation key",
        min_bytes=MIN_KEY_BYTES,
    )


def _read_secret(
    env_var: str, value: str, key_file: PathLikeStr | None, *, what: str, min_bytes: int
) -> bytes:
    how = (
        "create one with `python -c 'import secrets; print(secrets.token_hex(32))'` and put it in "
        f"the environment variable {env_var} or in a key file readable only by the service"
    )
    if key_file is not None:
        path = Path(key_file)
        source = f"the key file set by {env_var}_FILE or given"  # named by its setting, never by its path
        try:
            raw = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {source} ({what}): {exc.strerror}; {how}") from None
    else:
        env_value = value
        if not env_value.strip():
            raise ConfigError(
                f"no {what}: environment variable {env_var} is not set and no key file given; {how}"
            )
        raw = env_value.strip()
        source = f"environment variable {env_var}"
    key = raw.encode("utf-8")
    if len(key) < min_bytes:
        raise ConfigError(f"the {what} in {source} is {len(key)} bytes, fewer than {min_bytes}; {how}")
    return key


def _check_key(key: bytes, where: str) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{where}: the key must be at least {MIN_KEY_BYTES} bytes; load it with load_key()")


class Pseudonymiser:
    """Holds the key and pseudonymises identifiers, normalised by kind.

    Parameters
    ----------
    key : bytes
        From :func:`load_key`.

    Examples
    --------
    >>> p = Pseudonymiser(b"k" * 32)
    >>> a = p.pseudonymise(" Maria@Example.org", kind="email")
    >>> a == p.pseudonymise("maria@example.org", kind="email")
    True
    """

    def __init__(self, key: bytes) -> None:
        _check_key(key, "Pseudonymiser")
        self._key = key

    @classmethod
    def from_env(cls, key_file: PathLikeStr | None = None) -> Pseudonymiser:
        """Build one with :func:`load_key` (the settings' key, or `key_file`)."""
        return cls(load_key(key_file))

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymiser(key=<hidden>)"

    def pseudonymise(self, value: str, *, kind: str | None = None) -> str:
        """Pseudonym of one value, normalised first when ``kind`` is given (:func:`normalise_identifier`)."""
        if kind is not None:
            value = normalise_identifier(value, kind)
        return pseudonymise(value, self._key)

    def pseudonymise_many(self, values: Iterable[str | None], *, kind: str | None = None) -> list[str | None]:
        """Pseudonyms in input order; missing values (None, NaN, empty after normalising) stay None."""
        out: list[str | None] = []
        for position, value in enumerate(values):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                out.append(None)
                continue
            if not isinstance(value, str):
                raise InputError(
                    f"pseudonymise_many: item {position} is a {type(value).__name__}, "
                    "expected a string or None"
                )
            normal = normalise_identifier(value, kind) if kind is not None else value
            out.append(pseudonymise(normal, self._key) if normal else None)
        return out
