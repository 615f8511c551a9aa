"""Loading a CRM export folder: the target is checked against the outcomes the data can hold."""

from __future__ import annotations

import pytest

from careleads.datasets import check_target, known_outcomes
from careleads.dictionary import load_dictionary
from careleads.errors import InputError
from careleads.features import Target


def test_known_outcomes_are_the_dictionary_s_and_those_present() -> None:
    dictionary = load_dictionary()
    assert "appointment_scheduled" in known_outcomes(dictionary)
    assert "referral_sent" in known_outcomes(dictionary, ["referral_sent"])


def test_an_outcome_present_in_the_data_is_accepted() -> None:
    check_target(Target("referral_sent", 30), load_dictionary(), present=["referral_sent"])


def test_an_unknown_outcome_names_itself_and_the_known_ones() -> None:
    with pytest.raises(
        InputError, match=r"unknown outcome 'contact' .* known outcomes: .*appointment_scheduled"
    ):
        check_target(Target("contact", 30), load_dictionary(), present=["appointment_scheduled"])
