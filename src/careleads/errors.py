"""The one error root of careleads and its few subclasses.

Every message says what is wrong, where (file, row, field) and what to do next.
"""

from __future__ import annotations


class CareleadsError(ValueError):
    """Base class of every error careleads raises on purpose."""


class InputError(CareleadsError):
    """An input file, column or value is unusable; the message says where and how to fix it."""


class DictionaryError(CareleadsError):
    """A data dictionary file is malformed."""


class ConfigError(CareleadsError):
    """A settings, rules or routing file is malformed."""


class NotEnoughDataError(CareleadsError):
    """Too few rows, positives or negatives to train or evaluate honestly."""


class NotFittedError(CareleadsError):
    """A model or scorer was used before it was fitted."""


class NotFoundError(CareleadsError):
    """A lead, model version or other named record does not exist."""
