"""Geography: named or valued like places, typed as a category, a quasi-identifier, postcodes coarsened."""

from __future__ import annotations

import numpy as np
import pandas as pd

from careleads.dictionary import FieldSpec, FieldType, Sensitivity, infer_dictionary
from careleads.dictionary._geography import coarsen_postcodes, looks_like_postcodes, postcode_area

N_ROWS = 800
PARTS = ("North", "South", "East", "West", "Central", "Upper", "Lower", "Greater")
PLACES = ("Valley", "Highlands", "Coast", "Plains", "Lakes", "Hills", "Riverside", "Forest", "Bay", "Ridge")
REGIONS = [f"{part} {place}" for part in PARTS for place in PLACES]  # 80 levels, spaced, short


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "Region": rng.choice(REGIONS, N_ROWS),
            "area_label": rng.choice(REGIONS, N_ROWS),
            "Country": rng.choice(["US", "GB", "DE", "FR", "CA", "IN"], N_ROWS),
            "where": rng.choice(["US", "GB", "DE", "FR", "CA", "IN", "NL", "ES"], N_ROWS),
            "Postcode": [
                f"SW{d} {d}A{c}"
                for d, c in zip(rng.integers(1, 20, N_ROWS), rng.choice(list("BDEF"), N_ROWS), strict=True)
            ],
            "spot": [f"{z:05d}" for z in rng.integers(0, 99999, N_ROWS)],
            "Comments": [f"lead {i} asked about a visit next week and the parking" for i in range(N_ROWS)],
        }
    )


def test_many_short_repeating_levels_are_a_category_not_free_text() -> None:
    table = infer_dictionary(_frame()).table("data")
    for name in ("region", "area_label"):
        assert table.field(name).type is FieldType.CATEGORY, name
    assert table.field("comments").type is FieldType.TEXT  # long, mostly unique: still free text
    assert table.field("comments").sensitivity is Sensitivity.SENSITIVE


def test_geography_names_and_values_are_quasi_identifiers_with_a_reason() -> None:
    table = infer_dictionary(_frame()).table("data")
    for name in ("region", "country", "where", "postcode", "spot"):
        spec = table.field(name)
        assert spec.sensitivity is Sensitivity.QUASI_IDENTIFIER, (name, spec.sensitivity_reason)
        assert spec.is_feature_candidate
        assert "geography" in spec.sensitivity_reason or "postcode" in spec.sensitivity_reason
    assert table.field("postcode").type is FieldType.CATEGORY
    assert table.field("spot").type is FieldType.CATEGORY
    assert "postcode" in table.field("spot").sensitivity_reason
    assert table.field("area_label").sensitivity is Sensitivity.SAFE  # nothing says it is a place


def test_a_state_of_a_few_statuses_is_not_a_place() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "state": rng.choice(["open", "closed", "pending"], N_ROWS),
            "State Code": rng.choice(["NY", "CA", "TX", "FL", "WA"], N_ROWS),
        }
    )
    table = infer_dictionary(frame).table("data")
    assert table.field("state").sensitivity is Sensitivity.SAFE
    assert table.field("state_code").sensitivity is Sensitivity.QUASI_IDENTIFIER


def test_postcode_area_keeps_a_coarse_prefix() -> None:
    assert postcode_area("SW1A 1AA") == "SW1"
    assert postcode_area("m1 1ae") == "M1"
    assert postcode_area("02139") == "021"
    assert postcode_area("02139-4307") == "021"
    assert postcode_area("K1A 0B1") == "K1A"
    assert postcode_area("1012 AB") == "101"
    assert postcode_area("  ") == ""


def test_postcode_values_are_recognised() -> None:
    assert looks_like_postcodes(pd.Series({"02139": 3, "10001": 2, "94105": 1}))
    assert looks_like_postcodes(pd.Series({"SW1A 1AA": 3, "M1 1AE": 2, "EC1A 1BB": 1}))
    assert not looks_like_postcodes(pd.Series({"Web": 3, "Phone": 2, "Walk-in": 1}))
    assert not looks_like_postcodes(pd.Series({"12345": 3}))  # one value proves nothing


def test_coarsen_postcodes_replaces_postcode_columns_only() -> None:
    frame = pd.DataFrame({"zip": ["02139", "02141", None], "plan": ["02139", "gold", "x"]})
    specs = {
        "zip": FieldSpec("zip", FieldType.CATEGORY, sensitivity=Sensitivity.QUASI_IDENTIFIER),
        "plan": FieldSpec("plan", FieldType.CATEGORY),
    }
    out, coarsened = coarsen_postcodes(frame, specs)
    assert coarsened == ["zip"]
    assert out["zip"].tolist()[:2] == ["021", "021"] and pd.isna(out["zip"].iloc[2])
    assert out["plan"].tolist() == ["02139", "gold", "x"]
    assert frame["zip"].iloc[0] == "02139"  # the input is left as it was
