"""What the lead page shows on top of the lead as the API returns it, in words a reviewer reads at a glance.

The highlights header (name, phone and e-mail as links, status, owner, tier and score), the banners of the
hard rules in force (rule names in plain words, :data:`OVERRIDE_LABELS`), the reasons split into what raises
and what lowers the score, scores past 95% as a band, and the score path newest first, marked where another
model (or the rule baseline) took over. Everything here is JSON-ready: the page and its JSON twin show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

__all__ = [
    "OVERRIDE_LABELS",
    "action_text",
    "alerts",
    "highlights",
    "override_label",
    "percent_band",
    "plain_reasons",
    "relative",
    "score_text",
    "score_path",
]

#: hard-rule names (``hard_rules.yaml``) in the words the lead page uses; another rule is shown by its name
OVERRIDE_LABELS: Mapping[str, str] = {
    "urgent_clinical_symptoms": "Urgent symptoms: the clinical triage line calls first",
    "possible_emergency": "Possible emergency: a person reads it first",
    "do_not_contact": "Do not contact",
    "spam_message": "The message reads as spam",
    "spam_like": "Looks like spam",
    "incomplete_contact": "No phone and no e-mail",
    "billing_existing_patient": "An existing patient's billing question",
    "outside_service_area": "Outside the service area",
}
#: rules whose banner is urgent: the lead may need a clinician
URGENT_RULES = frozenset({"urgent_clinical_symptoms", "possible_emergency"})
#: a calibrated probability above this is shown as a band, never as "100%"
BAND_ABOVE = 0.95
_PHONE = re.compile(r"\+?[0-9 ().-]+")
#: digits a phone number has at least
_PHONE_DIGITS = 7


def override_label(rule: str) -> str:
    """A hard rule's name in plain words: :data:`OVERRIDE_LABELS`, else the name with spaces."""
    label = OVERRIDE_LABELS.get(rule)
    if label is not None:
        return label
    words = rule.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def percent_band(probability: float | None) -> str:
    """A probability as a whole percentage, past 95% as ``>95%`` (a calibrated 0.999999 is not certain).

    Examples
    --------
    >>> percent_band(0.622), percent_band(0.999999), percent_band(0.004)
    ('62%', '>95%', '<1%')
    """
    if probability is None:
        return "-"
    if probability > BAND_ABOVE:
        return f">{BAND_ABOVE:.0%}"
    if 0 < probability < 0.005:
        return "<1%"
    return f"{probability:.0%}"


def score_text(decision: Mapping[str, Any]) -> str:
    """A decision's score as shown: a model's calibrated chance as a percentage (:func:`percent_band`); the
    rule baseline's points are not a chance, so ``14/100`` (past 95 also a band: ``>95/100``).

    Examples
    --------
    >>> score_text({"scored_by": "model", "probability": 0.999999, "score": 100})
    '>95%'
    >>> score_text({"scored_by": "rules", "probability": 0.14, "score": 14})
    '14/100'
    """
    if decision.get("scored_by") == "model":
        return percent_band(decision.get("probability"))
    score = int(decision.get("score") or 0)
    return f">{BAND_ABOVE * 100:.0f}/100" if score > BAND_ABOVE * 100 else f"{score}/100"


def relative(moment: datetime | str | None, now: datetime) -> str:
    """A time as a reviewer says it: ``in 45 min``, ``in 3 h``, ``in 2 days``, ``12 min ago`` (naive UTC).

    Examples
    --------
    >>> now = datetime(2025, 3, 4, 10, 0)
    >>> relative(datetime(2025, 3, 4, 10, 45), now), relative("2025-03-04T07:00:00", now)
    ('in 45 min', '3 h ago')
    >>> relative(datetime(2025, 3, 6, 12, 0), now), relative(datetime(2025, 3, 4, 10, 0, 20), now)
    ('in 2 days', 'in 1 min')
    """
    if moment in (None, ""):
        return ""
    when = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    seconds = (when.replace(tzinfo=None) - now).total_seconds()
    minutes = max(1, round(abs(seconds) / 60))
    if minutes < 90:
        amount = f"{minutes} min"
    elif minutes < 48 * 60:
        amount = f"{round(minutes / 60)} h"
    else:
        amount = f"{round(minutes / 1440)} days"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def _sentence(text: str) -> str:
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def plain_reasons(reasons: Sequence[str]) -> dict[str, list[str]]:
    """Reasons (``+ source = doctor referral``) as sentences, split into what raises and lowers the score.

    Examples
    --------
    >>> split = plain_reasons(["+ source = doctor referral", "- insurance: self pay", "do not profile"])
    >>> split["raises"], split["lowers"]
    (['Source = doctor referral raises the score'], ['Insurance: self pay lowers the score'])
    >>> split["other"]
    ['Do not profile']
    """
    out: dict[str, list[str]] = {"raises": [], "lowers": [], "other": []}
    for reason in reasons:
        text = str(reason).strip()
        if text.startswith("+ "):
            out["raises"].append(f"{_sentence(text[2:])} raises the score")
        elif text.startswith("- "):
            out["lowers"].append(f"{_sentence(text[2:])} lowers the score")
        elif text:
            out["other"].append(_sentence(text))
    return out


def action_text(action: str | None) -> str:
    """A decision's action in words, hard rules named by their labels.

    Examples
    --------
    >>> action_text("override urgent_clinical_symptoms: route clinical_triage")
    'Urgent symptoms: the clinical triage line calls first (route clinical triage)'
    >>> action_text("call the same business day")
    'Call the same business day'
    """
    text = (action or "").strip()
    match = re.fullmatch(r"override (\w+)(?:: (.*))?", text)
    if match:
        rest = f" ({match.group(2).replace('_', ' ')})" if match.group(2) else ""
        return override_label(match.group(1)) + rest
    return _sentence(text)


def _contact_link(value: str) -> tuple[str, str | None]:
    """(kind, href) of a contact value: an e-mail (mailto:), a phone number (tel:) or a name (no link)."""
    text = value.strip()
    if "@" in text and " " not in text:
        return "email", "mailto:" + quote(text, safe="@.+-_")
    if _PHONE.fullmatch(text) and sum(c.isdigit() for c in text) >= _PHONE_DIGITS:
        return "phone", "tel:" + re.sub(r"[^0-9+]", "", text)
    return "name", None


def highlights(
    lead: Mapping[str, Any], review_task: Mapping[str, Any] | None, worked: bool, now: datetime
) -> dict[str, Any]:
    """The header: name, contact links, status, owner, tier and score of the lead (an API-shaped dict)."""
    decision = lead.get("decision") or {}
    contacts = []
    name = None
    for field, value in (lead.get("contact") or {}).items():
        kind, href = _contact_link(str(value))
        if kind == "name" and name is None:
            name = str(value)
        else:
            contacts.append({"field": field, "kind": kind, "value": str(value), "href": href})
    if lead.get("erased"):
        status = "erased"
    elif review_task is not None:
        status = "in review"
    else:
        status = "worked" if worked else "not in review"
    route = decision.get("route") or {}
    owner = (review_task or {}).get("owner") or route.get("owner")
    return {
        "name": name,
        "contacts": contacts,
        "status": status,
        "queue": (review_task or {}).get("queue") or route.get("queue"),
        "owner": owner or "unassigned",
        "due": relative((review_task or {}).get("sla_due"), now) or None,
        "tier": decision.get("tier"),
        "score": score_text(decision) if decision else None,
        "scored_by": decision.get("scored_by"),
    }


def alerts(decision: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The banners at the top of the page: the triage verdict first, then every hard rule in force."""
    if not decision:
        return []
    out = []
    triage = (decision.get("route") or {}).get("triage") or {}
    level = triage.get("level") or "none"
    rules = {str(o.get("rule")) for o in decision.get("overrides") or []}
    if level != "none" and not rules & URGENT_RULES:
        label = "Urgent symptoms" if level == "urgent" else "Possible emergency"
        out.append({"level": "urgent", "label": label, "reason": "A person reads this lead first."})
    for o in decision.get("overrides") or []:
        rule = str(o.get("rule"))
        out.append(
            {
                "level": "urgent" if rule in URGENT_RULES else "rule",
                "label": override_label(rule),
                "reason": str(o.get("reason") or ""),
            }
        )
    out.sort(key=lambda a: a["level"] != "urgent")
    return out


def _scorer(entry: Mapping[str, Any]) -> str:
    if entry.get("scored_by") == "model":
        return f"model {entry.get('model_version')}"
    return "the rules baseline"


def score_path(ledger: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ledger newest first, each entry with its score band and, where the scorer changed from the entry
    before, a note saying which model replaced which (``model v3 replaced the rules baseline``)."""
    out = []
    previous: Mapping[str, Any] | None = None
    for entry in ledger:
        note = None
        if previous is not None and (
            entry.get("scored_by") != previous.get("scored_by")
            or entry.get("model_version") != previous.get("model_version")
        ):
            note = f"{_scorer(entry)} replaced {_scorer(previous)}"
        out.append({**entry, "score_text": score_text(entry), "scorer_change": note})
        previous = entry
    return out[::-1]
