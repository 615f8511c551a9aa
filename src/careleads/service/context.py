"""What a service use case needs besides the session: dictionary, scorer, rules, routing, keys, analytics.

Built once per process from :class:`careleads.settings.Settings` (the API builds one at start-up, the CLI
one per command).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from careleads.decisions import HardRules, Routing, load_hard_rules, load_routing
from careleads.dictionary import Dictionary, extend_dictionary, load_dictionary, load_extension
from careleads.errors import ConfigError
from careleads.features import FeatureSpec
from careleads.models import ModelRegistry
from careleads.privacy import FieldCipher, Pseudonymiser, generate_key, generate_pseudonym_key
from careleads.service._scoring import LeadScorer, SegmentScorers
from careleads.service.analytics import AnalyticsWriter
from careleads.service.crm_mapping import FieldMapping, load_field_mapping
from careleads.service.targets import TargetScorers
from careleads.settings import Settings, private_folder
from careleads.store import has_tables, make_engine, upgrade

#: the clinic's dictionary extension, in the settings' data directory
DICTIONARY_EXTENSION_FILE = "dictionary_extension.json"

__all__ = [
    "ANALYTICS_KEY",
    "DICTIONARY_EXTENSION_FILE",
    "ServiceContext",
    "clinic_dictionary",
    "open_store",
]

#: ``Session.info`` key of the number of analytics rows a transaction wrote
ANALYTICS_KEY = "analytics"


def clinic_dictionary(settings: Settings) -> Dictionary:
    """The dictionary `settings` name (or the shipped one) with the clinic's extension in the data directory:
    what the service reads leads with, for a batch run outside the service."""
    base = load_dictionary(settings.dictionary_file) if settings.dictionary_file else load_dictionary()
    return extend_dictionary(base, load_extension(settings.data_dir / DICTIONARY_EXTENSION_FILE))


def open_store(settings: Settings) -> Engine:
    """An engine on the configured database; the embedded default is migrated first (``auto_upgrade``).

    Raises
    ------
    ConfigError
        If another database has no careleads tables yet (run ``careleads db upgrade``), or cannot be reached.
    """
    engine = make_engine(settings.database_url, lock_seconds=settings.lock_wait_seconds)
    if settings.is_embedded_default and settings.auto_upgrade:
        upgrade(engine)
    elif not has_tables(engine):
        engine.dispose()
        raise ConfigError(
            "the database set by CARELEADS_DATABASE_URL has no careleads tables; run `careleads db upgrade` "
            "first"
        )
    return engine


def _key_text(
    value: str, key_file: Path | None, default_file: Path, *, create: bool, make: str, setting: str
) -> str:
    """The key from its file, the setting, or (first start, when allowed) a new key file; errors name the
    file by its `setting` (e.g. ``CARELEADS_ENCRYPTION_KEY_FILE``), never by its path."""
    if key_file is not None:
        try:
            return key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the key file set by {setting}: {exc.strerror}; check the path"
            ) from None
    if value.strip():
        return value.strip()
    if default_file.exists():
        return default_file.read_text(encoding="utf-8").strip()
    if not create:
        raise ConfigError(
            f"no key configured and creating keys is switched off; set the key or key file setting "
            f"(see `careleads serve --help`), or let careleads create keys/{default_file.name} in the data "
            "folder"
        )
    default_file.parent.mkdir(parents=True, exist_ok=True)
    # written whole under a name of its own, then linked into place: the workers of `serve --workers N`
    # start together, and the link fails for all but the first, which then read the key the first made
    # (never half of it: the file appears with its content); each worker holding a key of its own would
    # encrypt and pseudonymise leads that the others cannot read or find
    draft = default_file.with_name(f".{default_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(make + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, default_file)
        except FileExistsError:
            return default_file.read_text(encoding="utf-8").strip()
        except OSError as exc:  # a file system without hard links, say
            raise ConfigError(
                f"cannot create keys/{default_file.name} in the data folder: {exc.strerror}; create the key "
                f"yourself and set {setting}"
            ) from None
    finally:
        draft.unlink(missing_ok=True)
    return make


@dataclass
class ServiceContext:
    """The long-lived parts of the service."""

    settings: Settings
    dictionary: Dictionary
    spec: FeatureSpec
    registry: ModelRegistry
    scorer: LeadScorer
    segments: SegmentScorers  # returning and partnership leads
    targets: TargetScorers  # the served targets besides `settings.target`, and their cohort models
    hard_rules: HardRules
    routing: Routing
    cipher: FieldCipher
    pseudonymiser: Pseudonymiser
    analytics: AnalyticsWriter
    mapping: FieldMapping
    # the dictionary as configured, before the clinic's extension (admin mappings) is applied, and the
    # extension file's (modification time, size) when it was last applied
    base_dictionary: Dictionary | None = None
    extension_stamp: tuple[int, int] | None = None

    @property
    def extension_path(self) -> Path:
        """The clinic's dictionary extension: spellings an admin mapped (see `careleads.dictionary`)."""
        return self.settings.data_dir / DICTIONARY_EXTENSION_FILE

    def refresh_dictionary(self) -> Dictionary:
        """The dictionary with the clinic's extension as it is on disk now (re-applied when the file
        changed, by this process or another one)."""
        try:
            stat = self.extension_path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self.extension_stamp:
            base = self.base_dictionary or self.dictionary
            self.dictionary = extend_dictionary(base, load_extension(self.extension_path))
            self.base_dictionary, self.extension_stamp = base, stamp
        return self.dictionary

    def bind(self, factory: sessionmaker[Session]) -> None:
        """Let the analytics writer drain the store of `factory` and tell it of the rows each transaction
        committed."""
        self.analytics.attach(factory)

        def committed(session: Session) -> None:
            rows = session.info.pop(ANALYTICS_KEY, 0)
            if rows:
                self.analytics.committed(rows)

        def rolled_back(session: Session) -> None:
            session.info.pop(ANALYTICS_KEY, None)

        event.listen(factory, "after_commit", committed)
        event.listen(factory, "after_soft_rollback", lambda session, _previous: rolled_back(session))

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceContext:
        """Load the dictionary, rules, routing and keys named by `settings`.

        Raises
        ------
        ConfigError
            If a file is malformed or a key is missing (and may not be created).
        """
        private_folder(settings.data_dir)  # keys, analytics and batches: this user's only
        dictionary = (
            load_dictionary(settings.dictionary_file) if settings.dictionary_file else load_dictionary()
        )
        spec = FeatureSpec.from_table(dictionary.table("leads"))
        registry = ModelRegistry(settings.registry_path())
        routing = load_routing(settings.routing_file)
        hard_rules = load_hard_rules(settings.hard_rules_file, routing=routing)
        keys = settings.data_dir / "keys"
        cipher = FieldCipher(
            _key_text(
                settings.encryption_key,
                settings.encryption_key_file,
                keys / "encryption.key",
                create=settings.create_keys,
                make=generate_key(),
                setting="CARELEADS_ENCRYPTION_KEY_FILE",
            )
        )
        pseudonym_key = _key_text(
            settings.pseudonym_key,
            settings.pseudonym_key_file,
            keys / "pseudonym.key",
            create=settings.create_keys,
            make=generate_pseudonym_key(),
            setting="CARELEADS_PSEUDONYM_KEY_FILE",
        )
        return cls(
            settings=settings,
            dictionary=dictionary,
            spec=spec,
            registry=registry,
            scorer=LeadScorer(registry=registry, target=settings.target, dictionary=dictionary),
            segments=SegmentScorers(registry=registry, target=settings.target, dictionary=dictionary),
            targets=TargetScorers(registry=registry, primary=settings.target, served=settings.served_targets),
            hard_rules=hard_rules,
            routing=routing,
            cipher=cipher,
            pseudonymiser=Pseudonymiser(pseudonym_key.encode("utf-8")),
            analytics=AnalyticsWriter(
                settings.analytics_path(), spec=spec, flush_rows=settings.analytics_flush_rows
            ),
            mapping=load_field_mapping(settings.field_mapping_file),
        ).with_extension()

    def with_extension(self) -> ServiceContext:
        """This context with the clinic's dictionary extension applied (if there is one)."""
        self.refresh_dictionary()
        return self
