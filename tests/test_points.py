from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.errors import ConfigError, NotFittedError
from careleads.rules import PointsScorer, load_points

POINTS_YAML = """\
name: test-points
half_life_days: 7
fit:
  - field: source
    points: {physician_referral: 10, display_ads: -5}
  - field: has_phone
    points: {1: 4}
  - field: distance_km
    above: 50
    points: -6
intent:
  - field: n_call_request
    per_event: 10
    max: 10
  - field: n_page_pricing
    per_event: 3
    max: 6
"""


@pytest.fixture
def points_file(tmp_path: Path) -> Path:
    path = tmp_path / "points.yaml"
    path.write_text(POINTS_YAML, encoding="utf-8")
    return path


def _leads(**columns: Sequence[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_the_shipped_table_has_fit_and_intent_rules() -> None:
    table = load_points()
    groups = {rule.group for rule in table.rules}
    assert groups == {"fit", "intent"}
    assert table.half_life_days > 0
    assert table.source == "careleads/data/points.yaml"
    assert table.version.startswith("rules:")


def test_points_add_fit_and_capped_intent(points_file: Path) -> None:
    scorer = PointsScorer(points_file)
    X = _leads(
        source=["physician_referral", "display_ads", None, "organic_search"],
        has_phone=[1.0, 0.0, np.nan, 1.0],
        distance_km=[10.0, 80.0, np.nan, 50.0],
        n_call_request=[1.0, 0.0, 0.0, 3.0],
        n_page_pricing=[1.0, 5.0, 0.0, 0.0],
        hours_since_last_event=[0.0, 0.0, np.nan, 0.0],
    )
    # 10 + 4 + 10 + 3 | -5 - 6 + 6 (capped) | nothing known | 4 + 10 (capped); 50 is not above 50
    assert scorer.points(X).tolist() == [27.0, -5.0, 0.0, 14.0]


def test_older_activity_earns_fewer_intent_points_and_fit_points_do_not_decay(points_file: Path) -> None:
    scorer = PointsScorer(points_file)
    hours = [0.0, 24.0 * 7, 24.0 * 14, 24.0 * 70]
    intent_only = _leads(n_call_request=[1.0] * 4, hours_since_last_event=hours)
    intent = scorer.points(intent_only)
    assert intent.tolist() == pytest.approx([10.0, 5.0, 2.5, 10.0 / 1024])  # half-life of 7 days
    assert (np.diff(intent) < 0).all()
    fit_only = _leads(source=["physician_referral"] * 4, hours_since_last_event=hours)
    assert scorer.points(fit_only).tolist() == [10.0] * 4


def test_fit_learns_a_monotone_map_from_points_to_probability(points_file: Path) -> None:
    rng = np.random.default_rng(0)
    n = 2_000
    calls = rng.integers(0, 2, n).astype(float)
    X = _leads(n_call_request=list(calls), hours_since_last_event=[0.0] * n)
    y = (rng.random(n) < np.where(calls > 0, 0.6, 0.1)).astype(int)
    scorer = PointsScorer(points_file)
    with pytest.raises(NotFittedError):
        scorer.predict_proba(X)
    scorer.fit(X, y)
    proba = scorer.predict_proba(_leads(n_call_request=[0.0, 1.0], hours_since_last_event=[0.0, 0.0]))
    assert proba.shape == (2, 2)
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert proba[0, 1] == pytest.approx(0.1, abs=0.03)
    assert proba[1, 1] == pytest.approx(0.6, abs=0.04)


def test_reasons_name_the_largest_rules_with_their_sign(points_file: Path) -> None:
    scorer = PointsScorer(points_file)
    X = _leads(
        source=["display_ads", "organic_search"],
        has_phone=[1.0, 0.0],
        distance_km=[90.0, 5.0],
        n_call_request=[1.0, 0.0],
        n_page_pricing=[0.0, 0.0],
        hours_since_last_event=[0.0, 0.0],
    )
    first, second = scorer.reasons(X, top=3)
    assert [points for _text, points in first] == [10.0, -6.0, -5.0]
    assert first[0][0] == "call request x1"
    assert first[1][0] == "distance km above 50"
    assert first[2][0] == "source: display ads"  # the lead's own value, in plain words
    assert second == []  # nothing scored, nothing to explain


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad_points.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("fit:\n  - points: {a: 1}\n", ":2: fit[0].field", "Field required"),
        (
            "fit:\n  - field: source\n    points: {a: 1}\n  - field: insurance\n",
            ":4: fit[1]",
            "needs 'points'",
        ),
        (
            "intent:\n  - field: n_call_request\n    per_event: lots\n",
            ":3: intent[0].per_event",
            "valid number",
        ),
        ("fit:\n  - field: distance_km\n    above: far\n    points: 3\n", ":3: fit[0].above", "valid number"),
        ("fit:\n  - field: source\n    points: {a: high}\n", ":3: fit[0].points.a", "valid number"),
        (
            "fit:\n  - field: source\n    per_event: 2\n    points: {a: 1}\n",
            ":2: fit[0]",
            "per_event and max only",
        ),
        ("fit:\n  - field: source\n    point: {a: 1}\n", ":3: fit[0].point", "Extra inputs"),
    ],
)
def test_a_bad_rule_is_reported_with_its_file_and_place(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_points(path)
    message = str(info.value)
    assert f"{path}{where}: " in message  # the file, the line and the rule's place
    assert what in message


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("fit: [\n", "not valid YAML"),
        ("- just a list\n", "valid dictionary"),
        ("name: empty\n", "no rules"),
        (
            "half_life_days: 0\nfit:\n  - field: source\n    points: {a: 1}\n",
            "half_life_days: Input should be greater than 0",
        ),
    ],
)
def test_a_bad_points_file_is_refused(tmp_path: Path, text: str, what: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=what) as info:
        load_points(path)
    assert str(path) in str(info.value)


def test_a_missing_points_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read .*nowhere.yaml"):
        load_points(tmp_path / "nowhere.yaml")
