"""Leakage audit and evaluation: ``python benchmarks/bench_audit.py [--synthetic 6] [--only NAME]``.

Runs `careleads.models.evaluate_file` on real lead files (``../shared/data``, answer keys in
``benchmarks/audit_keys.yaml``) and on generated files that plant leaks and decoys at random column names
(each with its own answer key), and measures, against the key:

- the audit's precision and recall: a leak is caught when it is not among the model's features (excluded by
  the audit or left out for another reason); a false positive is a column that must be kept (an honest
  signal, a planned date, a lead time) and is not among them;
- whether a planned date or lead-time column was left out, and whether a column that is never a feature
  (an identifier, a row index, a sensitive attribute) was used;
- careleads' test AUC, ECE and AUC before and after calibration; then, on the same rows, the same split and
  the same feature columns, a plain LightGBM (default settings) and a plain logistic regression;
- whether a drift warning named the outcome's base rate (planted in some generated files).

Prints one JSON object, then a per-file table and the totals. Real files are skipped, with the reason,
where ``../shared/data`` is absent. The answer keys are benchmark data: product code never names these
columns.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import _common

HERE = Path(__file__).resolve().parent
KEYS = HERE / "audit_keys.yaml"
DATA = HERE.parent.parent / "shared" / "data"

# the roles of a column in an answer key
LEAK, SUSPECT, KEEP, NEVER = "leak", "suspect", "keep", "never"
# acceptance: careleads' AUC within this of the better plain model; ECE at most this (or a base-rate
# warning); AUC before and after calibration within this
AUC_MARGIN = 0.01
MAX_ECE = 0.03
CALIBRATION_AUC_GAP = 0.005
ROLES = (LEAK, SUSPECT, KEEP, NEVER)
# kinds of must-keep column that say when something is planned, not what happened
PLANNED_KINDS = frozenset({"planned_date", "lead_time"})

SYNTHETIC_ROWS = 3_000
SYNTHETIC_FILES = 6
SYNTHETIC_START = pd.Timestamp("2022-01-01")
SYNTHETIC_SPAN_DAYS = 730
# share of the latest rows whose base rate drops in a file with planted drift (the test part is the last 20%)
DRIFT_SHARE = 0.25

Key = dict[str, Any]


# ---------------------------------------------------------------------------------------------------------
# the synthetic generator


_FIRST_WORDS = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel",
    "lumen", "maple", "nova", "onyx", "pecan", "quill", "raven", "sable", "tundra", "umber", "vesper",
    "willow", "yarrow", "zinc", "copper", "meadow", "orbit", "prism", "slate",
)  # fmt: skip
_SECOND_WORDS = (
    "ledger", "mark", "code", "value", "note", "level", "ref", "count", "point", "entry", "item", "metric",
    "tally", "slot", "band", "key", "unit", "trace", "sign", "field",
)  # fmt: skip
_NEUTRAL_PREFIXES = ("field", "col", "attr", "var", "x", "f")
# realistic names for each kind of column (one is drawn at random, or a neutral name instead)
_REALISTIC: dict[str, tuple[str, ...]] = {
    "status": ("crm_status", "disposition", "call_outcome", "sales_stage", "last_result", "follow_up_state"),
    "outcome_date": ("closed_on", "last_touch_date", "decision_date", "updated_at", "completed_date"),
    "post_contact": ("call_seconds", "amount_paid", "consult_minutes", "deposit_amount", "talk_time"),
    "planned_date": ("requested_start", "appointment_date", "preferred_date", "course_start", "event_date"),
    "lead_time": ("lead_days", "days_ahead", "days_to_start", "notice_days", "booking_window"),
    "identifier": ("lead_ref", "external_id", "record_key", "crm_id", "contact_uuid"),
    "index": ("index", "row", "rownum", "n"),
    "age": ("age", "patient_age", "age_years", "client_age"),
    "condition": ("chronic_condition", "diagnosis", "health_flag", "dx_primary", "condition_code"),
    "strong_honest": ("pages_before_request", "site_minutes", "form_completeness", "prior_inquiries"),
    "honest_count": ("visits", "email_opens", "referrals", "ad_clicks", "page_views"),
    "honest_distance": ("distance_km", "travel_minutes", "km_to_clinic", "commute_km"),
    "honest_category": ("channel", "region", "plan_interest", "device", "campaign"),
    "honest_flag": ("newsletter", "mobile", "returning", "weekend_inquiry"),
    "time": ("created_at", "received_at", "inquiry_time", "submitted", "first_seen"),
    "label": ("converted", "enrolled", "booked", "signed_up"),
}
_POSITIVE_STATUS = (
    "Closed - won", "Enrolled", "Will revert after reading the email", "Appointment set", "Deposit received",
    "Signed", "Meeting booked",
)  # fmt: skip
_NEGATIVE_STATUS = (
    "Not interested", "Ringing", "Lost to competitor", "Wrong number", "Already a client elsewhere",
    "Switched off", "No answer", "Busy", "Do not contact",
)  # fmt: skip
_CONDITIONS = ("diabetes", "hypertension", "asthma", "COPD", "depression")
_CHANNELS = ("web", "phone", "referral", "partner", "event", "social", "print")


@dataclass(frozen=True)
class SyntheticFile:
    """A generated lead file: its rows as written (``frame``), its answer key, and how to write it."""

    frame: pd.DataFrame
    key: Key
    # the frame's index is written as a first column with an empty header (read back as ``Unnamed: 0``)
    unnamed_index: bool

    def write(self, path: Path) -> Path:
        """Write the CSV; returns `path`."""
        if self.unnamed_index:
            self.frame.to_csv(path, index=True, index_label="")
        else:
            self.frame.to_csv(path, index=False)
        return path


class _Names:
    """Unique column names: neutral (``field_17``), random word pairs, or realistic for the kind."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._used: set[str] = {"", "Unnamed: 0"}

    def draw(self, kind: str, *, realistic: bool | None = None) -> str:
        rng = self._rng
        for _ in range(100):
            style = rng.integers(3) if realistic is None else (2 if realistic else rng.integers(2))
            if style == 0:
                name = f"{rng.choice(_NEUTRAL_PREFIXES)}_{rng.integers(1, 100)}"
            elif style == 1:
                name = f"{rng.choice(_FIRST_WORDS)}_{rng.choice(_SECOND_WORDS)}"
            else:
                name = str(rng.choice(_REALISTIC[kind]))
            if name not in self._used:
                self._used.add(name)
                return name
        raise RuntimeError(f"no free column name for {kind}")  # pragma: no cover


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def _days(values: np.ndarray) -> pd.TimedeltaIndex:
    return pd.to_timedelta(values, unit="D")


def generate_file(seed: int, n_rows: int = SYNTHETIC_ROWS) -> SyntheticFile:
    """A lead CSV with honest signals (AUC about 0.7 together) and planted leaks and decoys.

    Every column has a random name (neutral, a random word pair or a realistic one) and a role in the
    answer key: ``leak`` (must be left out), ``keep`` (honest, must be used) or ``never`` (never a
    feature). The kinds planted:

    - leaks: ``status`` (sales-status values that decide the outcome), ``outcome_date`` (filled for
      converters only, or for everyone at a distance tied to the outcome), ``post_contact`` (a measurement
      of the deciding contact: empty or zero for most non-converters; AUC alone 0.8-0.9);
    - decoys to keep: ``planned_date`` (fixed at creation, later than the scoring moment on every row,
      weakly predictive through its distance), ``lead_time`` (that distance in days), ``strong_honest``
      (AUC about 0.75 alone), and the honest signals (``honest``);
    - never features: ``identifier`` (unique per row), ``index`` (row numbers, sometimes an unnamed
      column), ``sensitive`` (age or a health condition, weakly predictive).

    Some files (drawn from the seed) have a planted drop of the base rate in their latest rows.

    Parameters
    ----------
    seed : int
        Everything, names included, follows from it.
    n_rows : int
        Rows of the file.

    Returns
    -------
    SyntheticFile
    """
    rng = np.random.default_rng(seed)
    names = _Names(rng)
    n = n_rows
    time_name = names.draw("time", realistic=True)
    label_name = names.draw("label", realistic=True)
    seconds = np.sort(rng.integers(0, SYNTHETIC_SPAN_DAYS * 86_400, n))
    moment = SYNTHETIC_START + pd.to_timedelta(seconds, unit="s")
    position = np.arange(n) / max(n - 1, 1)

    columns: dict[str, Any] = {}
    roles: dict[str, dict[str, str]] = {}

    def add(kind: str, role: str, values: Any, why: str, *, name: str | None = None) -> str:
        column = name if name is not None else names.draw(kind)
        columns[column] = values
        roles[column] = {"role": role, "kind": kind, "why": why}
        return column

    # honest signals, known when the lead arrives
    visits = rng.poisson(3.0, n)
    distance = np.round(rng.gamma(2.0, 12.0, n), 1)
    channel_levels = list(rng.choice(_CHANNELS, 5, replace=False))
    channel = rng.choice(channel_levels, n, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    channel_effect = dict(zip(channel_levels, rng.normal(0.0, 0.6, 5), strict=True))
    returning = rng.random(n) < 0.3
    strong = rng.normal(0.0, 1.0, n)
    lead_days = rng.integers(3, 181, n)
    sensitive_kind = "age" if rng.random() < 0.5 else "condition"
    age = rng.integers(18, 90, n)
    condition = rng.random(n) < 0.25
    sensitive_effect = 0.012 * (age - 50) if sensitive_kind == "age" else 0.45 * condition
    drift = bool(rng.random() < 0.5)

    logit = (
        -1.1
        + 0.25 * (visits - 3.0)
        - 0.022 * (distance - 24.0)
        + np.vectorize(channel_effect.get)(channel)
        + 0.5 * returning
        + 1.2 * strong
        - 0.004 * (lead_days - 90)
        + sensitive_effect
    )
    if drift:
        logit = logit - 1.0 * (position >= 1.0 - DRIFT_SHARE)
    y = (rng.random(n) < _sigmoid(logit)).astype(np.int64)
    pos = y == 1

    visits_f = visits.astype(np.float64)
    visits_f[rng.random(n) < 0.04] = np.nan
    add("honest_count", KEEP, visits_f, "web visits before the request (known at arrival)")
    add("honest_distance", KEEP, distance, "distance to the nearest site (known at arrival)")
    add("honest_category", KEEP, channel, "the channel the lead came through")
    add("honest_flag", KEEP, np.where(returning, "yes", "no"), "a returning visitor (known at arrival)")
    add("strong_honest", KEEP, np.round(50 + 15 * strong, 1), "engagement before the request; AUC ~0.75")

    # (d, e) a planned date fixed at creation and its distance from the scoring moment
    planned = moment.normalize() + _days(lead_days)
    add("planned_date", KEEP, planned.strftime("%Y-%m-%d"), "planned at creation, later than the moment")
    add("lead_time", KEEP, lead_days, "days from the scoring moment to the planned date")

    # (a) a sales status that decides the outcome
    won = list(rng.choice(_POSITIVE_STATUS, 3, replace=False))
    lost = list(rng.choice(_NEGATIVE_STATUS, 5, replace=False))
    draw = rng.random(n)
    status = np.where(
        pos,
        np.where(draw < 0.88, rng.choice(won, n), rng.choice(lost, n)),
        np.where(draw < 0.30, "", np.where(draw < 0.92, rng.choice(lost, n), rng.choice(won, n))),
    )
    add("status", LEAK, status, "where sales left the lead: written after contact, decides the outcome")

    # (b) the date the outcome happened
    if rng.random() < 0.5:
        done = moment + _days(rng.uniform(2, 60, n))
        text = np.where(pos, done.strftime("%Y-%m-%d"), "")
        why = "date of the conversion: filled for converters only"
    else:
        after = np.where(pos, rng.uniform(15, 90, n), rng.uniform(0, 20, n))
        text = np.asarray((moment + _days(after)).strftime("%Y-%m-%d %H:%M"))
        why = "date the lead was closed: filled for everyone, later for converters"
    add("outcome_date", LEAK, text, why)

    # (c) a measurement of the deciding contact
    measured = np.where(pos, rng.lognormal(6.0, 0.8, n), rng.lognormal(5.2, 0.9, n))
    nothing = np.where(pos, rng.random(n) < 0.05, rng.random(n) < 0.55)
    post = np.round(measured, 0 if rng.random() < 0.5 else 2)
    post[nothing] = 0.0 if rng.random() < 0.5 else np.nan
    add("post_contact", LEAK, post, "measured at the deciding contact: empty or zero for most losses")

    # (f, h) an identifier and a sensitive attribute
    id_style = rng.integers(3)
    unique = rng.choice(10**9, n, replace=False)
    if id_style == 0:
        ids: Any = [f"{a:08x}-{b:016x}" for a, b in zip(unique, rng.integers(0, 2**62, n), strict=True)]
    elif id_style == 1:
        ids = [f"L-{u:09d}" for u in unique]
    else:
        ids = unique + 10**9
    add("identifier", NEVER, ids, "unique per row: names the lead, predicts nothing")
    # a sensitive attribute is planted so that an analyst could recognise it: by a telling name, or by
    # values that name conditions; a yes/no flag or a number under a neutral name is anyone's guess
    if sensitive_kind == "age":
        name = names.draw("age", realistic=True)
        add("age", NEVER, age, "age: a sensitive attribute, never a feature", name=name)
    else:
        which = rng.choice(_CONDITIONS, n)
        named = rng.random() < 0.5
        values = np.where(condition, which, "") if named else np.where(condition, "Y", "N")
        name = names.draw("condition", realistic=None if named else True)
        add("condition", NEVER, values, "a health condition: never a feature", name=name)

    # the rows as exported: sorted by time, or in another order
    frame = pd.DataFrame(columns)
    frame.insert(0, time_name, moment.strftime("%Y-%m-%d %H:%M:%S"))
    frame[label_name] = y
    order = np.arange(n) if rng.random() < 0.5 else rng.permutation(n)
    frame = frame.iloc[order]
    shuffled = list(frame.columns)
    rng.shuffle(shuffled)
    frame = frame[shuffled].reset_index(drop=True)

    # (g) a row index: unnamed (a data frame's index written out) or named; rising, or left from a re-sort
    unnamed = bool(rng.random() < 0.5)
    start = int(rng.integers(2))
    index_values = np.arange(start, start + n) if rng.random() < 0.7 else np.argsort(order) + start
    why_index = "row numbers: where the row sits in a file, not a property of the lead"
    if unnamed:
        frame.index = pd.Index(index_values)
        roles["Unnamed: 0"] = {"role": NEVER, "kind": "index", "why": why_index}
    else:
        index_name = names.draw("index")
        frame.insert(int(rng.integers(frame.shape[1] + 1)), index_name, index_values)
        roles[index_name] = {"role": NEVER, "kind": "index", "why": why_index}

    key: Key = {
        "run": {"label": label_name, "positive": "1", "time_column": time_name},
        "columns": roles,
        "base_rate_drift": drift,
    }
    return SyntheticFile(frame=frame, key=key, unnamed_index=unnamed)


# ---------------------------------------------------------------------------------------------------------
# the real files


def load_keys(path: Path = KEYS) -> dict[str, Key]:
    """The real files' run specifications and answer keys, by file name."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    files: dict[str, Key] = document["files"]
    for name, key in files.items():
        for column, entry in key["columns"].items():
            if entry["role"] not in ROLES:
                raise ValueError(f"{path}: {name}: {column}: unknown role {entry['role']!r}")
    return files


def build_olist(key: Key, data: Path, folder: Path) -> Path:
    """The MQL file joined with the closed deals on ``mql_id``, labelled as ``key['build']`` says.

    As in ``tests/test_evaluate_realdata.py``: a lead converted when its deal was won within the window
    after first contact; leads that had not had the whole window by the deals export's end are left out.
    """
    build = key["build"]
    leads = pd.read_csv(data / build["leads"], dtype=str)
    deals = pd.read_csv(data / build["deals"], dtype=str)
    joined = leads.merge(deals, on="mql_id", how="left")
    contact = pd.to_datetime(joined["first_contact_date"])
    won = pd.to_datetime(joined["won_date"])
    window = pd.Timedelta(days=int(build["window_days"]))
    matured = contact <= won.max() - window
    label = key["run"]["label"]
    joined[label] = ((won - contact) <= window).astype(int)
    path = folder / "olist_with_deals.csv"
    joined.loc[matured, [*leads.columns, label, *deals.columns[1:]]].to_csv(path, index=False)
    return path


_BUILDERS: dict[str, Callable[[Key, Path, Path], Path]] = {"olist_join": build_olist}


def real_path(key: Key, data: Path, folder: Path) -> tuple[Path | None, str | None]:
    """The file to evaluate (built in `folder` when the key says how), or None and why it is skipped."""
    sources = [key["path"]] if "path" in key else [key["build"]["leads"], key["build"]["deals"]]
    missing = [s for s in sources if not (data / s).exists()]
    if missing:
        return None, f"{data / missing[0]} is absent (see ../shared/data/README.md)"
    if "path" in key:
        return data / key["path"], None
    return _BUILDERS[key["build"]["kind"]](key, data, folder), None


# ---------------------------------------------------------------------------------------------------------
# measuring one file


def score_audit(
    features: Sequence[str],
    excluded: Sequence[Mapping[str, str]],
    key: Key,
    *,
    looked_at: Sequence[str] = (),
) -> dict[str, Any]:
    """The audit against the key: leaks caught, must-keep columns lost, never-features used.

    A leak is caught when it is not a feature; a must-keep column not among the features is a false
    positive (its reason is given); a column with role ``never`` among the features is a violation. A
    suspect (a judgement call the key leaves to the user) is shown when it is left out or the audit lists
    it with its evidence (`looked_at`: the audit's suspects and watched columns).
    """
    used = set(features)
    reasons = {e["column"]: e["reason"] for e in excluded}
    roles: dict[str, dict[str, str]] = key["columns"]

    def having(role: str) -> list[str]:
        return [c for c, entry in roles.items() if entry["role"] == role]

    leaks, suspects, keep, never = (having(r) for r in ROLES)
    lost = [c for c in keep if c not in used]
    return {
        "leaks": len(leaks),
        "caught": sum(c not in used for c in leaks),
        "missed": [c for c in leaks if c in used],
        "suspects": len(suspects),
        "suspects_caught": sum(c not in used for c in suspects),
        "suspects_shown": sum(c not in used or c in set(looked_at) for c in suspects),
        "false_positives": {c: reasons.get(c, "not a feature") for c in lost},
        "planned_excluded": [c for c in lost if roles[c]["kind"] in PLANNED_KINDS],
        "never_used": [c for c in never if c in used],
    }


def _derived_time_part(name: str, time_column: str | None) -> str | None:
    if time_column is not None and name.startswith(f"{time_column}__"):
        return name.split("__", 1)[1]
    return None


def plain_matrix(
    frame: pd.DataFrame, kinds: Mapping[str, str], features: Sequence[str], time_column: str | None
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The feature columns as plain models read them: numbers, and categories as pandas ``category``.

    A date becomes days after the row's scoring moment (days since 1970 without a time column); the time
    column itself becomes its month, weekday and hour, as careleads derives them. Returns the matrix and
    its numeric and categorical column names.
    """
    from careleads.models._tabular import to_datetime, to_numeric

    moment = to_datetime(frame[time_column]) if time_column is not None else None
    out: dict[str, pd.Series] = {}
    numeric: list[str] = []
    categorical: list[str] = []
    for name in features:
        part = _derived_time_part(name, time_column)
        kind = kinds.get(name, "numeric")
        if part is not None and moment is not None:
            values = moment.dt.day_of_week if part == "weekday" else getattr(moment.dt, part)
            out[name] = values.astype("float64")
        elif name == time_column and moment is not None:
            for p in ("month", "weekday", "hour"):
                col = f"{name}__{p}"
                out[col] = (moment.dt.day_of_week if p == "weekday" else getattr(moment.dt, p)).astype(float)
                numeric.append(col)
            continue
        elif kind == "datetime":
            stamps = to_datetime(frame[name])
            anchor = moment if moment is not None else pd.Series(pd.Timestamp(0), index=frame.index)
            out[name] = (stamps - anchor).dt.total_seconds() / 86_400
        elif kind in ("numeric", "boolean"):
            out[name] = to_numeric(frame[name])
        else:
            text = frame[name].astype("string")
            out[name] = text.where(text.str.strip().str.len() > 0).astype("category")
            categorical.append(name)
            continue
        numeric.append(name)
    return pd.DataFrame(out, index=frame.index), numeric, categorical


def plain_aucs(
    matrix: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
) -> dict[str, float]:
    """Test AUC of a default LightGBM and of a one-hot, imputed, scaled logistic regression."""
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x_train, x_test = matrix.iloc[train], matrix.iloc[test]
    boosted = LGBMClassifier(random_state=seed, verbose=-1)
    boosted.fit(x_train, y[train])
    lightgbm_auc = float(roc_auc_score(y[test], np.asarray(boosted.predict_proba(x_test))[:, 1]))

    # an all-empty numeric column has no median: such a column carries nothing and is left to LightGBM
    filled = [c for c in numeric if x_train[c].notna().any()]
    steps = [
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), filled),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="ignore"),
            ),
            list(categorical),
        ),
    ]
    logistic = make_pipeline(
        ColumnTransformer([s for s in steps if s[2]]), LogisticRegression(max_iter=5_000)
    )

    def as_objects(part: pd.DataFrame) -> pd.DataFrame:
        return part.astype(dict.fromkeys(categorical, object)).replace({np.nan: None})

    logistic.fit(as_objects(x_train), y[train])
    logistic_auc = float(roc_auc_score(y[test], logistic.predict_proba(as_objects(x_test))[:, 1]))
    return {"lightgbm_auc": round(lightgbm_auc, 4), "logistic_auc": round(logistic_auc, 4)}


def _rate_warning(warnings: Sequence[str], label: str) -> bool:
    """A warning that names the outcome's rate (the base rate) as having moved."""
    pattern = re.compile(rf"(base rate|{re.escape(repr(label))} rate|{re.escape(label)} rate)", re.I)
    return any(pattern.search(w) for w in warnings)


def publisher_descriptions(path: Path) -> dict[str, str]:
    """Column -> description from a publisher's data dictionary kept as a dump of its sheet: one line per
    column, ``B:<column> | C:<description>`` (the first line is the sheet's header)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        name, _, description = line.partition(" | ")
        if name.startswith("B:") and description.startswith("C:"):
            out[name[2:].strip()] = description[2:].strip()
    return out


def described_dictionary(path: Path, key: Key, *, label: str) -> Any:
    """What a user does with a file that comes with its publisher's data dictionary: the dictionary
    careleads infers from the file, with each column's description pasted in. None when the key names no
    descriptions (careleads then infers the dictionary itself, the same one without descriptions)."""
    from dataclasses import replace

    from careleads.dictionary import infer_dictionary, read_table

    if "descriptions" not in key:
        return None
    texts = publisher_descriptions(path.parent / Path(key["descriptions"]).name)
    inferred = infer_dictionary(read_table(path), label=label, name=path.stem)
    tables = {}
    for name, table in inferred.tables.items():
        fields = tuple(
            replace(
                spec,
                description=next(
                    (texts[a] for a in (spec.name, *spec.aliases) if texts.get(a)), spec.description
                ),
            )
            for spec in table.fields
        )
        tables[name] = replace(table, fields=fields)
    return replace(inferred, tables=tables)


def measure(name: str, origin: str, path: Path, key: Key, *, seed: int) -> dict[str, Any]:
    """Evaluate `path` as its key's ``run`` says and measure the result against the key."""
    from careleads.models import evaluate_file, random_split, split_by_order
    from careleads.models._evaluate import VALIDATION_FRACTION
    from careleads.models._lead_file import column_kinds, read_lead_file

    run: dict[str, Any] = dict(key["run"])
    test_fraction = float(run.pop("test_fraction", 0.2))
    dictionary = described_dictionary(path, key, label=run["label"])
    start = time.perf_counter()
    result = evaluate_file(path, **run, test_fraction=test_fraction, seed=seed, dictionary=dictionary)
    seconds = time.perf_counter() - start

    # The same rows and split as `evaluate_file`: its reading and its split functions, with the same seed.
    # `read_lead_file`, `column_kinds` and `VALIDATION_FRACTION` are private to careleads.models; a public
    # way to get an evaluation's train and test positions would spare this (`same_split` checks it holds).
    data = read_lead_file(
        path,
        label=run["label"],
        positive=run.get("positive"),
        time_column=run.get("time_column"),
        row_order=bool(run.get("row_order", False)),
        group_column=run.get("group_column"),
        exclude=(),
        keep=(),
        dictionary=dictionary,
        progress=lambda _message: None,
    )
    if data.order is not None:
        split = split_by_order(
            data.order, test_fraction=test_fraction, valid_fraction=VALIDATION_FRACTION, groups=data.groups
        )
        train, test = np.flatnonzero(split.train), np.flatnonzero(split.test)
    else:
        train, test = random_split(data.y, data.groups, test_fraction, seed)
    same_split = bool(np.array_equal(data.y[test], result.y_test))
    kinds = column_kinds(data.frame, data.specs)
    matrix, numeric, categorical = plain_matrix(data.frame, kinds, result.features, data.time_column)
    plain = plain_aucs(matrix, numeric, categorical, data.y, train, test, seed)

    rate = result.drift.positive_rate
    calibration = result.calibration
    audit = score_audit(
        result.features,
        result.excluded,
        key,
        looked_at=[s.column for s in (*result.leakage.suspects, *result.leakage.watched)],
    )
    warned = _rate_warning(result.warnings, result.label)
    return {
        "file": name,
        "origin": origin,
        "rows": result.rows,
        "split": result.split.kind,
        "same_split": same_split,
        "audit": audit,
        "acceptance": acceptance(
            audit,
            test_auc=float(result.test.auc),
            plain_best=max(plain["lightgbm_auc"], plain["logistic_auc"]),
            ece=float(result.test.ece),
            rate_warned=warned,
            auc_before=float(calibration.get("auc_before", np.nan)),
            auc_after=float(calibration.get("auc_after", np.nan)),
        ),
        "suspects_flagged": [s.column for s in result.leakage.suspects],
        "features": list(result.features),
        "careleads": {
            "model": result.model_kind,
            "test_auc": round(float(result.test.auc), 4),
            "logistic_auc": round(float(result.baselines["logistic"].auc), 4),
            "ece": round(float(result.test.ece), 4),
            "ece_by_chance": round(float(calibration.get("test_ece_by_chance", np.nan)), 4),
            "ece_by_chance_upper": round(float(calibration.get("test_ece_by_chance_upper", np.nan)), 4),
            "auc_before_calibration": round(float(calibration.get("auc_before", np.nan)), 4),
            "auc_after_calibration": round(float(calibration.get("auc_after", np.nan)), 4),
        },
        "plain": {**plain, "features": len(matrix.columns)},
        "base_rate": {
            "planted_drift": key.get("base_rate_drift"),
            "warned": warned,
            "status": rate.status if rate is not None else None,
            "train_rate": round(float(rate.reference_rate), 4) if rate is not None else None,
            "test_rate": round(float(rate.current_rate), 4) if rate is not None else None,
        },
        "evaluate_seconds": round(seconds, 1),
    }


def acceptance(
    audit: Mapping[str, Any],
    *,
    test_auc: float,
    plain_best: float,
    ece: float,
    rate_warned: bool,
    auc_before: float,
    auc_after: float,
) -> dict[str, Any]:
    """The acceptance points for one file: every leak caught and no planned date lost; careleads' test AUC
    at least the better plain model's minus `AUC_MARGIN`; ECE at most `MAX_ECE` or a warning that names
    the moved base rate; AUC before and after calibration within `CALIBRATION_AUC_GAP`."""
    points = {
        "leak_recall_1": audit["caught"] == audit["leaks"],
        "no_planned_date_lost": not audit["planned_excluded"],
        "auc_vs_plain": test_auc >= plain_best - AUC_MARGIN,
        "ece_or_rate_warning": ece <= MAX_ECE or rate_warned,
        "calibration_keeps_auc": abs(auc_before - auc_after) <= CALIBRATION_AUC_GAP,
    }
    return {"met": all(points.values()), "points": points}


# ---------------------------------------------------------------------------------------------------------
# totals and output


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def totals(files: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Precision and recall over all files, and over the real and the synthetic ones."""
    out: dict[str, Any] = {}
    for part, origin in (("all", None), ("real", "real"), ("synthetic", "synthetic")):
        chosen = [f for f in files if origin is None or f["origin"] == origin]
        leaks = sum(f["audit"]["leaks"] for f in chosen)
        caught = sum(f["audit"]["caught"] for f in chosen)
        false_positives = sum(len(f["audit"]["false_positives"]) for f in chosen)
        known = [f["base_rate"] for f in chosen if f["base_rate"]["planted_drift"] is not None]
        planted = [b for b in known if b["planted_drift"]]
        out[part] = {
            "files": len(chosen),
            "leaks": leaks,
            "caught": caught,
            "false_positives": false_positives,
            "recall": _ratio(caught, leaks),
            "precision": _ratio(caught, caught + false_positives),
            "suspects_caught": f"{sum(f['audit']['suspects_caught'] for f in chosen)}/"
            f"{sum(f['audit']['suspects'] for f in chosen)}",
            "suspects_shown": f"{sum(f['audit']['suspects_shown'] for f in chosen)}/"
            f"{sum(f['audit']['suspects'] for f in chosen)}",
            "files_meeting_acceptance": f"{sum(f['acceptance']['met'] for f in chosen)}/{len(chosen)}",
            "files_losing_a_planned_date_or_lead_time": sum(
                bool(f["audit"]["planned_excluded"]) for f in chosen
            ),
            "never_features_used": sum(len(f["audit"]["never_used"]) for f in chosen),
            "drift_planted_and_warned": f"{sum(b['warned'] for b in planted)}/{len(planted)}",
            "drift_warned_without_plant": sum(b["warned"] for b in known if not b["planted_drift"]),
        }
    return out


def per_file_table(files: Sequence[Mapping[str, Any]], width: int = 190) -> str:
    """One row per file: the audit against the key, then the test figures.

    Columns: leaks caught of those in the key, false positives (must-keep columns left out), suspects left
    out / shown / in the key, planned dates or lead times left out, never-features used, test AUCs
    (careleads, then plain LightGBM and plain logistic regression on careleads' rows, split and features),
    careleads' ECE, the ECE a calibrated model shows by chance on as many rows (mean-95th percentile), test
    AUC before and after calibration, base-rate drift planted (yes, no; - unknown) and warned, the seconds
    of `evaluate_file`, and whether every acceptance point holds (`acceptance`).
    """
    import io

    from rich.console import Console
    from rich.table import Table

    out = Table(title="careleads evaluate: leakage audit and figures against the answer keys")
    out.add_column("file", no_wrap=True)
    for header in (
        "leaks caught", "FP", "suspects out/shown", "plan lost", "never used", "AUC care leads",
        "AUC plain LGBM", "AUC plain logit", "ECE", "ECE by chance", "AUC before calib.", "AUC after calib.",
        "rate drift/ warned", "eval s", "accept",
    ):  # fmt: skip
        out.add_column(header, justify="right")
    for f in files:
        a, c, p, b = f["audit"], f["careleads"], f["plain"], f["base_rate"]
        planted = {None: "-", True: "yes", False: "no"}[b["planted_drift"]]
        out.add_row(
            f["file"] + ("" if f["same_split"] else " (split differs!)"),
            f"{a['caught']}/{a['leaks']}",
            str(len(a["false_positives"])),
            f"{a['suspects_caught']}/{a['suspects_shown']}/{a['suspects']}",
            str(len(a["planned_excluded"])),
            str(len(a["never_used"])),
            f"{c['test_auc']:.3f}",
            f"{p['lightgbm_auc']:.3f}",
            f"{p['logistic_auc']:.3f}",
            f"{c['ece']:.3f}",
            f"{c['ece_by_chance']:.3f}-{c['ece_by_chance_upper']:.3f}",
            f"{c['auc_before_calibration']:.3f}",
            f"{c['auc_after_calibration']:.3f}",
            f"{planted}/{'yes' if b['warned'] else 'no'}",
            f"{f['evaluate_seconds']:.0f}",
            "yes"
            if f["acceptance"]["met"]
            else "no: " + ", ".join(k for k, ok in f["acceptance"]["points"].items() if not ok),
        )
    console = Console(file=io.StringIO(), record=True, width=width)
    console.print(out)
    return console.export_text()


def details(files: Sequence[Mapping[str, Any]]) -> str:
    """What each file's audit missed or lost, by column name."""
    lines = []
    for f in files:
        a = f["audit"]
        if a["missed"]:
            lines.append(f"{f['file']}: leaks used as features: {', '.join(a['missed'])}")
        for column, reason in a["false_positives"].items():
            lines.append(f"{f['file']}: must-keep column left out: {column} ({reason})")
        if a["never_used"]:
            lines.append(f"{f['file']}: never-features used: {', '.join(a['never_used'])}")
    return "\n".join(lines)


def totals_table(summary: Mapping[str, Any]) -> str:
    """The totals as (figure, value) rows."""
    rows = []
    for part, t in summary.items():
        if t["files"]:
            rows.append(
                (
                    f"{part} ({t['files']} files): precision, recall",
                    f"{t['precision']}, {t['recall']} ({t['caught']}/{t['leaks']} leaks, "
                    f"{t['false_positives']} false positives)",
                )
            )
            rows.append(
                (
                    f"{part}: suspects excluded, suspects shown, files losing a planned date, "
                    "never-features used",
                    f"{t['suspects_caught']}, {t['suspects_shown']}, "
                    f"{t['files_losing_a_planned_date_or_lead_time']}, {t['never_features_used']}",
                )
            )
            rows.append((f"{part}: files meeting every acceptance point", t["files_meeting_acceptance"]))
            if t["drift_planted_and_warned"] != "0/0" or t["drift_warned_without_plant"]:
                rows.append(
                    (
                        f"{part}: base-rate drift planted and warned, warned without a plant",
                        f"{t['drift_planted_and_warned']}, {t['drift_warned_without_plant']}",
                    )
                )
    return _common.table("totals", rows, width=130)


# ---------------------------------------------------------------------------------------------------------
# entry point


def run(
    *,
    n_synthetic: int,
    rows: int,
    seed: int,
    only: Sequence[str],
    data: Path | None,
    keys: Path,
    write_dir: Path | None,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Measure every selected file; returns the figures (``files``, ``totals``, ``skipped``).

    `data` None leaves the real files out; a real file whose source is absent is skipped with the reason.
    """
    files: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}

    def wanted(name: str) -> bool:
        return not only or any(o in name for o in only)

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dir if write_dir is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        real = load_keys(keys) if data is not None else {}
        for name, key in real.items():
            if not wanted(name) or data is None:
                continue
            path, reason = real_path(key, data, folder)
            if path is None:
                skipped[name] = f"skipped: {reason}"
                say(f"{name}: {skipped[name]}")
                continue
            say(f"{name}: evaluating")
            files.append(measure(name, "real", path, key, seed=seed))
        for i in range(n_synthetic):
            name = f"synthetic_{seed + i}"
            if not wanted(name):
                continue
            generated = generate_file(seed + i, rows)
            path = generated.write(folder / f"{name}.csv")
            if write_dir is not None:
                (folder / f"{name}.key.yaml").write_text(yaml.safe_dump(generated.key), encoding="utf-8")
            say(f"{name}: evaluating")
            files.append(measure(name, "synthetic", path, generated.key, seed=seed))
    return {"files": files, "totals": totals(files), "skipped": skipped}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_audit.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--synthetic", type=int, default=SYNTHETIC_FILES, help="generated files to evaluate (0 skips them)"
    )
    parser.add_argument("--rows", type=int, default=SYNTHETIC_ROWS, help="rows of each generated file")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the first generated file (then +1 each) and of evaluate"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="evaluate only files whose name contains NAME (repeatable; e.g. kickstarter, synthetic_3)",
    )
    parser.add_argument("--no-real", action="store_true", help="skip the real files")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the real files (../shared/data)")
    parser.add_argument("--keys", type=Path, default=KEYS, help="answer keys of the real files (YAML)")
    parser.add_argument(
        "--write-dir", type=Path, default=None, help="keep the generated CSVs and their keys in this folder"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        sys.stderr.write(message + "\n")

    figures = run(
        n_synthetic=args.synthetic,
        rows=args.rows,
        seed=args.seed,
        only=args.only,
        data=None if args.no_real else args.data,
        keys=args.keys,
        write_dir=args.write_dir,
        say=say,
    )
    figures["machine"] = _common.machine()
    text = "\n".join(
        (per_file_table(figures["files"]), details(figures["files"]), totals_table(figures["totals"]))
    )
    if figures["skipped"]:
        text += "\n".join(f"{name}: {reason}" for name, reason in figures["skipped"].items()) + "\n"
    _common.emit(figures, json_path=args.json, text=text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
