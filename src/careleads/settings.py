"""Service settings, read once from the environment (prefix ``CARELEADS_``) or given in code.

Every setting has a default that runs on one machine with nothing else installed (a SQLite file in the
data folder, a local model registry) and a description that ``careleads serve --help`` and the docs show.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from careleads.errors import ConfigError

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Configuration of the scoring service, the store and the write-back.

    Each field reads the environment variable ``CARELEADS_<NAME>`` (for example
    ``CARELEADS_DATABASE_URL``). Paths left empty are placed under ``data_dir``.

    Examples
    --------
    >>> s = Settings(data_dir="/tmp/careleads-x", database_url="")
    >>> s.database_url
    'sqlite:////tmp/careleads-x/careleads.db'
    >>> str(s.registry_dir)
    '/tmp/careleads-x/models'
    """

    model_config = SettingsConfigDict(env_prefix="CARELEADS_", extra="ignore", validate_default=True)

    data_dir: Path = Field(
        default=Path("careleads-data"),
        description="Folder for the embedded SQLite database, the model registry, analytics and batch files.",
    )
    database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy database URL; empty means the SQLite file careleads.db in data_dir. PostgreSQL: "
            "postgresql+psycopg://USER@HOST:5432/DB"
        ),
    )
    registry_dir: Path | None = Field(
        default=None, description="Local model registry folder (default: data_dir/models)."
    )
    analytics_dir: Path | None = Field(
        default=None,
        description=(
            "Analytics layer: pseudonymised model inputs and outputs, Parquet (default: data_dir/analytics)."
        ),
    )
    batch_dir: Path | None = Field(
        default=None, description="Uploaded batch files and their results (default: data_dir/batches)."
    )
    target: str = Field(
        default="appointment_scheduled_30d",
        description="The target whose published model scores leads, as OUTCOME_<DAYS>d.",
    )
    encryption_key: str = Field(
        default="",
        repr=False,
        description="Fernet key(s) for direct identifiers at rest, newest first, comma-separated.",
    )
    encryption_key_file: Path | None = Field(
        default=None, description="File holding the encryption key(s); wins over encryption_key."
    )
    pseudonym_key: str = Field(
        default="",
        repr=False,
        description="Secret (at least 32 bytes) for keyed pseudonyms (HMAC-SHA256) in the analytics layer.",
    )
    pseudonym_key_file: Path | None = Field(
        default=None, description="File holding the pseudonym key; wins over pseudonym_key."
    )
    create_keys: bool = Field(
        default=True,
        description=(
            "When no key is configured, create key files in data_dir (mode 0600) on first start; "
            "set to false in production so a missing key is an error."
        ),
    )
    hard_rules_file: Path | None = Field(
        default=None, description="Hard rules / overrides YAML (default: the shipped file)."
    )
    routing_file: Path | None = Field(default=None, description="Routing YAML (default: the shipped file).")
    dictionary_file: Path | None = Field(
        default=None, description="Data dictionary YAML that API input is checked against (default: shipped)."
    )
    field_mapping_file: Path | None = Field(
        default=None,
        description=(
            "CRM field mapping YAML (or hubspot / salesforce) for write-back payloads and the CSV export."
        ),
    )
    webhook_url: str = Field(
        default="", description="CRM webhook that receives score, tier and route changes."
    )
    webhook_secret: str = Field(
        default="", repr=False, description="Shared secret for the HMAC-SHA256 signature of webhook payloads."
    )
    webhook_max_attempts: int = Field(
        default=6, ge=1, description="Delivery attempts before an outbox record is dead-lettered."
    )
    webhook_backoff_seconds: float = Field(
        default=30.0, gt=0, description="First retry delay; doubles after each failed attempt."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP timeout of one delivery.")
    webhook_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often `careleads serve` delivers due outbox records (webhook set).",
    )
    review_sla_hours: float = Field(
        default=24.0, gt=0, description="Hours to review a lead when its route sets no SLA of its own."
    )
    max_concurrent_requests: int = Field(
        default=2, ge=1, description="Requests worked on at once per server process; more wait, then get 503."
    )
    queue_seconds: float = Field(
        default=0.5, gt=0, description="Longest wait for a free slot before a request is refused with 503."
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a checked API token is trusted before it is checked again (a revoked token "
        "stops working within this time); 0 checks the store on every request.",
    )
    analytics_flush_rows: int = Field(
        default=500,
        ge=1,
        description="Analytics rows buffered in memory before a Parquet part file is written.",
    )
    analytics_background: bool = Field(
        default=True,
        description="Write full analytics buffers in a separate writer process (off: inside the request that "
        "fills one).",
    )
    auto_upgrade: bool = Field(
        default=True,
        description="Apply database migrations on start when the database is the embedded SQLite default.",
    )
    log_level: str = Field(default="info", description="Log level of the service (debug, info, warning).")

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        base = self.data_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{base / 'careleads.db'}"
        if self.registry_dir is None:
            self.registry_dir = base / "models"
        if self.analytics_dir is None:
            self.analytics_dir = base / "analytics"
        if self.batch_dir is None:
            self.batch_dir = base / "batches"
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is a SQLite database."""
        return self.database_url.startswith("sqlite")

    @property
    def is_embedded_default(self) -> bool:
        """Whether the database is the embedded SQLite file under data_dir (migrated on first start)."""
        return self.database_url == f"sqlite:///{self.data_dir / 'careleads.db'}"

    def registry_path(self) -> Path:
        """The model registry folder."""
        assert self.registry_dir is not None  # set by the validator
        return self.registry_dir

    def analytics_path(self) -> Path:
        """The analytics layer folder."""
        assert self.analytics_dir is not None
        return self.analytics_dir

    def batch_path(self) -> Path:
        """The batch files folder."""
        assert self.batch_dir is not None
        return self.batch_dir


def get_settings() -> Settings:
    """Settings from the environment; a malformed value becomes a ConfigError naming the variable.

    Returns
    -------
    Settings
    """
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CARELEADS_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid service settings: {problems}") from None
