"""Any lead file made ready for evaluation: read, ingested through its data dictionary, labelled 0/1.

`read_lead_file` resolves the columns the user named (case-insensitively, with a suggestion when one is
misspelt), refuses a time column of month names, sets row-number columns aside and leaves summary rows out
(``_reading_checks``), ingests the rows through the given or inferred dictionary (bad rows quarantined and
counted), keeps only the area of postcodes (``coarsen_postcodes``), turns the label into 0/1 (undecided
outcomes left out), keeps the rows with a label (and a readable time), and gives each row its place in
time for the split. `feature_kinds` then chooses the
feature columns and says why every other column is left out.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from careleads.dictionary import (
    DECIMAL_COMMA,
    Dictionary,
    FieldSpec,
    FieldType,
    Sensitivity,
    TableSpec,
    coarsen_postcodes,
    infer_dictionary,
    ingest_table,
    load_dictionary,
    read_table,
)
from careleads.errors import InputError
from careleads.models._reading_checks import (
    NEGATIVE_WORDS,
    UNDECIDED_WORDS,
    index_columns,
    month_name_values,
    outcome_key,
    summary_rows,
)
from careleads.models._tabular import infer_kinds, to_datetime
from careleads.types import PathLikeStr

# An identifier-typed column repeating at least this many rows per value on average is a reference to a
# shared entity (a landing page, an owner, a campaign) and is used as a category rather than dropped.
KEY_MIN_ROWS_PER_VALUE = 10
_POSITIVE_WORDS = (
    "1",
    "1.0",
    "true",
    "yes",
    "y",
    "t",
    "converted",
    "won",
    "closed won",
    "positive",
    "success",
)
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
    position in the file (``row_order``), or None (no order: the split is random). ``set_aside`` holds
    the columns left out before any feature choice (row numbers) with their reasons; ``notes`` says how
    values were read where a reading was chosen (numbers with a decimal comma). ``written_missing`` marks,
    per column, the rows whose cell held something that was read as missing (a placeholder such as "not
    chosen", or a value the dictionary could not read), as opposed to an empty cell.
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
    set_aside: dict[str, str]
    notes: list[str]
    written_missing: dict[str, np.ndarray] = field(default_factory=dict)


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
    if time_column is not None and month_name_values(raw[time_column]):
        first = str(raw[time_column].astype("string").str.strip().iloc[0])
        raise InputError(
            f"{source}: time column {time_column!r} holds month names without a year (e.g. {first!r}), "
            "which cannot order rows across years; give a column of full dates, or sort the file by time "
            "and use --row-order"
        )
    summary = summary_rows(raw, label=label)
    n_read = len(raw)
    if summary.any():
        lines = ", ".join(str(p + 2) for p in np.flatnonzero(summary)[:5])
        warnings.append(
            f"{int(summary.sum()):,} summary row(s) (totals of other rows; file line {lines}) were left "
            "out: they add up other rows, they are not leads."
        )
        raw = raw.loc[~summary].reset_index(drop=True)
    set_aside = index_columns(raw, skip=[c for c in (label, time_column, group_column) if c])

    progress("reading the data dictionary")
    specs, frame, n_quarantined, written = _ingest(raw, dictionary, label=label, source=source, file=file)
    if n_quarantined:
        warnings.append(
            f"{n_quarantined:,} of {len(raw):,} rows were quarantined by the dictionary checks and left out; "
            "run `careleads dictionary` tools to see why."
        )

    y_all, chosen, label_notes = _label01(frame[label], label=label, positive=positive, source=source)
    warnings.extend(label_notes)
    unlabeled = int(frame[label].astype("string").str.strip().str.len().fillna(0).eq(0).sum())
    if unlabeled:
        warnings.append(f"{unlabeled:,} rows have no {label!r} value and were left out.")
    notes = [
        f"{name!r} read as numbers with a decimal comma ('1.234,5' = 1234.5), as its values show."
        for name, spec in specs.items()
        if spec.type is FieldType.NUMBER and spec.format == DECIMAL_COMMA
    ]
    # postcodes identify in combination: models only ever see their area
    frame, coarsened = coarsen_postcodes(frame, {n: s for n, s in specs.items() if n != label})
    notes.extend(f"{name!r} used as its postcode area (its first 3 characters)." for name in coarsened)

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
    written = {c: mask[usable.to_numpy()] for c, mask in written.items()}
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
        n_read=n_read,
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
        set_aside=set_aside,
        notes=notes,
        written_missing=written,
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


def _label01(
    values: pd.Series, *, label: str, positive: str | None, source: str
) -> tuple[pd.Series, str, list[str]]:
    """The label as 1.0/0.0 (missing where empty or undecided), the positive value, and what was said.

    When the other values speak an outcome vocabulary (lost, no, rejected, ...), values not decided yet
    (open, pending, in progress, ...) are left out with a count, and values neither positive, negative nor
    undecided are counted as negatives and named.
    """
    if pd.api.types.is_bool_dtype(values):
        # a dictionary may type the label as yes/no: compare as 1/0 so that --positive 1 or true works
        values = values.astype("Int64")
        if positive is not None and positive.strip().casefold() in _POSITIVE_WORDS:
            positive = "1"
    text = values.astype("string").str.strip()
    text = text.where(text.str.len() > 0)
    distinct = sorted(str(v) for v in text.dropna().unique())
    undecided = [d for d in distinct if outcome_key(d) in UNDECIDED_WORDS]
    settled = [d for d in distinct if d not in undecided]
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
        if len(settled) > 2 or len(settled) < 2:
            shown = ", ".join(repr(d) for d in distinct[:10])
            raise InputError(
                f"{source}: label {label!r} has {len(distinct)} values ({shown}); say which one counts as "
                "converted with --positive"
            )
        known = [d for d in settled if outcome_key(d) in _POSITIVE_WORDS]
        if len(known) != 1:
            raise InputError(
                f"{source}: cannot tell which value of {label!r} means converted ({settled[0]!r} or "
                f"{settled[1]!r}); give it with --positive"
            )
        chosen = known[0]
    notes: list[str] = []
    missing = text.isna().to_numpy()
    others = [d for d in distinct if d != chosen]
    if outcome_key(chosen) in _POSITIVE_WORDS or any(outcome_key(d) in NEGATIVE_WORDS for d in others):
        left_out = [d for d in undecided if d != chosen]
        if left_out:
            counts = text.value_counts()
            listed = ", ".join(f"{d!r} ({int(counts[d]):,})" for d in left_out)
            notes.append(
                f"{int(text.isin(left_out).sum()):,} rows whose {label!r} is not decided yet ({listed}) "
                "were left out: they are neither conversions nor losses."
            )
            missing = missing | text.isin(left_out).fillna(False).to_numpy(dtype=bool)
        unclear = [d for d in others if d not in left_out and outcome_key(d) not in NEGATIVE_WORDS]
        if unclear:
            notes.append(
                f"{label!r} values counted as not converted though not a usual negative word: "
                + ", ".join(repr(d) for d in unclear[:10])
                + "; if any is undecided, remove those rows or give another --positive."
            )
    y = pd.Series(np.where(missing, np.nan, (text == chosen).astype("float64")), index=values.index)
    return y, chosen, notes


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
) -> tuple[dict[str, FieldSpec], pd.DataFrame, int, dict[str, np.ndarray]]:
    """The clean frame under the file's own column names, each column's field spec, rows quarantined, and
    per column the clean rows whose cell held something read as missing (see `LeadFile.written_missing`)."""
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
    # the clean rows are the raw rows not quarantined, in order (the quarantine's _row counts the header)
    kept = np.ones(len(raw), dtype=bool)
    kept[result.quarantine["_row"].to_numpy(dtype=np.int64) - 2] = False
    # only where the ingest read a written value as missing: a placeholder, or a value it flagged
    read_missing = {*result.summary.n_placeholders, *result.flagged["_field"].astype(str)}
    canonical = result.summary.renamed_columns
    columns = [c for c in clean.columns if canonical.get(c, c) in read_missing]
    written: dict[str, np.ndarray] = {}
    for column in columns if int(kept.sum()) == len(clean) else ():
        cells = raw.loc[kept, column].astype("string").str.strip().str.len().fillna(0).to_numpy() > 0
        mask = cells & clean[column].isna().to_numpy(dtype=bool)
        if mask.any():
            written[str(column)] = mask
    return specs, clean, int(result.summary.n_quarantined), written


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
    set_aside: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Feature columns and their kinds before the leakage audit, with the reason for every other column.

    The time column is a feature (its calendar parts, see `calendar_parts`) unless excluded by request;
    `set_aside` names columns already left out on reading (row numbers), with their reasons.
    """
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
            if name == time_column:
                reason += " (still orders the split; none of its parts is a feature)"
        elif set_aside and name in set_aside:
            reason = set_aside[name]
        elif name == group_column:
            reason = "group column"
        elif spec is not None and spec.sensitivity is Sensitivity.SENSITIVE:
            reason = "sensitive attribute: never a model feature"
            if spec.sensitivity_reason:
                reason = f"{spec.sensitivity_reason}: sensitive, never a model feature"
        elif spec is not None and spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
            reason = spec.sensitivity_reason or "direct identifier"
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
    if time_column is not None and time_column not in exclude:
        use[time_column] = "datetime"
    return use, excluded


_CALENDAR_PARTS = {"weekday": "day of week", "hour": "hour of day", "month": "month of year"}


def calendar_parts(
    train: pd.DataFrame, test: pd.DataFrame, kinds: Mapping[str, str], *, time_column: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], list[dict[str, str]]]:
    """Keep the time column's calendar parts (weekday, hour, month) that training has seen in full.

    A part whose test values include one the training part never holds (test months that never occur in
    training) cannot be learnt: it is left out with the reason. When every part is covered the time
    column stays a ``datetime`` feature (`TabularFeatures` derives its parts); otherwise the covered parts
    become numeric columns of both parts, named as `TabularFeatures` names them (``<time>__month``), and
    the time column itself only orders the rows and anchors other dates.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, dict, list of dict)
        The training and test parts, the feature kinds, and the parts left out with their reasons.
    """
    out = dict(kinds)
    if time_column is None or out.get(time_column) != "datetime":
        return train, test, out, []
    before, after = to_datetime(train[time_column]), to_datetime(test[time_column])
    covered: dict[str, tuple[pd.Series, pd.Series]] = {}
    left_out: list[dict[str, str]] = []
    for part, words in _CALENDAR_PARTS.items():
        seen = getattr(before.dt, "day_of_week" if part == "weekday" else part)
        new = getattr(after.dt, "day_of_week" if part == "weekday" else part)
        unseen = sorted(set(new.dropna().astype(int)) - set(seen.dropna().astype(int)))
        if unseen:
            left_out.append(
                {
                    "column": f"{time_column} ({words})",
                    "reason": f"test values {unseen[:6]} never occur in the training part: cannot be learnt",
                }
            )
        else:
            covered[part] = (seen.astype("float64"), new.astype("float64"))
    if not left_out:
        return train, test, out, []
    del out[time_column]
    train, test = train.copy(), test.copy()
    for part, (seen, new) in covered.items():
        name = f"{time_column}__{part}"
        train[name], test[name] = seen.to_numpy(), new.to_numpy()
        out[name] = "numeric"
    return train, test, out, left_out
