"""The hard-rules file (YAML): its typed model, the checks against a routing file, and loading.

A hard-rules file (shipped default ``careleads/data/hard_rules.yaml``) lists rules::

    - name: incomplete_contact
      description: Neither a phone number nor an e-mail address.
      when:
        all:
          - {field: phone, missing: true}
          - {field: email, missing: true}
      effect: {force_route: data_completion}
      reason: No phone and no e-mail; complete the contact details before any outreach.

Conditions test one field each and combine with ``all``, ``any`` and ``not``. A field is one of the lead's
clean fields or one of the scoring output's (``probability``, ``score``, ``tier``, ``action``, ``scored_by``,
``model_version``; these take precedence over a lead field of the same name). Tests:

- ``equals: VALUE`` and ``in: [VALUES]``: false when the value is missing;
- ``missing: true`` (no value, or blank text; a field absent from the data counts as missing) or
  ``missing: false``;
- ``above: NUMBER`` and ``below: NUMBER`` (strictly): false when the value is missing or not a number;
- ``urgent_symptoms: true``: the text describes urgent clinical symptoms, by the clinical-triage detector
  :class:`careleads.text.ClinicalTriageDetector`;
- ``triage: urgent`` or ``triage: possible`` (or a list of both): the detector's level for the field's
  text; without ``field``, the highest level over every text of the lead (its free-text fields, and the
  chat, SMS, e-mail and intake messages and reviewers' notes that came later).

Effects: ``block_scoring_outreach`` (no score-based outreach: the lead gets the routing file's blocked route
unless another rule forces one), ``block_all_outreach`` (do not contact: the blocked route, whatever other
rules force, except a safety rule's route: a possible emergency still reaches a person) or
``{force_route: ROUTE}`` (the named route of the routing file; forcing a route also replaces score-based
outreach).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from careleads.config import ConfigLines, parse_yaml_lines, read_config_text
from careleads.decisions._documents import Document, Problem, fail, messages, validated
from careleads.decisions._overrides import (
    COMBINATORS,
    EFFECTS,
    OPERATORS,
    SHIPPED_HARD_RULES,
    TRIAGE_TESTS,
    Condition,
    HardRule,
    HardRules,
)
from careleads.decisions._routing import Routing
from careleads.decisions._routing_file import load_routing
from careleads.errors import ConfigError
from careleads.types import PathLikeStr

_SHIPPED = SHIPPED_HARD_RULES.removeprefix("careleads/data/")  # the file's name under careleads/data
_EFFECT = "expected 'block_scoring_outreach', 'block_all_outreach' or {force_route: ROUTE}"
_CONDITIONS = "expected a non-empty list of conditions"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


class ConditionDoc(Document):
    """A condition: a test of one field, or ``all`` / ``any`` / ``not`` over conditions."""

    not_a_mapping = "expected a mapping such as {field: region, equals: outside_area}"
    unknown = f"unknown test; use one of {list(OPERATORS)}"
    expected = {"all": _CONDITIONS, "any": _CONDITIONS}

    all_: list[ConditionDoc] | None = Field(None, alias="all")
    any_: list[ConditionDoc] | None = Field(None, alias="any")
    not_: ConditionDoc | None = Field(None, alias="not")
    field: Any = None
    equals: Any = None
    in_: Any = Field(None, alias="in")
    missing: Any = None
    above: Any = None
    below: Any = None
    urgent_symptoms: Any = None
    triage: Any = None

    @model_validator(mode="after")
    def _valid(self) -> ConditionDoc:
        self.condition()  # fails with the problem of the condition
        return self

    def condition(self) -> Condition:
        """The condition this entry describes."""
        given = [type(self).model_fields[name].alias or name for name in self.model_fields_set]
        combinators = [k for k in COMBINATORS if k in given]
        if combinators:
            op = combinators[0]
            if len(given) != 1:
                fail(((), f"{op!r} must stand alone in its mapping, found keys {given}"))
            if op == "not":
                if self.not_ is None:
                    fail(((op,), f"expected a condition to negate, got {self.not_!r}"))
                return Condition("not", children=(self.not_.condition(),))
            children = self.all_ if op == "all" else self.any_
            if not children:
                fail(((op,), _CONDITIONS))
            return Condition(op, children=tuple(c.condition() for c in children))
        field_optional = "triage" in given and "field" not in given  # every text of the lead
        if not field_optional and (not isinstance(self.field, str) or not self.field.strip()):
            message = f"each test names a field (text), got {self.field!r}; or combine with all/any/not"
            fail((("field",), message))
        ops = [k for k in OPERATORS if k in given]
        if len(ops) != 1:
            fail(((), f"a field test needs exactly one of {list(OPERATORS)}, found {ops or 'none'}"))
        op = ops[0]
        return Condition(
            op, field=self.field, value=_test_value(op, self.in_ if op == "in" else getattr(self, op))
        )


def _test_value(op: str, value: Any) -> Any:
    """The value of a field test as the condition uses it; fails with what the test expects."""
    if op == "equals" and not _is_scalar(value):
        fail(((op,), f"expected one value (text, number or true/false), got {value!r}; use 'missing'"))
    if op == "in":
        if not isinstance(value, list) or not value or not all(_is_scalar(v) for v in value):
            fail(((op,), f"expected a non-empty list of values, got {value!r}"))
        return tuple(value)
    if op == "missing" and not isinstance(value, bool):
        fail(((op,), f"expected true or false, got {value!r}"))
    if op in ("above", "below"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            fail(((op,), f"expected a number, got {value!r}"))
        return float(value)
    if op == "triage":
        levels = value if isinstance(value, list) else [value]
        if not levels or not all(isinstance(v, str) and v in TRIAGE_TESTS for v in levels):
            fail(((op,), f"expected {' or '.join(TRIAGE_TESTS)} (or a list of them), got {value!r}"))
        return tuple(dict.fromkeys(levels))
    if op == "urgent_symptoms" and value is not True:
        message = f"expected true (to test for the absence of symptoms, wrap it in 'not'), got {value!r}"
        fail(((op,), message))
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        fail(((), f"write it in plain words (text), got {value!r}"))
    return value.strip()


PlainWords = Annotated[str, BeforeValidator(_text)]


class RuleDoc(Document):
    """One hard rule."""

    not_a_mapping = "expected a mapping with keys ['name', 'description', 'when', 'effect', 'reason']"
    expected = {
        "name": "every rule needs a name (text)",
        "description": "write it in plain words (text)",
        "reason": "write it in plain words (text)",
        "when": "every rule needs a condition",
        "effect": _EFFECT,
    }

    name: str
    description: PlainWords
    when: ConditionDoc
    effect: tuple[str, str | None]
    reason: PlainWords

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            fail(((), f"every rule needs a name (text), got {value!r}"))
        return value

    @field_validator("effect", mode="before")
    @classmethod
    def _effect(cls, raw: Any) -> Any:
        if raw in ("block_scoring_outreach", "block_all_outreach"):
            return (raw, None)
        if isinstance(raw, Mapping):
            unknown = [k for k in raw if k not in EFFECTS]
            if unknown:
                fail(((str(unknown[0]),), f"unknown effect; {_EFFECT.removeprefix('expected ')}"))
            route = raw.get("force_route")
            if route is not None:
                if not isinstance(route, str) or not route.strip():
                    fail((("force_route",), f"expected a route name, got {route!r}"))
                return ("force_route", route)
            for effect in ("block_all_outreach", "block_scoring_outreach"):
                if raw.get(effect) is True:
                    return (effect, None)
        fail(((), f"{_EFFECT}, got {raw!r}"))

    def rule(self) -> HardRule:
        effect, route = self.effect
        return HardRule(self.name, self.description, self.when.condition(), effect, self.reason, route)


class HardRulesDoc(Document):
    """A whole hard-rules file."""

    not_a_mapping = "expected a mapping with 'name', 'version' and a list under 'rules'"
    expected = {"rules": "expected a mapping with 'name', 'version' and a list under 'rules'"}

    name: Any = "hard-rules"
    version: Any = "1"
    rules: list[RuleDoc]

    def hard_rules(self, where: str) -> HardRules:
        rules = tuple(r.rule() for r in self.rules)
        return HardRules(name=str(self.name), version=str(self.version), rules=rules, source=where)


def _repeated_names(data: Any) -> list[Problem]:
    """Rule names used twice, read from the raw document (valid rules or not)."""
    rules = data.get("rules") if isinstance(data, Mapping) else None
    seen: set[str] = set()
    problems: list[Problem] = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        name = rule.get("name") if isinstance(rule, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            continue
        if name in seen:
            message = f"the name {name!r} is used twice; rule names must be unique"
            problems.append((("rules", index, "name"), message))
        seen.add(name)
    return problems


def _validate(
    data: Any, where: str, routing: Routing | None, lines: ConfigLines | None = None
) -> tuple[HardRules | None, list[str]]:
    """The rules (None when invalid) and every problem; forced routes are checked once the rules are valid."""
    document, problems = validated(HardRulesDoc, data, source=where, lines=lines, check=_repeated_names)
    if document is None:
        return None, problems
    rules = document.hard_rules(where)
    if routing is not None:
        problems = messages(rules.route_problems(routing), source=where, lines=lines)
    return (None if problems else rules), problems


def parse_hard_rules(data: Any, where: str = "<hard rules>", *, routing: Routing | None = None) -> HardRules:
    """Validate parsed hard-rules YAML; every problem is reported at once in one ConfigError.

    Parameters
    ----------
    data : Any
        The parsed YAML document.
    where : str
        The file name to use in messages.
    routing : Routing, optional
        Check forced routes against it (they must exist; urgent symptoms must go to a clinical route).

    Returns
    -------
    HardRules
    """
    rules, problems = _validate(data, where, routing)
    if rules is None:
        raise ConfigError("\n".join(problems))
    return rules


def _load_text(text: str, where: str, routing: Routing) -> HardRules:
    data, lines = parse_yaml_lines(text, source=where)
    rules, problems = _validate(data, where, routing, lines)
    if rules is None:
        raise ConfigError("\n".join(problems))
    return rules


@lru_cache(maxsize=1)
def _shipped_hard_rules() -> HardRules:
    return _load_text(*read_config_text(None, shipped=_SHIPPED), load_routing())


def load_hard_rules(path: PathLikeStr | None = None, *, routing: Routing | None = None) -> HardRules:
    """Load and validate a hard-rules file (default: the shipped ``careleads/data/hard_rules.yaml``).

    Parameters
    ----------
    path : path, optional
        The YAML file.
    routing : Routing, optional
        The routing file the forced routes must exist in; default the shipped one.

    Raises
    ------
    ConfigError
        Naming the file, the rule, the key and the line of every problem.

    Examples
    --------
    >>> [rule.name for rule in load_hard_rules().rules][:4]
    ['urgent_clinical_symptoms', 'possible_emergency', 'do_not_contact', 'spam_message']
    """
    if path is None and routing is None:
        return _shipped_hard_rules()
    text, where = read_config_text(None if path is None else Path(path), shipped=_SHIPPED)
    return _load_text(text, where, routing or load_routing())


def validate_rules_text(
    text: str, *, routing: Routing | None = None, where: str = "<hard rules>"
) -> list[str]:
    """Every problem of hard-rules YAML text, one message each with its line (empty when valid), for editors.

    Parameters
    ----------
    text : str
        The YAML text being edited.
    routing : Routing, optional
        Forced routes are checked against it; default the shipped routing file.
    where : str
        The name to show in messages.

    Examples
    --------
    >>> validate_rules_text("rules: [{name: x, description: d, reason: r, when: {field: a, equals: 1}, "
    ...                     "effect: {force_route: nowhere}}]")  # doctest: +ELLIPSIS
    ["<hard rules>:1: rules[0].effect.force_route: rule 'x' forces route 'nowhere', which is not in ..."]
    """
    try:
        data, lines = parse_yaml_lines(text, source=where)
    except ConfigError as exc:
        return str(exc).split("\n")
    return _validate(data, where, routing or load_routing(), lines)[1]
