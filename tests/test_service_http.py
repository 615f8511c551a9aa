"""The one mapping of careleads errors to HTTP answers, shared by the API and the web pages."""

from __future__ import annotations

import pytest

from careleads.errors import CareleadsError, ConfigError, InputError, NotEnoughDataError, NotFoundError
from careleads.service.access import LEAD_READ, PermissionDenied, authorize
from careleads.service.batches import BatchNotDoneError, EmptyUploadError, UploadTooLargeError
from careleads.service.http import error_answer
from careleads.service.leads import LeadErasedError, LeadValidationError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("no lead with id 7"), 404),
        (LeadErasedError("lead 7 was erased"), 410),  # a NotFoundError, answered as gone
        (PermissionDenied("reviewers may read only leads in the review queue"), 403),
        (ConfigError("routing.yaml: no queue 'x'"), 409),
        (BatchNotDoneError("batch b is running, not done yet"), 409),
        (UploadTooLargeError("the file is larger than 200 MB; split it"), 413),
        (EmptyUploadError("the uploaded file is empty"), 422),
        (NotEnoughDataError("too few rows"), 422),
    ],
)
def test_errors_answer_with_their_status_and_message(error: CareleadsError, status: int) -> None:
    assert error_answer(error) == (status, str(error))


def test_input_problems_are_listed_by_field_and_row() -> None:
    assert error_answer(InputError("age: not a number")) == (
        422,
        [{"loc": ["body"], "msg": "age: not a number", "type": "input"}],
    )
    problems = [
        {"field": "age", "message": "not a number", "row": "1"},
        {"field": "", "message": "the input was rejected"},
    ]
    assert error_answer(LeadValidationError("age: not a number", problems)) == (
        422,
        [
            {"loc": ["body", 1, "age"], "msg": "not a number", "type": "dictionary"},
            {"loc": ["body"], "msg": "the input was rejected", "type": "dictionary"},
        ],
    )


def test_a_refused_role_is_told_who_may() -> None:
    authorize("analyst", LEAD_READ)
    with pytest.raises(PermissionDenied) as refused:
        authorize("auditor", LEAD_READ)
    assert str(refused.value) == (
        "the role 'auditor' may not do this; allowed: admin, analyst, integration, reviewer"
    )
    assert error_answer(refused.value)[0] == 403
