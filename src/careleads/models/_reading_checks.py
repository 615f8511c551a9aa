"""What a stranger's lead export holds besides leads: row numbers, summary rows, undecided outcomes.

Each check reads the values, never a column name of a particular file (generic words such as "total" or
"pending" are the vocabulary): `index_columns` finds a column that only numbers the rows, `summary_rows`
finds a spreadsheet's total line, `outcome_words` sorts a label's values into positive, negative and
undecided, and `month_name_values` tells a column of month names from a column of dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "NEGATIVE_WORDS",
    "UNDECIDED_WORDS",
    "index_columns",
    "month_name_values",
    "outcome_key",
    "summary_rows",
]

# the words of an outcome that is settled one way or the other (compared by `outcome_key`)
NEGATIVE_WORDS = frozenset(
    {
        "0",
        "0.0",
        "no",
        "n",
        "false",
        "f",
        "lost",
        "closed lost",
        "not converted",
        "unconverted",
        "negative",
        "failure",
        "failed",
        "rejected",
        "declined",
        "disqualified",
        "cancelled",
        "canceled",
        "churned",
        "dead",
        "unsuccessful",
        "no sale",
        "not interested",
    }
)
# the words of an outcome not decided yet: such a row is neither a conversion nor a loss
UNDECIDED_WORDS = frozenset(
    {
        "open",
        "pending",
        "in progress",
        "ongoing",
        "undecided",
        "active",
        "new",
        "waiting",
        "awaiting",
        "awaiting decision",
        "on hold",
        "in review",
        "under review",
        "follow up",
        "tbd",
        "to be decided",
        "not yet",
        "not decided",
        "unknown",
        "undefined",
        "live",
        "running",
        "working",
        "in negotiation",
        "negotiation",
    }
)
_SUMMARY = re.compile(r"(?:grand\s*|sub\s*-?\s*)?(?:total|totals|sum)\b[\s:]*", re.IGNORECASE)
_UNNAMED = re.compile(r"^\s*$|^Unnamed: \d+(?:_level_\d+)?$")
_MONTHS = frozenset(
    name
    for month in (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    )
    for name in (month, month[:3], month[:4])
)
# nearly consecutive: a row number of a file some rows were later removed from still counts
_INDEX_SPAN = 1.05
_MIN_INDEX_ROWS = 20


def outcome_key(value: str) -> str:
    """A label value as compared with the outcome vocabularies: lower case, ``_``/``-`` as spaces."""
    return " ".join(re.sub(r"[_\-]+", " ", value.casefold()).split())


def month_name_values(values: pd.Series) -> bool:
    """Whether most filled values are month names or abbreviations with no year ("Feb", "march").

    Examples
    --------
    >>> month_name_values(pd.Series(["Feb", "Mar", "", "sept"]))
    True
    >>> month_name_values(pd.Series(["Feb 2024", "Mar 2024"]))
    False
    """
    text = values.astype("string").str.strip().str.casefold().str.rstrip(".")
    text = text[text.str.len() > 0].dropna()
    return len(text) > 0 and float(text.isin(_MONTHS).mean()) >= 0.5


def index_columns(raw: pd.DataFrame, *, skip: Sequence[str]) -> dict[str, str]:
    """The columns that only number the rows, each with the reason it is left out.

    An unnamed column (an empty header, or pandas' ``Unnamed: 0``) is a spreadsheet's or a data frame's
    index; a column of whole numbers rising in file order from 0 or 1, nearly consecutive, numbers the
    rows whatever its name, and so does each whole number from 0 or 1 to the row count exactly once in
    another order (row numbers kept from an earlier sort). They say where a row sits in a file, which is
    time in a sorted export.

    Parameters
    ----------
    raw : pandas.DataFrame
        The file as read (text values), in file order.
    skip : sequence of str
        Columns never reported (the label, time and group columns).

    Returns
    -------
    dict
        Column name -> reason.
    """
    found: dict[str, str] = {}
    for position, column in enumerate(raw.columns):
        name = str(column)
        if name in skip:
            continue
        if _UNNAMED.match(name):
            found[name] = f"unnamed column (position {position + 1}): a row index, not a lead's property"
            continue
        text = raw[column].astype("string").str.strip()
        empty = (text.str.len().fillna(0) == 0).to_numpy(dtype=bool)
        # blank lines are kept as rows by `read_table`; they number nothing, anything else breaks a count
        if empty.any() and bool(
            raw.loc[empty].astype("string").apply(lambda c: c.str.strip()).ne("").any().any()
        ):
            continue
        text = text[~empty]
        if len(text) < _MIN_INDEX_ROWS:
            continue
        if not bool(text.str.fullmatch(r"[0-9]+").fillna(False).all()):
            continue
        numbers = text.astype("int64").to_numpy()
        steps = np.diff(numbers)
        if (
            numbers[0] in (0, 1)
            and bool((steps > 0).all())
            and numbers[-1] - numbers[0] + 1 <= _INDEX_SPAN * len(numbers)
        ):
            found[name] = (
                f"row number ({numbers[0]} to {numbers[-1]} rising in file order): "
                "a row index, not a lead's property"
            )
        elif int(numbers.min()) in (0, 1) and _is_permutation(numbers):
            found[name] = (
                f"row number of an earlier order (each of {int(numbers.min())} to {int(numbers.max())} once, "
                "shuffled): a row index, not a lead's property"
            )
    return found


def _is_permutation(numbers: np.ndarray) -> bool:
    """Each whole number from the smallest to the largest exactly once (row numbers after a re-sort)."""
    low = int(numbers.min())
    return int(numbers.max()) - low + 1 == len(numbers) and len(np.unique(numbers)) == len(numbers)


def summary_rows(raw: pd.DataFrame, *, label: str) -> np.ndarray:
    """Flags of the rows that summarise others (a spreadsheet's total line), not leads.

    A summary row is aggregate-like: its label cell is empty or a value no other row has, or one of its
    numbers is larger than every other row's in that column. It is flagged when it also has a text cell
    reading total, totals, sum, subtotal or grand total (alone or followed by more words), or when it has
    no identifier (an empty cell in a column every other row fills with a value of its own) and both signs
    of an aggregate.

    Parameters
    ----------
    raw : pandas.DataFrame
        The file as read (text values).
    label : str
        The outcome column.

    Returns
    -------
    numpy.ndarray of bool
        One flag per row.
    """
    flags = np.zeros(len(raw), dtype=bool)
    if raw.empty:
        return flags
    worded = np.zeros(len(raw), dtype=bool)
    no_id = np.zeros(len(raw), dtype=bool)
    for column in raw.columns:
        values = raw[column]
        if str(column) == label or not (
            pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
        ):
            continue
        text = values.astype("string").str.strip()
        matched = text.str.match(_SUMMARY.pattern, case=False)
        worded |= matched.fillna(False).to_numpy(dtype=bool)
        empty = (text.str.len().fillna(0) == 0).to_numpy(dtype=bool)
        n_empty = int(empty.sum())
        if len(raw) >= _MIN_INDEX_ROWS and 0 < n_empty <= max(1, len(raw) // 100):
            if text[~empty].is_unique:
                no_id |= empty
    if not (worded | no_id).any():
        return flags
    label_text = raw[label].astype("string").str.strip().fillna("")
    counts = label_text.value_counts()
    one_off = ((label_text.str.len() == 0) | (label_text.map(counts) == 1)).to_numpy(dtype=bool)
    larger = np.zeros(len(raw), dtype=bool)
    for column in raw.columns:
        if str(column) == label:
            continue
        text = raw[column].astype("string").str.strip().str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
        if float(np.isfinite(numbers).mean()) < 0.5:
            continue
        for row in np.flatnonzero(worded | no_id):
            others = np.delete(numbers, row)
            if np.isfinite(numbers[row]) and np.isfinite(others).any() and numbers[row] > np.nanmax(others):
                larger[row] = True
    found: np.ndarray = (worded & (one_off | larger)) | (no_id & one_off & larger)
    return found
