"""The embedded synthetic healthcare lead simulator (with a truth file of real probabilities)."""

from __future__ import annotations

from careleads.synth._oracle import Oracle
from careleads.synth._partnerships import (
    PARTNERSHIP_EVENT_TYPES,
    PARTNERSHIP_PAGES,
    TARGET_ROLES,
    PartnershipData,
    generate_partnerships,
)
from careleads.synth._simulator import (
    AS_OF_HOURS,
    OUTCOMES,
    SERVICE_LINES,
    SOURCES,
    WINDOWS_DAYS,
    SyntheticData,
    generate,
)
from careleads.synth._tables import write_tables
from careleads.synth._texts import INTENTS, URGENCIES, generate_texts, make_labelled_texts

__all__ = [
    "AS_OF_HOURS",
    "INTENTS",
    "OUTCOMES",
    "Oracle",
    "PARTNERSHIP_EVENT_TYPES",
    "PARTNERSHIP_PAGES",
    "SERVICE_LINES",
    "SOURCES",
    "TARGET_ROLES",
    "URGENCIES",
    "WINDOWS_DAYS",
    "PartnershipData",
    "SyntheticData",
    "generate",
    "generate_partnerships",
    "generate_texts",
    "make_labelled_texts",
    "write_tables",
]
