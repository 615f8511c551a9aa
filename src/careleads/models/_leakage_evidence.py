"""The leakage audit's newer evidence families: words of contact, value regions, copies, date distances.

Each function looks at one column (or a pair) and returns the evidence as a sentence a person can check,
or an empty string when it finds nothing. ``models/_leakage`` decides how the evidence combines.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from careleads.dictionary import name_tokens

# A value region must hold this share of the rows (and this many) to count.
REGION_MIN_SHARE = 0.05
REGION_MIN_ROWS = 20
# One outcome makes up at least this share of the region, and the other outcome is at least this many
# times rarer in the region than elsewhere (so that a rare outcome does not make every region "pure").
REGION_PURITY = 0.90
REGION_CONTRAST = 5.0
# Rows compared when looking for copies of a suspect.
COPY_SAMPLE_ROWS = 20_000
COPY_MIN_ROWS = 20

# Words of a name (or a dictionary description) that speak of something measured during or after the
# contact, or changed while the record lived. Whole words only; see `after_contact_words`.
AFTER_CONTACT_WORDS = frozenset(
    {
        "duration", "talk", "talktime", "after", "post", "followup", "attended", "attendance", "showed",
        "noshow", "paid", "payment", "payments", "revenue", "invoice", "invoiced", "billed", "billing",
        "purchase", "purchased", "refund", "refunded", "final", "last", "latest", "assigned", "reassigned",
        "changes", "changed", "modified", "updated", "waiting", "waitlist", "waitlisted", "completed",
        "completion", "handled", "answered", "collected", "enrolment", "enrollment", "signed", "contract",
        "mostrecent",
    }
)  # fmt: skip
# Words that put a measurement before the scoring moment: "previous visits" is history, not an outcome.
PAST_WORDS = frozenset(
    {"previous", "prior", "before", "history", "historic", "historical", "past", "earlier"}
)
_PHRASES = (
    ("follow", "up"),
    ("no", "show"),
    ("talk", "time"),
    ("wait", "list"),
    ("waiting", "list"),
    ("most", "recent"),
)
# Words of a value that name an event in a record's activity history, as CRMs log them (an e-mail sent,
# opened, clicked or bounced; a call or a message; a page visited; a form submitted; the record modified).
# A column of such values holds one event of the history: with a name that says which (the last, the
# latest), it is read at export, after the scoring moment.
ACTIVITY_WORDS = frozenset(
    {
        "sent", "opened", "clicked", "bounced", "delivered", "replied", "responded", "forwarded", "visited",
        "viewed", "submitted", "downloaded", "registered", "subscribed", "unsubscribed", "called", "emailed",
        "messaged", "texted", "dialed", "dialled", "logged", "modified", "updated", "marked", "conversation",
        "voicemail", "spam",
    }
)  # fmt: skip
ACTIVITY_VALUE_SHARE = 0.30


def after_contact_words(name: str, description: str = "") -> str:
    """Evidence that a name or description speaks of something measured during or after contact.

    Examples
    --------
    >>> after_contact_words("call_duration_sec")
    "name speaks of something measured during or after contact ('duration')"
    >>> after_contact_words("previous_call_duration")
    ''
    """
    found: list[str] = []
    for source, text in (("name", name), ("dictionary description", description)):
        words = name_tokens(text)
        if not words or PAST_WORDS.intersection(words):
            continue
        joined = [a + b for a, b in zip(words, words[1:], strict=False) if (a, b) in _PHRASES]
        hits = [w for w in words + joined if w in AFTER_CONTACT_WORDS]
        if hits:
            listed = ", ".join(repr(w) for w in dict.fromkeys(hits))
            found.append(f"{source} speaks of something measured during or after contact ({listed})")
    return "; ".join(found)


def activity_values(values: pd.Series) -> str:
    """Evidence that a column's values name events of a record's activity history.

    At least `ACTIVITY_VALUE_SHARE` of the filled rows, over at least two distinct values, name an event
    (whole words of `ACTIVITY_WORDS`, any case and separator).

    Examples
    --------
    >>> import pandas as pd
    >>> activity_values(pd.Series(["Brochure downloaded", "invite_opened", "web", "Reminder texted"]))[:28]
    'values name events of the re'
    >>> activity_values(pd.Series(["web", "referral", "web", "partner"]))
    ''
    """
    counts = values.dropna().astype(str).str.strip().value_counts()
    counts = counts[counts.index.str.len() > 0]
    if counts.empty:
        return ""
    matched = [v for v in counts.index if ACTIVITY_WORDS.intersection(name_tokens(str(v)))]
    share = float(counts[matched].sum()) / float(counts.sum()) if matched else 0.0
    if share < ACTIVITY_VALUE_SHARE or len(matched) < 2:
        return ""
    examples = ", ".join(repr(str(v)[:60]) for v in matched[:3])
    return (
        f"values name events of the record's activity history: {examples} ({_pct(share)} of filled rows); "
        "one event of a history changes as the record lives"
    )


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%" if 0 < share < 0.1 else f"{100 * share:.0f}%"


def value_region(x: np.ndarray, y: np.ndarray) -> str:
    """Evidence that a numeric column's most common value holds (almost) one outcome only.

    A post-contact measurement is zero exactly where nothing happened. The region is the column's most
    common value (a point mass, such as zero), never a tail: the lowest values of a strong honest signal
    are nearly all of one outcome too, which is what makes it strong.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = (rng.random(1000) < 0.4).astype(int)
    >>> amount = np.where(y == 1, rng.gamma(2, 50, 1000), np.where(rng.random(1000) < 0.5, 0.0, 9.0))
    >>> value_region(amount, y).startswith("equals 0 on")
    True
    """
    filled = ~np.isnan(x)
    n = len(x)
    if int(filled.sum()) < REGION_MIN_ROWS or n == 0:
        return ""
    levels, counts = np.unique(x[filled], return_counts=True)
    mode = float(levels[int(np.argmax(counts))])
    region = filled & (x == mode)
    k = int(region.sum())
    if k < max(REGION_MIN_ROWS, REGION_MIN_SHARE * n) or k == n:
        return ""
    inside, outside = y[region], y[~region]
    for cls, name, other in ((0, "negatives", "positives"), (1, "positives", "negatives")):
        purity = float((inside == cls).mean())
        other_inside, other_outside = 1.0 - purity, float((outside != cls).mean())
        if purity >= REGION_PURITY and other_inside * REGION_CONTRAST <= other_outside:
            return (
                f"equals {mode:g} on {_pct(k / n)} of rows, and {_pct(purity)} of those are {name} "
                f"({_pct(other_inside)} {other} there, {_pct(other_outside)} elsewhere)"
            )
    return ""


def near_copies(
    numeric: Mapping[str, np.ndarray], suspects: list[str], *, threshold: float, seed: int
) -> dict[str, tuple[float, str]]:
    """Columns whose values move with a suspect's (absolute Spearman correlation at least `threshold`).

    Returns column -> (correlation, evidence) for the columns of `numeric` not themselves in `suspects`.
    """
    anchors = [s for s in suspects if s in numeric]
    if not anchors:
        return {}
    n = len(next(iter(numeric.values())))
    rows = np.arange(n)
    if n > COPY_SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(n, COPY_SAMPLE_ROWS, replace=False))
    frame = pd.DataFrame({c: v[rows] for c, v in numeric.items()})
    ranks = frame.rank()
    out: dict[str, tuple[float, str]] = {}
    for column in frame.columns:
        if column in suspects:
            continue
        for anchor in anchors:
            both = frame[column].notna() & frame[anchor].notna()
            if int(both.sum()) < COPY_MIN_ROWS:
                continue
            a, b = ranks.loc[both, column], ranks.loc[both, anchor]
            if a.nunique() < 2 or b.nunique() < 2:
                continue
            rho = float(np.corrcoef(a.to_numpy(), b.to_numpy())[0, 1])
            if abs(rho) >= threshold:
                out[str(column)] = (
                    rho,
                    f"moves with the suspect {anchor!r} (rank correlation {rho:+.2f}): "
                    "the same measurement in another form",
                )
                break
    return out


def date_distances(
    days: Mapping[str, np.ndarray], y: np.ndarray, *, threshold: float
) -> dict[str, list[str]]:
    """For each pair of dates whose distance alone separates the outcome (AUC >= `threshold`) while
    neither date does on its own scale, evidence on both columns of the pair.

    `days` maps a date column to its values as days (NaN where empty).
    """
    names = list(days)
    out: dict[str, list[str]] = {}
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            distance = days[first] - days[second]
            both = ~np.isnan(distance)
            if int(both.sum()) < REGION_MIN_ROWS or len(np.unique(y[both])) < 2:
                continue
            auc = float(roc_auc_score(y[both], distance[both]))
            auc = max(auc, 1.0 - auc)
            if auc >= threshold:
                for column, other in ((first, second), (second, first)):
                    out.setdefault(column, []).append(
                        f"its distance from {other!r} alone reaches AUC {auc:.2f}: one of the two dates is "
                        "written when the outcome happens"
                    )
    return out


# A column and its sibling must agree on at least this share of rows to be read as a copy made at creation.
SIBLING_MIN_AGREEMENT = 0.5
SIBLING_MIN_CHANGED = 0.05
SIBLING_CONTRAST = 3.0


def changed_siblings(
    categorical: Mapping[str, pd.Series], y: np.ndarray, *, min_rows: int = REGION_MIN_ROWS
) -> dict[str, str]:
    """Pairs of columns that hold the same value on most rows, where the rows on which they differ have
    an outcome rate at least `SIBLING_CONTRAST` times higher or lower than elsewhere.

    Such a pair is a value set when the row was made and the same value changed later (a room or an owner
    assigned differently from the one asked for): which of the two changed cannot be told from the values,
    so both get the evidence and other families decide.
    """
    names = list(categorical)
    text = {c: categorical[c].astype("string").str.strip().str.casefold() for c in names}
    # the distinct values of each column, once (a pair sharing none cannot be a copy)
    levels = {c: {str(v) for v in text[c].dropna().unique()} for c in names}
    out: dict[str, str] = {}
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if not levels[first] & levels[second]:
                continue
            a, b = text[first], text[second]
            both = (a.notna() & b.notna()).to_numpy()
            if int(both.sum()) < min_rows:
                continue
            differ = both & (a != b).fillna(False).to_numpy(dtype=bool)
            agree = both & ~differ
            share_agree = float(agree.sum()) / float(both.sum())
            share_differ = float(differ.sum()) / len(y)
            if share_agree < SIBLING_MIN_AGREEMENT or share_differ < SIBLING_MIN_CHANGED:
                continue
            if int(differ.sum()) < min_rows:
                continue
            rate_differ, rate_agree = float(y[differ].mean()), float(y[agree].mean())
            low, high = sorted((rate_differ, rate_agree))
            if high >= SIBLING_CONTRAST * max(low, 1e-9):
                for column, other in ((first, second), (second, first)):
                    out.setdefault(
                        column,
                        f"differs from {other!r} on {_pct(share_differ)} of rows, where the outcome rate is "
                        f"{_pct(rate_differ)} against {_pct(rate_agree)} where they agree: a value changed "
                        "after the row was made",
                    )
    return out


_PART_SUFFIXES = {
    "year": ("year", "yr"),
    "month": ("month", "mon", "mo"),
    "day": ("day", "day_of_month", "dayofmonth", "dom", "date"),
}


def dates_from_parts(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Dates an export split into year, month and day columns sharing a prefix (``x_year``, ``x_month``,
    ``x_day_of_month``), put back together: name ``"<prefix> (year, month, day)"`` -> timestamps.

    Months may be numbers or month names. Rows whose parts do not make a date are missing.
    """
    by_prefix: dict[str, dict[str, str]] = {}
    for column in frame.columns:
        lowered = "_".join(name_tokens(str(column)))
        for part, suffixes in _PART_SUFFIXES.items():
            for suffix in suffixes:
                if lowered.endswith("_" + suffix) and len(lowered) > len(suffix) + 1:
                    prefix = lowered[: -len(suffix) - 1]
                    by_prefix.setdefault(prefix, {}).setdefault(part, str(column))
                    break
    out: dict[str, pd.Series] = {}
    for prefix, parts in by_prefix.items():
        if set(parts) != set(_PART_SUFFIXES):
            continue
        year = pd.to_numeric(frame[parts["year"]], errors="coerce")
        day = pd.to_numeric(frame[parts["day"]], errors="coerce")
        month_raw = frame[parts["month"]]
        month = pd.to_numeric(month_raw, errors="coerce")
        if month.isna().mean() > 0.5:
            names = month_raw.astype("string").str.strip().str[:3].str.casefold()
            month = names.map({m.casefold(): i + 1 for i, m in enumerate(_MONTHS)}).astype("float64")
        stamps = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
        if stamps.notna().mean() >= 0.5:
            out[f"{prefix} (year, month, day)"] = stamps
    return out


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
