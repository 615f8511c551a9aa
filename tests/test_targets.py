from __future__ import annotations

import pytest

from careleads.errors import ConfigError
from careleads.features import KNOWN_OUTCOMES, Target
from careleads.synth import OUTCOMES, WINDOWS_DAYS, generate


def test_default_target_is_appointment_scheduled_within_30_days_scored_after_a_day() -> None:
    target = Target()
    assert (target.outcome, target.window_days, target.as_of_hours) == ("appointment_scheduled", 30, 24)
    assert target.name == "appointment_scheduled_30d"
    assert target.truth_column == "p_appointment_scheduled_30d"
    assert target.describe() == "appointment scheduled within 30 days, scored 24 hours after the lead arrived"


def test_parse_reads_outcome_and_days() -> None:
    target = Target.parse(" intake_call_completed : 60", as_of_hours=0)
    assert target == Target("intake_call_completed", 60, 0)
    assert Target(**target.to_dict()) == target


@pytest.mark.parametrize("text", ["appointment_scheduled", "appointment_scheduled:", "x:thirty", "x:-5"])
def test_parse_refuses_text_without_a_number_of_days(text: str) -> None:
    with pytest.raises(ConfigError, match="OUTCOME:DAYS"):
        Target.parse(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "Appointment Scheduled"}, "snake_case"),
        ({"outcome": ""}, "snake_case"),
        ({"window_days": 0}, "positive number of days"),
        ({"as_of_hours": -1}, "zero or more hours"),
    ],
)
def test_invalid_targets_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Target(**kwargs)  # type: ignore[arg-type]


def test_every_simulated_target_has_a_truth_column() -> None:
    truth = generate(200, seed=2).truth
    assert set(OUTCOMES) <= set(KNOWN_OUTCOMES)
    for outcome in OUTCOMES:
        for days in WINDOWS_DAYS:
            assert Target(outcome, days).truth_column in truth.columns
