"""How real CRM exports are spoilt: messy spellings, placeholders for blanks, and bad rows.

The simulator writes clean values first, then spoils a share of them here; the shipped data dictionary maps
the spellings back, and ingest quarantines the bad rows (the truth file names each injected defect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SPELLINGS", "blank", "inject_defects", "messy", "messy_bool"]

# Messy spellings a CRM export really holds, per canonical value. The shipped dictionary maps them back.
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "service_line": {
        "primary_care": ("Primary Care", "PCP", "Family Medicine", "primary care"),
        "orthopedics": ("Ortho", "Orthopaedics", "ORTHOPEDICS", "Bone & Joint"),
        "cardiology": ("Cardio", "Heart Care", "CARDIOLOGY"),
        "dermatology": ("Derm", "Skin", "Dermatology "),
        "womens_health": ("OB/GYN", "Women's Health", "womens health"),
        "behavioral_health": ("Mental Health", "Behavioral", "Behavioral Health"),
        "physical_therapy": ("PT", "Physio", "Physical Therapy"),
        "sleep_medicine": ("Sleep", "Sleep Center", "sleep medicine"),
    },
    "source": {
        "organic_search": ("SEO", "Organic", "Google organic"),
        "paid_search": ("Google Ads", "PPC", "SEM"),
        "paid_social": ("Facebook", "Instagram", "Meta"),
        "physician_referral": ("Referral", "Doctor referral", "Physician Referral"),
        "email_campaign": ("Email", "Newsletter"),
        "display_ads": ("Display", "Banner"),
        "direct": ("Direct", "Typed URL"),
        "partner_directory": ("Directory", "Healthgrades"),
        "telehealth_app": ("App", "Telehealth App"),
    },
    "insurance": {
        "commercial": ("Private", "PPO", "HMO", "Commercial"),
        "medicare": ("Medicare", "Medicare Advantage"),
        "medicaid": ("Medicaid", "MEDICAID"),
        "self_pay": ("Cash", "Self Pay", "self-pay"),
        "out_of_network": ("Out of Network", "OON"),
    },
    "intake_urgency": {
        "routine": ("Routine", "No rush"),
        "soon": ("Within a week", "Soon"),
        "urgent": ("ASAP", "Urgent", "URGENT"),
    },
    "sex": {"female": ("F", "Female"), "male": ("M", "Male"), "other": ("X", "Other")},
    "preferred_contact": {"phone": ("Phone", "Call"), "email": ("Email", "E-mail"), "sms": ("Text", "SMS")},
    "landing_page": {},
    "region": {},
    "inquiry_type": {},
}
_BOOL_SPELLINGS = (("yes", "Y", "true", "1", "Yes"), ("no", "N", "false", "0", "No"))


def messy(rng: np.random.Generator, column: str, values: np.ndarray, rate: float = 0.3) -> np.ndarray:
    """Replace `rate` of the values with one of their real-world spellings."""
    out = values.astype(object).copy()
    spellings = SPELLINGS.get(column, {})
    pick = rng.random(len(values)) < rate
    for canonical, options in spellings.items():
        mask = pick & (values == canonical)
        if options and mask.any():
            out[mask] = np.asarray(options, dtype=object)[rng.integers(0, len(options), mask.sum())]
    return out


def messy_bool(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    yes = np.asarray(_BOOL_SPELLINGS[0], dtype=object)[rng.integers(0, 5, len(values))]
    no = np.asarray(_BOOL_SPELLINGS[1], dtype=object)[rng.integers(0, 5, len(values))]
    return np.where(values, yes, no)


def blank(rng: np.random.Generator, frame: pd.DataFrame, rates: dict[str, float]) -> None:
    placeholders = np.asarray(["", "unknown", "N/A"], dtype=object)
    for column, rate in rates.items():
        mask = rng.random(len(frame)) < rate
        frame.loc[mask, column] = placeholders[rng.integers(0, 3, mask.sum())]


def inject_defects(
    rng: np.random.Generator, leads: pd.DataFrame, truth: pd.DataFrame, rate: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spoil about `rate` of the rows the way real exports are spoilt, and say which in the truth file."""
    n = len(leads)
    n_bad = int(round(n * rate))
    if n_bad == 0:
        return leads, truth
    rows = rng.choice(n, size=n_bad, replace=False)
    kinds = np.asarray(
        [
            "missing_id",
            "bad_date",
            "impossible_age",
            "impossible_distance",
            "unknown_service_line",
            "duplicate_id",
        ],
        dtype=object,
    )[np.arange(n_bad) % 6]
    leads = leads.copy()
    truth.loc[truth.index[rows], "injected_defect"] = kinds
    spoil = {
        "missing_id": ("lead_id", np.array([""], dtype=object)),
        "bad_date": ("created_at", np.array(["2025-13-45", "yesterday", "31/02/2025"], dtype=object)),
        "impossible_age": ("age", np.array(["-3", "250"], dtype=object)),
        "impossible_distance": ("distance_km", np.array(["-12.0", "9999"], dtype=object)),
        "unknown_service_line": ("service_line", np.array(["zzz test entry"], dtype=object)),
    }
    for kind, (column, bad_values) in spoil.items():
        where = rows[kinds == kind]
        leads.loc[leads.index[where], column] = bad_values[where % len(bad_values)]
    # a second copy of the row, as when an export is appended twice; the first copy stays valid
    extra = leads.iloc[rows[kinds == "duplicate_id"]].copy()
    leads = pd.concat([leads, extra], ignore_index=True)
    return leads, truth
