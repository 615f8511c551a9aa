"""The SLA clock: business hours (weekends and holidays skipped) and when a lead's first contact is due."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from numbers import Real
from typing import Any

import pandas as pd

from careleads.errors import ConfigError

SLA_CLOCKS: tuple[str, ...] = ("business", "calendar")
DAYS: Mapping[str, int] = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def sla_hours_problem(sla_hours: Any, clock: str) -> str | None:
    """What is wrong with an SLA of `sla_hours` on `clock` (None when nothing is): positive, whole on a
    business clock."""
    if isinstance(sla_hours, bool) or not isinstance(sla_hours, Real) or not float(sla_hours) > 0:
        return f"sla_hours must be a positive number of hours or null, got {sla_hours!r}"
    if clock == "business" and not float(sla_hours).is_integer():
        return f"sla_hours on a business clock must be whole hours, got {sla_hours!r}"
    return None


@dataclass(frozen=True)
class BusinessHours:
    """Working hours for SLA clocks: the same opening and closing time on each working weekday.

    Examples
    --------
    >>> hours = BusinessHours()
    >>> str(sla_due(pd.Timestamp("2025-03-07 16:00"), 4, hours))  # Friday afternoon
    '2025-03-10 10:00:00'
    """

    start: time = time(8, 0)
    end: time = time(18, 0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ConfigError(f"business hours start {self.start} must be before end {self.end}")
        if not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays):
            raise ConfigError(
                f"business days {list(self.weekdays)} must be weekday numbers 0 (Mon) .. 6 (Sun)"
            )

    def offset(self, n_hours: int = 1) -> pd.offsets.CustomBusinessHour:
        """The pandas business-hour offset of `n_hours` on these hours (weekends and holidays skipped)."""
        return _business_offset(self, n_hours)

    def to_dict(self) -> dict[str, Any]:
        names = {v: k for k, v in DAYS.items()}
        return {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "days": [names[d] for d in self.weekdays],
            "holidays": [d.isoformat() for d in self.holidays],
        }


@lru_cache(maxsize=256)
def _business_offset(hours: BusinessHours, n_hours: int) -> pd.offsets.CustomBusinessHour:
    """Built once per hours and length: building an offset (its holiday calendar) costs more than using it."""
    # pandas-stubs lack weekmask/holidays on CustomBusinessHour; pandas takes them
    return pd.offsets.CustomBusinessHour(  # type: ignore[call-arg]
        n=n_hours,
        start=hours.start.strftime("%H:%M"),
        end=hours.end.strftime("%H:%M"),
        weekmask=" ".join(_DAY_NAMES[d] for d in sorted(set(hours.weekdays))),
        holidays=[pd.Timestamp(d) for d in hours.holidays],
    )


def sla_due(
    now: pd.Timestamp | str,
    sla_hours: float | None,
    business_hours: BusinessHours | None = None,
    *,
    same_business_day: bool = False,
) -> pd.Timestamp | None:
    """When the first contact is due: `sla_hours` business hours after `now`, weekends and holidays skipped.

    Parameters
    ----------
    now : Timestamp or str
        The decision time, in the business's local time (a tz-aware time is read in its own zone).
    sla_hours : float or None
        Hours allowed; None means no SLA (returns None). On a business clock it must be a whole number.
    business_hours : BusinessHours, optional
        Working hours; None means a calendar clock (plain hours, nights and weekends count).
    same_business_day : bool
        Also cap the due time at the close of the business day the lead is first workable in: a lead that
        arrives during business hours is due that day, one that arrives after close is due the next business
        day. Needs `business_hours`.

    Returns
    -------
    Timestamp or None

    Examples
    --------
    >>> str(sla_due("2025-03-07 17:00", 4, BusinessHours(), same_business_day=True))
    '2025-03-07 18:00:00'
    >>> str(sla_due("2025-03-08 10:00", 2, BusinessHours()))  # Saturday: Monday's opening plus two hours
    '2025-03-10 10:00:00'
    """
    if sla_hours is None:
        return None
    start = pd.Timestamp(now)
    problem = sla_hours_problem(sla_hours, "business" if business_hours is not None else "calendar")
    if problem is not None:
        raise ConfigError(problem)
    if business_hours is None:
        if same_business_day:
            raise ConfigError(
                "same_business_day needs business hours; set business_hours in the routing file"
            )
        return start + pd.Timedelta(hours=float(sla_hours))
    due: pd.Timestamp = start + business_hours.offset(int(sla_hours))
    if not same_business_day:
        return due
    # The first workable moment: now if it falls inside business hours, else the next opening.
    opening: pd.Timestamp = business_hours.offset(1).rollforward(start)
    close = opening.normalize() + pd.Timedelta(
        hours=business_hours.end.hour, minutes=business_hours.end.minute
    )
    if opening >= close:  # exactly at closing time: the next business day
        opening = opening + business_hours.offset(1) - pd.Timedelta(hours=1)
        close = opening.normalize() + pd.Timedelta(
            hours=business_hours.end.hour, minutes=business_hours.end.minute
        )
    return min(due, close)
