"""Request and response schemas, one family per entity (``LeadCreate``, ``LeadPublic``, ``LeadsPublic``, ...).

The API answers with these models and the web pages' JSON twins are their JSON form, so a page and its API
equivalent show the same data. Lead input is checked twice: here only for shape (scalar values, sizes), then
against the data dictionary exactly as files are (types, allowed values, ranges), which gives field-level
422 messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)

from careleads.columns import repaired_record, repaired_text
from careleads.service.access import Role
from careleads.store import ScoreEntry, TargetScoreEntry

Scalar = str | int | float | bool | None
FeedbackLabel = Literal["scheduled", "not_a_fit", "follow_later", "wrong_route", "duplicate", "unreachable"]
#: the labels a reviewer may give a lead
FEEDBACK_LABELS: tuple[str, ...] = get_args(FeedbackLabel)

MAX_FIELD_CHARS = 5000

LEAD_EXAMPLE: dict[str, Any] = {
    "lead_id": "CRM-000123",
    "created_at": "2025-03-04T14:22:10",
    "lead_type": "patient",
    "service_line": "Ortho",
    "source": "Doctor referral",
    "landing_page": "service_page",
    "region": "north",
    "insurance": "PPO",
    "preferred_contact": "phone",
    "consent_marketing": True,
    "consent_sms": False,
    "inquiry_type": "scheduling",
    "intake_urgency": "soon",
    "full_name": "Maria Lopez",
    "email": "maria.lopez@example.org",
    "phone": "(555) 123-4567",
    "question": "My knee hurts when climbing stairs, can I see a specialist next week?",
}


def _only_text(value: str) -> str:
    if repaired_text(value) is not None:
        raise ValueError("holds characters that are not text (a NUL byte or an unpaired surrogate)")
    return value


#: a text field of a staff request: refused (422 naming the field) when it holds a NUL or an unpaired
#: surrogate, which no store, page or answer could hold (patients' records are repaired instead)
Text = Annotated[str, AfterValidator(_only_text)]


class _Flexible(BaseModel):
    """Named fields plus any other scalar fields (checked against the data dictionary afterwards).

    A record is a patient's: a NUL byte or an unpaired surrogate in it never refuses it here. The fields are
    checked on a repaired copy, and :meth:`record` gives the record as sent, so the service repairs and
    flags it (or refuses an id) in one place, after triage has read every text.
    """

    model_config = ConfigDict(extra="allow")
    _as_sent: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _checked_repaired(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        fixed, repaired = repaired_record(data) if isinstance(data, dict) else (data, [])
        model = handler(fixed)
        if repaired:
            model._as_sent = dict(data)
        return model

    @model_validator(mode="after")
    def _scalars_only(self) -> _Flexible:
        for name, value in (self.model_extra or {}).items():
            if not isinstance(value, str | int | float | bool) and value is not None:
                raise ValueError(f"field {name!r} must be a text, number, true/false or null value")
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                raise ValueError(f"field {name!r} is longer than {MAX_FIELD_CHARS} characters")
        return self

    def record(self) -> dict[str, Any]:
        """All fields, named and extra, without the unset ones (as sent, when a text needed repair)."""
        if self._as_sent is not None:
            return {str(k): v for k, v in self._as_sent.items() if v is not None}
        return {k: v for k, v in self.model_dump().items() if v is not None}


def segment_field_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with a lead that names a segment as one of its fields (None: nothing): a segment is
    the request's (``POST /v1/score``), never a lead field that would be ignored."""
    segment = record.get("segment")
    if segment is None or segment == "inbound":
        return None
    return (
        f"segment {segment!r}: stored leads are new patient leads; score returning and partnership leads "
        "with POST /v1/score and its top-level segment"
    )


class LeadCreate(_Flexible):
    """A lead in the data dictionary's field names (or aliases); unknown fields are reported, not stored."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [LEAD_EXAMPLE]})

    lead_id: str = Field(min_length=1, max_length=200, description="The lead's id in the CRM (external id).")
    created_at: str | None = Field(
        default=None, max_length=40, description="When the lead arrived (ISO 8601); default: now."
    )

    @model_validator(mode="after")
    def _no_segment(self) -> LeadCreate:
        problem = segment_field_problem(self.model_extra or {})
        if problem is not None:
            raise ValueError(problem)
        return self


class EventCreate(_Flexible):
    """An engagement event of a lead."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "E-000987",
                    "occurred_at": "2025-03-04T15:01:00",
                    "event_type": "call_request",
                }
            ]
        },
    )

    # id, time and type are checked by the data dictionary, not here: an event that cannot be identified is
    # still read by clinical triage (and kept when its text may describe an emergency), and a type the
    # dictionary does not know is kept as written and flagged
    event_id: str | None = Field(
        default=None, max_length=200, description="The event's id (idempotency key; required)."
    )
    occurred_at: str | None = Field(
        default=None, max_length=40, description="When it happened (ISO 8601; required)."
    )
    event_type: str | None = Field(
        default=None,
        max_length=200,
        description="page_view, email_click, call_request, chat_message, ...; a type the dictionary does "
        "not know is stored as written and flagged.",
    )
    page: str | None = Field(default=None, max_length=200, description="For page views: which page.")
    message_text: str | None = Field(
        default=None, max_length=MAX_FIELD_CHARS, description="Chat or SMS text; stored redacted."
    )


class OutcomeCreate(_Flexible):
    """A funnel step the lead reached."""

    outcome: str = Field(min_length=1, max_length=60, description="e.g. appointment_scheduled")
    occurred_at: str = Field(min_length=1, max_length=40, description="When (ISO 8601).")


class OverridePublic(BaseModel):
    rule: str
    effect: str
    reason: str
    route: str | None = None


class TriageFindingPublic(BaseModel):
    """One text of the lead that reached a triage level: its source (a lead field, ``event:<id>`` or
    ``feedback:<id>``), level, category and the words to highlight (character offsets in the stored text)."""

    source: str
    level: str
    category: str | None = None
    spans: list[list[int]] = []


class TriagePublic(BaseModel):
    """The lead's clinical triage over all its texts: ``urgent`` (triage line), ``possible`` (a person reads
    it first) or ``none``."""

    level: str = "none"
    findings: list[TriageFindingPublic] = []


class RoutePublic(BaseModel):
    name: str | None = None
    kind: str | None = None
    queue: str | None = None
    owner: str | None = None
    assignment: str | None = None
    call_script: str | None = None
    intake_form: str | None = None
    sla_hours: float | None = None
    sla_due: str | None = None
    nurture_track: str | None = None
    channels: list[str] = []
    action: str | None = None
    notes: list[str] = []
    urgent_review: bool = False
    triage: TriagePublic | None = None


DECISION_EXAMPLE: dict[str, Any] = {
    "score_id": 17,
    "scored_at": "2025-03-04T14:22:11",
    "probability": 0.41,
    "score": 41,
    "tier": "A",
    "action": "call the same business day",
    "reasons": ["+ asked for a call", "+ pricing page views", "- time since last activity"],
    "scored_by": "model",
    "model_version": "appointment_scheduled_30d-20250301T101500-ab12",
    "fallback": False,
    "overrides": [],
    "route": {
        "name": "call_priority",
        "kind": "intake",
        "queue": "intake_ortho_north",
        "owner": "elena",
        "assignment": "assigned",
        "call_script": "call_priority_v1",
        "intake_form": "intake_full_v1",
        "sla_hours": 4,
        "sla_due": "2025-03-04T18:22:11",
        "nurture_track": None,
        "channels": ["phone", "email"],
        "action": "call the same business day",
        "notes": [],
    },
    "review_required": True,
    "change_reason": "created",
    "intent": "scheduling",
    "intent_probability": 0.93,
}

INTENT_DESCRIPTION = (
    "What the lead's message asks for (the intent classifier's most probable label, e.g. scheduling, "
    "billing_existing, spam); null for a lead without a message"
)
INTENT_PROBABILITY_DESCRIPTION = "The classifier's probability of that intent (0-1); null without a message"


class DecisionPublic(BaseModel):
    """A lead's decision: calibrated score 0-100, tier, reasons in plain words, route, overrides, scorer."""

    model_config = ConfigDict(json_schema_extra={"examples": [DECISION_EXAMPLE]})

    score_id: int
    scored_at: datetime
    probability: float
    score: int
    tier: str
    action: str | None
    reasons: list[str]
    scored_by: str = Field(description="model, or rules (no published model, or 'do not profile')")
    model_version: str
    fallback: bool = Field(description="True when the rule baseline scored because no model is published")
    overrides: list[OverridePublic]
    route: RoutePublic
    review_required: bool
    change_reason: str
    intent: str | None = Field(default=None, description=INTENT_DESCRIPTION)
    intent_probability: float | None = Field(default=None, description=INTENT_PROBABILITY_DESCRIPTION)


class FlaggedFieldPublic(BaseModel):
    """A value the data dictionary could not read: kept as written, read as missing, listed for an admin."""

    field: str = Field(description="The field ('' for the whole record).")
    kind: str = Field(description="unknown_category, out_of_range, unparsable_number, ..., or refused.")
    value: str | None = Field(description="The value as written (never for contact details).")
    message: str = Field(description="What is wrong.")
    action: str = Field(description="What was done and what to do.")


class TargetScorePublic(BaseModel):
    """A lead's current score for one target and the model that made it."""

    target: str = Field(description="OUTCOME_<DAYS>d")
    primary: bool = Field(description="Whether this target sets the lead's tier, route and review")
    scored_at: datetime
    probability: float
    score: int
    tier: str
    reasons: list[str]
    scored_by: str = Field(description="model, or rules (the routing target without a published model)")
    model_version: str
    cohort: str | None = Field(
        description="FIELD=VALUE of the cohort model that scored it; null: the target's model of every lead"
    )


class LeadCreated(BaseModel):
    """The stored lead's id and its decision; ``created`` is False for a repeat of a known external id."""

    id: int
    external_id: str | None
    created: bool
    ignored_fields: list[str] = Field(
        description="Input fields the data dictionary does not know (not stored)."
    )
    flagged_fields: list[FlaggedFieldPublic] = Field(
        default_factory=list,
        description="Values the data dictionary could not read: stored as written, scored as unknown.",
    )
    unidentified: bool = Field(
        default=False,
        description="True when the record could not be identified but was kept (answered with 202) "
        "because its text may describe an emergency; it is in the review queue.",
    )
    decision: DecisionPublic
    scores: list[TargetScorePublic] = Field(
        default_factory=list,
        description="The lead's current score for every served target, the routing one first",
    )


class EventRecorded(BaseModel):
    lead_id: int
    event_created: bool = Field(description="False when this event id was recorded before (nothing changed)")
    ledger_changed: bool = Field(description="True when the score, tier or route changed")
    flagged_fields: list[FlaggedFieldPublic] = Field(
        default_factory=list,
        description="Values the data dictionary could not read: stored as written, read as unknown.",
    )
    decision: DecisionPublic


class OutcomePublic(BaseModel):
    id: int
    lead_id: int
    outcome: str
    occurred_at: datetime


class LeadPublic(BaseModel):
    """A lead as the caller's role may see it, with its current decision and ledger."""

    id: int
    pseudonym: str
    external_id: str | None = Field(description="Hidden from analysts (pseudonymised view)")
    created_at: datetime
    received_at: datetime
    erased: bool
    erased_at: datetime | None
    fields: dict[str, Any]
    texts: dict[str, Any] | None = Field(description="Redacted free text (not for analysts)")
    contact: dict[str, str] | None = Field(
        description="Decrypted contact details: admin, or reviewer in queue"
    )
    has_identifiers: list[str]
    decision: DecisionPublic | None
    ledger: list[DecisionPublic]
    scores: list[TargetScorePublic] = Field(
        default_factory=list,
        description="The lead's current score for every served target: the routing one first (primary), "
        "then each other target, with the model version and cohort that scored it",
    )


class LeadsPublic(BaseModel):
    data: list[LeadPublic]
    count: int


SegmentName = Literal["inbound", "returning", "partnership"]

PARTNERSHIP_EXAMPLE: dict[str, Any] = {
    "lead_id": "P-000042",
    "created_at": "2025-03-04T09:10:00",
    "lead_type": "Group practice",
    "job_role": "Practice manager",
    "organisation_size": 12,
    "region": "north",
    "partnership_scope": "referral_network",
    "topic_interest": "referral_pathways",
    "source": "Conference",
    "email": "a.chen@example.org",
    "consent_marketing": False,
}


class SegmentEvent(_Flexible):
    """An event of a lead in the request (returning and partnership leads), named by the lead's id."""

    lead_id: str = Field(min_length=1, max_length=200, description="The lead's id, as in `leads`.")
    event_id: str = Field(min_length=1, max_length=200, description="The event's id.")
    occurred_at: str = Field(min_length=1, max_length=40, description="When it happened (ISO 8601).")
    event_type: str = Field(min_length=1, max_length=60, description="page_view, webinar_attended, ...")


class ScoreRequest(BaseModel):
    """Leads to score without storing anything; by default new patient leads."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"leads": [LEAD_EXAMPLE]},
                {"segment": "partnership", "leads": [PARTNERSHIP_EXAMPLE]},
            ]
        }
    )

    leads: list[LeadCreate] = Field(min_length=1, max_length=1000)
    segment: SegmentName = Field(
        default="inbound",
        description=(
            "inbound: new patient leads; returning: patient leads back after 60 quiet days or more, scored "
            "24 h after their return (their events are required); partnership: clinicians, practices and "
            "health systems in the partnership_leads fields. Each segment is scored by its own published "
            "model, or by its rule baseline when none is published (fallback: true, and a note says so)."
        ),
    )
    events: list[SegmentEvent] = Field(
        default_factory=list,
        max_length=20_000,
        description="Events of the leads (returning and partnership segments), each with its lead_id.",
    )

    @model_validator(mode="after")
    def _events_need_a_segment(self) -> ScoreRequest:
        if self.events and self.segment == "inbound":
            raise ValueError("events are read for the returning and partnership segments only")
        return self


class ScoredLead(BaseModel):
    lead_id: str
    score: int | None
    probability: float | None
    tier: str | None
    action: str
    reasons: str
    scored_by: str
    model_version: str
    fallback: bool
    overrides: list[OverridePublic]
    route: RoutePublic
    review_required: bool
    notes: list[str]
    ignored_fields: list[str]
    intent: str | None = Field(default=None, description=INTENT_DESCRIPTION)
    intent_probability: float | None = Field(default=None, description=INTENT_PROBABILITY_DESCRIPTION)
    flagged_fields: list[FlaggedFieldPublic] = Field(
        default_factory=list,
        description="Values the data dictionary could not read: scored as unknown, listed for an admin.",
    )
    segment: SegmentName = "inbound"
    quiet_days: float | None = Field(
        default=None, description="Returning leads: days without activity before the return."
    )


class ScoresPublic(BaseModel):
    data: list[ScoredLead]
    count: int


class BatchPublic(BaseModel):
    id: str
    status: str
    source_name: str
    created_at: datetime
    finished_at: datetime | None
    n_rows: int | None
    n_scored: int | None
    n_quarantined: int | None
    error: str | None
    result_url: str | None
    n_flagged: int | None = Field(
        default=None, description="Scored rows with values the dictionary could not read (see flagged_url)"
    )
    n_quarantined_alarming: int | None = Field(
        default=None, description="Quarantined rows whose text may describe an emergency: a human now"
    )
    alerts: list[str] = Field(default_factory=list)
    flagged_url: str | None = None
    quarantine_url: str | None = None


class ReviewItemPublic(BaseModel):
    task_id: int
    lead_id: int
    queue: str
    owner: str | None
    tier: str
    sla_due: datetime | None
    score: int | None
    route: str | None
    action: str | None
    reasons: list[str]
    overrides: list[OverridePublic]
    contact: dict[str, str] = Field(description="Decrypted contact details (leads in the queue only)")
    texts: dict[str, Any] | None = Field(description="Redacted free text")
    intent: str | None = Field(default=None, description=INTENT_DESCRIPTION)
    intent_probability: float | None = Field(default=None, description=INTENT_PROBABILITY_DESCRIPTION)


class ReviewQueuePublic(BaseModel):
    data: list[ReviewItemPublic]
    count: int


class RouteChange(BaseModel):
    queue: Text = Field(min_length=1, max_length=120)
    owner: Text | None = Field(default=None, max_length=120)


class FeedbackCreate(BaseModel):
    """A reviewer's label and note; give ``route`` to change the route, leave it out to confirm it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"label": "scheduled", "note": "booked for Tuesday", "route": None}]},
    )

    label: FeedbackLabel
    note: Text | None = Field(default=None, max_length=MAX_FIELD_CHARS, description="Stored redacted")
    route: RouteChange | None = None


class FeedbackPublic(BaseModel):
    id: int
    lead_id: int
    label: str
    note: str | None
    reviewer: str
    route_action: str
    created_at: datetime
    decision: DecisionPublic


class FeedbackUndonePublic(BaseModel):
    """A label undone: it is removed and the review task it closed is open again."""

    feedback_id: int
    lead_id: int
    label: str
    reviewer: str


class FollowUpCreate(BaseModel):
    """A follow-up note on the caller's latest label on the lead (redacted; triaged like every note)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000)


class FollowUpPublic(BaseModel):
    feedback_id: int
    lead_id: int
    triage: str = Field(description="none, or the triage level that put the lead back in the review queue")


class ModelPublic(BaseModel):
    version: str
    target: str = Field(
        description="Publication key: the target, after 'SEGMENT/' for returning or partnership"
    )
    trained_at: str
    test_auc: float | None
    test_ece: float | None
    published: bool
    segment: str = Field(
        default="inbound", description="inbound (new patient leads), returning or partnership"
    )
    cohort: str | None = Field(
        default=None, description="FIELD=VALUE of a cohort model (one site or service line), or none"
    )


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int
    target: str
    published_version: str | None


class PublishResult(BaseModel):
    target: str
    published_version: str
    history: list[dict[str, str]]


class AuditEntryPublic(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPublic(BaseModel):
    data: list[AuditEntryPublic]
    count: int


class AuditVerifyPublic(BaseModel):
    ok: bool
    n_entries: int
    broken_index: int | None
    broken_id: str | None
    reason: str | None
    message: str


#: what a user's name may hold (letters, digits and ``_ . @ -``), checked wherever a name arrives
USER_NAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=USER_NAME_PATTERN)
    role: Role


class UserPublic(BaseModel):
    id: int
    name: str
    role: str
    active: bool
    created_at: datetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: Text = Field(min_length=1, max_length=120)


class TokenRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: Text = Field(min_length=1, max_length=120)
    prefix: Text | None = Field(default=None, max_length=16, description="Only the token starting with this")


class TokensRevoked(BaseModel):
    user: str
    revoked: int = Field(description="Tokens revoked by this call")


class TokenCreated(BaseModel):
    user: str
    role: str
    token: str = Field(description="Shown once: only its hash is stored")


class OutboxItemPublic(BaseModel):
    id: int
    lead_id: int
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    payload: dict[str, Any]


class OutboxPublic(BaseModel):
    data: list[OutboxItemPublic]
    count: int


class DeliveryPublic(BaseModel):
    n_attempted: int
    n_delivered: int
    n_failed: int
    n_dead: int


class OutboxRequeue(BaseModel):
    """Which write-back records to give new attempts: the ids, or every dead record."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"dead": True}, {"ids": [12]}]})

    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=10_000)
    dead: bool = False


class RequeuedPublic(BaseModel):
    n_requeued: int


class ErasurePublic(BaseModel):
    lead_id: int
    n_events_scrubbed: int
    n_feedback_scrubbed: int
    n_outbox_scrubbed: int
    n_analytics_rows: int


class HealthPublic(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    published_model: str | None


_ROUTE_KEYS = frozenset(RoutePublic.model_fields)


def route_public(route: dict[str, Any]) -> RoutePublic:
    """The public part of a stored route."""
    return RoutePublic(**{k: v for k, v in route.items() if k in _ROUTE_KEYS})


def decision_public(entry: ScoreEntry) -> DecisionPublic:
    """A ledger entry as a decision."""
    return DecisionPublic(
        score_id=entry.id,
        scored_at=entry.at,
        probability=entry.probability,
        score=entry.score,
        tier=entry.tier,
        action=entry.route.get("action"),
        reasons=[str(r) for r in entry.reasons],
        scored_by=entry.scored_by,
        model_version=entry.model_version,
        fallback=entry.fallback,
        overrides=[OverridePublic(**o) for o in entry.overrides],
        route=route_public(entry.route),
        review_required=entry.review_required,
        change_reason=entry.change_reason,
        intent=entry.route.get("intent"),
        intent_probability=entry.route.get("intent_probability"),
    )


def target_scores_public(
    *, primary: str, entry: ScoreEntry | None, others: Sequence[TargetScoreEntry]
) -> list[TargetScorePublic]:
    """The routing target's score (the current ledger `entry`) and the other targets' current scores."""
    out = []
    if entry is not None:
        out.append(
            TargetScorePublic(
                target=primary,
                primary=True,
                scored_at=entry.at,
                probability=entry.probability,
                score=entry.score,
                tier=entry.tier,
                reasons=[str(r) for r in entry.reasons],
                scored_by=entry.scored_by,
                model_version=entry.model_version,
                cohort=None,
            )
        )
    out += [
        TargetScorePublic(
            target=o.target,
            primary=False,
            scored_at=o.at,
            probability=o.probability,
            score=o.score,
            tier=o.tier,
            reasons=[str(r) for r in o.reasons],
            scored_by=o.scored_by,
            model_version=o.model_version,
            cohort=o.cohort,
        )
        for o in others
    ]
    return out


class UnknownValuePublic(BaseModel):
    """A value stored leads hold that the dictionary could not read (never free text or identifiers)."""

    field: str
    kind: str = Field(description="unknown_category, unparsable_boolean, out_of_range, ...")
    value: str | None = Field(description="The value as written; null for fields whose values are not shown")
    n_leads: int
    lead_ids: list[int] = Field(description="A few of the leads (ids in careleads)")
    mappable: bool = Field(description="Whether it can be mapped to a known value (or added as a new one)")
    known_values: list[str]


class UnknownValuesPublic(BaseModel):
    data: list[UnknownValuePublic]
    count: int


class ValueMapping(BaseModel):
    """Map a value of a field to a known value, or add it as a new value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"field": "service_line", "value": "Podiatry", "to": "podiatry"}]},
    )

    field: Text = Field(min_length=1, max_length=120)
    value: Text = Field(min_length=1, max_length=100, description="The value as written on the leads")
    to: Text = Field(
        min_length=1, max_length=100, description="A known value, a new one, or true/false for a yes/no field"
    )
    renormalise: bool = Field(
        default=True, description="Also read the stored leads with this value again and re-score them"
    )


class MappingPublic(BaseModel):
    field: str
    value: str
    to: str
    new_value: bool
    n_renormalised: int = Field(description="Stored leads whose flagged value now reads as `to`")
    n_rescored: int = Field(description="Of those, leads whose score, tier or route changed")
