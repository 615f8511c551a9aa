"""The embedded synthetic healthcare lead simulator.

It writes what a CRM export looks like (messy spellings, placeholders, bad rows, columns filled in after the
outcome) together with a truth file holding each lead's real conversion probability, so that a model can be
compared with the best possible (oracle) ranking.

How the truth is built (and why fixed points cannot capture it):

- each lead has creation-time attributes (service line, source, landing page, geography, insurance,
  urgency, inquiry type, contact completeness) and a hidden propensity that drives its first day of
  engagement (page views, email clicks, chat, call requests, guided intake);
- the probability of ever scheduling is a logistic function of the attributes and of that first-day
  engagement, with interactions (urgency x service line, insurance x service line, distance x telehealth),
  saturating engagement effects and seasonality; the hidden propensity acts only through engagement, so the
  truth is a function of what is observable at the scoring moment (24 hours after creation);
- the delay to each outcome is log-normal with an urgency-dependent median, so the probability within a
  window is ``p_ever * F(window)`` and is written to the truth file exactly.

Drift is real: lead volume is seasonal, a telehealth app channel launches mid-way, and the paid social
campaign changes from a service offer to brand awareness (more blog landings, weaker intent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from careleads.errors import InputError
from careleads.synth._defects import blank, inject_defects, messy, messy_bool
from careleads.synth._draws import choice, lognormal_cdf, onehot_effect
from careleads.synth._oracle import FIRST_DAY_HOURS, Oracle, engagement_logit
from careleads.synth._returns import simulate_returns
from careleads.synth._tables import sequential_ids, write_tables
from careleads.synth._texts import generate_texts
from careleads.types import PathLikeStr

SERVICE_LINES = (
    "primary_care",
    "orthopedics",
    "cardiology",
    "dermatology",
    "womens_health",
    "behavioral_health",
    "physical_therapy",
    "sleep_medicine",
)
SOURCES = (
    "organic_search",
    "paid_search",
    "paid_social",
    "physician_referral",
    "email_campaign",
    "display_ads",
    "direct",
    "partner_directory",
    "telehealth_app",
)
LANDING_PAGES = (
    "home",
    "service_page",
    "pricing",
    "insurance",
    "locations",
    "provider_bio",
    "blog",
    "symptom_checker",
)
REGIONS = ("north", "south", "east", "west", "central")
INSURANCE = ("commercial", "medicare", "medicaid", "self_pay", "out_of_network")
INTENTS = (
    "scheduling",
    "insurance_pricing",
    "pre_visit_question",
    "billing_existing",
    "referral_request",
    "other",
    "spam",
)
URGENCY = ("routine", "soon", "urgent")
OUTCOMES = (
    "intake_call_completed",
    "consultation_requested",
    "appointment_scheduled",
    "appointment_attended",
)
WINDOWS_DAYS = (30, 60, 90)
PAGES = ("pricing", "provider", "locations", "insurance", "service", "home", "blog")
AS_OF_HOURS = FIRST_DAY_HOURS
SERVICE_AREA_KM = 50.0

_FIRST = (
    "Maria Ana Lucia Emma Olivia Sofia Grace Chloe Aisha Mei Priya Fatima Hannah Nora Julia Laura "
    "James John Luis Carlos Ahmed Wei Raj Daniel David Michael Omar Ivan Peter Samuel Noah Leo"
).split()
_LAST = (
    "Smith Johnson Garcia Martinez Lopez Nguyen Chen Patel Khan Kim Brown Davis Miller Wilson Moore "
    "Taylor Anderson Thomas Jackson White Harris Clark Lewis Walker Hall Young Allen King Wright Scott"
).split()
_STAFF = ("intake_team_1", "intake_team_2", "intake_team_3", "nurse_line", "bd_team")


@dataclass(frozen=True)
class SyntheticData:
    """What the simulator produces: the three CRM tables as exported, and the truth."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    # leads that came back after a quiet period (``generate(returning_share=...)``), with their true
    # probabilities from the moment they return; None when the simulation had no returning leads
    returns: pd.DataFrame | None = None
    # each lead's true probability from its first-day events up to any moment (see synth/_oracle.py)
    oracle: Oracle | None = None

    def write(self, out_dir: PathLikeStr, *, fmt: Literal["csv", "parquet"] = "csv") -> dict[str, Path]:
        """Write leads, events, outcomes and truth (and returns, if any) as CSV or Parquet into `out_dir`."""
        tables = {"leads": self.leads, "events": self.events, "outcomes": self.outcomes, "truth": self.truth}
        if self.returns is not None:
            tables["returns"] = self.returns
        return write_tables(tables, out_dir, fmt=fmt)


_DELAY_SIGMA = 0.9
_URGENCY_MEDIAN_DAYS = {"routine": 10.0, "soon": 6.0, "urgent": 3.0}


def generate(
    n_leads: int = 50_000,
    *,
    seed: int = 0,
    start: str = "2024-09-01",
    months: int = 26,
    bad_row_rate: float = 0.01,
    texts: Callable[[np.ndarray, np.ndarray, np.random.Generator], list[str]] | None = None,
    text_signals: bool = False,
    returning_share: float = 0.0,
) -> SyntheticData:
    """Simulate `n_leads` patient leads over `months` months starting at `start`.

    Parameters
    ----------
    n_leads : int
        Number of leads (rows of the leads table before bad rows are added).
    seed : int
        Random seed; the same seed gives the same data.
    start, months : str, int
        The history covered; 18 months or more leave room for a year of training and a later test window.
    bad_row_rate : float
        Share of leads exported with a defect (missing id, unparsable date, impossible value, unknown
        service line, duplicate row). The truth file names each defect in ``injected_defect``.
    texts : callable, optional
        ``texts(intents, urgencies, rng) -> list[str]`` for the free-text question; the default uses
        careleads' own text generator.
    text_signals : bool
        Make the truth depend on what only the text reveals, as in real exports: the form's inquiry type is
        left on "Select" more often (22% instead of 12%; the question still says what the lead wants), and
        a fifth of the leads who write in chat or by text on the first day say that it has become urgent and
        they want to book (a higher conversion chance that only those messages show). The truth stays a
        function of what is observable at the scoring moment, messages included. Off by default, so that
        the same seed gives the same data as before.
    returning_share : float
        About this share of the leads that never schedule come back after a quiet period of three months or
        more (pricing pages, guided intake restarted, a follow-up question in chat), with a renewed
        conversion chance driven by that renewed activity. Their events and outcomes join the tables and
        their truth, from the moment they return, is in ``returns``. 0 (the default) adds none.

    Examples
    --------
    >>> data = generate(2_000, seed=1)
    >>> sorted(data.truth.columns)[:3]
    ['as_of', 'injected_defect', 'lead_id']
    """
    if n_leads < 100:
        raise InputError(f"--leads must be at least 100 to simulate a funnel, got {n_leads}")
    if months < 18:
        raise InputError(f"the history must cover at least 18 months, got {months}")
    if not 0.0 <= returning_share <= 1.0:
        raise InputError(f"returning_share must be between 0 and 1, got {returning_share}")
    rng = np.random.default_rng(seed)
    n = n_leads
    t0 = pd.Timestamp(start)
    t_end = t0 + pd.DateOffset(months=months)

    # --- when leads arrive: seasonal volume (busy January, quiet summer) with growth ---
    month_starts = pd.date_range(t0, periods=months, freq="MS")
    calendar_month = month_starts.month.to_numpy()
    volume = (1 + 0.25 * np.cos(2 * np.pi * (calendar_month - 1) / 12)) * np.linspace(1.0, 1.3, months)
    month_index = rng.choice(months, size=n, p=volume / volume.sum())
    month_len_s = np.array(
        [
            ((month_starts[i] + pd.DateOffset(months=1)) - month_starts[i]).total_seconds()
            for i in range(months)
        ]
    )
    offset_s = rng.random(n) * month_len_s[month_index]
    created = np.sort(month_starts.to_numpy()[month_index] + (offset_s * 1e9).astype("timedelta64[ns]"))
    created_ts = pd.DatetimeIndex(created)
    month_of_year = created_ts.month.to_numpy()
    launch = t0 + pd.DateOffset(months=12)  # the telehealth app channel
    campaign_change = t0 + pd.DateOffset(months=15)  # paid social: service offer -> brand awareness
    launched = created >= launch.to_datetime64()
    changed = created >= campaign_change.to_datetime64()

    # --- who the lead is ---
    source_p = np.tile([0.22, 0.18, 0.16, 0.08, 0.08, 0.07, 0.09, 0.05, 0.0], (n, 1))
    source_p[launched, 8] = 0.11
    source_p[changed, 2] = 0.22  # the awareness campaign buys more, weaker leads
    source = choice(rng, SOURCES, source_p, n)
    service_p = np.tile([0.22, 0.15, 0.1, 0.12, 0.12, 0.12, 0.1, 0.07], (n, 1))
    service_p[source == "telehealth_app", 5] = 0.6
    service_p[source == "physician_referral", 1:3] = 0.3
    service = choice(rng, SERVICE_LINES, service_p, n)
    age_mean = 38 + 22 * np.isin(service, ["cardiology", "sleep_medicine"]) + 8 * (service == "orthopedics")
    age = np.clip(np.round(rng.normal(age_mean, 13)), 18, 95).astype(int)
    sex = np.where(
        service == "womens_health",
        "female",
        choice(rng, ("female", "male", "other"), [0.55, 0.43, 0.02], n),
    )
    campaign = np.full(n, "none", dtype=object)
    paid = np.isin(source, ["paid_social", "paid_search", "display_ads", "email_campaign"])
    campaign[paid] = np.where(changed[paid], "brand_awareness", "spring_wellness")
    campaign[paid & (source == "paid_search")] = "search_always_on"
    landing_p = np.tile([0.18, 0.3, 0.1, 0.07, 0.08, 0.07, 0.12, 0.08], (n, 1))
    landing_p[campaign == "brand_awareness"] = [0.1, 0.12, 0.04, 0.03, 0.04, 0.02, 0.55, 0.1]
    landing_p[source == "physician_referral"] = [0.1, 0.3, 0.05, 0.05, 0.15, 0.33, 0.01, 0.01]
    landing = choice(rng, LANDING_PAGES, landing_p, n)

    # capped below the dictionary's 400 km limit, so only injected defects break it
    distance = np.round(np.minimum(rng.lognormal(np.log(14), 0.9, n), 350.0), 1)
    in_area = distance <= SERVICE_AREA_KM
    region = np.where(in_area, choice(rng, REGIONS, [0.25, 0.2, 0.2, 0.2, 0.15], n), "outside_area")
    postal = np.char.zfill(rng.integers(10000, 99999, n).astype(str), 5)
    ins_p = np.tile([0.55, 0.12, 0.15, 0.12, 0.06], (n, 1))
    ins_p[age >= 65] = [0.12, 0.75, 0.05, 0.05, 0.03]
    insurance = choice(rng, INSURANCE, ins_p, n)
    urg_p = np.tile([0.6, 0.3, 0.1], (n, 1))
    urg_p[np.isin(service, ["orthopedics", "behavioral_health"])] = [0.4, 0.35, 0.25]
    urgency = choice(rng, URGENCY, urg_p, n)
    intent_p = np.tile([0.36, 0.16, 0.14, 0.08, 0.08, 0.12, 0.06], (n, 1))
    intent_p[landing == "pricing"] = [0.2, 0.5, 0.1, 0.06, 0.04, 0.07, 0.03]
    intent_p[landing == "blog"] = [0.15, 0.1, 0.25, 0.05, 0.03, 0.27, 0.15]
    intent_p[source == "physician_referral"] = [0.45, 0.05, 0.1, 0.02, 0.33, 0.04, 0.01]
    intent_p[source == "display_ads"] = [0.2, 0.1, 0.1, 0.05, 0.05, 0.25, 0.25]
    intent = choice(rng, INTENTS, intent_p, n)
    contact = choice(rng, ("phone", "email", "sms"), [0.45, 0.35, 0.2], n)
    consent_marketing = rng.random(n) < 0.7
    consent_sms = rng.random(n) < np.where(contact == "sms", 0.9, 0.4)
    do_not_profile = rng.random(n) < 0.03
    has_email = rng.random(n) > 0.08
    has_phone = rng.random(n) > np.where(contact == "phone", 0.04, 0.15)

    # --- the first day: engagement driven by a hidden propensity, observable at the scoring moment ---
    propensity = rng.normal(0, 1, n)
    intent_drive = onehot_effect(
        intent, {"scheduling": 0.5, "referral_request": 0.3, "insurance_pricing": 0.2, "spam": -1.0}
    )
    drive = np.exp(0.7 * propensity + intent_drive + 0.3 * (urgency == "urgent"))
    early: dict[str, np.ndarray] = {}
    page_rates = {"pricing": 0.35, "provider": 0.4, "locations": 0.3, "insurance": 0.25, "service": 0.8}
    for page, rate in page_rates.items():
        early[f"page_{page}"] = rng.poisson(rate * drive)
    early["page_pricing"] += rng.poisson(0.8 * (intent == "insurance_pricing") * drive)
    early["page_home"] = rng.poisson(0.6, n)
    early["page_blog"] = rng.poisson(0.4 + 1.2 * (landing == "blog"))
    early["form_start"] = rng.poisson(0.3 * drive)
    early["email_open"] = rng.poisson(0.8 * drive * has_email)
    early["email_click"] = rng.binomial(early["email_open"], 0.35)
    early["chat_message"] = rng.poisson(0.25 * drive)
    early["sms_message"] = rng.poisson(0.3 * drive * consent_sms)
    early["call_request"] = (rng.random(n) < 1 - np.exp(-0.12 * drive)).astype(int)
    early["intake_started"] = (rng.random(n) < 1 - np.exp(-0.15 * drive)).astype(int)
    early["intake_completed"] = early["intake_started"] * (rng.random(n) < 0.55)

    # --- the truth: probability of ever scheduling, from what is observable 24h after creation ---
    logit = -2.7 + onehot_effect(
        service,
        {
            "orthopedics": 0.35,
            "cardiology": 0.2,
            "dermatology": -0.1,
            "behavioral_health": 0.05,
            "sleep_medicine": -0.2,
        },
    )
    logit += onehot_effect(
        source,
        {
            "physician_referral": 0.6,
            "paid_social": -0.25,
            "display_ads": -0.5,
            "telehealth_app": 0.25,
            "direct": 0.15,
            "partner_directory": 0.2,
        },
    )
    logit += onehot_effect(
        intent,
        {
            "scheduling": 0.8,
            "referral_request": 0.55,
            "pre_visit_question": 0.2,
            "billing_existing": -0.6,
            "other": -0.4,
            "spam": -1.8,
        },
    )
    logit += onehot_effect(urgency, {"soon": 0.25, "urgent": 0.45})
    logit += 0.5 * ((urgency == "urgent") & np.isin(service, ["orthopedics", "physical_therapy"]))
    logit -= 0.4 * ((urgency == "urgent") & (service == "dermatology"))
    logit += onehot_effect(
        insurance, {"commercial": 0.2, "medicaid": -0.2, "self_pay": -0.45, "out_of_network": -0.9}
    )
    logit += 0.45 * ((insurance == "medicare") & (service == "cardiology"))
    logit -= 0.5 * ((insurance == "medicaid") & (service == "dermatology"))
    logit += 0.5 * ((insurance == "self_pay") & (service == "behavioral_health"))
    far = np.log1p(np.maximum(distance - 15, 0) / 20)
    telehealth_ok = (service == "behavioral_health") | (source == "telehealth_app")
    logit -= np.where(telehealth_ok, 0.1, 0.7) * far
    logit -= np.where(~in_area & ~telehealth_ok, 0.8, 0.0)
    hour = created_ts.hour.to_numpy()
    logit -= 0.35 * ((hour < 6) | (hour >= 22))  # night-time forms are often idle browsing
    logit -= np.where(~has_phone & ~has_email, 1.2, np.where(~has_phone, 0.45, 0.0))
    logit -= 0.25 * ((contact == "sms") & ~consent_sms)
    logit += 0.35 * np.cos(2 * np.pi * (month_of_year - 1) / 12) - 0.25 * (month_of_year == 12)
    stated_urgent = np.zeros(n, dtype=bool)
    if text_signals:
        # a separate generator keeps the main stream, and so every other column, as without text signals
        extra = np.random.default_rng([seed, 8])
        wrote = (early["chat_message"] + early["sms_message"]) > 0
        stated_urgent = wrote & (extra.random(n) < 0.2)  # only the first day's messages say so
    lead_ids = sequential_ids("L", n)
    oracle = Oracle(
        lead_id=lead_ids,
        created=created,
        base_logit=logit,
        price_shopper=np.isin(insurance, ["self_pay", "out_of_network"]),
        urgent=urgency == "urgent",
        behavioral=service == "behavioral_health",
        states_urgency=stated_urgent,
    )
    logit = logit + engagement_logit(
        early,
        price_shopper=oracle.price_shopper,
        urgent=oracle.urgent,
        behavioral=oracle.behavioral,
        states_urgency=stated_urgent,
    )
    p_ever = expit(logit)

    median_days = np.select(
        [urgency == "urgent", urgency == "soon"],
        [_URGENCY_MEDIAN_DAYS["urgent"], _URGENCY_MEDIAN_DAYS["soon"]],
        _URGENCY_MEDIAN_DAYS["routine"],
    )
    p_intake_other = 0.35 * expit(logit + 1.0)
    p_consult_other = 0.08 * expit(logit + 1.0)
    p_show = np.clip(0.88 - 0.12 * (distance > 30) - 0.1 * (insurance == "self_pay"), 0, 1)

    as_of = created + np.timedelta64(AS_OF_HOURS, "h")
    truth: dict[str, Any] = {"lead_id": lead_ids, "as_of": pd.DatetimeIndex(as_of)}
    for w in WINDOWS_DAYS:
        f_sched = lognormal_cdf(w, median_days, _DELAY_SIGMA)
        truth[f"p_appointment_scheduled_{w}d"] = p_ever * f_sched
        truth[f"p_intake_call_completed_{w}d"] = p_ever * lognormal_cdf(
            w, median_days * 0.5, _DELAY_SIGMA
        ) + (1 - p_ever) * p_intake_other * lognormal_cdf(w, np.full(n, 5.0), _DELAY_SIGMA)
        truth[f"p_consultation_requested_{w}d"] = 0.6 * p_ever * lognormal_cdf(
            w, median_days * 0.75, _DELAY_SIGMA
        ) + (1 - p_ever) * p_consult_other * lognormal_cdf(w, np.full(n, 7.0), _DELAY_SIGMA)
        truth[f"p_appointment_attended_{w}d"] = (
            p_ever * p_show * lognormal_cdf(w, median_days * 1.6, _DELAY_SIGMA)
        )

    # --- what happened ---
    day = np.timedelta64(86_400_000_000_000, "ns")
    scheduled = rng.random(n) < p_ever
    delay = rng.lognormal(np.log(median_days), _DELAY_SIGMA)
    sched_at = as_of + (delay * day).astype("timedelta64[ns]")
    intake_other = ~scheduled & (rng.random(n) < p_intake_other)
    consult_s = scheduled & (rng.random(n) < 0.6)
    consult_other = ~scheduled & (rng.random(n) < p_consult_other)
    attended = scheduled & (rng.random(n) < p_show)
    outcome_parts = [
        ("appointment_scheduled", scheduled, sched_at),
        ("intake_call_completed", scheduled, as_of + (0.5 * delay * day).astype("timedelta64[ns]")),
        (
            "intake_call_completed",
            intake_other,
            as_of + (rng.lognormal(np.log(5.0), _DELAY_SIGMA, n) * day).astype("timedelta64[ns]"),
        ),
        ("consultation_requested", consult_s, as_of + (0.75 * delay * day).astype("timedelta64[ns]")),
        (
            "consultation_requested",
            consult_other,
            as_of + (rng.lognormal(np.log(7.0), _DELAY_SIGMA, n) * day).astype("timedelta64[ns]"),
        ),
        ("appointment_attended", attended, as_of + (1.6 * delay * day).astype("timedelta64[ns]")),
    ]
    end64 = t_end.to_datetime64()
    outcome_frames = []
    for name, mask, when in outcome_parts:
        keep = mask & (when < end64)  # the export only holds what happened before it was taken
        outcome_frames.append(
            pd.DataFrame(
                {"lead_id": lead_ids[keep], "outcome": name, "occurred_at": pd.DatetimeIndex(when[keep])}
            )
        )
    outcomes = pd.concat(outcome_frames, ignore_index=True).sort_values(
        ["occurred_at", "lead_id"], kind="stable"
    )

    events = _events(
        rng,
        lead_ids,
        created,
        as_of,
        early,
        scheduled,
        sched_at,
        drive,
        end64,
        intent,
        urgency,
        stated_urgent=stated_urgent,
    )
    returns = None
    if returning_share > 0:
        events, outcomes, returns = simulate_returns(
            np.random.default_rng([seed, 3]),
            share=returning_share,
            lead_ids=lead_ids,
            as_of=as_of,
            scheduled=scheduled,
            propensity=propensity,
            prior_logit=logit,
            events=events,
            outcomes=outcomes,
            end=end64,
        )

    # --- columns a salesperson fills in after contact: they reveal the label ---
    sched_known = scheduled & (sched_at < end64)
    attended_known = attended & ((as_of + (1.6 * delay * day).astype("timedelta64[ns]")) < end64)
    contacted = sched_known | (intake_other & (as_of + 5 * day < end64))
    recent = created > end64 - 14 * day
    status = np.where(
        attended_known,
        "attended",
        np.where(
            sched_known,
            "scheduled",
            np.where(
                contacted,
                "contacted",
                np.where(recent, "new", choice(rng, ("lost", "nurture"), [0.5, 0.5], n)),
            ),
        ),
    )
    stage = np.select([sched_known, contacted, recent], ["won", "working", "open"], default="closed_lost")
    notes_pool = {
        "attended": ("Pt attended first visit", "Seen by provider, follow-up booked", "attended appt"),
        "scheduled": (
            "Booked appt for next week",
            "Scheduled with Dr. on Tue",
            "appt set, confirmation sent",
        ),
        "contacted": (
            "Spoke with pt, will call back",
            "Left voicemail after intake call",
            "Call done, thinking",
        ),
        "new": ("", "", ""),
        "lost": ("No answer x3", "Went elsewhere", "Not interested"),
        "nurture": ("Added to newsletter", "Follow up in spring", "Sent info pack"),
    }
    call_notes = np.empty(n, dtype=object)
    for key, pool in notes_pool.items():
        mask = status == key
        call_notes[mask] = np.asarray(pool, dtype=object)[rng.integers(0, len(pool), mask.sum())]
    owner = np.where(contacted, np.asarray(_STAFF, dtype=object)[rng.integers(0, len(_STAFF), n)], "")

    first = np.asarray(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.asarray(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    full_name = first + " " + last
    email = np.where(
        has_email,
        (first + "." + last).astype(str)
        + np.char.mod("%d", rng.integers(1, 99, n)).astype(object)
        + "@example.org",
        "",
    )
    email = np.char.lower(email.astype(str)).astype(object)
    phone_text = np.char.add(
        np.char.add("(555) ", rng.integers(200, 999, n).astype(str)),
        np.char.add("-", np.char.zfill(rng.integers(0, 9999, n).astype(str), 4)),
    )
    phone = np.where(has_phone, phone_text.astype(object), "")

    question_fn = texts if texts is not None else _default_texts
    question = np.asarray(question_fn(intent, urgency, rng), dtype=object)

    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "created_at": np.datetime_as_string(created.astype("datetime64[s]"), unit="s").astype(object),
            "lead_type": "patient",
            "service_line": messy(rng, "service_line", service),
            "source": messy(rng, "source", source),
            "campaign": campaign,
            "landing_page": landing,
            "postal_code": postal,
            "region": region,
            "distance_km": np.char.mod("%.1f", distance),
            "insurance": messy(rng, "insurance", insurance),
            "preferred_contact": messy(rng, "preferred_contact", contact),
            "consent_marketing": messy_bool(rng, consent_marketing),
            "consent_sms": messy_bool(rng, consent_sms),
            "do_not_profile": messy_bool(rng, do_not_profile),
            "inquiry_type": intent.copy(),
            "intake_urgency": messy(rng, "intake_urgency", urgency),
            "question": question,
            "full_name": full_name,
            "email": email,
            "phone": phone,
            "age": age.astype(str),
            "sex": messy(rng, "sex", sex),
            "lead_status": status,
            "stage": stage,
            "call_notes": call_notes,
            "owner": owner,
        }
    )
    leads.loc[leads["inquiry_type"] == "spam", "inquiry_type"] = "other"
    blank(
        rng,
        leads,
        {
            "inquiry_type": 0.22 if text_signals else 0.12,
            "insurance": 0.04,
            "intake_urgency": 0.03,
            "distance_km": 0.02,
            "service_line": 0.005,
            "landing_page": 0.02,
            "region": 0.01,
        },
    )
    leads.loc[leads["inquiry_type"] == "", "inquiry_type"] = "Select"

    truth_frame = pd.DataFrame(truth)
    truth_frame["injected_defect"] = ""
    leads, truth_frame = inject_defects(rng, leads, truth_frame, bad_row_rate)
    return SyntheticData(
        leads=leads.reset_index(drop=True),
        events=events,
        outcomes=outcomes.reset_index(drop=True).assign(
            occurred_at=lambda f: f["occurred_at"].astype("datetime64[s]")
        ),
        truth=truth_frame,
        start=t0,
        end=t_end,
        returns=returns,
        oracle=oracle,
    )


def _default_texts(intents: np.ndarray, urgencies: np.ndarray, rng: np.random.Generator) -> list[str]:
    return generate_texts(list(intents), list(urgencies), rng, kind="question")


def _events(
    rng: np.random.Generator,
    lead_ids: np.ndarray,
    created: np.ndarray,
    as_of: np.ndarray,
    early: dict[str, np.ndarray],
    scheduled: np.ndarray,
    sched_at: np.ndarray,
    drive: np.ndarray,
    end: np.datetime64,
    intents: np.ndarray,
    urgencies: np.ndarray,
    *,
    stated_urgent: np.ndarray | None = None,
) -> pd.DataFrame:
    """Event rows: the first day's engagement exactly as counted for the truth, then later activity."""
    n = len(lead_ids)
    kinds: list[np.ndarray] = []
    pages: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    times: list[np.ndarray] = []
    hour_ns = np.timedelta64(3_600_000_000_000, "ns")
    for key, counts in early.items():
        counts = np.asarray(counts, dtype=np.int64)
        idx = np.repeat(np.arange(n), counts)
        if key.startswith("page_"):
            kind, page = "page_view", key[5:]
        else:
            kind, page = key, ""
        # strictly inside the first day so that the 24h snapshot sees every one of them
        offset = (rng.random(len(idx)) * (AS_OF_HOURS - 0.01) * hour_ns.astype(np.int64)).astype(
            "timedelta64[ns]"
        )
        owners.append(idx)
        kinds.append(np.full(len(idx), kind, dtype=object))
        pages.append(np.full(len(idx), page, dtype=object))
        times.append(created[idx] + offset)
    # later activity: leads on their way to an appointment keep engaging until they book; others fade
    late_rate = 0.6 * drive + 1.5 * scheduled
    late_counts = rng.poisson(late_rate)
    idx = np.repeat(np.arange(n), late_counts)
    horizon_days = np.where(
        scheduled[idx], np.maximum((sched_at[idx] - as_of[idx]) / np.timedelta64(1, "D"), 0.2), 45
    )
    offset_days = rng.random(len(idx)) * horizon_days
    late_kind = np.asarray(
        [
            "page_view",
            "page_view",
            "page_view",
            "email_open",
            "email_click",
            "chat_message",
            "form_start",
            "call_request",
            "intake_started",
            "sms_message",
        ],
        dtype=object,
    )[rng.integers(0, 10, len(idx))]
    late_page = np.where(
        late_kind == "page_view", np.asarray(PAGES, dtype=object)[rng.integers(0, len(PAGES), len(idx))], ""
    )
    owners.append(idx)
    kinds.append(late_kind)
    pages.append(late_page)
    times.append(as_of[idx] + (offset_days * 86_400e9).astype("timedelta64[ns]"))

    owner = np.concatenate(owners)
    when = np.concatenate(times)
    frame = pd.DataFrame(
        {
            "lead_id": lead_ids[owner],
            "occurred_at": when,
            "event_type": np.concatenate(kinds),
            "page": np.concatenate(pages),
        }
    )
    frame = frame.loc[frame["occurred_at"] < end].sort_values(["occurred_at"], kind="stable")
    # chat and text messages carry what the lead wrote
    frame["message_text"] = ""
    talk = frame["event_type"].isin(["chat_message", "sms_message"]).to_numpy()
    if talk.any():
        who = frame.loc[talk, "lead_id"].map(pd.Series(np.arange(n), index=lead_ids)).to_numpy()
        said_intents, said_urgencies = intents[who], urgencies[who]
        if stated_urgent is not None and stated_urgent.any():
            # leads whose need became urgent say so in every message: they want to book, now
            said_intents = np.where(stated_urgent[who], "scheduling", said_intents)
            said_urgencies = np.where(stated_urgent[who], "urgent", said_urgencies)
        frame.loc[talk, "message_text"] = generate_texts(
            list(said_intents), list(said_urgencies), rng, kind="chat"
        )
    frame.insert(0, "event_id", sequential_ids("E", len(frame), width=9))
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[ms]")
    return frame.reset_index(drop=True)
