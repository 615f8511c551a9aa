"""Targets: an outcome type plus a window in days, measured from the scoring moment."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import pandas as pd

from careleads.errors import ConfigError, InputError

KNOWN_OUTCOMES: tuple[str, ...] = (
    "intake_call_completed",
    "consultation_requested",
    "appointment_scheduled",
    "appointment_attended",
    "meeting_booked",
)


@dataclass(frozen=True)
class Target:
    """What a model predicts: `outcome` within `window_days` after the scoring moment.

    The scoring moment ("as of") is `as_of_hours` after the lead was created: 0 scores on inbound signals
    only (cold start), 24 also sees the first day of engagement.

    Examples
    --------
    >>> Target.parse("appointment_scheduled:30").name
    'appointment_scheduled_30d'
    """

    outcome: str = "appointment_scheduled"
    window_days: int = 30
    as_of_hours: int = 24

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.outcome):
            raise ConfigError(f"target outcome {self.outcome!r} must be a snake_case outcome name")
        if self.window_days <= 0:
            raise ConfigError(f"target window must be a positive number of days, got {self.window_days}")
        if self.as_of_hours < 0:
            raise ConfigError(f"as-of offset must be zero or more hours, got {self.as_of_hours}")

    @property
    def name(self) -> str:
        return f"{self.outcome}_{self.window_days}d"

    @cached_property
    def as_of_offset(self) -> pd.Timedelta:
        """How long after its creation a new lead is scored: creation time plus this is its scoring moment."""
        return pd.Timedelta(hours=self.as_of_hours)

    def matures_at(self, start: Any) -> Any:
        """When the outcome window opened at `start` (a time, or a Series of times) closes."""
        return start + timedelta(days=self.window_days)  # datetime, Timestamp and Series alike

    def matured(self, start: Any, now: Any) -> Any:
        """Whether the window opened at `start` has fully passed at `now`: only then is the outcome known,
        converted or not. The one rule of maturity: labels, monitoring and the dashboard all ask it here,
        so early converters of open windows never count before the leads that will not convert.

        Examples
        --------
        >>> t = Target(window_days=30)
        >>> t.matured(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-31")), t.matured(
        ...     pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-30"))
        (True, False)
        """
        return self.matures_at(start) <= now

    @property
    def truth_column(self) -> str:
        """The column of the simulator's truth file that holds this target's real probability."""
        return f"p_{self.name}"

    def describe(self) -> str:
        return (
            f"{self.outcome.replace('_', ' ')} within {self.window_days} days, "
            f"scored {self.as_of_hours} hours after the lead arrived"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, text: str, *, as_of_hours: int = 24) -> Target:
        """Parse ``outcome:days`` (for example ``appointment_scheduled:30``)."""
        outcome, sep, days = text.partition(":")
        if not sep or not days.strip().isdigit():
            raise ConfigError(
                f"target {text!r} must look like OUTCOME:DAYS, for example appointment_scheduled:30"
            )
        return cls(outcome=outcome.strip(), window_days=int(days), as_of_hours=as_of_hours)


@dataclass(frozen=True)
class Cohort:
    """The leads a cohort model scores: those whose lead field `field` holds `value` (e.g. a service line).

    Examples
    --------
    >>> Cohort.parse("service_line=Ortho")
    Cohort(field='service_line', value='Ortho')
    """

    field: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Cohort:
        """``FIELD=VALUE``.

        Raises
        ------
        InputError
            If the text is not ``FIELD=VALUE`` with a snake_case field and a value.
        """
        name, sep, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not value or "@" in value:
            raise InputError(f"a cohort is FIELD=VALUE, e.g. service_line=Ortho; got {text!r}")
        return cls(field=name, value=value)

    @classmethod
    def of_card(cls, card: dict[str, Any]) -> Cohort | None:
        """The cohort a model card names, or None (a model of every lead of its segment)."""
        found = card.get("cohort")
        if not isinstance(found, dict):
            return None
        return cls(field=str(found["field"]), value=str(found["value"]))

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "value": self.value}

    def __str__(self) -> str:
        return f"{self.field}={self.value}"
