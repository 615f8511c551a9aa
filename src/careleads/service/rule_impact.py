"""What an edit of the hard rules or the routing would change, before it is saved.

:func:`rule_impact` compares a draft with the text in force: the lines changed (a unified diff), the
version (an edit that keeps the version is given the next one by :func:`with_version_bump`, so the history
never reads ``@1 -> @1``), and the open leads whose route would change: each lead with an open review task
is decided twice on the same score and texts, with the rules in force and with the draft, and nothing is
written.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.decisions import Decision, parse_hard_rules, parse_routing
from careleads.errors import ConfigError
from careleads.service._ledger import decide_one, events_list, later_texts
from careleads.service._records import identifier_names, lead_record, utcnow
from careleads.service.context import ServiceContext
from careleads.service.rule_edits import check_config_text, config_file
from careleads.store import Lead, ReviewTask

__all__ = ["RuleImpact", "open_route_changes", "rule_impact", "with_version_bump"]

_VERSION = re.compile(r"^version:[ \t]*['\"]?([0-9]+)['\"]?[ \t]*(#.*)?$", re.MULTILINE)
#: changed leads listed by id on the preview (the count covers them all)
LISTED = 50


@dataclass(frozen=True)
class RuleImpact:
    """A draft against the text in force: diff lines, versions, and the open leads it would re-route."""

    kind: str
    diff: list[str]
    version_before: str
    version_after: str
    n_open: int
    n_changed: int
    changed: list[dict[str, Any]]
    n_leaving_clinical: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "diff": self.diff,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "n_open": self.n_open,
            "n_changed": self.n_changed,
            "changed": self.changed,
            "n_leaving_clinical": self.n_leaving_clinical,
        }


def _version_in_force(ctx: ServiceContext, kind: str) -> str:
    return str(ctx.hard_rules.version if kind == "hard_rules" else ctx.routing.version)


def with_version_bump(*, ctx: ServiceContext, kind: str, text: str) -> str:
    """`text` with its top-level ``version:`` raised past the version in force when the text differs from
    the one in force but keeps its version (a whole-number version; other versions are left as written)."""
    current = config_file(ctx=ctx, kind=kind)
    if text == current.text:
        return text
    before = _version_in_force(ctx, kind)
    match = _VERSION.search(text)
    if match is None or match.group(1) != before or not before.isdigit():
        return text
    comment = f" {match.group(2)}" if match.group(2) else ""
    return text[: match.start()] + f"version: {int(before) + 1}{comment}" + text[match.end() :]


def _route_key(decision: Decision) -> tuple[Any, ...]:
    route = decision.route.to_dict()
    return (route.get("name"), route.get("queue"), route.get("nurture_track"), route.get("kind"))


def _trial(ctx: ServiceContext, kind: str, text: str) -> ServiceContext:
    where = f"{kind}.yaml (draft)"
    data = yaml.safe_load(text)
    if kind == "hard_rules":
        return replace(ctx, hard_rules=parse_hard_rules(data, where))
    return replace(ctx, routing=parse_routing(data, where))


def open_route_changes(
    *, session: Session, ctx: ServiceContext, draft: ServiceContext, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """Decide each lead with an open review task under `ctx` and under `draft` (same score, same texts);
    returns how many there are and those whose route (name, queue or nurture track) differs."""
    leads = session.scalars(
        select(Lead)
        .where(
            Lead.id.in_(select(ReviewTask.lead_id).where(ReviewTask.status == "open")),
            Lead.erased.is_(False),
        )
        .order_by(Lead.id)
    ).all()
    changed: list[dict[str, Any]] = []
    for lead in leads:
        record = lead_record(ctx, lead, identifier_names(lead))
        events = events_list(session, lead)
        stamps = [pd.Timestamp(e["occurred_at"]) for e in events if e["occurred_at"] is not None]
        scored = ctx.scorer.score_record(record, events, max([pd.Timestamp(lead.created_at), *stamps]))
        texts = later_texts(session, lead)
        now_route = decide_one(session=None, ctx=ctx, record=record, scored=scored, now=now, texts=texts)
        new_route = decide_one(session=None, ctx=draft, record=record, scored=scored, now=now, texts=texts)
        before, after = _route_key(now_route.decision), _route_key(new_route.decision)
        if before != after:
            changed.append(
                {
                    "lead_id": lead.id,
                    "before": before[1] or before[0],
                    "after": after[1] or after[0],
                    # a possible emergency, or a lead on a clinical route, that would go to another queue
                    "leaves_clinical": (before[3] == "clinical" or now_route.decision.triage.level != "none")
                    and before[1] != after[1],
                }
            )
    changed.sort(key=lambda c: (not c["leaves_clinical"], c["lead_id"]))
    return len(leads), changed


def rule_impact(
    *, session: Session, ctx: ServiceContext, kind: str, text: str, now: datetime | None = None
) -> RuleImpact:
    """The diff, version and open-lead re-routing of a draft (read only).

    Raises
    ------
    ConfigError
        With every problem of the draft, one per line (see :func:`check_config_text`).
    """
    text = with_version_bump(ctx=ctx, kind=kind, text=text.replace("\r\n", "\n"))
    problems = check_config_text(ctx=ctx, kind=kind, text=text)
    if problems:
        raise ConfigError("\n".join(problems))
    current = config_file(ctx=ctx, kind=kind)
    diff = list(
        difflib.unified_diff(
            current.text.splitlines(), text.splitlines(), "in force", "draft", lineterm="", n=2
        )
    )
    draft = _trial(ctx, kind, text)
    n_open, changed = open_route_changes(session=session, ctx=ctx, draft=draft, now=now or utcnow())
    return RuleImpact(
        kind=kind,
        diff=diff,
        version_before=_version_in_force(ctx, kind),
        version_after=_version_in_force(draft, kind),
        n_open=n_open,
        n_changed=len(changed),
        changed=changed[:LISTED],
        n_leaving_clinical=sum(1 for c in changed if c["leaves_clinical"]),
    )
