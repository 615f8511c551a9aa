"""Any lead file made ready for evaluation: read, ingested through its data dictionary, labelled 0/1.

`read_lead_file` resolves the columns the user named (case-insensitively, with a suggestion when one is
misspelt), ingests the rows through the given or inferred dictionary (bad rows quarantined and counted),
turns the label into 0/1, keeps the rows with a label (and a readable time), and gives each row its place
in time for the split. `feature_kinds` then chooses the feature columns and says why every other column
is left out.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from careleads.dictionary import (
    Dictionary,
    FieldSpec,
    FieldType,
    Sensitivity,
    TableSpec,
    infer_dictionary,
    ingest_table,
    load_dictionary,
    read_table,
)
from careleads.errors import InputError
from careleads.models._tabular import infer_kinds, to_datetime
from careleads.types import PathLikeStr

# An identifier-typed column repeating at least this many rows per value on average is a reference to a
# shared entity (a landing page, an owner, a campaign) and is used as a category rather than dropped.
KEY_MIN_ROWS_PER_VALUE = 10
_POSITIVE_WORDS = ("1", "1.0", "true", "yes", "y", "t", "converted", "won", "positive", "success")
_KIND_OF_TYPE = {
    FieldType.NUMBER: "numeric",
    FieldType.CATEGORY: "categorical",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATETIME: "datetime",
    FieldType.TEXT: "text",
    FieldType.IDENTIFIER: "identifier",
}

Progress = Callable[[str], None]


@dataclass
class LeadFile:
    """The usable rows of a lead file, their 0/1 label and order, and what was left out on the way.

    ``label``, ``time_column``, ``group_column``, ``exclude`` and ``keep`` are the file's own column names
    (as resolved from what the user typed). ``order`` is each row's scoring moment in nanoseconds, or its
    position in the file (``row_order``), or None (no order: the split is random).
    """

    source: str
    n_read: int
    frame: pd.DataFrame
    y: np.ndarray
    label: str
    positive: str
    positive_rate: float
    time_column: str | None
    group_column: str | None
    exclude: list[str]
    keep: list[str]
    specs: dict[str, FieldSpec]
    order: np.ndarray | None
    groups: np.ndarray | None
    warnings: list[str]


def read_lead_file(
    path: PathLikeStr,
    *,
    label: str,
    positive: str | None,
    time_column: str | None,
    row_order: bool,
    group_column: str | None,
    exclude: Sequence[str],
    keep: Sequence[str],
    dictionary: Dictionary | PathLikeStr | None,
    progress: Progress,
) -> LeadFile:
    """Read `path` and keep the rows that can be evaluated (see `evaluate_file` for the parameters).

    Raises
    ------
    InputError
        Missing, empty or unreadable file; a named column that is not in it; a label with a single value
        or no clear positive value; an unparsable time column.
    """
    file = Path(path)
    source = file.name
    progress(f"reading {source}")
    raw = read_table(file)
    if raw.shape[1] == 0 or len(raw) == 0:
        raise InputError(f"{source}: the file has no data rows; export the table again")
    columns = [str(c) for c in raw.columns]
    label = _column(label, columns, what="label column", source=source)
    if time_column is not None:
        time_column = _column(time_column, columns, what="time column", source=source)
    if group_column is not None:
        group_column = _column(group_column, columns, what="group column", source=source)
    excluded = [_column(c, columns, what="--exclude column", source=source) for c in exclude]
    kept = [_column(c, columns, what="--keep column", source=source) for c in keep]
    warnings: list[str] = []

    progress("reading the data dictionary")
    specs, frame, n_quarantined = _ingest(raw, dictionary, label=label, source=source, file=file)
    if n_quarantined:
        warnings.append(
            f"{n_quarantined:,} of {len(raw):,} rows were quarantined by the dictionary checks and left out; "
            "run `careleads dictionary` tools to see why."
        )

    y_all, chosen = _label01(frame[label], label=label, positive=positive, source=source)
    unlabeled = int(y_all.isna().sum())
    if unlabeled:
        warnings.append(f"{unlabeled:,} rows have no {label!r} value and were left out.")

    if time_column is not None:
        stamps = to_datetime(frame[time_column])
        filled = frame[time_column].astype("string").str.strip().str.len().fillna(0) > 0
        bad = int((stamps.isna() & filled).sum())
        n_filled = int(filled.sum())
        if n_filled == 0 or bad > 0.5 * n_filled:
            example = frame.loc[stamps.isna() & filled, time_column].astype(str).head(2).tolist()
            raise InputError(
                f"{source}: time column {time_column!r} cannot be read as dates ({bad:,} of {n_filled:,} "
                f"values, e.g. {example}); give a date column or use --row-order"
            )
        no_time = int(stamps.isna().sum())
        if no_time:
            warnings.append(f"{no_time:,} rows have no readable {time_column!r} and were left out.")
        usable = y_all.notna() & stamps.notna()
    else:
        usable = y_all.notna()
    frame = frame.loc[usable.to_numpy()].reset_index(drop=True)
    y = y_all[usable].to_numpy(dtype=np.int64)
    order: np.ndarray | None = None
    if time_column is not None:
        order = to_datetime(frame[time_column]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    elif row_order:
        order = np.arange(len(frame), dtype=np.int64)
    groups = frame[group_column].astype("string").fillna("(missing)").to_numpy() if group_column else None
    if len(np.unique(y)) < 2:
        raise InputError(f"{source}: every usable row has the same {label!r} outcome; nothing to predict")
    return LeadFile(
        source=source,
        n_read=len(raw),
        frame=frame,
        y=y,
        label=label,
        positive=chosen,
        positive_rate=float(y.mean()),
        time_column=time_column,
        group_column=group_column,
        exclude=excluded,
        keep=kept,
        specs=specs,
        order=order,
        groups=groups,
        warnings=warnings,
    )


def _column(name: str, columns: Sequence[str], *, what: str, source: str) -> str:
    if name in columns:
        return name
    folded = {c.casefold().strip(): c for c in columns}
    if name.casefold().strip() in folded:
        return folded[name.casefold().strip()]
    close = difflib.get_close_matches(name, list(columns), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InputError(f"{source}: {what} {name!r} is not a column of the file{hint}")


def _label01(values: pd.Series, *, label: str, positive: str | None, source: str) -> tuple[pd.Series, str]:
    if pd.api.types.is_bool_dtype(values):
        # a dictionary may type the label as yes/no: compare as 1/0 so that --positive 1 or true works
        values = values.astype("Int64")
        if positive is not None and positive.strip().casefold() in _POSITIVE_WORDS:
            positive = "1"
    text = values.astype("string").str.strip()
    text = text.where(text.str.len() > 0)
    distinct = sorted(str(v) for v in text.dropna().unique())
    if not distinct:
        raise InputError(f"{source}: label column {label!r} is empty; choose the column holding the outcome")
    if len(distinct) == 1:
        raise InputError(
            f"{source}: label column {label!r} has one value only ({distinct[0]!r}); nothing to predict, "
            "choose another label or a longer export"
        )
    if positive is not None:
        matches = [d for d in distinct if d.casefold() == positive.strip().casefold()]
        if not matches:
            matches = [d for d in distinct if _same_number(d, positive)]
        if not matches:
            shown = ", ".join(repr(d) for d in distinct[:10])
            raise InputError(
                f"{source}: --positive {positive!r} is not a value of {label!r} (values: {shown})"
            )
        chosen = matches[0]
    else:
        if len(distinct) > 2:
            shown = ", ".join(repr(d) for d in distinct[:10])
            raise InputError(
                f"{source}: label {label!r} has {len(distinct)} values ({shown}); say which one counts as "
                "converted with --positive"
            )
        known = [d for d in distinct if d.casefold() in _POSITIVE_WORDS]
        if len(known) != 1:
            raise InputError(
                f"{source}: cannot tell which value of {label!r} means converted ({distinct[0]!r} or "
                f"{distinct[1]!r}); give it with --positive"
            )
        chosen = known[0]
    y = pd.Series(np.where(text.isna(), np.nan, (text == chosen).astype("float64")), index=values.index)
    return y, chosen


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def _ingest(
    raw: pd.DataFrame,
    dictionary: Dictionary | PathLikeStr | None,
    *,
    label: str,
    source: str,
    file: Path,
) -> tuple[dict[str, FieldSpec], pd.DataFrame, int]:
    """The clean frame under the file's own column names, each column's field spec, rows quarantined."""
    if dictionary is None:
        found = infer_dictionary(raw, label=label, name=file.stem)
    elif isinstance(dictionary, Dictionary):
        found = dictionary
    else:
        found = load_dictionary(dictionary)
    table = _table_name(found, raw)
    result = ingest_table(raw, found, table, source=source)
    back = {canonical: original for original, canonical in result.summary.renamed_columns.items()}
    clean = result.clean.rename(columns=back)
    clean = clean[[c for c in raw.columns if c in clean.columns]]
    spec_table = found.table(table)
    specs: dict[str, FieldSpec] = {}
    for spec in spec_table.fields:
        name = back.get(spec.name, spec.name)
        if name in clean.columns:
            specs[name] = spec
    return specs, clean, int(result.summary.n_quarantined)


def _table_name(dictionary: Dictionary, raw: pd.DataFrame) -> str:
    if "data" in dictionary.tables:
        return "data"
    if len(dictionary.tables) == 1:
        return next(iter(dictionary.tables))
    columns = {str(c).casefold() for c in raw.columns}
    best = max(
        dictionary.tables.values(),
        key=lambda t: sum(
            1
            for f in t.fields
            if f.name.casefold() in columns or any(a.casefold() in columns for a in f.aliases)
        ),
    )
    return best.name


def file_dictionary(specs: Mapping[str, FieldSpec]) -> Dictionary:
    """A one-table dictionary under the file's own column names (what the leakage audit reads)."""
    fields = tuple(replace(spec, name=name) for name, spec in specs.items())
    return Dictionary(name="audit", tables={"data": TableSpec(name="data", fields=fields)})


def column_kinds(frame: pd.DataFrame, specs: Mapping[str, FieldSpec]) -> dict[str, str]:
    """Each column's kind: from its dictionary type where it has one, else guessed from its values."""
    kinds: dict[str, str] = dict(infer_kinds(frame))
    for name, spec in specs.items():
        kinds[name] = _KIND_OF_TYPE[spec.type]
    return kinds


def feature_kinds(
    train: pd.DataFrame,
    specs: Mapping[str, FieldSpec],
    *,
    label: str,
    time_column: str | None,
    group_column: str | None,
    exclude: Sequence[str],
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Feature columns and their kinds before the leakage audit, with the reason for every other column."""
    kinds = column_kinds(train, specs)
    use: dict[str, str] = {}
    excluded: list[dict[str, str]] = []
    for name in train.columns:
        if name == label:
            continue
        spec = specs.get(name)
        kind = kinds[name]
        reason = None
        if name in exclude:
            reason = "excluded by request"
        elif name == group_column:
            reason = "group column"
        elif spec is not None and spec.sensitivity is Sensitivity.SENSITIVE:
            reason = "sensitive attribute: never a model feature"
        elif spec is not None and spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
            reason = "direct identifier"
        elif kind == "identifier":
            n_values = train[name].nunique()
            if n_values and len(train) / n_values >= KEY_MIN_ROWS_PER_VALUE:
                kind = "categorical"
            else:
                reason = "identifier"
        elif train[name].isna().all():
            reason = "always empty"
        if reason is None:
            use[name] = kind
        else:
            excluded.append({"column": name, "reason": reason})
    if time_column is not None:
        use[time_column] = "datetime"
    return use, excluded
