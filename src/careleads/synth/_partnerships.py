"""Partnership (B2B) leads for the simulator: clinicians, practices and health systems.

A partnership lead is a person at an organisation who may become a referral, affiliation, telehealth,
research or employer-health partner. The next step business development wants is a meeting booked.

How the truth is built: each lead has creation-time attributes (lead type, the person's job role, the
organisation's size, region, source, topic of interest and partnership scope) and a hidden propensity
that drives its first day of engagement (webinar registration and attendance, an event visit, case-study
downloads, partnership and pricing pages, a contact form). The probability of ever booking a meeting is a
logistic function of those attributes and that engagement, with a job-role match (the role that decides
for that kind of organisation) and topic x scope interactions; the hidden propensity acts only through the
engagement, so the truth is a function of what is observable 24 hours after creation. Meeting delays are
log-normal, so the probability within each window is exact.

The files: ``partnership_leads``, ``partnership_events``, ``partnership_outcomes`` (``meeting_booked``)
and ``partnership_truth`` (``p_meeting_booked_<w>d`` for w in 30, 60, 90).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

from careleads.errors import InputError
from careleads.synth._draws import choice, onehot_effect
from careleads.synth._simulator import AS_OF_HOURS, REGIONS, SERVICE_LINES
from careleads.synth._tables import sequential_ids, write_tables
from careleads.types import PathLikeStr

__all__ = [
    "JOB_ROLES",
    "PARTNERSHIP_EVENT_TYPES",
    "PARTNERSHIP_LEAD_TYPES",
    "PARTNERSHIP_PAGES",
    "PARTNERSHIP_REGIONS",
    "PARTNERSHIP_SCOPES",
    "PARTNERSHIP_SOURCES",
    "TARGET_ROLES",
    "TOPICS",
    "PartnershipData",
    "generate_partnerships",
]

PARTNERSHIP_LEAD_TYPES: tuple[str, ...] = ("clinician", "practice", "health_system")
JOB_ROLES: tuple[str, ...] = (
    "physician",
    "nurse_practitioner",
    "practice_manager",
    "administrator",
    "executive",
    "procurement",
    "marketing",
    "student",
    "other",
)
#: The roles that decide on a partnership, per lead type (a "job role match").
TARGET_ROLES: dict[str, tuple[str, ...]] = {
    "clinician": ("physician", "nurse_practitioner"),
    "practice": ("practice_manager", "physician", "administrator"),
    "health_system": ("executive", "administrator", "procurement"),
}
PARTNERSHIP_SCOPES: tuple[str, ...] = (
    "referral_network",
    "clinical_affiliation",
    "telehealth_services",
    "research_collaboration",
    "employer_health",
)
TOPICS: tuple[str, ...] = (
    "referral_pathways",
    "telehealth",
    "value_based_care",
    "clinical_research",
    "population_health",
    "care_coordination",
)
PARTNERSHIP_SOURCES: tuple[str, ...] = (
    "conference",
    "webinar",
    "case_study",
    "partner_referral",
    "linkedin",
    "organic_search",
    "email_campaign",
    "cold_outreach",
)
PARTNERSHIP_REGIONS: tuple[str, ...] = (*REGIONS, "national")
PARTNERSHIP_EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "email_open",
    "email_click",
    "webinar_registered",
    "webinar_attended",
    "event_attended",
    "case_study_download",
    "contact_form",
)
PARTNERSHIP_PAGES: tuple[str, ...] = (
    "partnerships",
    "case_studies",
    "outcomes_data",
    "pricing",
    "about",
    "careers",
)
WINDOWS_DAYS = (30, 60, 90)
_DELAY_MEDIAN_DAYS = 12.0
_DELAY_SIGMA = 0.8
# the topic that goes with each scope: a lead reading about it is further along
_SCOPE_TOPIC = {
    "referral_network": "referral_pathways",
    "clinical_affiliation": "care_coordination",
    "telehealth_services": "telehealth",
    "research_collaboration": "clinical_research",
    "employer_health": "population_health",
}
_SPELLINGS = {
    "clinician": ("Physician", "Doctor", "Referring provider"),
    "practice": ("Clinic", "Group practice", "Medical practice"),
    "health_system": ("Hospital", "Health System", "IDN"),
}
_ORG_WORDS = (
    "Valley",
    "Riverside",
    "Summit",
    "Lakeside",
    "Harbor",
    "Pine",
    "Cedar",
    "Metro",
    "County",
    "Bay",
)
_ORG_KINDS = {
    "clinician": ("Family Practice", "Medical Associates", "Clinic"),
    "practice": ("Medical Group", "Physicians", "Health Partners"),
    "health_system": ("Health System", "Regional Medical Center", "Healthcare"),
}
_FIRST = ("Anna", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jamal", "Kira", "Luis")
_LAST = (
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Gupta",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
)


@dataclass(frozen=True)
class PartnershipData:
    """The simulated partnership export (leads, events, outcomes) and its truth."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp

    def write(self, out_dir: PathLikeStr, *, fmt: Literal["csv", "parquet"] = "csv") -> dict[str, Path]:
        """Write the ``partnership_`` leads, events, outcomes and truth files into `out_dir`."""
        return write_tables(
            {
                "partnership_leads": self.leads,
                "partnership_events": self.events,
                "partnership_outcomes": self.outcomes,
                "partnership_truth": self.truth,
            },
            out_dir,
            fmt=fmt,
        )


def generate_partnerships(
    n: int = 5_000, seed: int = 0, *, start: str = "2024-09-01", months: int = 24
) -> PartnershipData:
    """Simulate `n` partnership leads over `months` months from `start`.

    Parameters
    ----------
    n : int
        Number of leads (at least 100).
    seed : int
        Random seed; the same seed gives the same data.
    start, months : str, int
        The history covered (at least 12 months).

    Returns
    -------
    PartnershipData

    Examples
    --------
    >>> data = generate_partnerships(500, seed=1)
    >>> sorted(set(data.leads["lead_type"]) & {"clinician", "practice", "health_system"})
    ['clinician', 'health_system', 'practice']
    """
    if n < 100:
        raise InputError(f"generate_partnerships: n must be at least 100, got {n}")
    if months < 12:
        raise InputError(f"generate_partnerships: the history must cover at least 12 months, got {months}")
    rng = np.random.default_rng([seed, 21])
    t0 = pd.Timestamp(start)
    t_end = t0 + pd.DateOffset(months=months)
    span_ns = (t_end - t0).value
    created = np.sort(t0.to_datetime64() + (rng.random(n) * span_ns).astype("timedelta64[ns]"))
    created = created.astype("datetime64[s]").astype("datetime64[ns]")

    lead_type = choice(rng, PARTNERSHIP_LEAD_TYPES, [0.5, 0.32, 0.18], n)
    role_p = np.tile([0.2, 0.08, 0.12, 0.14, 0.1, 0.06, 0.12, 0.08, 0.1], (n, 1))
    role_p[lead_type == "clinician"] = [0.45, 0.2, 0.02, 0.03, 0.01, 0.01, 0.06, 0.14, 0.08]
    role_p[lead_type == "health_system"] = [0.1, 0.04, 0.03, 0.22, 0.2, 0.14, 0.15, 0.04, 0.08]
    role = choice(rng, JOB_ROLES, role_p, n)
    size = np.where(
        lead_type == "clinician",
        rng.integers(1, 6, n),
        np.where(lead_type == "practice", rng.integers(3, 60, n), rng.integers(80, 2500, n)),
    ).astype(float)
    region = choice(rng, PARTNERSHIP_REGIONS, [0.22, 0.2, 0.2, 0.2, 0.13, 0.05], n)
    source = choice(rng, PARTNERSHIP_SOURCES, [0.15, 0.15, 0.1, 0.1, 0.15, 0.15, 0.1, 0.1], n)
    scope_p = np.tile([0.35, 0.2, 0.2, 0.1, 0.15], (n, 1))
    scope_p[lead_type == "health_system"] = [0.15, 0.3, 0.2, 0.2, 0.15]
    scope = choice(rng, PARTNERSHIP_SCOPES, scope_p, n)
    matched_topic = np.array([_SCOPE_TOPIC[s] for s in scope], dtype=object)
    topic = np.where(rng.random(n) < 0.5, matched_topic, choice(rng, TOPICS, np.full(6, 1 / 6), n))
    service = choice(rng, SERVICE_LINES, np.full(len(SERVICE_LINES), 1 / len(SERVICE_LINES)), n)
    consent = rng.random(n) < 0.75
    has_phone = rng.random(n) < 0.7
    role_match = np.array([r in TARGET_ROLES[t] for r, t in zip(role, lead_type, strict=True)], dtype=bool)

    # the first day: engagement driven by a hidden propensity
    propensity = rng.normal(0, 1, n)
    drive = np.exp(0.7 * propensity + 0.3 * role_match - 0.6 * np.isin(role, ["student", "other"]))
    early: dict[str, np.ndarray] = {
        "page_partnerships": rng.poisson(0.8 * drive),
        "page_case_studies": rng.poisson(0.4 * drive),
        "page_pricing": rng.poisson(0.25 * drive),
        "page_about": rng.poisson(0.3 * drive),
        "page_careers": rng.poisson(0.15 * np.isin(role, ["student", "other"]) + 0.03),
        "email_open": rng.poisson(0.6 * drive),
        "webinar_registered": (rng.random(n) < 1 - np.exp(-0.25 * drive)).astype(int),
        "event_attended": (rng.random(n) < 1 - np.exp(-0.08 * drive * (1 + (source == "conference")))).astype(
            int
        ),
        "case_study_download": rng.poisson(0.3 * drive),
        "contact_form": (rng.random(n) < 1 - np.exp(-0.07 * drive)).astype(int),
    }
    early["email_click"] = rng.binomial(early["email_open"], 0.3)
    early["webinar_attended"] = early["webinar_registered"] * (rng.random(n) < 0.55)

    logit = -2.6 + 1.0 * role_match - 1.4 * np.isin(role, ["student", "other"]) - 0.4 * (role == "marketing")
    logit += onehot_effect(lead_type, {"practice": 0.25, "health_system": 0.1})
    logit += 0.15 * np.log1p(size) * (lead_type != "clinician")
    logit += onehot_effect(
        source,
        {
            "partner_referral": 0.8,
            "conference": 0.35,
            "webinar": 0.2,
            "cold_outreach": -0.8,
            "linkedin": -0.2,
        },
    )
    logit += onehot_effect(scope, {"referral_network": 0.2, "research_collaboration": -0.3})
    logit += 0.5 * (topic == matched_topic)
    logit += 0.3 * ((scope == "research_collaboration") & (lead_type == "health_system"))
    logit += 0.6 * early["webinar_attended"] + 0.15 * early["webinar_registered"]
    logit += 0.8 * early["event_attended"]
    logit += 0.7 * (1 - np.exp(-early["case_study_download"] / 1.5))
    logit += 0.5 * (1 - np.exp(-early["page_pricing"] / 1.0))
    logit += 0.3 * (1 - np.exp(-early["page_partnerships"] / 2.0))
    logit += 1.3 * early["contact_form"]
    logit += 0.3 * np.log1p(early["email_click"])
    logit -= 0.5 * ~(has_phone | consent)
    p_ever = expit(logit)

    as_of = created + np.timedelta64(AS_OF_HOURS, "h")
    lead_ids = sequential_ids("P", n)
    truth: dict[str, Any] = {"lead_id": lead_ids, "as_of": pd.DatetimeIndex(as_of).astype("datetime64[s]")}
    for w in WINDOWS_DAYS:
        truth[f"p_meeting_booked_{w}d"] = p_ever * ndtr(
            (np.log(w) - np.log(_DELAY_MEDIAN_DAYS)) / _DELAY_SIGMA
        )

    day = np.timedelta64(86_400_000_000_000, "ns")
    booked = rng.random(n) < p_ever
    meeting_at = as_of + (rng.lognormal(np.log(_DELAY_MEDIAN_DAYS), _DELAY_SIGMA, n) * day).astype(
        "timedelta64[ns]"
    )
    end64 = t_end.to_datetime64()
    keep = booked & (meeting_at < end64)
    outcomes = pd.DataFrame(
        {
            "lead_id": lead_ids[keep],
            "outcome": "meeting_booked",
            "occurred_at": pd.DatetimeIndex(meeting_at[keep]).astype("datetime64[s]"),
        }
    ).sort_values(["occurred_at", "lead_id"], kind="stable")

    events = _events(rng, lead_ids, created, as_of, early, booked, meeting_at, drive, end64)

    first = np.asarray(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.asarray(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    org = np.array(
        [
            f"{_ORG_WORDS[a]} {_ORG_KINDS[t][b]}"
            for a, t, b in zip(
                rng.integers(0, len(_ORG_WORDS), n), lead_type, rng.integers(0, 3, n), strict=True
            )
        ],
        dtype=object,
    )
    messy_type = lead_type.astype(object).copy()
    pick = rng.random(n) < 0.25
    for canonical, options in _SPELLINGS.items():
        mask = pick & (lead_type == canonical)
        messy_type[mask] = np.asarray(options, dtype=object)[rng.integers(0, len(options), mask.sum())]
    known = meeting_at < end64
    stage = np.where(booked & known, "won", np.where(as_of + 45 * day < end64, "closed_lost", "open"))
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "created_at": np.datetime_as_string(created.astype("datetime64[s]"), unit="s").astype(object),
            "lead_type": messy_type,
            "organisation": org,
            "organisation_size": size,
            "job_role": role,
            "region": region,
            "service_line": service,
            "topic_interest": topic,
            "partnership_scope": scope,
            "source": source,
            "full_name": first + " " + last,
            "email": np.char.lower((first + "." + last + "@example.org").astype(str)).astype(object),
            "phone": np.where(
                has_phone, "(555) 010-" + pd.Series(rng.integers(1000, 9999, n)).astype(str), ""
            ),
            "consent_marketing": np.where(consent, "yes", "no"),
            "stage": stage,
            "owner": np.where(stage == "won", "bd_team", ""),
        }
    )
    return PartnershipData(
        leads=leads,
        events=events,
        outcomes=outcomes.reset_index(drop=True),
        truth=pd.DataFrame(truth),
        start=t0,
        end=t_end,
    )


def _events(
    rng: np.random.Generator,
    lead_ids: np.ndarray,
    created: np.ndarray,
    as_of: np.ndarray,
    early: dict[str, np.ndarray],
    booked: np.ndarray,
    meeting_at: np.ndarray,
    drive: np.ndarray,
    end: np.datetime64,
) -> pd.DataFrame:
    """First-day events exactly as counted for the truth, then later activity until the meeting or a fade."""
    n = len(lead_ids)
    hour = np.timedelta64(3_600_000_000_000, "ns")
    owners, kinds, pages, times = [], [], [], []
    for key, counts in early.items():
        idx = np.repeat(np.arange(n), np.asarray(counts, dtype=np.int64))
        kind, page = ("page_view", key[5:]) if key.startswith("page_") else (key, "")
        offset = (rng.random(len(idx)) * (AS_OF_HOURS - 0.01) * hour.astype(np.int64)).astype(
            "timedelta64[ns]"
        )
        owners.append(idx)
        kinds.append(np.full(len(idx), kind, dtype=object))
        pages.append(np.full(len(idx), page, dtype=object))
        times.append(created[idx] + offset)
    late = np.repeat(np.arange(n), rng.poisson(0.5 * drive + 1.0 * booked))
    horizon = np.where(
        booked[late], np.maximum((meeting_at[late] - as_of[late]) / np.timedelta64(1, "D"), 0.2), 45
    )
    late_kind = np.asarray(
        ["page_view", "page_view", "email_open", "email_click", "case_study_download", "webinar_registered"],
        dtype=object,
    )[rng.integers(0, 6, len(late))]
    late_page = np.where(
        late_kind == "page_view",
        np.asarray(PARTNERSHIP_PAGES, dtype=object)[rng.integers(0, len(PARTNERSHIP_PAGES), len(late))],
        "",
    )
    owners.append(late)
    kinds.append(late_kind)
    pages.append(late_page)
    times.append(as_of[late] + (rng.random(len(late)) * horizon * 86_400e9).astype("timedelta64[ns]"))
    owner = np.concatenate(owners)
    frame = pd.DataFrame(
        {
            "lead_id": lead_ids[owner],
            "occurred_at": np.concatenate(times),
            "event_type": np.concatenate(kinds),
            "page": np.concatenate(pages),
        }
    )
    frame = frame.loc[frame["occurred_at"] < end].sort_values("occurred_at", kind="stable")
    frame.insert(0, "event_id", sequential_ids("B", len(frame), width=9))
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[s]")
    return frame.reset_index(drop=True)
