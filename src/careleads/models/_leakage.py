"""Leakage audit: find columns that carry the outcome instead of predicting it.

Independent detectors look at each column of the training part, each leaving evidence a person can check:

``dictionary_after_outcome`` (strong)
    The data dictionary says the field is known only after the outcome.
``later_than_time_column`` (strong)
    At least 5% (and 5 rows) of the column's dates fall after the row's scoring moment, and the date does
    not read as a plan (``planned_date``): it is empty for one outcome more than the other, or later for
    one outcome more than the other. A smaller share is reported but tolerated as data-entry noise.
``near_perfect`` (strong)
    The column alone reaches AUC >= 0.95 on the training part (out-of-fold). Honest lead signals do not
    separate converters that cleanly; a field written after the outcome does.
``missing_tracks_label`` (strong when the gap is >= 80 points, or when one outcome has the value filled
    in (or empty) at least 10 times as often as the other, over at least 20 rows; weak from a 20-point gap
    with a 2x ratio)
    Whether the value is filled in differs between converters and non-converters: fields completed after a
    salesperson's contact are empty for leads nobody worked.
``filled_with_suspect`` (strong)
    At least 95% of the column's filled rows (10 or more) are rows where a sparse column with strong
    missingness evidence is filled: both come from the same post-outcome source, such as a joined deals
    table, even when the column alone is too sparse to separate the outcome.
``near_copy`` (strong)
    The column moves with a column already found to be a suspect (absolute rank correlation >= 0.95):
    the same post-outcome measurement in another unit or currency.
``moves_with_suspect`` (weak, copy)
    As ``near_copy`` from an absolute rank correlation of 0.90: a converted or rounded copy.
``far_better`` (weak, strength)
    The column alone reaches AUC >= 0.75 and beats every other column by at least 0.10.
``strong_alone`` (weak, strength)
    The column alone reaches AUC >= 0.80. Leaks often come in groups (an amount, its count, the same
    amount in another currency), so none of them is far better than the others.
``dominant_importance`` (weak, strength, after a first fit)
    The column holds at least half of the fitted model's importance and three times the next column's.
``value_region`` (weak, region)
    The column's most common value holds at least 5% of the rows (20 or more), one outcome is at least 90%
    of them, and the other outcome is at least ten times rarer there than elsewhere: a measurement that is
    zero exactly when nothing happened.
``status_name`` (weak, name)
    The column's name uses outcome/status words (status, stage, result, outcome, won, lost, closed,
    converted, quality, tag, disposition, qualified, ...).
``after_contact_name`` (weak, name)
    The column's name or its dictionary description speaks of something measured during or after the
    contact, or changed while the record lived (duration, talk time, paid, invoiced, attended, assigned,
    changes, modified, waiting list, ...).
``status_values`` (weak, values)
    At least 30% of the filled rows, over at least two distinct values, read like a status or the result
    of a contact attempt ("closed", "lost to", "will revert", "not interested", "wrong number", ...).
``activity_values`` (weak, values)
    At least 30% of the filled rows, over at least two distinct values, name an event of the record's
    activity history (an e-mail sent, opened or bounced, a call, a page visited, the record modified):
    one event of a history, which with a name saying which one (the last, the most recent) is read at
    export, after the scoring moment.
``planned_date`` (weak, timing)
    A date later than the scoring moment on most rows but filled in on (nearly) every row and later for
    both outcomes alike: a plan fixed when the row was made (an appointment day, a deadline), kept as a
    feature through its distance from the scoring moment. With a second, independent sign (a status
    name) it is a suspect.
``changed_value`` (weak, change)
    The column holds the same value as another column on most rows, and the rows where they differ (5% or
    more) have an outcome rate at least three times higher or lower: a value set when the row was made
    and changed later (a room or an owner assigned differently from the one asked for).
``date_distance`` (weak, timing)
    The distance between this date and another date of the row alone reaches AUC >= 0.95: one of the two
    is written when the outcome happens.

A column is a suspect with one strong detector or two weak ones from different families. Strength alone
is never enough: a strong honest feature, such as time spent on the website, is typically both far
better and dominant. It must be joined by a second, independent sign (a status-like name or values,
missingness that tracks the label, a value region that determines the outcome).
Suspects are excluded unless listed in ``keep``; the report says which were kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from careleads.dictionary import Dictionary, KnownAt, name_tokens, reads_as_dates
from careleads.errors import InputError
from careleads.models._leakage_evidence import (
    activity_values,
    after_contact_words,
    changed_siblings,
    date_distances,
    dates_from_parts,
    near_copies,
    value_region,
)
from careleads.models._tabular import infer_kinds, to_datetime, to_numeric

NEAR_PERFECT_AUC = 0.95
FAR_BETTER_AUC = 0.75
FAR_BETTER_GAP = 0.10
MISSING_GAP_WEAK = 0.20
MISSING_RATIO_WEAK = 2.0
MISSING_GAP_STRONG = 0.80
FILL_RATIO = 10.0
ANCHOR_MAX_FILLED = 0.5
CO_FILLED_SHARE = 0.95
CO_FILLED_MIN_ROWS = 10
FILL_RATIO_MIN_ROWS = 20
LATER_SHARE = 0.05
LATER_MIN_ROWS = 5
DOMINANT_SHARE = 0.50
DOMINANT_RATIO = 3.0
STATUS_VALUE_SHARE = 0.30
AUDIT_SAMPLE_ROWS = 200_000

STRONG_ALONE_AUC = 0.80
PLACEHOLDER_READING = " (left empty; cells holding a placeholder count as filled)"
NEAR_COPY_RHO = 0.95
MOVES_WITH_RHO = 0.90
PLAN_FILLED_SHARE = 0.95
PLAN_LATER_GAP = 0.20

STRONG = frozenset(
    {
        "dictionary_after_outcome",
        "later_than_time_column",
        "near_perfect",
        "missing_strong",
        "filled_with_suspect",
        "near_copy",
    }
)
# weak detector -> family; two weak detectors must come from different families
WEAK_FAMILY = {
    "far_better": "strength",
    "strong_alone": "strength",
    "dominant_importance": "strength",
    "status_name": "name",
    "after_contact_name": "name",
    "status_values": "values",
    "activity_values": "values",
    "missing_tracks_label": "missingness",
    "value_region": "region",
    "planned_date": "timing",
    "date_distance": "timing",
    "moves_with_suspect": "copy",
    "changed_value": "change",
}

STATUS_NAME_WORDS = frozenset(
    {
        "status", "stage", "stages", "result", "results", "outcome", "outcomes", "won", "win", "lost", "loss",
        "closed", "close", "closure", "converted", "conversion", "quality", "tag", "tags", "disposition",
        "qualified", "qualification", "disqualified", "unqualified", "reason", "lifecycle", "pipeline",
        "rating", "grade", "verdict", "resolution", "churn", "churned",
    }
)  # fmt: skip
# Phrases that describe where a lead stands after someone worked it. Matched on whole words.
STATUS_VALUE_PHRASES = (
    "won", "lost", "lost to", "closed", "closed won", "closed lost", "converted", "qualified", "disqualified",
    "unqualified", "not qualified", "interested", "not interested", "will revert", "revert", "reverted",
    "ringing", "busy", "switched off", "no answer", "not answering", "no response", "unreachable",
    "not reachable", "call back", "callback", "follow up", "followed up", "contacted", "not contacted",
    "attempted", "in progress", "pending", "rejected", "declined", "accepted", "cancelled", "canceled",
    "booked", "scheduled", "enrolled", "admitted", "already", "not eligible", "ineligible", "invalid number",
    "wrong number", "junk", "do not contact", "nurture", "recycled", "dead", "churned", "signed", "hangup",
    "hang up", "still thinking", "in touch", "in confirmation", "approved", "no show", "dropped",
    "opportunity", "deal", "sale", "sold", "appointment set", "meeting booked", "not doing",
)  # fmt: skip
_STATUS_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(p) for p in STATUS_VALUE_PHRASES), key=len, reverse=True)) + r")\b"
)


@dataclass(frozen=True)
class LeakageSuspect:
    """One column the audit looked at closely: which detectors fired and the evidence for each."""

    column: str
    detectors: tuple[str, ...]
    evidence: tuple[str, ...]
    suspect: bool
    excluded: bool
    kept: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "detectors": list(self.detectors),
            "evidence": list(self.evidence),
            "excluded": self.excluded,
            "kept": self.kept,
        }


@dataclass(frozen=True)
class LeakageReport:
    """What the audit found.

    ``suspects`` are the columns with enough evidence to be excluded (unless kept); ``watched`` are
    columns with a single weak sign, shown so that a person can judge them but used by the model.
    ``column_auc`` is each column's single-column AUC on the training part (missing where not computed).
    """

    suspects: tuple[LeakageSuspect, ...]
    watched: tuple[LeakageSuspect, ...]
    column_auc: Mapping[str, float]
    n_rows: int
    notes: tuple[str, ...] = field(default=())

    @property
    def excluded_columns(self) -> list[str]:
        return [s.column for s in self.suspects if s.excluded]

    @property
    def kept_columns(self) -> list[str]:
        return [s.column for s in self.suspects if s.kept]

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON ``leakage`` list: one entry per suspect."""
        return [s.to_dict() for s in self.suspects]

    def summary_lines(self) -> list[str]:
        lines = []
        for s in self.suspects:
            what = "kept by request despite the evidence" if s.kept else "excluded"
            lines.append(f"{s.column}: {what}; " + "; ".join(s.evidence))
        if not self.suspects:
            lines.append("No leakage suspects found.")
        return lines


def _stem(word: str) -> str:
    """A word without its -ing, -ed or -s ending ("closing" -> "clos" + "e" -> "close")."""
    for ending in ("ing", "ed", "s"):
        if word.endswith(ending) and len(word) > len(ending) + 3:
            stem = word[: -len(ending)]
            return stem + "e" if ending != "s" and stem + "e" in STATUS_NAME_WORDS else stem
    return word


def _normalise(value: str) -> str:
    return " ".join(re.split(r"[^a-z0-9]+", value.lower())).strip()


def _rank_auc(y: np.ndarray, x: np.ndarray) -> float:
    """Direction-free AUC of a numeric column, missing values placed at whichever end separates better."""
    filled = ~np.isnan(x)
    if filled.sum() == 0:
        return 0.5
    best = 0.5
    lo, hi = np.nanmin(x) - 1.0, np.nanmax(x) + 1.0
    for fill in (lo, hi) if (~filled).any() else (lo,):
        auc = float(roc_auc_score(y, np.where(filled, x, fill)))
        best = max(best, auc, 1.0 - auc)
    return best


def _encoded_auc(y: np.ndarray, values: pd.Series, seed: int) -> float:
    """AUC of out-of-fold target encoding (cross-fitted, so a level cannot predict its own rows)."""
    text = values.astype("string").fillna("(missing)").to_numpy(dtype=object).reshape(-1, 1)
    n_minority = int(min(y.sum(), len(y) - y.sum()))
    folds = StratifiedKFold(n_splits=max(2, min(5, n_minority)), shuffle=True, random_state=seed)
    encoder = TargetEncoder(target_type="binary", cv=folds)
    encoded = encoder.fit_transform(text, y)[:, 0]
    auc = float(roc_auc_score(y, encoded))
    return max(auc, 1.0 - auc)


def _is_missing(col: pd.Series) -> np.ndarray:
    missing = col.isna().to_numpy(dtype=bool, copy=True)
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
        text = col.astype("string").str.strip()
        missing |= (text.str.len() == 0).fillna(True).to_numpy(dtype=bool)
    return missing


def _missingness_evidence(missing: np.ndarray, y: np.ndarray, how: str) -> dict[str, str]:
    """Whether a column's missingness tracks the label: ``missing_strong`` or ``missing_tracks_label``
    with its evidence, or nothing. `how` says how missing was read (appended to the evidence)."""
    m_pos, m_neg = float(missing[y == 1].mean()), float(missing[y == 0].mean())
    gap = abs(m_pos - m_neg)
    ratio = (max(m_pos, m_neg) + 0.01) / (min(m_pos, m_neg) + 0.01)
    text = f"missing in {_pct(m_neg)} of negatives and {_pct(m_pos)} of positives{how}"
    rare_side = _rare_fill_evidence(missing, y)
    if gap >= MISSING_GAP_STRONG:
        return {"missing_strong": text + " (missingness alone separates the outcome)"}
    if rare_side:
        return {"missing_strong": rare_side + how}
    if gap >= MISSING_GAP_WEAK and ratio >= MISSING_RATIO_WEAK:
        return {"missing_tracks_label": text}
    return {}


def _rare_fill_evidence(missing: np.ndarray, y: np.ndarray) -> str:
    """Evidence when a value is filled in (or left empty) many times more often for one outcome.

    A field filled in only once a lead has converted (a deal size, a won-by owner) may be empty for most
    converters too, so the gap in missing rates is small; the ratio of fill rates is not.
    """
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    for state, word in ((~missing, "filled in"), (missing, "empty")):
        k_pos, k_neg = int(state[y == 1].sum()), int(state[y == 0].sum())
        r_pos, r_neg = (k_pos + 1) / (n_pos + 2), (k_neg + 1) / (n_neg + 2)
        for top, bottom, k_top, name, other in (
            (r_pos, r_neg, k_pos, "positives", "negatives"),
            (r_neg, r_pos, k_neg, "negatives", "positives"),
        ):
            if k_top >= FILL_RATIO_MIN_ROWS and top >= FILL_RATIO * bottom:
                return (
                    f"{word} for {_pct_fine(top)} of {name} but {_pct_fine(bottom)} of {other} "
                    f"({top / bottom:.0f} times as often)"
                )
    return ""


def _pct_fine(share: float) -> str:
    return f"{100 * share:.1f}%" if share < 0.1 else _pct(share)


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _kinds_from_dictionary(dictionary: Dictionary, columns: Iterable[str]) -> dict[str, str]:
    specs = {spec.name: spec for table in dictionary.tables.values() for spec in table.fields}
    mapping = {
        "identifier": "identifier",
        "category": "categorical",
        "number": "numeric",
        "boolean": "boolean",
        "datetime": "datetime",
        "text": "text",
    }
    return {c: mapping[str(specs[c].type)] for c in columns if c in specs}


def dominant_column(importance: Mapping[str, float]) -> str | None:
    """The column holding at least half of a model's importance and three times the next one's, if any."""
    total = float(sum(max(0.0, v) for v in importance.values()))
    if total <= 0:
        return None
    ranked = sorted(importance.items(), key=lambda kv: -kv[1])
    top, top_value = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top_value / total >= DOMINANT_SHARE and top_value >= DOMINANT_RATIO * max(second, 1e-12):
        return top
    return None


def audit_leakage(
    frame: pd.DataFrame,
    *,
    label: str,
    dictionary: Dictionary | None = None,
    time_column: str | None = None,
    fitted_importance: Mapping[str, float] | None = None,
    kinds: Mapping[str, str] | None = None,
    keep: Sequence[str] = (),
    ignore: Sequence[str] = (),
    seed: int = 0,
    written_missing: Mapping[str, np.ndarray] | None = None,
) -> LeakageReport:
    """Audit every column of a training frame for leakage of the outcome.

    Parameters
    ----------
    frame
        The training part (never the test part), one row per lead.
    label
        The 0/1 outcome column in ``frame``.
    dictionary
        Optional data dictionary; fields marked ``known: after_outcome`` are suspects.
    time_column
        The scoring moment of each row; dates later than it are suspects.
    fitted_importance
        Importance per input column from a first fitted model; enables the dominance detector.
    kinds
        Column -> kind (``numeric``, ``categorical``, ``boolean``, ``datetime``, ``text``, ``identifier``).
        Defaults to the dictionary's types, then to a guess from the dtypes.
    keep
        Suspects to keep as features anyway; they stay listed with their evidence.
    ignore
        Columns not to audit (for example a group column).
    seed
        Seed of the out-of-fold split and of the row sample on very large frames.
    written_missing
        Column -> rows (aligned with ``frame``) whose cell held something read as missing, such as a
        "not chosen" placeholder, rather than nothing. Where given, missingness is also tested with those
        rows counted as filled: a field nobody touched differs from one set to "not chosen".

    Returns
    -------
    LeakageReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> frame = pd.DataFrame({"y": y, "visits": rng.poisson(3 + y), "stage": np.where(y, "Won", "Lost")})
    >>> report = audit_leakage(frame, label="y")
    >>> report.excluded_columns
    ['stage']
    """
    if label not in frame.columns:
        raise InputError(f"label column {label!r} is not in the table")
    target = pd.to_numeric(frame[label], errors="coerce")
    if target.isna().any() or not target.isin([0, 1]).all():
        raise InputError(f"label column {label!r} must hold 0/1 values for the audit")
    unknown_keep = [c for c in keep if c not in frame.columns]
    if unknown_keep:
        raise InputError(f"--keep names columns that are not in the table: {unknown_keep}")
    notes: list[str] = []
    data = frame
    if len(frame) > AUDIT_SAMPLE_ROWS:
        data = frame.sample(n=AUDIT_SAMPLE_ROWS, random_state=seed)
        notes.append(f"Single-column checks ran on a random sample of {AUDIT_SAMPLE_ROWS:,} training rows.")
    y = pd.to_numeric(data[label]).to_numpy(dtype=np.int64)
    skip = {label, *ignore}
    if time_column is not None:
        skip.add(time_column)
    columns = [str(c) for c in data.columns if c not in skip]
    col_kinds: dict[str, str] = infer_kinds(data[columns])  # type: ignore[assignment]
    if dictionary is not None:
        col_kinds.update(_kinds_from_dictionary(dictionary, columns))
    if kinds is not None:
        col_kinds.update({c: k for c, k in kinds.items() if c in col_kinds})

    fired: dict[str, dict[str, str]] = {c: {} for c in columns}
    # each column parsed once: numbers, and dates (the scoring moment among them)
    numbers = {
        c: to_numeric(data[c]).to_numpy() for c in columns if col_kinds.get(c) in ("numeric", "boolean")
    }
    dates = {c: to_datetime(data[c]) for c in columns if col_kinds.get(c) == "datetime"}
    moment = to_datetime(data[time_column]) if time_column is not None else None

    # --- dictionary
    descriptions: dict[str, str] = {}
    if dictionary is not None:
        for table in dictionary.tables.values():
            for spec in table.fields:
                if spec.name in fired:
                    descriptions[spec.name] = spec.description.strip()
                if spec.name in fired and spec.known is KnownAt.AFTER_OUTCOME:
                    about = f" ({spec.description.strip()})" if spec.description.strip() else ""
                    fired[spec.name]["dictionary_after_outcome"] = f"dictionary: known after_outcome{about}"

    # --- dates after the scoring moment: a leak, or a plan fixed when the row was made
    if time_column is not None and moment is not None:
        for c, stamp in dates.items():
            both = (stamp.notna() & moment.notna()).to_numpy()
            later = (stamp > moment).to_numpy() & both
            n_later = int(later.sum())
            share = n_later / max(1, int(both.sum()))
            text = f"{_pct(share)} of values ({n_later:,}) are later than the time column {time_column!r}"
            if share >= LATER_SHARE and n_later >= LATER_MIN_ROWS:
                fired[c].update(_later_dates(later, both, stamp.notna().to_numpy(), y, text, time_column))
            elif n_later:
                notes.append(f"{c}: {text}; below the {_pct(LATER_SHARE)} threshold, kept")
    # --- distances between two dates of a row (dates split into parts put back together)
    stamps = dict(dates)
    for c in columns:
        if col_kinds.get(c) in ("categorical", "text") and c not in stamps:
            read = _dates_in_text(data[c])
            if read is not None:
                stamps[c] = read
    stamps.update(dates_from_parts(data[columns]))
    if len(stamps) >= 2 and 0 < int(y.sum()) < len(y):
        epoch = pd.Timestamp("1970-01-01")
        as_days = {c: ((s - epoch).dt.total_seconds() / 86400.0).to_numpy() for c, s in stamps.items()}
        for c, distance in date_distances(as_days, y, threshold=NEAR_PERFECT_AUC).items():
            if c in fired:
                fired[c]["date_distance"] = distance[0]

    # --- a value copied at creation and changed later (a sibling column that mostly agrees)
    categorical = {c: data[c] for c in columns if col_kinds.get(c) == "categorical"}
    if 0 < int(y.sum()) < len(y):
        for c, evidence in changed_siblings(categorical, y).items():
            fired[c]["changed_value"] = evidence

    # --- missingness that tracks the label
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    positions = frame.index.get_indexer(data.index)
    for c in columns:
        if n_pos == 0 or n_neg == 0:
            break
        missing = _is_missing(data[c])
        readings: list[tuple[np.ndarray, str]] = [(missing, "")]
        if written_missing is not None and c in written_missing:
            written = np.asarray(written_missing[c], dtype=bool)[positions]
            readings.append((missing & ~written, PLACEHOLDER_READING))
        for reading, how in readings:
            tracks = _missingness_evidence(reading, y, how)
            if tracks:
                fired[c].update(tracks)
                break

    # --- filled in together with a column whose filling tracks the outcome (the same post-outcome source)
    filled = {c: ~_is_missing(data[c]) for c in columns}
    anchors = [
        c for c in columns if "missing_strong" in fired[c] and 0 < filled[c].mean() < ANCHOR_MAX_FILLED
    ]
    for c in columns:
        n_filled = int(filled[c].sum())
        if n_filled < CO_FILLED_MIN_ROWS or any(d in STRONG for d in fired[c]):
            continue
        for anchor in anchors:
            if anchor == c:
                continue
            together = int((filled[c] & filled[anchor]).sum())
            if together >= CO_FILLED_SHARE * n_filled:
                fired[c]["filled_with_suspect"] = (
                    f"filled in only where {anchor!r} is filled "
                    f"({together:,} of its {n_filled:,} filled rows), "
                    f"and {anchor!r} is filled in depending on the outcome"
                )
                break

    # --- names and values that describe a status or outcome
    for c in columns:
        words = [w for w in name_tokens(c) if w in STATUS_NAME_WORDS or _stem(w) in STATUS_NAME_WORDS]
        if words:
            fired[c]["status_name"] = f"name contains the status word(s) {', '.join(repr(w) for w in words)}"
        contact = after_contact_words(c, descriptions.get(c, ""))
        if contact and not words:
            fired[c]["after_contact_name"] = contact
        if col_kinds.get(c) in ("categorical", "text", "identifier") and not pd.api.types.is_numeric_dtype(
            data[c]
        ):
            counts = data[c].dropna().astype(str).value_counts()
            counts = counts[counts.index.str.strip().str.len() > 0]
            if counts.empty:
                continue
            matched = [v for v in counts.index if _STATUS_RE.search(_normalise(v))]
            share = float(counts[matched].sum()) / float(counts.sum()) if matched else 0.0
            if share >= STATUS_VALUE_SHARE and len(matched) >= 2:
                examples = ", ".join(repr(v[:60]) for v in matched[:3])
                fired[c]["status_values"] = (
                    f"values look like a status: {examples} ({_pct(share)} of filled rows)"
                )
            events = activity_values(data[c])
            if events:
                fired[c]["activity_values"] = events

    # --- single-column strength
    column_auc: dict[str, float] = {}
    if n_pos >= 2 and n_neg >= 2:
        for c in columns:
            kind = col_kinds.get(c, "categorical")
            col = data[c]
            if kind == "identifier" or (kind == "text" and col.nunique() > 0.5 * len(col)):
                continue
            if kind == "numeric":
                column_auc[c] = _rank_auc(y, numbers[c])
            elif kind == "datetime":
                stamp = dates[c]
                days = (stamp - moment) if moment is not None else (stamp - stamp.min())
                column_auc[c] = _rank_auc(y, days.dt.total_seconds().to_numpy(dtype=np.float64))
            else:
                column_auc[c] = _encoded_auc(y, col, seed)
        ranked = sorted(column_auc.items(), key=lambda kv: -kv[1])
        for i, (c, auc) in enumerate(ranked):
            others = [(o, a) for j, (o, a) in enumerate(ranked) if j != i]
            nxt = f"; the best other column {others[0][0]!r} {others[0][1]:.2f}" if others else ""
            text = f"alone reaches AUC {auc:.2f} on the training part{nxt}"
            if auc >= NEAR_PERFECT_AUC:
                fired[c]["near_perfect"] = text
            elif auc >= FAR_BETTER_AUC and (not others or auc - others[0][1] >= FAR_BETTER_GAP):
                fired[c]["far_better"] = text
            elif auc >= STRONG_ALONE_AUC:
                fired[c]["strong_alone"] = text

    # --- a value region where one outcome is (almost) alone
    if n_pos and n_neg:
        for c, values in numbers.items():
            region = value_region(values, y)
            if region:
                fired[c]["value_region"] = region

    # --- dominance in a fitted model
    if fitted_importance:
        top = dominant_column(fitted_importance)
        if top is not None and top in fired:
            total = float(sum(max(0.0, v) for v in fitted_importance.values()))
            ranked_imp = sorted(fitted_importance.items(), key=lambda kv: -kv[1])
            second = ranked_imp[1] if len(ranked_imp) > 1 else None
            second_text = f"; the next column {second[0]!r} {second[1] / total:.0%}" if second else ""
            fired[top]["dominant_importance"] = (
                f"holds {fitted_importance[top] / total:.0%} of the fitted model's importance{second_text}"
            )

    # --- copies of a suspect: the same measurement in another unit or currency
    numeric = {c: values for c, values in numbers.items() if col_kinds.get(c) == "numeric"}
    first = [c for c in columns if _is_suspect(fired[c])]
    for c, (rho, evidence) in near_copies(numeric, first, threshold=MOVES_WITH_RHO, seed=seed).items():
        fired[c]["near_copy" if abs(rho) >= NEAR_COPY_RHO else "moves_with_suspect"] = evidence

    suspects: list[LeakageSuspect] = []
    watched: list[LeakageSuspect] = []
    keep_set = set(keep)
    for c in columns:
        found = fired[c]
        if not found:
            continue
        is_suspect = _is_suspect(found)
        kept = is_suspect and c in keep_set
        names = tuple("missing_tracks_label" if d == "missing_strong" else d for d in found)
        entry = LeakageSuspect(
            column=c,
            detectors=names,
            evidence=tuple(found.values()),
            suspect=is_suspect,
            excluded=is_suspect and not kept,
            kept=kept,
        )
        (suspects if is_suspect else watched).append(entry)
    not_suspect_keep = sorted(keep_set - {s.column for s in suspects})
    if not_suspect_keep:
        notes.append(f"--keep {', '.join(not_suspect_keep)}: not a leakage suspect, nothing to put back")
    return LeakageReport(
        suspects=tuple(suspects),
        watched=tuple(watched),
        column_auc=column_auc,
        n_rows=len(data),
        notes=tuple(notes),
    )


def _dates_in_text(col: pd.Series) -> pd.Series | None:
    """The column as timestamps when the dictionary would type it as dates (a CSV read without a
    dictionary leaves dates as text), else None."""
    return to_datetime(col) if reads_as_dates(col) else None


def _is_suspect(found: Mapping[str, str]) -> bool:
    """One strong detector, or weak ones from two different families."""
    families = {WEAK_FAMILY[d] for d in found if d in WEAK_FAMILY}
    return any(d in STRONG for d in found) or len(families) >= 2


def _later_dates(
    later: np.ndarray, both: np.ndarray, filled: np.ndarray, y: np.ndarray, text: str, time_column: str
) -> dict[str, str]:
    """A date later than the scoring moment: a plan when filled on (nearly) every row and later for both
    outcomes alike (weak evidence), else a leak (strong)."""
    rates = []
    for cls in (1, 0):
        rows = both & (y == cls)
        rates.append(float(later[rows].sum()) / max(1, int(rows.sum())))
    filled_share = float(filled.mean())
    alike = f"later for {_pct(rates[0])} of positives and {_pct(rates[1])} of negatives"
    if filled_share >= PLAN_FILLED_SHARE and abs(rates[0] - rates[1]) < PLAN_LATER_GAP:
        return {
            "planned_date": (
                f"{text}, but filled in on {_pct(filled_share)} of rows and {alike}: read as a date "
                f"planned when the row was made; its distance from {time_column!r} is a feature"
            )
        }
    return {"later_than_time_column": f"{text} ({alike}; filled in on {_pct(filled_share)} of rows)"}
