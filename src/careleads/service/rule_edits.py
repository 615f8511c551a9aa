"""Hard rules and routing edited in the browser: where edits are stored, validation, audit, reload.

Edits never overwrite the shipped package files nor the files named by ``hard_rules_file`` and
``routing_file``: they are written to the service's config folder, ``<data_dir>/config/``
(``hard_rules.yaml``, ``routing.yaml``). A file there wins over the setting and the shipped default:
:func:`apply_saved_config` loads it into the running service at start-up, and :func:`save_config` after
each change. Every save is
audited (``config.hard_rules.update`` or ``config.routing.update``) with the text before and after.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.decisions import (
    HardRules,
    Routing,
    checked_intent_model,
    intent_model_for,
    load_hard_rules,
    load_routing,
    parse_hard_rules,
    parse_routing,
    validate_routing_text,
    validate_rules_text,
)
from careleads.errors import ConfigError
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.settings import Settings
from careleads.store import AuditEntry

__all__ = [
    "CONFIG_KINDS",
    "ConfigFile",
    "apply_saved_config",
    "config_dir",
    "config_file",
    "config_history",
    "save_config",
    "check_config_text",
]

log = logging.getLogger("careleads.service")

ConfigKind = Literal["hard_rules", "routing"]
CONFIG_KINDS: tuple[ConfigKind, ...] = ("hard_rules", "routing")
_FILE_NAMES: dict[str, str] = {"hard_rules": "hard_rules.yaml", "routing": "routing.yaml"}
#: largest YAML text accepted from the editor
MAX_CONFIG_CHARS = 200_000


def config_dir(settings: Settings) -> Path:
    """The folder that holds rules and routing edited in the UI: ``<data_dir>/config``."""
    return settings.data_dir / "config"


def _setting_path(settings: Settings, kind: str) -> Path | None:
    return settings.hard_rules_file if kind == "hard_rules" else settings.routing_file


@dataclass(frozen=True)
class ConfigFile:
    """The YAML in force for one kind: its text, where it comes from and the label recorded in decisions."""

    kind: str
    text: str
    source: str  # "edited" (config folder), "setting" (hard_rules_file / routing_file) or "shipped"
    path: str  # which file, named without the server's folders
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "path": self.path,
            "label": self.label,
            "sha256": hashlib.sha256(self.text.encode("utf-8")).hexdigest(),
            "text": self.text,
        }


def _effective_path(settings: Settings, kind: str) -> tuple[Path | None, str]:
    edited = config_dir(settings) / _FILE_NAMES[kind]
    if edited.exists():
        return edited, "edited"
    configured = _setting_path(settings, kind)
    if configured is not None:
        return configured, "setting"
    return None, "shipped"


def _file_name(kind: str, source: str) -> str:
    """The file of `kind` in force, named for people (pages, API answers), never by the server's path."""
    if source == "edited":
        return f"config/{_FILE_NAMES[kind]} in the data folder (edited in the pages)"
    return f"the file set by CARELEADS_{kind.upper()}_FILE"


def config_file(*, ctx: ServiceContext, kind: str) -> ConfigFile:
    """The hard rules or routing in force, as text.

    Raises
    ------
    ConfigError
        For an unknown kind or an unreadable file.
    """
    if kind not in CONFIG_KINDS:
        raise ConfigError(f"unknown configuration {kind!r}; use one of {', '.join(CONFIG_KINDS)}")
    path, source = _effective_path(ctx.settings, kind)
    if path is None:
        text = resources.files("careleads").joinpath("data", _FILE_NAMES[kind]).read_text(encoding="utf-8")
        where = f"careleads/data/{_FILE_NAMES[kind]} (shipped)"
    else:
        where = _file_name(kind, source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {where}: {exc.strerror}; check the file") from None
    label = ctx.hard_rules.label if kind == "hard_rules" else ctx.routing.label
    return ConfigFile(kind=kind, text=text, source=source, path=where, label=label)


def check_config_text(*, ctx: ServiceContext, kind: str, text: str) -> list[str]:
    """Every problem of edited YAML (empty when it may be saved).

    Hard rules are checked against the routing in force; routing is checked on its own and against the hard
    rules in force (a forced route must still exist).
    """
    if kind not in CONFIG_KINDS:
        return [f"unknown configuration {kind!r}; use one of {', '.join(CONFIG_KINDS)}"]
    if len(text) > MAX_CONFIG_CHARS:
        return [f"the text is longer than {MAX_CONFIG_CHARS:,} characters; shorten it"]
    if not text.strip():
        return ["the text is empty; paste the whole file"]
    name = f"{_FILE_NAMES[kind]} (edited)"
    import yaml

    if kind == "hard_rules":
        problems = validate_rules_text(text, routing=ctx.routing, where=name)
        if problems:
            return problems
        return _intent_problems(ctx, ctx.routing, parse_hard_rules(yaml.safe_load(text), name))
    problems = validate_routing_text(text, where=name)
    if problems:
        return problems
    routing = parse_routing(yaml.safe_load(text), name)
    rules = config_file(ctx=ctx, kind="hard_rules")
    return [
        f"the hard rules in force ({rules.path}) no longer fit this routing: {p}"
        for p in validate_rules_text(rules.text, routing=routing, where=rules.path)
    ] or _intent_problems(ctx, routing, ctx.hard_rules)


def _intent_problems(ctx: ServiceContext, routing: Routing, hard_rules: HardRules) -> list[str]:
    """The intents the rules name that the intent classifier never gives (such a rule would never match)."""
    try:
        checked_intent_model(intent_model_for(ctx.scorer.current()), routing, hard_rules)
    except ConfigError as exc:
        return str(exc).split("\n")
    return []


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _reload(ctx: ServiceContext) -> None:
    """Load the files in force into the running service (routing first: the hard rules are checked on it)."""
    routing_path, _ = _effective_path(ctx.settings, "routing")
    rules_path, _ = _effective_path(ctx.settings, "hard_rules")
    routing = load_routing(routing_path)
    hard_rules = load_hard_rules(rules_path, routing=routing)
    ctx.routing = routing
    ctx.hard_rules = hard_rules


def apply_saved_config(ctx: ServiceContext) -> list[str]:
    """Load rules and routing edited earlier (config folder) into `ctx`; returns the files loaded.

    Raises
    ------
    ConfigError
        If a saved file is no longer valid (fix or delete it; the message names it).
    """
    folder = config_dir(ctx.settings)
    found = [str(folder / _FILE_NAMES[k]) for k in CONFIG_KINDS if (folder / _FILE_NAMES[k]).exists()]
    if found:
        _reload(ctx)
        log.info("rules edited in the UI are in force: %s", ", ".join(found))
    return found


def save_config(
    *, session: Session, ctx: ServiceContext, kind: str, text: str, actor: str, role: str
) -> ConfigFile:
    """Validate edited YAML, write it to the config folder, put it in force and audit before and after.

    Returns
    -------
    ConfigFile
        The configuration now in force.

    Raises
    ------
    ConfigError
        With every problem of the text, one per line; nothing is written then.
    """
    text = text.replace("\r\n", "\n")
    problems = check_config_text(ctx=ctx, kind=kind, text=text)
    if problems:
        raise ConfigError("\n".join(problems))
    before = config_file(ctx=ctx, kind=kind)
    path = config_dir(ctx.settings) / _FILE_NAMES[kind]
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    _write_atomic(path, text)
    try:
        _reload(ctx)
    except ConfigError:
        # put the previous state back before reporting: the service keeps running on valid rules
        if previous is None:
            path.unlink()
        else:
            _write_atomic(path, previous)
        raise
    after = config_file(ctx=ctx, kind=kind)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action=f"config.{kind}.update",
        subject=f"config:{kind}",
        details={
            "path": f"config/{_FILE_NAMES[kind]}",  # in the data folder
            "before_source": before.source,
            "before_label": before.label,
            "before_sha256": before.to_dict()["sha256"],
            "before": before.text,
            "after_label": after.label,
            "after_sha256": after.to_dict()["sha256"],
            "after": after.text,
        },
    )
    log.info("%s updated by %s: %s -> %s", kind, actor, before.label, after.label)
    return after


def config_history(*, session: Session, kind: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest audited changes of one kind, newest first: when, who and the labels before and after."""
    import json

    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == f"config.{kind}.update")
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    out = []
    for row in rows:
        details = json.loads(row.details) if row.details else {}
        out.append(
            {
                "audit_id": row.id,
                "at": row.at,
                "actor": row.actor,
                "role": row.role,
                "before_label": details.get("before_label"),
                "after_label": details.get("after_label"),
            }
        )
    return out
