"""The embedded synthetic healthcare lead simulator (with a truth file of real probabilities)."""

from __future__ import annotations

from careleads.synth._partnerships import PartnershipData, generate_partnerships
from careleads.synth._simulator import (
    AS_OF_HOURS,
    OUTCOMES,
    SERVICE_LINES,
    SOURCES,
    WINDOWS_DAYS,
    SyntheticData,
    generate,
    write_tables,
)

__all__ = [
    "AS_OF_HOURS",
    "OUTCOMES",
    "SERVICE_LINES",
    "SOURCES",
    "WINDOWS_DAYS",
    "PartnershipData",
    "SyntheticData",
    "generate",
    "generate_partnerships",
    "write_tables",
]
