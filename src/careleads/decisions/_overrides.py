"""Hard rules: overrides that block or force a lead's path whatever its score, each with a plain-words reason.

A :class:`HardRules` is built from a hard-rules file (:func:`careleads.decisions.load_hard_rules`; the file's
format is described in ``_rules_file``). Conditions are evaluated column-wise on :class:`LeadFields`, so a
batch of leads and one lead (a batch of one) go through the same code.

Precedence: safety rules, those that can send a lead to clinical triage or to a human because of what it
wrote (a condition using ``urgent_symptoms`` or ``triage``, or a forced route of kind ``clinical``), always
come first, whatever their place in the file; the others keep file order. Every matching rule is recorded
with its reason; the first forcing rule in precedence order picks the route. ``block_all_outreach`` (do not
contact) stops every forced route but a safety rule's: a possible emergency still reaches a human.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.decisions._documents import Problem, messages
from careleads.decisions._fields import BoolArray, LeadFields, is_missing_value
from careleads.decisions._routing import Routing
from careleads.text.triage import LEVELS

log = logging.getLogger(__name__)

SHIPPED_HARD_RULES = "careleads/data/hard_rules.yaml"
EFFECTS: tuple[str, ...] = ("block_scoring_outreach", "block_all_outreach", "force_route")
OPERATORS: tuple[str, ...] = ("equals", "in", "missing", "above", "below", "urgent_symptoms", "triage")
#: the levels a ``triage`` test may name
TRIAGE_TESTS: tuple[str, ...] = ("urgent", "possible")
#: route kinds a rule on a ``possible`` triage level may force: a person reads the lead
HUMAN_KINDS: tuple[str, ...] = ("clinical", "review")
COMBINATORS: tuple[str, ...] = ("all", "any", "not")


def _staffed(routing: Routing, queue: str) -> bool:
    """Whether a queue has owners (people work it)."""
    return queue in routing.queues and bool(routing.queues[queue].owners)


@dataclass(frozen=True)
class Condition:
    """A condition tree: a field test (``field``, ``op``, ``value``) or a combinator over ``children``.

    Tests: ``equals`` and ``in`` (false when the value is missing), ``missing`` (true or false), ``above`` and
    ``below`` (strictly; false when the value is missing or not a number), ``urgent_symptoms`` (the text
    describes urgent clinical symptoms) and ``triage`` (the triage level is one of ``value``, a tuple of
    ``urgent`` and ``possible``: of the field's text, or with no field of every text of the lead, later
    messages and notes included). Combinators: ``all``, ``any``, ``not``.
    """

    op: str
    field: str | None = None
    value: Any = None
    children: tuple[Condition, ...] = ()

    def evaluate(self, data: LeadFields) -> BoolArray:
        """True where the condition holds, one entry per lead."""
        if self.op in ("all", "any"):
            out = self.children[0].evaluate(data)
            for child in self.children[1:]:
                # once no lead is left to decide (all false under "all", all true under "any"), stop
                held = np.count_nonzero(out)  # cheaper than any() and all() on a lead or a few
                if self.op == "all":
                    if held == 0:
                        break
                    out = out & child.evaluate(data)
                else:
                    if held == len(out):
                        break
                    out = out | child.evaluate(data)
            return out
        if self.op == "not":
            return ~self.children[0].evaluate(data)
        if self.op == "triage":
            codes = [LEVELS[level] for level in self.value]
            return np.isin(data.triage_levels(self.field), codes)
        assert self.field is not None
        if self.op == "urgent_symptoms":
            return data.urgent(self.field).copy()
        if self.op == "missing":
            missing = data.missing(self.field)
            return missing.copy() if self.value else ~missing
        if self.op in ("above", "below"):
            numbers = data.numbers(self.field)
            with np.errstate(invalid="ignore"):  # NaN (missing, not a number) compares false
                held = numbers > self.value if self.op == "above" else numbers < self.value
            return np.asarray(held, dtype=bool)
        values = self.value if self.op == "in" else (self.value,)
        return data.per_value(self.field, lambda v: not is_missing_value(v) and v in values)

    def fields(self) -> set[str]:
        """The fields this condition reads."""
        own = {self.field} if self.field is not None else set()
        return own.union(*(child.fields() for child in self.children))

    def uses_urgent_symptoms(self) -> bool:
        """Whether it tests for urgent symptoms (``urgent_symptoms``, or ``triage`` naming urgent)."""
        own = self.op == "urgent_symptoms" or (self.op == "triage" and "urgent" in self.value)
        return own or any(c.uses_urgent_symptoms() for c in self.children)

    def uses_triage(self) -> bool:
        """Whether the condition reads what the lead wrote through the clinical-triage detector."""
        own = self.op in ("urgent_symptoms", "triage")
        return own or any(c.uses_triage() for c in self.children)

    def to_dict(self) -> dict[str, Any]:
        if self.op in ("all", "any"):
            return {self.op: [c.to_dict() for c in self.children]}
        if self.op == "not":
            return {"not": self.children[0].to_dict()}
        value = list(self.value) if self.op in ("in", "triage") else self.value
        if self.field is None:
            return {self.op: value}
        return {"field": self.field, self.op: value}


@dataclass(frozen=True)
class HardRule:
    """One override: when ``condition`` holds, apply ``effect`` for ``reason``."""

    name: str
    description: str
    condition: Condition
    effect: str
    reason: str
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        effect: Any = {"force_route": self.route} if self.effect == "force_route" else self.effect
        return {
            "name": self.name,
            "description": self.description,
            "when": self.condition.to_dict(),
            "effect": effect,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class HardRules:
    """A validated hard-rules file. Build it with :func:`load_hard_rules` or :func:`parse_hard_rules`."""

    name: str
    version: str
    rules: tuple[HardRule, ...]
    source: str = SHIPPED_HARD_RULES

    @property
    def label(self) -> str:
        """``name@version``, recorded with every decision."""
        return f"{self.name}@{self.version}"

    @cached_property
    def _urgent(self) -> tuple[bool, ...]:
        return tuple(rule.condition.uses_triage() for rule in self.rules)

    @cached_property
    def _orders(self) -> dict[int, tuple[Routing | None, tuple[HardRule, ...]]]:
        return {}

    def ordered(self, routing: Routing | None = None) -> tuple[HardRule, ...]:
        """The rules in precedence order: clinical-triage rules first (stable), then file order."""
        known = self._orders.get(id(routing))
        if known is None or known[0] is not routing:  # kept with the routing, so its id stays its own
            known = self._orders[id(routing)] = (routing, self._ordered(routing))
        return known[1]

    def _ordered(self, routing: Routing | None) -> tuple[HardRule, ...]:
        return tuple(
            self.rules[k] for k in sorted(range(len(self.rules)), key=lambda k: not self._safety(k, routing))
        )

    def _safety(self, k: int, routing: Routing | None) -> bool:
        route = self.rules[k].route
        routes = routing.routes if routing is not None else {}
        return self._urgent[k] or (route is not None and route in routes and routes[route].kind == "clinical")

    def safety_rules(self, routing: Routing | None = None) -> frozenset[str]:
        """The names of the safety rules: those reading what the lead wrote (triage) or forcing a clinical
        route. They come first, and do-not-contact does not stop them."""
        return frozenset(rule.name for k, rule in enumerate(self.rules) if self._safety(k, routing))

    def evaluate(
        self, data: LeadFields | pd.DataFrame, *, routing: Routing | None = None
    ) -> tuple[tuple[HardRule, ...], npt.NDArray[np.bool_]]:
        """Which rules hold for which leads.

        Parameters
        ----------
        data : LeadFields or DataFrame
            Lead fields and scoring output, one row per lead.
        routing : Routing, optional
            Used to put rules forcing a clinical route first.

        Returns
        -------
        (rules, matrix)
            The rules in precedence order and a boolean matrix, one row per rule and one column per lead.
        """
        fields = LeadFields.of_frame(data) if isinstance(data, pd.DataFrame) else data
        if len(fields) > 1:
            absent = sorted(f for r in self.rules for f in r.condition.fields() if not fields.has(f))
            if absent:
                # a field the data lacks counts as missing: worth a line in the log, it may be a typo
                log.info(
                    "hard rules %s: fields %s are absent from the data and count as missing",
                    self.label,
                    sorted(set(absent)),
                )
        ordered = self.ordered(routing)
        if not ordered:
            return ordered, np.zeros((0, len(fields)), dtype=bool)
        return ordered, np.array([rule.condition.evaluate(fields) for rule in ordered], dtype=bool)

    def route_problems(self, routing: Routing) -> list[Problem]:
        """Problems between these rules and a routing file (unknown routes, triage to non-clinical routes,
        marketing routes), located in the rules file (rules are in file order)."""
        problems: list[Problem] = []
        for index, rule in enumerate(self.rules):
            if rule.route is None:
                continue
            at = ("rules", index, "effect", "force_route")
            spec = routing.routes.get(rule.route)
            forces = f"rule {rule.name!r} forces route {rule.route!r}"
            if spec is None:
                message = f"{forces}, which is not in {routing.source}; known: {sorted(routing.routes)}"
                problems.append((at, message))
                continue
            if rule.condition.uses_urgent_symptoms() and spec.kind != "clinical":
                message = (
                    f"{forces}: urgent clinical symptoms must go to a route of kind 'clinical' (a triage "
                    f"line), never to one of kind {spec.kind!r}"
                )
                problems.append((at, message))
            elif (rule.condition.uses_triage() and not rule.condition.uses_urgent_symptoms()) and not (
                spec.kind in HUMAN_KINDS and _staffed(routing, spec.queue)
            ):
                message = (
                    f"{forces}: a possible emergency must be read by a person: a route of kind "
                    f"{' or '.join(repr(k) for k in HUMAN_KINDS)} whose queue has owners, never one of kind "
                    f"{spec.kind!r} (queue {spec.queue!r})"
                )
                problems.append((at, message))
            if spec.marketing:
                problems.append((at, f"{forces}: a hard rule cannot force a marketing (nurture) route"))
        return problems

    def check_routes(self, routing: Routing) -> list[str]:
        """:meth:`route_problems` as messages naming the file and the key."""
        return messages(self.route_problems(routing), source=self.source)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "rules": [r.to_dict() for r in self.rules]}
