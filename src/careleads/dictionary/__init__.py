"""The data dictionary: canonical fields, YAML files, inference from any CSV, ingest with quarantine."""

from __future__ import annotations

from careleads.dictionary._infer import infer_dictionary
from careleads.dictionary._ingest import (
    IngestResult,
    IngestSummary,
    ingest_file,
    ingest_table,
    read_table,
    repeats_values,
    write_quarantine,
)
from careleads.dictionary._normalise import normalise_token
from careleads.dictionary._record import FieldProblem, RecordValidator, record_validator, validate_record
from careleads.dictionary._schema import (
    Dictionary,
    FieldSpec,
    FieldType,
    KnownAt,
    LabelSpec,
    Sensitivity,
    TableSpec,
)
from careleads.dictionary._yaml import dump_dictionary, load_dictionary, parse_dictionary

__all__ = [
    "FieldProblem",
    "RecordValidator",
    "record_validator",
    "validate_record",
    "Dictionary",
    "FieldSpec",
    "FieldType",
    "IngestResult",
    "IngestSummary",
    "KnownAt",
    "LabelSpec",
    "Sensitivity",
    "TableSpec",
    "dump_dictionary",
    "infer_dictionary",
    "ingest_file",
    "ingest_table",
    "load_dictionary",
    "normalise_token",
    "parse_dictionary",
    "read_table",
    "repeats_values",
    "write_quarantine",
]
