"""Returning leads for the simulator: non-converters who come back after a quiet period.

A share of the leads that never scheduled return three months or more after their scoring moment (so that
their first 30-, 60- and 90-day windows, and the truth written for them, are untouched). The return is a
burst of renewed activity on its first day: a page view that opens it, pricing and service pages, guided
intake restarted (and sometimes completed), a call request, and follow-up questions in chat whose text says
what the lead now wants. A hidden renewed propensity drives that activity; the renewed conversion chance is
a logistic function of the activity, the follow-up question's intent, the original lead's prior (its
first-day logit) and the length of the quiet period, so it is a function of what is observable one day
after the return.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

from careleads.synth._tables import sequential_ids
from careleads.synth._texts import generate_texts

RETURN_AS_OF_HOURS = 24
RETURN_WINDOWS_DAYS = (30, 60, 90)
MIN_QUIET_DAYS = 90
_DELAY_MEDIAN_DAYS = 6.0
_DELAY_SIGMA = 0.9
_FOLLOW_UP_INTENTS = ("scheduling", "insurance_pricing", "pre_visit_question", "other", "billing_existing")
_INTENT_EFFECT = {
    "scheduling": 0.9,
    "insurance_pricing": 0.3,
    "pre_visit_question": 0.2,
    "other": -0.6,
    "billing_existing": -0.8,
}


def simulate_returns(
    rng: np.random.Generator,
    *,
    share: float,
    lead_ids: np.ndarray,
    as_of: np.ndarray,
    scheduled: np.ndarray,
    propensity: np.ndarray,
    prior_logit: np.ndarray,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    end: np.datetime64,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Add returning leads: (events with the renewed activity, outcomes with renewed conversions, truth).

    The truth frame has ``lead_id``, ``returned_at``, ``as_of`` (one day later), ``quiet_days`` (since the
    lead's previous event), ``follow_up_intent`` and ``p_appointment_scheduled_<w>d`` for w in 30, 60, 90
    (the true probability of scheduling in ``(as_of, as_of + w]``).
    """
    n = len(lead_ids)
    day = np.timedelta64(86_400_000_000_000, "ns")
    hour = np.timedelta64(3_600_000_000_000, "ns")
    p_return = np.clip(share * 2 * expit(0.6 * propensity), 0, 1)
    back = ~scheduled & (rng.random(n) < p_return)
    gap_days = MIN_QUIET_DAYS + rng.gamma(2.0, 20.0, n)
    returned_at = as_of + (gap_days * day).astype("timedelta64[ns]")
    back &= returned_at + RETURN_AS_OF_HOURS * hour < end
    idx = np.flatnonzero(back)
    m = len(idx)
    r_at = returned_at[idx]
    r_as_of = r_at + RETURN_AS_OF_HOURS * hour

    renewed = rng.normal(0, 1, m)
    drive = np.exp(0.7 * renewed + 0.3 * propensity[idx])
    counts: dict[tuple[str, str], np.ndarray] = {
        ("page_view", "pricing"): rng.poisson(0.7 * drive),
        ("page_view", "service"): rng.poisson(0.5 * drive),
        ("page_view", "provider"): rng.poisson(0.3 * drive),
        ("email_click", ""): rng.poisson(0.2 * drive),
        ("chat_message", ""): rng.poisson(0.35 * drive),
        ("call_request", ""): (rng.random(m) < 1 - np.exp(-0.12 * drive)).astype(int),
    }
    started = rng.random(m) < 1 - np.exp(-0.2 * drive)
    counts[("intake_started", "")] = started.astype(int)
    counts[("intake_completed", "")] = (started & (rng.random(m) < 0.5)).astype(int)
    intent_p = np.array([0.35, 0.25, 0.15, 0.15, 0.10])
    follow_up = np.asarray(_FOLLOW_UP_INTENTS, dtype=object)[rng.choice(5, size=m, p=intent_p)]
    # renewed intent and activity go together: a lead ready to book is more active
    follow_up = np.where(renewed > 1.0, "scheduling", follow_up)

    wrote = counts[("chat_message", "")] > 0
    logit = -2.3 + 0.35 * prior_logit[idx]
    logit += np.where(wrote, [_INTENT_EFFECT[i] for i in follow_up], 0.0)
    logit += 0.9 * (1 - np.exp(-counts[("page_view", "pricing")] / 1.5))
    logit += 0.3 * (1 - np.exp(-(counts[("page_view", "service")] + counts[("page_view", "provider")]) / 2))
    logit += 0.3 * np.log1p(counts[("email_click", "")])
    logit += 0.6 * counts[("intake_started", "")] + 0.8 * counts[("intake_completed", "")]
    logit += 0.9 * counts[("call_request", "")]
    logit -= 0.5 * np.log(gap_days[idx] / MIN_QUIET_DAYS)  # the longer the silence, the colder the lead
    p_ever = expit(logit)

    # the renewed activity: a page view opens the return, the rest falls within its first day
    owners = [np.arange(m)]
    kinds = [np.full(m, "page_view", dtype=object)]
    pages = [np.full(m, "home", dtype=object)]
    times = [r_at]
    for (kind, page), count in counts.items():
        who = np.repeat(np.arange(m), count)
        owners.append(who)
        kinds.append(np.full(len(who), kind, dtype=object))
        pages.append(np.full(len(who), page, dtype=object))
        offset = (rng.random(len(who)) * (RETURN_AS_OF_HOURS - 0.01) * hour.astype(np.int64)).astype(
            "timedelta64[ns]"
        )
        times.append(r_at[who] + offset)
    who = np.concatenate(owners)
    new = pd.DataFrame(
        {
            "lead_id": lead_ids[idx][who],
            "occurred_at": np.concatenate(times),
            "event_type": np.concatenate(kinds),
            "page": np.concatenate(pages),
            "message_text": "",
        }
    )
    talk = (new["event_type"] == "chat_message").to_numpy()
    if talk.any():
        writer = who[talk]
        urgency = np.where(rng.random(len(writer)) < 0.3, "soon", "routine").astype(object)
        new.loc[talk, "message_text"] = generate_texts(
            list(follow_up[writer]), list(urgency), rng, kind="chat"
        )
    new["occurred_at"] = new["occurred_at"].astype("datetime64[ms]")
    merged = pd.concat([events.drop(columns="event_id"), new], ignore_index=True)
    merged = merged.loc[merged["occurred_at"] < end].sort_values("occurred_at", kind="stable")
    merged.insert(0, "event_id", _event_ids(len(merged)))

    converted = rng.random(m) < p_ever
    delay = rng.lognormal(np.log(_DELAY_MEDIAN_DAYS), _DELAY_SIGMA, m)
    sched_at = r_as_of + (delay * day).astype("timedelta64[ns]")
    keep = converted & (sched_at < end)
    more = pd.DataFrame(
        {
            "lead_id": lead_ids[idx][keep],
            "outcome": "appointment_scheduled",
            "occurred_at": pd.DatetimeIndex(sched_at[keep]),
        }
    )
    all_outcomes = pd.concat([outcomes, more], ignore_index=True).sort_values(
        ["occurred_at", "lead_id"], kind="stable"
    )

    created = as_of[idx] - np.timedelta64(24, "h")
    previous = _previous_event(events, lead_ids[idx], created)
    truth: dict[str, Any] = {
        "lead_id": lead_ids[idx],
        "returned_at": pd.DatetimeIndex(r_at).astype("datetime64[s]"),
        "as_of": pd.DatetimeIndex(r_as_of).astype("datetime64[s]"),
        "quiet_days": (r_at - previous) / day,
        "follow_up_intent": np.where(wrote, follow_up, ""),
    }
    for w in RETURN_WINDOWS_DAYS:
        f = ndtr((np.log(w) - np.log(_DELAY_MEDIAN_DAYS)) / _DELAY_SIGMA)
        truth[f"p_appointment_scheduled_{w}d"] = p_ever * f
    return merged.reset_index(drop=True), all_outcomes.reset_index(drop=True), pd.DataFrame(truth)


def _previous_event(events: pd.DataFrame, lead_ids: np.ndarray, created: np.ndarray) -> np.ndarray:
    """Each returning lead's latest event before its return (all its events are earlier), else creation."""
    last = pd.to_datetime(events["occurred_at"]).groupby(events["lead_id"].to_numpy()).max()
    found = last.reindex(lead_ids).to_numpy(dtype="datetime64[ns]")
    return np.where(np.isnat(found), created, found)


def _event_ids(n: int) -> np.ndarray:
    return sequential_ids("E", n, width=9)
