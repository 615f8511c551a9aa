"""Models in the running service: list the registry, publish a version, roll back to the previous one.

Before either, :func:`publish_preview` and :func:`rollback_preview` say what would change: the version that
scores leads now, the one that would, and (to publish) both models' test figures side by side with the
publish gate's checks (:func:`careleads.monitoring.publish_gate`). Each change carries the reason given,
kept in the publication history and the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from careleads.errors import InputError
from careleads.models import ModelRegistry
from careleads.monitoring import publish_gate
from careleads.service._scoring import target_of
from careleads.service.audit import append_audit
from careleads.service.schemas import ModelPublic, ModelsPublic, PublishResult
from careleads.settings import MonitorSettings

__all__ = ["list_models", "publish_model", "publish_preview", "rollback_model", "rollback_preview"]

#: a publication or rollback reason, as stored: long enough to say something, short enough for a history row
REASON_MIN, REASON_MAX = 5, 500


def _reason(note: str) -> str:
    text = " ".join(note.split())
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise InputError(
            f"give a reason of {REASON_MIN} to {REASON_MAX} characters (it is kept in the publication "
            "history and the audit log)"
        )
    return text


def _test_figures(registry: ModelRegistry, version: str) -> dict[str, Any]:
    entry = next(e for e in registry.versions() if e.version == version)
    return {"version": version, "trained_at": entry.trained_at, "auc": entry.test_auc, "ece": entry.test_ece}


def publish_preview(
    *, registry: ModelRegistry, version: str, monitor: MonitorSettings | None = None
) -> dict[str, Any]:
    """What publishing `version` would change: the version scoring now, both models' test figures side by
    side and the publish gate's checks on them, each passed or failed.

    The figures are each model's own test period (the gate's "same window" check says so when the sizes
    are not known); ``careleads retrain`` compares a candidate with the published model on one window.

    Raises
    ------
    NotFoundError
        If the version is not in the registry.
    """
    registry.card(version)  # NotFoundError for an unknown version
    settings = monitor or MonitorSettings()
    target = target_of(registry, version)
    current = registry.published_version(target)
    candidate = _test_figures(registry, version)
    published = _test_figures(registry, current) if current is not None else None
    gate: dict[str, Any] | None = None
    if candidate["auc"] is not None and candidate["ece"] is not None:
        compared = (
            published if published and published["auc"] is not None and published["ece"] is not None else None
        )
        decision = publish_gate(
            candidate=candidate,
            published=compared,
            auc_margin=settings.gate_auc_margin,
            max_ece=settings.gate_max_ece,
        )
        gate = {
            "accepted": decision.accepted,
            # each reason names its check and "passed" or "failed" before the colon; the others inform
            "checks": [{"text": r, "passed": _verdict(r)} for r in decision.reasons],
        }
    return {
        "target": target,
        "version": version,
        "published_version": current,
        "already_published": current == version,
        "candidate": candidate,
        "published": published,
        "gate": gate,
    }


def _verdict(reason: str) -> bool | None:
    head = reason.split(":", 1)[0]
    return True if head.endswith(" passed") else False if head.endswith(" failed") else None


def rollback_preview(*, registry: ModelRegistry, target: str) -> dict[str, Any]:
    """What rolling back `target` would change: the version scoring now and the one it goes back to (None
    when there is nothing to roll back to)."""
    return {
        "target": target,
        "published_version": registry.published_version(target),
        "back_to": registry.rollback_target(target),
    }


def list_models(*, registry: ModelRegistry, target: str) -> ModelsPublic:
    """Every registered version with its test figures, and which one scores leads for `target` now."""
    data = [ModelPublic(**m.to_dict()) for m in registry.versions()]
    return ModelsPublic(
        data=data, count=len(data), target=target, published_version=registry.published_version(target)
    )


def publish_model(
    *, session: Session, registry: ModelRegistry, version: str, actor: str, role: str, note: str
) -> PublishResult:
    """Make `version` the model that scores leads for its target; audited with the version before.

    The model is read once before it is published, so that a folder this release cannot score with (an
    older format, missing files) is refused here, with what to do, rather than on the next lead; reading it
    fits nothing (the text classifiers travel in the artifact).

    Raises
    ------
    NotFoundError
        If the version is not in the registry.
    ConfigError
        If the model cannot be read (e.g. written by an older release: retrain it).
    InputError
        If `note` (the reason) is shorter than ``REASON_MIN`` characters or longer than ``REASON_MAX``.
    """
    note = _reason(note)
    registry.card(version)  # NotFoundError for an unknown version, before anything changes
    registry.load(version)
    target = target_of(registry, version)
    before = registry.published_version(target)
    registry.publish(version, actor=actor, note=note)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="model.publish",
        subject=f"model:{version}",
        details={"target": target, "before": before, "after": version, "reason": note},
    )
    return PublishResult(target=target, published_version=version, history=registry.history(target))


def rollback_model(
    *, session: Session, registry: ModelRegistry, target: str, actor: str, role: str, note: str
) -> PublishResult:
    """Return `target` to the version published before the current one; audited with before and after and
    the reason (`note`, kept in the publication history too).

    Raises
    ------
    NotFoundError
        When the target has fewer than two publications.
    InputError
        If `note` (the reason) is shorter than ``REASON_MIN`` characters or longer than ``REASON_MAX``.
    """
    note = _reason(note)
    before = registry.published_version(target)
    version = registry.rollback(target, actor=actor, note=note)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="model.rollback",
        subject=f"model:{version}",
        details={"target": target, "before": before, "after": version, "reason": note},
    )
    return PublishResult(target=target, published_version=version, history=registry.history(target))
