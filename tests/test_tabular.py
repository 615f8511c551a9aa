from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from careleads.errors import InputError, NotFittedError
from careleads.models._tabular import RARE_LEVEL, TabularFeatures, infer_kinds, logistic_baseline

KINDS = {
    "visits": "numeric",
    "source": "categorical",
    "opted_in": "boolean",
    "created_at": "datetime",
    "last_visit": "datetime",
    "notes": "text",
}


def make_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    created = pd.Timestamp("2024-03-04 09:30") + pd.to_timedelta(np.arange(n), unit="h")
    return pd.DataFrame(
        {
            "visits": [str(v) for v in rng.integers(0, 9, n)],
            "source": ["web"] * (n - 5) + ["fax"] * 5,
            "opted_in": rng.choice(["Yes", "No", ""], n),
            "created_at": created.strftime("%Y-%m-%d %H:%M"),
            "last_visit": (created - pd.to_timedelta(np.arange(n) % 3 + 1, unit="D")).strftime(
                "%Y-%m-%d %H:%M"
            ),
            "notes": rng.choice(["called twice, wants a morning slot", None], n),
        }
    )


def test_types_and_feature_names() -> None:
    frame = make_frame()
    tf = TabularFeatures(kinds=KINDS, time_column="created_at", min_frequency=10).fit(frame)
    out = tf.transform(frame)
    assert list(out.columns) == list(tf.get_feature_names_out())
    assert out["visits"].dtype == "float64"
    assert isinstance(out["source"].dtype, pd.CategoricalDtype)
    assert set(out["opted_in"].dropna().unique()) == {0.0, 1.0}
    assert out["opted_in"].isna().any()
    assert out["last_visit__days"].round(6).tolist()[:4] == [-1.0, -2.0, -3.0, -1.0]
    assert {"created_at__weekday", "created_at__hour"} <= set(out.columns)
    # no raw timestamp, no text content: only its length and whether it is missing
    assert "created_at" not in out.columns and "notes" not in out.columns
    assert {"notes__length", "notes__missing"} <= set(out.columns)
    assert all(out[c].dtype == "float64" for c in out.columns if c != "source")
    assert tf.source_column("last_visit__days") == "last_visit"


def test_rare_and_unseen_levels() -> None:
    frame = make_frame()
    tf = TabularFeatures(kinds={"source": "categorical"}, min_frequency=10).fit(frame)
    assert tf.categories_["source"] == ["web", RARE_LEVEL]
    new = pd.DataFrame({"source": ["web", "fax", "carrier pigeon", None]})
    values = tf.transform(new)["source"]
    assert values.iloc[0] == "web" and values.iloc[1] == RARE_LEVEL
    assert values.iloc[2:].isna().all()


def test_constant_features_are_dropped() -> None:
    frame = make_frame().assign(flat="same")
    tf = TabularFeatures(kinds={"visits": "numeric", "flat": "categorical"}, min_frequency=1).fit(frame)
    assert list(tf.get_feature_names_out()) == ["visits"]
    assert tf.dropped_constant_ == ["flat"]


def test_contract_and_errors() -> None:
    tf = TabularFeatures(kinds=KINDS, time_column="created_at")
    assert clone(tf).get_params()["kinds"] == KINDS
    with pytest.raises(NotFittedError):
        tf.transform(make_frame())
    with pytest.raises(InputError, match="unknown column kinds"):
        TabularFeatures(kinds={"visits": "colour"}).fit(make_frame())
    with pytest.raises(InputError, match="missing now"):
        TabularFeatures(kinds=KINDS).fit(make_frame()).transform(make_frame().drop(columns=["visits"]))


def test_infer_kinds_from_dtypes() -> None:
    frame = pd.DataFrame(
        {"n": [1.5, 2.0], "flag": [True, False], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])}
    )
    assert infer_kinds(frame) == {"n": "numeric", "flag": "boolean", "when": "datetime"}


def test_logistic_baseline_learns_and_ignores_unseen_levels() -> None:
    rng = np.random.default_rng(1)
    n = 400
    source = rng.choice(["web", "phone", "referral"], n)
    visits = rng.poisson(3, n).astype(float)
    y = ((source == "referral") | (visits > 4)).astype(int)
    frame = pd.DataFrame({"source": source, "visits": np.where(rng.random(n) < 0.1, np.nan, visits)})
    model = logistic_baseline(kinds={"source": "categorical", "visits": "numeric"}, min_frequency=5)
    model.fit(frame, y)
    probs = model.predict_proba(
        pd.DataFrame({"source": ["referral", "web", "unheard of"], "visits": [1.0, 1.0, 1.0]})
    )
    assert probs[0, 1] > probs[1, 1]
    assert np.isfinite(probs).all()
    names = list(model[:-1].get_feature_names_out())
    assert any("source_referral" in name for name in names)


def test_dates_become_distances_to_the_scoring_moment_and_to_each_other() -> None:
    frame = make_frame()
    created = pd.to_datetime(frame["created_at"])
    lead = pd.to_timedelta(np.arange(len(frame)) % 20 + 1, unit="D")
    frame["visit_planned"] = (created + lead).dt.strftime("%Y-%m-%d %H:%M")
    kinds = {**KINDS, "visit_planned": "datetime"}
    tf = TabularFeatures(kinds=kinds, time_column="created_at", min_frequency=10).fit(frame)
    out = tf.transform(frame)
    # the lead time of a planned date, and the distance between the two other dates; never a timestamp
    assert out["visit_planned__days"].tolist() == (np.arange(len(frame)) % 20 + 1.0).tolist()
    pair = "last_visit__minus__visit_planned__days"
    expected = (pd.to_datetime(frame["last_visit"]) - pd.to_datetime(frame["visit_planned"])).dt.days
    assert out[pair].tolist() == expected.astype(float).tolist()
    assert tf.source_column(pair) == "last_visit"
    assert not any(pd.api.types.is_datetime64_any_dtype(out[c]) for c in out.columns)
