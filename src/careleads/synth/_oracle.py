"""The oracle: each simulated lead's true conversion probability from what it has done so far.

The simulator's truth is a logistic function of the lead's creation-time attributes (folded into one base
log-odds per lead) and of its first day of engagement. :class:`Oracle` keeps the base and the few flags the
engagement effects depend on, so the same function can be evaluated on the first-day events a lead has done
by any moment: the oracle probability as of that moment, "as if the first day ended now". It is what a test
compares a model's score path against (an event that raises the oracle probability should not lower the
score); at the end of the first day it is exactly the truth file's probability of ever converting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit

from careleads.types import FloatArray

BoolArray = npt.NDArray[np.bool_]

#: The first-day counts the truth reads: ``page_<page>`` for page views, else the event type.
PAGE_COUNTS: tuple[str, ...] = (
    "page_pricing",
    "page_provider",
    "page_locations",
    "page_insurance",
    "page_service",
    "page_home",
    "page_blog",
)
#: Hours after creation during which engagement enters the truth (the simulator's scoring moment).
FIRST_DAY_HOURS = 24


def engagement_logit(
    counts: Mapping[str, npt.ArrayLike],
    *,
    price_shopper: BoolArray,
    urgent: BoolArray,
    behavioral: BoolArray,
    states_urgency: BoolArray,
) -> FloatArray:
    """The engagement part of the true log-odds: the one definition, for the truth file and the oracle.

    Parameters
    ----------
    counts : mapping of arrays
        First-day counts per lead (``page_pricing``, ..., ``email_click``, ``chat_message``,
        ``sms_message``, ``call_request``, ``intake_started``, ``intake_completed``); a missing key is 0.
    price_shopper, urgent, behavioral : bool arrays
        Self-pay or out of network; urgent; behavioral health (the interactions of the truth).
    states_urgency : bool array
        Leads whose messages say their need became urgent (only once they have written one).
    """
    n = len(price_shopper)

    def c(key: str) -> FloatArray:
        return np.asarray(counts[key], dtype=np.float64) if key in counts else np.zeros(n)

    out = np.where(price_shopper, 1.4, 0.7) * (1 - np.exp(-c("page_pricing") / 1.5))
    out += 0.5 * (1 - np.exp(-(c("page_provider") + c("page_locations")) / 2))
    out += 0.2 * (1 - np.exp(-c("page_service") / 2))
    out += 0.35 * np.log1p(c("email_click"))
    wrote = c("chat_message") + c("sms_message")
    out += 0.3 * np.log1p(wrote)
    out += (0.7 + 0.6 * urgent) * c("call_request") + 0.55 * c("intake_started")
    out += np.where(behavioral, 1.4, 0.6) * c("intake_completed")
    total_views = sum(c(key) for key in PAGE_COUNTS)
    out -= 0.5 * (total_views > 12)  # bursts of views look like bots or researchers, not patients
    out += 0.7 * (states_urgency & (wrote > 0))
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Oracle:
    """Per lead, what its truth depends on besides engagement (see the module docstring).

    Attributes
    ----------
    lead_id : array
        The simulator's lead ids, in the order of the other arrays.
    created : datetime64 array
        Each lead's creation time.
    base_logit : float array
        The true log-odds of ever converting with no engagement at all.
    price_shopper, urgent, behavioral, states_urgency : bool arrays
        The flags of :func:`engagement_logit`.
    """

    lead_id: npt.NDArray[np.object_]
    created: npt.NDArray[np.datetime64]
    base_logit: FloatArray
    price_shopper: BoolArray
    urgent: BoolArray
    behavioral: BoolArray
    states_urgency: BoolArray

    def ever(self, counts: Mapping[str, npt.ArrayLike], rows: npt.ArrayLike | None = None) -> FloatArray:
        """The true probability of ever converting given first-day `counts` (of the leads at `rows`)."""
        at = np.arange(len(self.lead_id)) if rows is None else np.asarray(rows, dtype=np.int64)
        logit = self.base_logit[at] + engagement_logit(
            counts,
            price_shopper=self.price_shopper[at],
            urgent=self.urgent[at],
            behavioral=self.behavioral[at],
            states_urgency=self.states_urgency[at],
        )
        return np.asarray(expit(logit), dtype=np.float64)

    def as_of(self, lead_ids: npt.ArrayLike, as_of: npt.ArrayLike, events: pd.DataFrame) -> FloatArray:
        """The oracle probability of each lead as of its moment: its first-day events up to then.

        Parameters
        ----------
        lead_ids, as_of : arrays
            Which leads, and the moment of each (one lead may appear at several moments).
        events : DataFrame
            The simulator's events (``lead_id``, ``occurred_at``, ``event_type``, ``page``).
        """
        ids = np.asarray(lead_ids, dtype=object)
        moments = pd.to_datetime(pd.Series(np.asarray(as_of))).to_numpy(dtype="datetime64[us]")
        index = pd.Index(self.lead_id)
        position = index.get_indexer(pd.Index(ids))
        if (position < 0).any():
            raise KeyError(f"unknown lead ids: {ids[position < 0][:5].tolist()}")
        created = self.created.astype("datetime64[us]")
        query = pd.DataFrame({"row": np.arange(len(ids)), "lead_id": ids, "as_of": moments})
        mine = events.loc[events["lead_id"].isin(set(ids.tolist()))]
        when = pd.to_datetime(mine["occurred_at"]).to_numpy(dtype="datetime64[us]")
        first_day = index.get_indexer(pd.Index(mine["lead_id"].to_numpy()))
        day_us = FIRST_DAY_HOURS * 3_600_000_000
        first = pd.Series(when.astype(np.int64) < created[first_day].astype(np.int64) + day_us)
        kind = mine["event_type"].astype(str).to_numpy()
        page = mine["page"].fillna("").astype(str).to_numpy() if "page" in mine else np.full(len(mine), "")
        key = np.where(kind == "page_view", "page_" + page.astype(object), kind.astype(object))
        table = pd.DataFrame({"lead_id": mine["lead_id"].to_numpy(), "when": when, "key": key})
        table = table.loc[first.to_numpy()]
        joined = query.merge(table, on="lead_id", how="inner")
        joined = joined.loc[joined["when"] <= joined["as_of"]]
        wide = joined.groupby(["row", "key"]).size().unstack(fill_value=0)
        wide = wide.reindex(range(len(ids)), fill_value=0)
        counts = {str(k): wide[k].to_numpy(dtype=np.float64) for k in wide.columns}
        return self.ever(counts, position)
