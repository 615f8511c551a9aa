"""Models in the running service: list the registry, publish a version, roll back to the previous one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careleads.models import ModelRegistry
from careleads.service._scoring import target_of
from careleads.service.audit import append_audit
from careleads.service.schemas import ModelPublic, ModelsPublic, PublishResult

__all__ = ["list_models", "publish_model", "rollback_model"]


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
    """
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
        details={"target": target, "before": before, "after": version},
    )
    return PublishResult(target=target, published_version=version, history=registry.history(target))


def rollback_model(
    *, session: Session, registry: ModelRegistry, target: str, actor: str, role: str
) -> PublishResult:
    """Return `target` to the version published before the current one; audited with before and after.

    Raises
    ------
    NotFoundError
        When the target has fewer than two publications.
    """
    before = registry.published_version(target)
    version = registry.rollback(target, actor=actor)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="model.rollback",
        subject=f"model:{version}",
        details={"target": target, "before": before, "after": version},
    )
    return PublishResult(target=target, published_version=version, history=registry.history(target))
