"""Hard rules: overrides that block or force a lead's path whatever its score, each with a plain-words reason.

A hard-rules file (YAML, shipped default ``careleads/data/hard_rules.yaml``) lists rules::

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
  :func:`careleads.text.detect_urgent_symptoms`.

Effects: ``block_scoring_outreach`` (no score-based outreach: the lead gets the routing file's blocked route
unless another rule forces one) or ``{force_route: ROUTE}`` (the named route of the routing file; forcing a
route also replaces score-based outreach).

Precedence: rules that can send a lead to clinical triage (a condition using ``urgent_symptoms`` or a forced
route of kind ``clinical``) always come first, whatever their place in the file; the others keep file order.
Every matching rule is recorded with its reason; the first forcing rule in precedence order picks the route.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from careleads.decisions._routing import Routing, load_routing, parse_yaml, read_yaml_text
from careleads.errors import ConfigError
from careleads.types import PathLikeStr

log = logging.getLogger(__name__)

SHIPPED_HARD_RULES = "careleads/data/hard_rules.yaml"
SCORED_FIELDS: tuple[str, ...] = ("probability", "score", "tier", "action", "scored_by", "model_version")
EFFECTS: tuple[str, ...] = ("block_scoring_outreach", "force_route")
OPERATORS: tuple[str, ...] = ("equals", "in", "missing", "above", "below", "urgent_symptoms")
COMBINATORS: tuple[str, ...] = ("all", "any", "not")

BoolArray = npt.NDArray[np.bool_]
UrgentDetector = Callable[[str], bool]


def _default_detector() -> UrgentDetector:
    from careleads.text import detect_urgent_symptoms

    return lambda text: detect_urgent_symptoms(text).triggered


class RuleInput:
    """The columns conditions read: a lead frame (with scoring output columns), plus per-field caches.

    The clinical-urgency detector runs once per distinct non-blank text of a field, however many rules use it.
    """

    def __init__(self, frame: pd.DataFrame, detector: UrgentDetector | None = None) -> None:
        self.frame = frame
        self._detector = detector
        self._urgent: dict[str, BoolArray] = {}
        self._missing: dict[str, BoolArray] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> pd.Series | None:
        return self.frame[name] if name in self.frame.columns else None

    def urgent(self, name: str) -> BoolArray:
        if name not in self._urgent:
            column = self.column(name)
            if column is None:
                self._urgent[name] = np.zeros(len(self), dtype=bool)
            elif self._detector is None:
                self._urgent[name] = _urgent_column(column)
            else:
                detect = self._detector
                self._urgent[name] = per_value(
                    column, lambda v: not is_missing_value(v) and bool(detect(str(v)))
                )
        return self._urgent[name]

    def missing(self, name: str) -> BoolArray:
        if name not in self._missing:
            column = self.column(name)
            self._missing[name] = np.ones(len(self), dtype=bool) if column is None else missing_mask(column)
        return self._missing[name]


def _urgent_column(column: pd.Series) -> BoolArray:
    """The default detector on a whole column: the same verdicts as `per_value` with it, column-wise.

    Distinct texts go through :meth:`careleads.text.ClinicalTriageDetector.triggered_many`, which skips the
    texts that cannot trigger before running the exact detector on the others.
    """
    from careleads.text import default_detector

    detector = default_detector()

    if isinstance(column.dtype, pd.StringDtype) or isinstance(column.dtype, pd.ArrowDtype):
        array = pa.array(column.array)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            # text read from a file: checked as an Arrow column (blank text never triggers the detector)
            return detector.triggered_many(array)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = [None if is_missing_value(v) else str(v) for v in uniques]
    verdicts = np.append(detector.triggered_many(texts), False)
    return np.asarray(verdicts[codes], dtype=bool)  # code -1 (missing) picks the last verdict


def is_missing_value(value: Any) -> bool:
    """No value: None, NA, NaN, NaT or blank text (the scalar twin of :func:`missing_mask`)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def per_value(column: pd.Series, test: Callable[[Any], bool]) -> BoolArray:
    """`test` applied once per distinct value of `column` (None for missing), spread back over the rows.

    Columns of leads hold few distinct values (categories), so this is column-wise in cost, and it keeps the
    batch and the single-lead paths on exactly the same per-value test.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    verdicts = np.array([bool(test(v)) for v in uniques] + [bool(test(None))], dtype=bool)
    return np.asarray(verdicts[codes], dtype=bool)  # code -1 (missing) picks the last verdict


def missing_mask(column: pd.Series) -> BoolArray:
    """True where a column has no value: NA, or blank text."""
    if isinstance(column.dtype, pd.StringDtype):  # text: whole-column string operations
        blank = column.str.strip().eq("").to_numpy(dtype=bool, na_value=True)
        return np.asarray(blank | column.isna().to_numpy(dtype=bool), dtype=bool)
    if column.dtype == object or isinstance(column.dtype, pd.CategoricalDtype):
        return per_value(column, is_missing_value)
    return np.asarray(column.isna().to_numpy(dtype=bool), dtype=bool)


@dataclass(frozen=True)
class Condition:
    """A condition tree: a field test (``field``, ``op``, ``value``) or a combinator over ``children``."""

    op: str
    field: str | None = None
    value: Any = None
    children: tuple[Condition, ...] = ()

    def evaluate(self, data: RuleInput) -> BoolArray:
        """True where the condition holds, one entry per row."""
        if self.op == "all":
            out = np.ones(len(data), dtype=bool)
            for child in self.children:
                out &= child.evaluate(data)
            return out
        if self.op == "any":
            out = np.zeros(len(data), dtype=bool)
            for child in self.children:
                out |= child.evaluate(data)
            return out
        if self.op == "not":
            return ~self.children[0].evaluate(data)
        assert self.field is not None
        if self.op == "urgent_symptoms":
            return data.urgent(self.field).copy()
        if self.op == "missing":
            missing = data.missing(self.field)
            return missing.copy() if self.value else ~missing
        column = data.column(self.field)
        if column is None:
            return np.zeros(len(data), dtype=bool)
        if self.op in ("above", "below"):
            numbers = pd.to_numeric(column.astype(object), errors="coerce").astype("float64")
            held = numbers > self.value if self.op == "above" else numbers < self.value
            return np.asarray(held.fillna(False).to_numpy(dtype=bool), dtype=bool)
        values = self.value if self.op == "in" else (self.value,)
        return per_value(column, lambda v: not is_missing_value(v) and v in values)

    def evaluate_one(self, record: Mapping[str, Any], detect: UrgentDetector) -> bool:
        """:meth:`evaluate` for a single lead given as a mapping (same semantics, no DataFrame)."""
        if self.op == "all":
            return all(child.evaluate_one(record, detect) for child in self.children)
        if self.op == "any":
            return any(child.evaluate_one(record, detect) for child in self.children)
        if self.op == "not":
            return not self.children[0].evaluate_one(record, detect)
        assert self.field is not None
        value = record.get(self.field)
        missing = is_missing_value(value)
        if self.op == "missing":
            return missing is bool(self.value)
        if missing:
            return False
        if self.op == "urgent_symptoms":
            return bool(detect(str(value)))
        if self.op in ("above", "below"):
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            limit = float(self.value)
            return number > limit if self.op == "above" else number < limit
        values = self.value if self.op == "in" else (self.value,)
        return bool(value in values)

    def fields(self) -> set[str]:
        """The fields this condition reads."""
        own = {self.field} if self.field is not None else set()
        return own.union(*(child.fields() for child in self.children))

    def uses_urgent_symptoms(self) -> bool:
        return self.op == "urgent_symptoms" or any(c.uses_urgent_symptoms() for c in self.children)

    def to_dict(self) -> dict[str, Any]:
        if self.op in ("all", "any"):
            return {self.op: [c.to_dict() for c in self.children]}
        if self.op == "not":
            return {"not": self.children[0].to_dict()}
        return {"field": self.field, self.op: list(self.value) if self.op == "in" else self.value}


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

    def ordered(self, routing: Routing | None = None) -> tuple[HardRule, ...]:
        """The rules in precedence order: clinical-triage rules first (stable), then file order."""

        def clinical(rule: HardRule) -> bool:
            if rule.condition.uses_urgent_symptoms():
                return True
            return (
                routing is not None
                and rule.route is not None
                and rule.route in routing.routes
                and routing.routes[rule.route].kind == "clinical"
            )

        return tuple(sorted(self.rules, key=lambda r: not clinical(r)))

    def evaluate(
        self, frame: pd.DataFrame | RuleInput, *, routing: Routing | None = None
    ) -> tuple[tuple[HardRule, ...], npt.NDArray[np.bool_]]:
        """Which rules hold for which rows.

        Parameters
        ----------
        frame : DataFrame or RuleInput
            Lead fields and scoring output columns, one row per lead.
        routing : Routing, optional
            Used to put rules forcing a clinical route first.

        Returns
        -------
        (rules, matrix)
            The rules in precedence order and a boolean matrix, one row per rule and one column per lead.
        """
        data = frame if isinstance(frame, RuleInput) else RuleInput(frame)
        absent = sorted({f for r in self.rules for f in r.condition.fields()} - set(data.frame.columns))
        if absent and len(data) > 1:
            # a field the data lacks counts as missing: worth a line in the log, it may be a typo in the file
            log.info(
                "hard rules %s: fields %s are absent from the data and count as missing", self.label, absent
            )
        ordered = self.ordered(routing)
        matrix = np.zeros((len(ordered), len(data)), dtype=bool)
        for i, rule in enumerate(ordered):
            matrix[i] = rule.condition.evaluate(data)
        return ordered, matrix

    def evaluate_one(
        self,
        record: Mapping[str, Any],
        *,
        routing: Routing | None = None,
        detector: UrgentDetector | None = None,
    ) -> tuple[tuple[HardRule, ...], npt.NDArray[np.bool_]]:
        """:meth:`evaluate` for one lead given as a mapping; the matrix has one column."""
        ordered = self.ordered(routing)
        detect = detector or _default_detector()
        matrix = np.array([[rule.condition.evaluate_one(record, detect)] for rule in ordered], dtype=bool)
        return ordered, matrix.reshape(len(ordered), 1)

    def check_routes(self, routing: Routing) -> list[str]:
        """Problems between these rules and a routing file (unknown routes, triage to non-clinical routes)."""
        problems: list[str] = []
        for rule in self.rules:
            if rule.route is None:
                continue
            at = f"{self.source}: rule {rule.name!r}, key 'effect.force_route'"
            spec = routing.routes.get(rule.route)
            if spec is None:
                problems.append(
                    f"{at}: route {rule.route!r} is not in {routing.source}; known: {sorted(routing.routes)}"
                )
                continue
            if rule.condition.uses_urgent_symptoms() and spec.kind != "clinical":
                problems.append(
                    f"{at}: urgent clinical symptoms must go to a route of kind 'clinical' (a triage line), "
                    f"never to {rule.route!r} of kind {spec.kind!r}"
                )
            if spec.marketing:
                problems.append(
                    f"{at}: a hard rule cannot force a marketing (nurture) route like {rule.route!r}"
                )
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "rules": [r.to_dict() for r in self.rules]}


# ---------------------------------------------------------------------------------------------------------
# parsing


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _parse_condition(raw: Any, at: str, errors: list[str]) -> Condition | None:
    if not isinstance(raw, Mapping):
        errors.append(
            f"{at}: expected a mapping such as {{field: region, equals: outside_area}}, got {raw!r}"
        )
        return None
    combinators = [k for k in raw if k in COMBINATORS]
    if combinators:
        if len(raw) != 1:
            errors.append(f"{at}: {combinators[0]!r} must stand alone in its mapping, found keys {list(raw)}")
            return None
        op = combinators[0]
        body = raw[op]
        if op == "not":
            child = _parse_condition(body, f"{at}.not", errors)
            return Condition("not", children=(child,)) if child is not None else None
        if not isinstance(body, list) or not body:
            errors.append(f"{at}.{op}: expected a non-empty list of conditions")
            return None
        children = [_parse_condition(c, f"{at}.{op}[{i}]", errors) for i, c in enumerate(body)]
        if any(c is None for c in children):
            return None
        return Condition(op, children=tuple(c for c in children if c is not None))
    field = raw.get("field")
    if not isinstance(field, str) or not field.strip():
        errors.append(
            f"{at}.field: each test names a field (text), got {field!r}; or combine with all/any/not"
        )
        return None
    ops = [k for k in raw if k != "field"]
    unknown = [k for k in ops if k not in OPERATORS]
    if unknown:
        errors.append(f"{at}.{unknown[0]}: unknown test; use one of {list(OPERATORS)}")
        return None
    if len(ops) != 1:
        errors.append(f"{at}: a field test needs exactly one of {list(OPERATORS)}, found {ops or 'none'}")
        return None
    op = ops[0]
    value = raw[op]
    where = f"{at}.{op}"
    if op == "equals" and not _is_scalar(value):
        errors.append(
            f"{where}: expected one value (text, number or true/false), got {value!r}; use 'missing'"
        )
        return None
    if op == "in":
        if not isinstance(value, list) or not value or not all(_is_scalar(v) for v in value):
            errors.append(f"{where}: expected a non-empty list of values, got {value!r}")
            return None
        value = tuple(value)
    if op == "missing" and not isinstance(value, bool):
        errors.append(f"{where}: expected true or false, got {value!r}")
        return None
    if op in ("above", "below"):
        if not _is_number(value):
            errors.append(f"{where}: expected a number, got {value!r}")
            return None
        value = float(value)
    if op == "urgent_symptoms" and value is not True:
        errors.append(
            f"{where}: expected true (to test for the absence of symptoms, wrap it in 'not'), got {value!r}"
        )
        return None
    return Condition(op, field=field, value=value)


def _parse_effect(raw: Any, at: str, errors: list[str]) -> tuple[str, str | None] | None:
    if raw == "block_scoring_outreach":
        return "block_scoring_outreach", None
    if isinstance(raw, Mapping):
        unknown = [k for k in raw if k not in EFFECTS]
        if unknown:
            errors.append(
                f"{at}.{unknown[0]}: unknown effect; use 'block_scoring_outreach' or {{force_route: ROUTE}}"
            )
            return None
        route = raw.get("force_route")
        if route is not None:
            if not isinstance(route, str) or not route.strip():
                errors.append(f"{at}.force_route: expected a route name, got {route!r}")
                return None
            return "force_route", route
        if raw.get("block_scoring_outreach") is True:
            return "block_scoring_outreach", None
    errors.append(f"{at}: expected 'block_scoring_outreach' or {{force_route: ROUTE}}, got {raw!r}")
    return None


_RULE_KEYS = ("name", "description", "when", "effect", "reason")


def _parse_rule(index: int, raw: Any, where: str, errors: list[str], seen: set[str]) -> HardRule | None:
    if not isinstance(raw, Mapping):
        errors.append(f"{where}: rule #{index + 1}: expected a mapping with keys {list(_RULE_KEYS)}")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(f"{where}: rule #{index + 1}, key 'name': every rule needs a name (text), got {name!r}")
        return None
    at = f"{where}: rule {name!r}"
    if name in seen:
        errors.append(f"{at}, key 'name': the name is used twice; rule names must be unique")
    seen.add(name)
    n_before = len(errors)
    for key in raw:
        if key not in _RULE_KEYS:
            errors.append(f"{at}, key {key!r}: unknown key; allowed: {list(_RULE_KEYS)}")
    for key in ("description", "reason"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{at}, key {key!r}: write it in plain words (text), got {value!r}")
    if "when" not in raw:
        errors.append(f"{at}, key 'when': every rule needs a condition")
        condition = None
    else:
        condition = _parse_condition(raw["when"], f"{at}, key 'when'", errors)
    effect = _parse_effect(raw.get("effect"), f"{at}, key 'effect'", errors)
    if len(errors) > n_before or condition is None or effect is None:
        return None
    return HardRule(
        name=name,
        description=str(raw["description"]).strip(),
        condition=condition,
        effect=effect[0],
        route=effect[1],
        reason=str(raw["reason"]).strip(),
    )


def _collect(data: Any, where: str) -> tuple[HardRules | None, list[str]]:
    errors: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        return None, [f"{where}: expected a mapping with 'name', 'version' and a list under 'rules'"]
    for key in data:
        if key not in ("name", "version", "rules"):
            errors.append(f"{where}: key {key!r}: unknown key; allowed: ['name', 'rules', 'version']")
    seen: set[str] = set()
    rules = [_parse_rule(i, raw, where, errors, seen) for i, raw in enumerate(data["rules"])]
    result = HardRules(
        name=str(data.get("name", "hard-rules")),
        version=str(data.get("version", "1")),
        rules=tuple(r for r in rules if r is not None),
        source=where,
    )
    return result, errors


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
    rules, errors = _collect(data, where)
    if rules is not None and routing is not None and not errors:
        errors = rules.check_routes(routing)
    if errors or rules is None:
        raise ConfigError("\n".join(errors))
    return rules


@lru_cache(maxsize=1)
def _shipped_hard_rules() -> HardRules:
    text, where = read_yaml_text(None, SHIPPED_HARD_RULES)
    return parse_hard_rules(parse_yaml(text, where), where, routing=load_routing())


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
        Naming the file, the rule and the key of every problem.

    Examples
    --------
    >>> [rule.name for rule in load_hard_rules().rules][:2]
    ['urgent_clinical_symptoms', 'spam_like']
    """
    if path is None and routing is None:
        return _shipped_hard_rules()
    text, where = read_yaml_text(path, SHIPPED_HARD_RULES)
    return parse_hard_rules(parse_yaml(text, where), where, routing=routing or load_routing())


def validate_rules_text(
    text: str, *, routing: Routing | None = None, where: str = "<hard rules>"
) -> list[str]:
    """Every problem of hard-rules YAML text, one message each (empty when valid), for the UI's editor.

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
    ["<hard rules>: rule 'x', key 'effect.force_route': route 'nowhere' is not in ..."]
    """
    try:
        data = parse_yaml(text, where)
    except ConfigError as exc:
        return [str(exc)]
    rules, errors = _collect(data, where)
    if rules is not None and not errors:
        errors = rules.check_routes(routing or load_routing())
    return errors


def matched_rules(ordered: Sequence[HardRule], matrix: npt.NDArray[np.bool_], row: int) -> Iterable[HardRule]:
    """The rules that hold for one row, in precedence order."""
    return (rule for i, rule in enumerate(ordered) if matrix[i, row])
