"""A local model registry: one folder per version, a publication history per target, publish and rollback."""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from careleads.errors import InputError, NotFoundError
from careleads.features import Cohort
from careleads.models._lead_model import CARD_FILE, LeadModel
from careleads.types import PathLikeStr

HISTORY_FILE = "registry.json"
#: the segment of a model whose card names none: new (inbound) patient leads
DEFAULT_SEGMENT = "inbound"


def publication_key(target: str, segment: str = DEFAULT_SEGMENT, cohort: Cohort | None = None) -> str:
    """The name a target's publications are kept under: ``OUTCOME_<DAYS>d`` for new patient leads,
    ``SEGMENT/OUTCOME_<DAYS>d`` for another segment (returning leads and new leads share a target, never a
    published model); a cohort model (one site or service line) adds ``@FIELD=VALUE``."""
    key = target if segment == DEFAULT_SEGMENT else f"{segment}/{target}"
    return key if cohort is None else f"{key}@{cohort.field}={cohort.value}"


def card_key(card: dict[str, Any]) -> str:
    """The publication key of a model card (its target, its segment and its cohort)."""
    target = card.get("target", {})
    name = f"{target.get('outcome')}_{target.get('window_days')}d"
    return publication_key(name, str(card.get("segment") or DEFAULT_SEGMENT), Cohort.of_card(card))


@dataclass(frozen=True)
class ModelEntry:
    version: str
    target: str  # the publication key: the target, with the segment in front unless it is the default
    trained_at: str
    test_auc: float | None
    test_ece: float | None
    published: bool
    segment: str = DEFAULT_SEGMENT
    cohort: str | None = None  # FIELD=VALUE of a cohort model, None for a model of every lead

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "segment": self.segment,
            "cohort": self.cohort,
            "target": self.target,
            "trained_at": self.trained_at,
            "test_auc": self.test_auc,
            "test_ece": self.test_ece,
            "published": self.published,
        }


class ModelRegistry:
    """Model versions in `root`, one folder each with its card; `registry.json` records publications.

    Publishing appends to a per-target history, so rollback returns to the version published before, and the
    history itself is the record of what scored leads when.

    Examples
    --------
    >>> import tempfile
    >>> registry = ModelRegistry(tempfile.mkdtemp())
    >>> registry.versions()
    []
    """

    def __init__(self, root: PathLikeStr) -> None:
        self.root = Path(root)
        self._read: tuple[tuple[int, int, int], dict[str, list[dict[str, str]]]] | None = None

    # -- storage ---------------------------------------------------------------------------------------
    def _history(self) -> dict[str, list[dict[str, str]]]:
        """The publication history, a copy the caller may change (:meth:`_current_history`)."""
        return copy.deepcopy(self._current_history())

    def _current_history(self) -> dict[str, list[dict[str, str]]]:
        """The publication history as read last, not to be changed; read again only when the file changed
        (it is replaced, never edited).

        A service asks for the published version on every request: a ``stat`` instead of reading and
        parsing the file each time, and no copy.
        """
        path = self.root / HISTORY_FILE
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._read = None
            return {}
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        read = self._read
        if read is not None and read[0] == identity:
            return read[1]
        data: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
        self._read = (identity, data)
        return data

    def _write_history(self, history: dict[str, list[dict[str, str]]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # write then rename, so a crash never leaves a half-written history
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(history, handle, indent=2)
        os.replace(tmp, self.root / HISTORY_FILE)

    def card(self, version: str) -> dict[str, Any]:
        path = self.root / version / CARD_FILE
        if not path.exists():
            raise NotFoundError(f"model version {version!r} is not in the registry")
        card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return card

    # -- use cases -------------------------------------------------------------------------------------
    def register(self, model: LeadModel) -> str:
        """Save `model` under its version; returns the version."""
        model.save(self.root / model.version)
        return model.version

    def import_folder(self, folder: PathLikeStr) -> list[str]:
        """Bring trained models into the registry: `folder` is a model folder (it holds a card) or a folder of
        them, as ``careleads train --out DIR`` writes; returns the versions imported.

        Each model is read first, so that a folder this release cannot score with is refused before anything
        is copied; it is then copied whole under its version (a half-copied folder is never left behind).

        Raises
        ------
        InputError
            When `folder` holds no model, or a version is already in the registry.
        ConfigError
            When a model cannot be read (e.g. written by an older release: retrain it).
        """
        source = Path(folder)
        models = [source] if (source / CARD_FILE).exists() else []
        if not models and source.is_dir():
            models = sorted(p for p in source.iterdir() if (p / CARD_FILE).exists())
        if not models:
            raise InputError(
                f"{source} holds no trained model (a folder with {CARD_FILE}); pass the folder "
                "`careleads train --out` wrote, or one model folder in it"
            )
        loaded = [(path, LeadModel.load(path).version) for path in models]
        for path, version in loaded:
            if (self.root / version).exists():
                raise InputError(
                    f"model version {version!r} (from {path}) is already in the registry {self.root}; "
                    "nothing was imported"
                )
        self.root.mkdir(parents=True, exist_ok=True)
        for path, version in loaded:
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".import-"))
            shutil.copytree(path, staging / version)
            os.replace(staging / version, self.root / version)
            staging.rmdir()
        return [version for _path, version in loaded]

    def load(self, version: str) -> LeadModel:
        self.card(version)
        return LeadModel.load(self.root / version)

    def versions(self) -> list[ModelEntry]:
        if not self.root.exists():
            return []
        published = {target: entries[-1]["version"] for target, entries in self._history().items() if entries}
        out = []
        for folder in sorted(p for p in self.root.iterdir() if (p / CARD_FILE).exists()):
            card = self.card(folder.name)
            target = card_key(card)
            metrics = card.get("test_metrics", {}).get("model", {})
            out.append(
                ModelEntry(
                    version=folder.name,
                    target=target,
                    trained_at=str(card.get("trained_at", "")),
                    test_auc=metrics.get("auc"),
                    test_ece=metrics.get("ece"),
                    published=published.get(target) == folder.name,
                    segment=str(card.get("segment") or DEFAULT_SEGMENT),
                    cohort=None if (cohort := Cohort.of_card(card)) is None else str(cohort),
                )
            )
        return out

    def latest(self, segment: str = DEFAULT_SEGMENT) -> str:
        """The most recently trained version of a segment in this folder (published or not).

        Raises
        ------
        NotFoundError
            When the folder holds no model of the segment.
        """
        found = [m for m in self.versions() if m.segment == segment]
        if not found:
            raise NotFoundError(
                f"the registry holds no {segment} model; train one (`careleads train --segment {segment}`)"
            )
        return max(found, key=lambda m: (m.trained_at, m.version)).version

    def _target_of(self, version: str) -> str:
        return card_key(self.card(version))

    def key_of(self, version: str) -> str:
        """The publication key of a registered version (its target, and its segment unless the default).

        Raises
        ------
        NotFoundError
            If the version is not in the registry.
        """
        return self._target_of(version)

    def publish(self, version: str, *, actor: str = "system", note: str = "") -> None:
        """Make `version` the one that scores leads for its target (and segment, see :func:`card_key`)."""
        target = self._target_of(version)
        history = self._history()
        history.setdefault(target, []).append(
            {"version": version, "at": datetime.now(UTC).isoformat(), "actor": actor, "note": note}
        )
        self._write_history(history)

    def published_keys(self) -> list[str]:
        """Every publication key with a published version now (targets, segments and cohorts)."""
        return sorted(key for key, entries in self._current_history().items() if entries)

    def published_version(self, target: str) -> str | None:
        entries = self._current_history().get(target) or []
        return entries[-1]["version"] if entries else None

    def published(self, target: str) -> LeadModel | None:
        version = self.published_version(target)
        return self.load(version) if version else None

    def rollback_target(self, target: str) -> str | None:
        """The version :meth:`rollback` would return to (the one published before the current one), or None
        when there is nothing to roll back to."""
        entries = self._history().get(target) or []
        return entries[-2]["version"] if len(entries) >= 2 else None

    def rollback(self, target: str, *, actor: str = "system", note: str = "rollback") -> str:
        """Return to the version published before the current one; returns it."""
        previous = self.rollback_target(target)
        if previous is None:
            raise NotFoundError(f"nothing to roll back to for {target}: fewer than two publications")
        history = self._history()
        entries = history.setdefault(target, [])
        entries.append(
            {"version": previous, "at": datetime.now(UTC).isoformat(), "actor": actor, "note": note}
        )
        self._write_history(history)
        return previous

    def history(self, target: str) -> list[dict[str, str]]:
        return list(self._history().get(target) or [])
