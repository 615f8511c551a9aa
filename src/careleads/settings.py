"""Settings, read once from the environment (prefix ``CARELEADS_``) or given in code.

:class:`Settings` is the one reader of careleads' environment variables: the service, the store, the
write-back and, in :class:`MonitorSettings` (variables ``CARELEADS_MONITOR_<NAME>``), the thresholds and
windows of monitoring, pilots and retraining. Every setting has a default that runs on one machine with
nothing else installed (a SQLite file in the data folder, a local model registry) and a description that
the docs show (:func:`settings_table` writes the table of docs/USER_GUIDE.md).

:func:`prefer_sleeping_openmp_threads` is not a setting: it sets ``OMP_WAIT_POLICY`` for a process that
careleads starts (the command line, batch workers), before LightGBM loads.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from careleads.errors import ConfigError

__all__ = [
    "OPENMP_WAIT_POLICY",
    "MonitorSettings",
    "Settings",
    "get_settings",
    "prefer_sleeping_openmp_threads",
    "settings_table",
]

#: LightGBM's OpenMP threads spin while they wait for work unless this variable says otherwise.
OPENMP_WAIT_POLICY = "OMP_WAIT_POLICY"


def prefer_sleeping_openmp_threads(environ: MutableMapping[str, str] | None = None) -> None:
    """Let OpenMP threads sleep while they wait (``OMP_WAIT_POLICY=passive``) unless the variable is set.

    OpenMP reads the variable once, when LightGBM's library loads, so this must run before the first
    ``import lightgbm`` of the process. By default OpenMP threads spin while waiting; on a small machine
    shared with other processes (2 cores) that made training about ten times slower, and sleeping costs
    nothing measurable on an idle machine. careleads calls this where it owns the process: at the start of
    the ``careleads`` command and in the environment its batch workers start with. A program that imports
    careleads as a library and trains or scores with LightGBM should call it (or set the variable) first.

    Parameters
    ----------
    environ : mutable mapping, optional
        The environment to change; default this process's ``os.environ`` (which child processes inherit).

    Examples
    --------
    >>> env = {}
    >>> prefer_sleeping_openmp_threads(env)
    >>> env
    {'OMP_WAIT_POLICY': 'passive'}
    >>> env = {"OMP_WAIT_POLICY": "active"}
    >>> prefer_sleeping_openmp_threads(env)
    >>> env["OMP_WAIT_POLICY"]
    'active'
    """
    target = os.environ if environ is None else environ
    target.setdefault(OPENMP_WAIT_POLICY, "passive")


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CommaSeparated = Annotated[tuple[str, ...], NoDecode]


class MonitorSettings(BaseModel):
    """Thresholds and windows of monitoring, pilots and retraining (``CARELEADS_MONITOR_<NAME>``).

    The unit of each value is in its name or its description. Lists are comma-separated in the
    environment (``CARELEADS_MONITOR_EXCLUDED_FEATURES=created_month,source``).

    Examples
    --------
    >>> MonitorSettings().psi_act
    0.25
    >>> MonitorSettings(gate_max_ece=0.04).gate_max_ece
    0.04
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    psi_watch: float = Field(
        default=0.1, ge=0, description="PSI from which a feature or the score is 'watch'."
    )
    psi_act: float = Field(default=0.25, ge=0, description="PSI from which a feature or the score is 'act'.")
    positive_rate_watch_points: float = Field(
        default=2.0,
        ge=0,
        description="Change of the positive rate (matured leads), in percentage points, that is 'watch'.",
    )
    positive_rate_act_points: float = Field(
        default=5.0,
        ge=0,
        description="Change of the positive rate (matured leads), in percentage points, that is 'act'.",
    )
    score_shift_watch_share: float = Field(
        default=0.1,
        ge=0,
        description=(
            "Move of the score's 5th, 50th or 95th percentile, as a share of the training window's "
            "5-95% width, that is 'watch'."
        ),
    )
    score_shift_act_share: float = Field(
        default=0.25,
        ge=0,
        description=(
            "Move of the score's 5th, 50th or 95th percentile, as a share of the training window's "
            "5-95% width, that is 'act'."
        ),
    )
    psi_bins: int = Field(default=10, ge=2, description="Quantile buckets for the PSI of numeric features.")
    calibration_tolerance: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description=(
            "A tier's mean predicted probability within this of its observed rate is 'ok' even "
            "outside the interval."
        ),
    )
    calibration_act_tolerance: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "Outside the interval and further than this (a probability) from the observed rate is 'act'."
        ),
    )
    confidence: float = Field(
        default=0.95, gt=0, lt=1, description="Level of the confidence intervals (a probability)."
    )
    stability_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Significance level of the tier inversion test."
    )
    recent_window_days: int = Field(
        default=90, gt=0, description="Length of the recent window when no --since is given."
    )
    period_freq: str = Field(
        default="MS",
        min_length=1,
        description="Period of the calibration table (a pandas frequency: MS = month).",
    )
    min_matured_leads: int = Field(
        default=30,
        ge=0,
        description=(
            "A tier's month with fewer matured leads is shown but sets no calibration or tier-order status."
        ),
    )
    excluded_features: CommaSeparated = Field(
        default=("created_month",),
        description=(
            "Features left out of drift: the calendar month differs between any two windows by design."
        ),
    )
    fairness_columns: CommaSeparated = Field(
        default=("insurance",),
        description=(
            "Columns `careleads fairness` compares groups by besides the sensitive attributes (age, sex): "
            "the payer by default; `--by` names others for one run."
        ),
    )
    contact_outcomes: CommaSeparated = Field(
        default=("intake_call_completed",),
        description=(
            "Outcome types that mark the first contact, for time to first contact when decisions lack it."
        ),
    )
    appointment_outcome: str = Field(
        default="appointment_scheduled", description="Outcome type counted for appointments per 100 leads."
    )
    gate_auc_margin: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description=(
            "Publish gate: a candidate may be this much below the published model's AUC on the same window."
        ),
    )
    gate_max_ece: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "Publish gate: largest expected calibration error a candidate may have on the recent window. "
            "A perfectly calibrated model shows an ECE of about 0.02 on 2,000 leads by chance alone."
        ),
    )
    retrain_after_days: int = Field(
        default=90,
        gt=0,
        description="`retrain --if schedule` retrains when the published model is older than this.",
    )
    pilot_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Significance level of pilot comparisons."
    )
    pilot_min_detectable_points: float = Field(
        default=3.0,
        gt=0,
        description="Conversion difference, in percentage points, a pilot should be able to detect.",
    )

    _split_lists = field_validator("excluded_features", "contact_outcomes", mode="before")(_comma_separated)

    @model_validator(mode="after")
    def _watch_before_act(self) -> MonitorSettings:
        pairs = {
            "psi": (self.psi_watch, self.psi_act),
            "positive_rate_points": (self.positive_rate_watch_points, self.positive_rate_act_points),
            "score_shift_share": (self.score_shift_watch_share, self.score_shift_act_share),
            "calibration_tolerance": (self.calibration_tolerance, self.calibration_act_tolerance),
        }
        for name, (watch, act) in pairs.items():
            if watch > act:
                raise ValueError(f"{name}: the 'watch' value {watch} is above the 'act' value {act}")
        return self


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

    # env_nested_delimiter "_" split at most once: CARELEADS_MONITOR_PSI_ACT sets monitor.psi_act (only
    # nested models are split, so CARELEADS_PSEUDONYM_KEY_FILE stays one name)
    model_config = SettingsConfigDict(
        env_prefix="CARELEADS_",
        extra="ignore",
        validate_default=True,
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

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
    served_targets: CommaSeparated = Field(
        default=(),
        description=(
            "Other targets scored with every lead besides `target` (which alone sets tier and routing), "
            "comma-separated OUTCOME_<DAYS>d; empty: every target with a published model."
        ),
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
    hubspot_token: str = Field(
        default="",
        repr=False,
        description="HubSpot private app access token for `careleads sync hubspot` (scopes: contacts read "
        "and write, owners read, properties read and write).",
    )
    hubspot_base_url: str = Field(
        default="https://api.hubapi.com", description="HubSpot's API address (a local stand-in in tests)."
    )
    hubspot_mapping_file: Path | None = Field(
        default=None,
        description="HubSpot connector mapping YAML: contact properties, owners' e-mails, stages as "
        "outcomes, write-back properties (default: the shipped file).",
    )
    hubspot_max_attempts: int = Field(
        default=6, ge=1, le=20, description="Attempts of one HubSpot request on 429 and 5xx answers."
    )
    hubspot_backoff_seconds: float = Field(
        default=1.0,
        gt=0,
        description="First wait after a HubSpot 5xx; doubles each attempt (a 429 waits its Retry-After).",
    )
    salesforce_instance_url: str = Field(
        default="",
        description="Salesforce org address for `careleads sync salesforce` with a session id "
        "(https://yourorg.my.salesforce.com; a local stand-in in tests).",
    )
    salesforce_session_id: str = Field(
        default="",
        repr=False,
        description="Salesforce session id or OAuth access token (with the instance URL); when it expires, "
        "set a new one.",
    )
    salesforce_username: str = Field(
        default="", description="Salesforce login (instead of a session id; logs in again when needed)."
    )
    salesforce_password: str = Field(
        default="", repr=False, description="Salesforce password (with the login)."
    )
    salesforce_security_token: str = Field(
        default="", repr=False, description="Salesforce security token (with the login)."
    )
    salesforce_domain: str = Field(
        default="login", description="Salesforce login domain: login (production) or test (sandbox)."
    )
    salesforce_mapping_file: Path | None = Field(
        default=None,
        description="Salesforce connector mapping YAML: Lead fields, owners' e-mails, Status values and "
        "conversion as outcomes, the upsert key, write-back fields (default: the shipped file).",
    )
    salesforce_max_attempts: int = Field(
        default=6,
        ge=1,
        le=20,
        description="Attempts of one Salesforce request on 429, 5xx and lost connections.",
    )
    salesforce_backoff_seconds: float = Field(
        default=1.0,
        gt=0,
        description="First wait after a Salesforce 5xx; doubles each attempt (a 429 waits its Retry-After).",
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
    webhook_parallel: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Write-back records sent at once by one deliverer (each claimed under a lease, so "
        "several server processes deliver without sending a record twice).",
    )
    webhook_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often `careleads serve` delivers due outbox records (webhook set).",
    )
    scheduler: bool = Field(
        default=False,
        description="Run the scheduled jobs (`careleads jobs list`) in a thread of the server; "
        "`careleads serve` turns it on unless this is set to false. Across server processes each due job "
        "runs once (a lease in the store).",
    )
    scheduler_poll_seconds: float = Field(
        default=30.0, gt=0, description="How often the scheduler looks for due jobs."
    )
    job_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A running job's lease, renewed while it runs; a lease left by a stopped server "
        "process expires after this and another process takes the job over.",
    )
    job_sync_hubspot_minutes: int = Field(
        default=15,
        ge=0,
        description="Job sync_hubspot (`careleads sync hubspot`) every this many minutes; 0 turns it off. "
        "Skipped while CARELEADS_HUBSPOT_TOKEN is empty.",
    )
    job_sync_salesforce_minutes: int = Field(
        default=15,
        ge=0,
        description="Job sync_salesforce (`careleads sync salesforce`) every this many minutes; 0 turns it "
        "off. Skipped while no Salesforce session or login is set.",
    )
    job_deliver_outbox_minutes: int = Field(
        default=0,
        ge=0,
        description="Job deliver_outbox (`careleads outbox deliver`) every this many minutes; 0 turns it "
        "off (the server already delivers every CARELEADS_WEBHOOK_POLL_SECONDS when the webhook is set).",
    )
    job_rescore_open_leads_minutes: int = Field(
        default=1440,
        ge=0,
        description="Job rescore_open_leads (every lead without an outcome scored again on what is known "
        "now) every this many minutes; 0 turns it off. Skipped while no model is published.",
    )
    job_monitor_minutes: int = Field(
        default=1440,
        ge=0,
        description="Job monitor (`careleads monitor` on CARELEADS_JOB_DATA_DIR; an alert when the "
        "status is act) every this many minutes; 0 turns it off.",
    )
    job_retrain_minutes: int = Field(
        default=1440,
        ge=0,
        description="Job retrain (`careleads retrain --if schedule` on CARELEADS_JOB_DATA_DIR, through the "
        "publish gate) every this many minutes; 0 turns it off.",
    )
    job_data_dir: Path | None = Field(
        default=None,
        description="The CRM export folder (leads, events, outcomes) the monitor and retrain jobs read; "
        "unset: those jobs are skipped.",
    )
    alert_webhook_url: str = Field(
        default="", description="Where monitoring alerts are POSTed as JSON (empty: no webhook alert)."
    )
    alert_webhook_secret: str = Field(
        default="",
        repr=False,
        description="Secret of the alerts' X-Careleads-Signature header (HMAC-SHA256, as the outbox's); "
        "empty: alerts are sent unsigned.",
    )
    smtp_host: str = Field(default="", description="SMTP server for alert e-mails (empty: no e-mail).")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS with the SMTP server.")
    smtp_user: str = Field(default="", description="SMTP login (empty: no login).")
    smtp_password: str = Field(default="", repr=False, description="SMTP password (with smtp_user).")
    alert_email_from: str = Field(default="", description="Sender address of alert e-mails.")
    alert_email_to: CommaSeparated = Field(
        default=(), description="Recipients of alert e-mails, comma-separated."
    )
    review_sla_hours: float = Field(
        default=24.0, gt=0, description="Hours to review a lead when its route sets no SLA of its own."
    )
    review_page_size: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Leads per review queue page after the pinned band (clinical triage and overdue leads, "
        "all shown on the first page whatever their number); the page's page_size parameter overrides it.",
    )
    clinic_timezone: str = Field(
        default="UTC",
        description="The clinic's IANA time zone (for example America/Chicago): every time the pages show, "
        "and the review queue's 'due today', are in it.",
    )
    feedback_undo_minutes: float = Field(
        default=10.0,
        gt=0,
        description="Minutes during which a reviewer (or an admin) may undo a label given on the lead page; "
        "the undo reopens the review task.",
    )
    worked_lead_hours: float = Field(
        default=24.0,
        ge=0,
        description="Hours a reviewer keeps reading a lead they labelled after its review task closed (to "
        "undo, add a follow-up note or check it); 0: only while it is in a queue they work.",
    )
    max_concurrent_requests: int = Field(
        default=2, ge=1, description="Requests worked on at once per server process; more wait, then get 503."
    )
    max_bulk_requests: int = Field(
        default=1,
        ge=1,
        description="Bulk scoring requests (POST /v1/score, batch uploads) worked on at once per server "
        "process, in a line of their own beside max_concurrent_requests: bulk work never takes intake's "
        "slots.",
    )
    bulk_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Longest a POST /v1/score request may score; past it, the request stops between chunks "
        "of leads and is answered 503 (send fewer leads per request).",
    )
    queue_seconds: float = Field(
        default=0.5, gt=0, description="Longest wait for a free slot before a request is refused with 503."
    )
    lock_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest wait for a lock another transaction holds (SQLite's writer lock, a PostgreSQL "
        "row lock) or for a free database connection; then the request is answered 503 with Retry-After "
        "and the command stops with an error, instead of waiting for ever.",
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
        description="Analytics rows waiting in the store (table analytics_outbox) before a Parquet part "
        "file is written.",
    )
    analytics_background: bool = Field(
        default=True,
        description="Write the waiting analytics rows in a separate writer process (off: inside the request "
        "that completes a part).",
    )
    auto_upgrade: bool = Field(
        default=True,
        description="Apply database migrations on start when the database is the embedded SQLite default.",
    )
    log_level: str = Field(default="info", description="Log level of the service (debug, info, warning).")
    cache_dir: Path | None = Field(
        default=None,
        description="Folder of boosted trees compiled to native code for batch scoring, shared by every "
        "process of the machine (default: ~/.cache/careleads/compiled).",
    )
    monitor: MonitorSettings = Field(
        default_factory=MonitorSettings,
        description="Monitoring, pilots and retraining: one variable CARELEADS_MONITOR_<NAME> per field.",
    )

    _split_recipients = field_validator("alert_email_to", mode="before")(_comma_separated)

    @field_validator("clinic_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: give an IANA name such as Europe/Paris or America/Chicago"
            ) from None
        return value

    @property
    def clinic_tz(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.clinic_timezone)

    _split_targets = field_validator("served_targets", mode="before")(_comma_separated)

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

    def compiled_cache_path(self) -> Path:
        """The folder of compiled trees."""
        return self.cache_dir or Path.home() / ".cache" / "careleads" / "compiled"

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
        raise ConfigError(f"invalid settings: {problems}") from None


def settings_table() -> str:
    """The Markdown table of every environment variable, its default and what it sets (docs/USER_GUIDE.md).

    Examples
    --------
    >>> settings_table().splitlines()[2].startswith("| `CARELEADS_DATA_DIR` |")
    True
    """
    rows = ["| variable | default | what it sets |", "|---|---|---|"]
    for name, spec in Settings.model_fields.items():
        if name == "monitor":
            continue
        rows.append(_row(f"CARELEADS_{name.upper()}", spec.get_default(call_default_factory=True), spec))
    for name, spec in MonitorSettings.model_fields.items():
        rows.append(_row(f"CARELEADS_MONITOR_{name.upper()}", spec.get_default(), spec))
    return "\n".join(rows) + "\n"


def _row(variable: str, default: Any, spec: Any) -> str:
    if default is None or default == "" or default == ():
        shown = "—"
    elif isinstance(default, tuple):
        shown = f"`{','.join(default)}`"
    elif isinstance(default, bool):
        shown = f"`{str(default).lower()}`"
    else:
        shown = f"`{default}`"
    return f"| `{variable}` | {shown} | {spec.description} |"


def private_folder(path: Path) -> Path:
    """Create `path` (and missing parents) readable by this user only (0700) when it does not exist; an
    existing folder is left as its owner set it. Returns `path`."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)  # whatever the umask left
    return path
