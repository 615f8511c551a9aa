"""Batch decisions as columns: what a batch file records of :func:`decide_many`, without per-lead objects.

:func:`decide_many` returns one :class:`Decision` object per lead, which a batch run then flattens into a
table (:func:`decisions_frame`); at a million leads the objects cost far more than the rules themselves. A
batch file does not carry owners (they are assigned when leads enter the work queue), so everything it records
is a function of each lead's own fields: this module computes those columns directly, once per distinct route,
rule pattern, contact situation or service line, and spreads them over the rows. The values are the same as
``decisions_frame(decide_many(...))`` column for column (tested lead for lead).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.columns import categories_by_code, text_by_code
from careleads.decisions._engine import _align, _configuration, _flag, _present, _values
from careleads.decisions._overrides import HardRules, RuleInput, UrgentDetector
from careleads.decisions._routing import RouteSpec, Routing
from careleads.errors import InputError

# The columns of `decisions_frame` that depend on the lead alone (not on the work queue's owners).
DECISION_COLUMNS: tuple[str, ...] = (
    "action",
    "review_required",
    "notes",
    "rules_version",
    "routing_version",
    "overrides",
    "route_name",
    "route_kind",
    "route_queue",
    "route_call_script",
    "route_intake_form",
    "route_sla_hours",
    "route_sla_due",
    "route_nurture_track",
    "route_channels",
)
_NO_PROFILE_NOTE = "do not profile: scored by the rule baseline only, no model score"
_NO_SMS_NOTE = "no SMS consent: the sms channel is not used"


def _route_codes(routing: Routing, frame: pd.DataFrame, specs: list[RouteSpec]) -> npt.NDArray[np.int64]:
    """:meth:`Routing.match_many` as indices into `specs` (extended with the routes met)."""
    chosen = routing.matching_rules(frame)
    rule_code = np.array([_code(specs, rule.route) for rule in routing.rules] + [-1], dtype=np.int64)
    codes = rule_code[chosen]  # -1 picks the last entry: no rule matched
    codes[chosen < 0] = _code(specs, routing.routes[routing.default_route])
    return codes


def _code(specs: list[RouteSpec], spec: RouteSpec) -> int:
    for k, known in enumerate(specs):
        if known is spec:
            return k
    specs.append(spec)
    return len(specs) - 1


def _per_route(specs: Sequence[RouteSpec], values: Sequence[Any]) -> npt.NDArray[Any]:
    out = np.empty(len(specs), dtype=object)
    out[:] = list(values)
    return out


def decide_columns(
    leads_frame: pd.DataFrame,
    scored_frame: pd.DataFrame,
    *,
    hard_rules: HardRules | None = None,
    routing: Routing | None = None,
    now: pd.Timestamp | str | None = None,
    urgent_detector: UrgentDetector | None = None,
    key: str = "lead_id",
    categorical: bool = False,
) -> pd.DataFrame:
    """The lead-level decision columns of every scored lead, as :func:`decisions_frame` would give them.

    Parameters
    ----------
    leads_frame, scored_frame, hard_rules, routing, now, urgent_detector, key
        As for :func:`decide_many`.
    categorical : bool
        Give the text columns as pandas categoricals (the same values): a batch file then writes each as a
        dictionary of its few distinct values without hashing every row's text.

    Returns
    -------
    DataFrame
        `DECISION_COLUMNS` (action, overrides, notes, review flag, versions and the route fields except owner
        and assignment), one row per row of `scored_frame`, in its order.

    Raises
    ------
    InputError
        As :func:`decide_many`.
    """
    hard_rules, routing = _configuration(hard_rules, routing)
    texts = categories_by_code if categorical else text_by_code
    frame = _align(leads_frame, scored_frame, key)
    n = len(frame)
    if n == 0:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in DECISION_COLUMNS})
    when = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    ordered, matrix = hard_rules.evaluate(RuleInput(frame, urgent_detector), routing=routing)
    no_profile = _flag(frame, "do_not_profile")
    scored_by = frame["scored_by"].astype(object).to_numpy()
    profiled = no_profile & (scored_by != "rules")
    if profiled.any():
        ids = _values(frame["lead_id"])
        bad = [ids[i] for i in np.flatnonzero(profiled)[:5]]
        raise InputError(
            f"{int(profiled.sum())} leads marked 'do not profile' carry a model score, e.g. {bad}; "
            "score them with a model that has a rule fallback (see careleads.scoring.score_leads)"
        )

    specs: list[RouteSpec] = []
    codes = _route_codes(routing, frame, specs)
    # actions as codes into the distinct texts (a chunk has a few dozen), not as a Python string per lead
    action_texts = _Texts()
    by_tier, tier_actions = pd.factorize(frame["action"], use_na_sentinel=True)
    action_of = [action_texts.code(str(a)) for a in tier_actions] + [action_texts.code("")]  # -1: missing
    actions = np.asarray(action_of, dtype=np.int64)[by_tier]

    # overrides: the first forcing rule in precedence order picks the route; block-only rules hold outreach
    n_rules = len(ordered)
    forcing = np.array([r.effect == "force_route" for r in ordered], dtype=bool)
    forced_matrix = matrix & forcing[:, None]
    any_forced = forced_matrix.any(axis=0)
    blocked = matrix.any(axis=0) & ~any_forced
    if n_rules:
        first_forced = forced_matrix.argmax(axis=0)
        first_held = matrix.argmax(axis=0)
        rule_route = np.array(
            [_code(specs, routing.route(str(r.route))) if r.effect == "force_route" else -1 for r in ordered],
            dtype=np.int64,
        )
        forced_action = np.array([action_texts.code(f"override {r.name}: route {r.route}") for r in ordered])
        held_action = np.array(
            [action_texts.code(f"override {r.name}: no score-based outreach") for r in ordered]
        )
        codes[any_forced] = rule_route[first_forced[any_forced]]
        actions[any_forced] = forced_action[first_forced[any_forced]]
        codes[blocked] = _code(specs, routing.route(routing.blocked_route))
        actions[blocked] = held_action[first_held[blocked]]

    # consent: no marketing nurture without marketing consent; sms only with sms consent
    marketing_ok = _flag(frame, "consent_marketing")
    sms_ok = _flag(frame, "consent_sms")
    has_phone = _present(frame, "phone")
    has_email = _present(frame, "email")
    replacement = routing.route(routing.no_marketing_route)
    replaced = np.array([s.marketing for s in specs], dtype=bool)[codes] & ~marketing_ok
    replaced_from = np.full(n, -1, dtype=np.int64)  # the route a consent rule replaced, per lead
    if replaced.any():
        replaced_from[replaced] = codes[replaced]
        instead = [
            action_texts.code(f"no marketing consent: {replacement.name} instead of {s.name}") for s in specs
        ]
        actions[replaced] = np.asarray(instead, dtype=np.int64)[codes[replaced]]
        codes[replaced] = _code(specs, replacement)

    # channels: per distinct (route, contact details, consent, preferred channel)
    pref_codes, pref_list = _distinct(frame, "preferred_contact")
    situation = (
        codes * 8 + has_phone.astype(np.int64) * 4 + has_email.astype(np.int64) * 2 + sms_ok.astype(np.int64)
    ) * len(pref_list) + pref_codes
    distinct, inverse = _sorted_distinct(situation)
    joined: list[str] = []
    for value in distinct.tolist():
        code, pref = divmod(value, len(pref_list))
        code, flags = divmod(code, 8)
        ok = {"phone": bool(flags & 4), "email": bool(flags & 2), "sms": bool(flags & 4) and bool(flags & 1)}
        allowed = [c for c in specs[code].channels if ok[c]]
        first = pref_list[pref]
        if isinstance(first, str) and first in allowed:
            allowed.remove(first)
            allowed.insert(0, first)
        joined.append(",".join(allowed))
    offers_sms = np.array(["sms" in s.channels for s in specs], dtype=bool)[codes]
    sms_note = offers_sms & has_phone & ~sms_ok

    # notes in the order decide_many writes them: profiling, marketing consent, SMS consent; joined once per
    # distinct combination
    n_routes = len(specs) + 1  # replaced_from + 1: 0 when no route was replaced
    situation = (no_profile.astype(np.int64) * 2 + sms_note.astype(np.int64)) * n_routes + replaced_from + 1
    combinations, combination_of = _sorted_distinct(situation)
    note_texts: list[str] = []
    for value in combinations.tolist():
        flags, route = divmod(value, n_routes)
        parts = [_NO_PROFILE_NOTE] if flags >= 2 else []
        if route:
            parts.append(
                f"no marketing consent: {replacement.name} answers the lead's request instead of "
                f"{specs[route - 1].name}"
            )
        if flags % 2:
            parts.append(_NO_SMS_NOTE)
        note_texts.append("; ".join(parts))

    # overrides recorded: rule names of each distinct pattern of held rules
    if n_rules:
        bits = np.left_shift(np.ones(n_rules, dtype=np.int64), np.arange(n_rules, dtype=np.int64))
        patterns = bits @ matrix.astype(np.int64)
        distinct_patterns, pattern_index = _sorted_distinct(patterns)
        names_by_pattern = [
            ";".join(r.name for j, r in enumerate(ordered) if int(code) >> j & 1)
            for code in distinct_patterns.tolist()
        ]
        overrides = texts(names_by_pattern, pattern_index.reshape(-1))
    else:
        overrides = texts([""], np.zeros(n, dtype=np.int64))

    # route fields, SLA due time and nurture track: per distinct route (and service line)
    due = [routing.due(s, when) for s in specs]
    service_codes, service_list = _distinct(frame, "service_line")
    # a track per service line, and None last for the leads whose route does not nurture
    tracks = [*(routing.nurture_track(v) for v in service_list), None]
    nurtures = np.array([s.nurture for s in specs], dtype=bool)[codes]
    track_codes = np.where(nurtures, service_codes, len(tracks) - 1)

    review_tiers = set(routing.review_tiers)
    tier_codes, tier_values = _distinct(frame, "tier")
    tier_review = np.array([t is not None and str(t) in review_tiers for t in tier_values], dtype=bool)
    review = (
        tier_review[tier_codes]
        | any_forced
        | np.array([s.kind in ("clinical", "review") for s in specs], dtype=bool)[codes]
    )

    route_names = [s.name for s in specs]
    columns: dict[str, Any] = {
        "action": texts(action_texts.values, actions),
        "review_required": review.tolist(),
        "notes": texts(note_texts, combination_of.reshape(-1)),
        "rules_version": texts([hard_rules.label], np.zeros(n, dtype=np.int64)),
        "routing_version": texts([routing.label], np.zeros(n, dtype=np.int64)),
        "overrides": overrides,
        "route_name": texts(route_names, codes),
        "route_kind": texts([s.kind for s in specs], codes),
        "route_queue": texts([s.queue for s in specs], codes),
        "route_call_script": texts([s.call_script for s in specs], codes),
        "route_intake_form": texts([s.intake_form for s in specs], codes),
        "route_sla_hours": _per_route(specs, [s.sla_hours for s in specs])[codes].tolist(),
        "route_sla_due": texts([d.isoformat() if d is not None else None for d in due], codes),
        "route_nurture_track": texts(tracks, track_codes),
        "route_channels": texts(joined, inverse.reshape(-1)),
    }
    return pd.DataFrame(columns)


def _sorted_distinct(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)``, by hashing (a chunk has few distinct values)."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques, dtype=np.int64), np.asarray(codes, dtype=np.intp)


def _distinct(frame: pd.DataFrame, name: str) -> tuple[npt.NDArray[np.intp], list[Any]]:
    """Each row's code among a column's distinct values, and the values with None last (the code of a
    missing value, or of every row when there is no such column)."""
    if name not in frame:
        return np.zeros(len(frame), dtype=np.intp), [None]
    codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
    values: list[Any] = [*list(uniques), None]
    return np.where(codes < 0, len(values) - 1, codes).astype(np.intp), values


class _Texts:
    """Distinct texts numbered in order of first use."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}

    def code(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.values)
            self.values.append(text)
        return self._index[text]
