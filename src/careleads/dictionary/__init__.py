"""The data dictionary: canonical fields, YAML files, inference from any CSV, ingest with quarantine."""

from __future__ import annotations

from careleads.dictionary._extension import (
    Extension,
    add_mapping,
    extend_dictionary,
    load_extension,
    mappable,
    save_extension,
)
from careleads.dictionary._flags import (
    FLAGS_KEY,
    MAPPABLE_KINDS,
    FlaggedValue,
    action_for,
    refuses,
    shows_value,
    unreadable_values,
)
from careleads.dictionary._geography import coarsen_postcodes, postcode_area
from careleads.dictionary._infer import infer_dictionary, reads_as_dates
from careleads.dictionary._ingest import (
    FLAGGED_COLUMNS,
    IngestResult,
    IngestSummary,
    empty_flagged,
    ingest_file,
    ingest_table,
    repeats_values,
    write_quarantine,
)
from careleads.dictionary._normalise import (
    ColumnMatch,
    match_columns,
    match_table,
    name_tokens,
    normalise_token,
)
from careleads.dictionary._read import SAMPLE_BYTES, decode_sample, read_table, sniff_delimiter
from careleads.dictionary._record import (
    FieldProblem,
    RecordValidator,
    flag_problems,
    record_validator,
    validate_record,
)
from careleads.dictionary._rule import MISSING_REQUIRED, UNKNOWN_CATEGORY
from careleads.dictionary._schema import (
    DECIMAL_COMMA,
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
    "DECIMAL_COMMA",
    "FLAGGED_COLUMNS",
    "FLAGS_KEY",
    "MAPPABLE_KINDS",
    "MISSING_REQUIRED",
    "UNKNOWN_CATEGORY",
    "SAMPLE_BYTES",
    "Extension",
    "FlaggedValue",
    "action_for",
    "add_mapping",
    "coarsen_postcodes",
    "empty_flagged",
    "extend_dictionary",
    "flag_problems",
    "load_extension",
    "mappable",
    "refuses",
    "save_extension",
    "shows_value",
    "unreadable_values",
    "ColumnMatch",
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
    "decode_sample",
    "dump_dictionary",
    "infer_dictionary",
    "ingest_file",
    "ingest_table",
    "load_dictionary",
    "match_columns",
    "match_table",
    "name_tokens",
    "normalise_token",
    "parse_dictionary",
    "postcode_area",
    "read_table",
    "reads_as_dates",
    "repeats_values",
    "sniff_delimiter",
    "write_quarantine",
]
