"""The model registry: another process's publish and rollback are seen at once by a running service."""

from __future__ import annotations

import copy
from pathlib import Path

from _service_support import trained_model
from careleads.models import ModelRegistry


def test_a_reader_sees_publish_and_rollback_by_another_writer(tmp_path: Path) -> None:
    model = trained_model()
    writer, reader = ModelRegistry(tmp_path), ModelRegistry(tmp_path)
    target = model.target.name
    assert reader.published_version(target) is None
    first = writer.register(model)
    other = copy.copy(model)
    other.card = {**model.card, "version": model.version + "-b"}
    second = writer.register(other)
    writer.publish(first, actor="t")
    assert reader.published_version(target) == first
    writer.publish(second, actor="t")
    assert reader.published_version(target) == second  # the file changed: read again
    history = reader._history()
    history[target].clear()  # a caller's copy: the registry's own stays intact
    assert reader.published_version(target) == second
    assert writer.rollback(target, actor="t") == first
    assert reader.published_version(target) == first
    (tmp_path / "registry.json").unlink()
    assert reader.published_version(target) is None  # history gone: nothing published
