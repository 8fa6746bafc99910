"""Settings, read from OBROLAN_* environment variables (and `.env` when present)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# SQLite's own values for PRAGMA synchronous; anything else must not reach the PRAGMA.
SqliteSynchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
# The async drivers obrolan installs and is tested with.
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OBROLAN_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Where obrolan keeps its own files: the SQLite database and a generated key file.
    data_dir: Path = Path("var")
    # Empty means the embedded default: SQLite in WAL mode at <data_dir>/obrolan.db.
    database_url: str = ""
    # The key-encryption key, base64 (32 bytes). If empty, read from kek_file; if that
    # does not exist, a new one is generated there on first run (R6).
    kek: str = Field(default="", repr=False)
    kek_file: Path | None = None
    # Where the wrapped data keys are kept, apart from the database so that no data
    # backup holds them (R4). Empty: <data_dir>/keys.db beside a SQLite database (the
    # file next to OBROLAN_DATABASE_URL's), or the schema obrolan_keys of a PostgreSQL
    # one. A URL as for OBROLAN_DATABASE_URL, never the database itself.
    keystore_url: str = Field(default="", repr=False)
    # Where `obrolan backup create` writes. Empty: <data_dir>/backups.
    backup_dir: Path | None = None
    # FULL: a commit survives power loss, not only a crash. Sends are committed in
    # batches, so this costs one fsync per batch, not per message.
    sqlite_synchronous: SqliteSynchronous = "FULL"
    log_level: LogLevel = "info"
    log_json: bool = True

    # Limits on input (ARCHITECTURE principle 7): every length and count has a bound.
    max_message_chars: int = 4000
    max_ws_frame_bytes: int = 64 * 1024
    ws_replay_batch: int = 500
    # Frames one socket may have waiting (queued to send, or held while it replays)
    # before it is closed with 4408 and told to reconnect with `since`.
    ws_max_queued_frames: int = 10_000

    # argon2id cost (R17). The defaults are RFC 9106's second recommendation (t=3,
    # 64 MiB, p=4), argon2-cffi's own defaults. The test suite lowers them for speed.
    password_time_cost: int = 3
    password_memory_kib: int = 64 * 1024
    password_parallelism: int = 4

    # Login throttling (R17).
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 20
    login_window_seconds: int = 15 * 60

    # Default region for phone numbers without a country code.
    phone_default_region: str = "ID"
    # The language of people who have not chosen one (emails, the web client): en | id.
    default_language: Literal["en", "id"] = "id"

    # -- account protection (R17, R18): sessions, sign-up and address throttles, proxies --
    # A session ends after this many days unused, and this many days after sign-in at most.
    session_idle_days: int = 30
    session_max_days: int = 90
    # Sign-ups per client address within the window; the answer past it is 429.
    register_max_per_ip: int = 20
    register_window_seconds: int = 60 * 60
    # Setting an email or phone, per account and per client address within the window.
    address_changes_max_per_account: int = 10
    address_changes_max_per_ip: int = 30
    address_changes_window_seconds: int = 24 * 60 * 60
    # argon2 computations at once (each takes password_memory_kib); new hashes (sign-ups,
    # password changes) may take only half of them, so sign-ins always find room.
    password_max_concurrent: int = Field(default_factory=lambda: max(2, os.cpu_count() or 2))
    # Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is
    # believed. Empty: none, the connecting address is the client's.
    trusted_proxies: str = ""

    # -- background jobs (obrolan.jobs) and the retention sweep ------------------------
    # How often the worker looks for due jobs when nothing woke it (a job queued by this
    # process wakes it at once; this is for jobs queued by others, and for retries).
    jobs_poll_seconds: float = Field(default=1.0, gt=0)
    # How long a claimed job is its worker's: past it, another worker may run it again.
    jobs_lease_seconds: int = Field(default=300, ge=1)
    # Jobs claimed per claim transaction.
    jobs_batch: int = Field(default=10, ge=1)
    # How often the retention sweep runs (R17).
    retention_sweep_seconds: int = Field(default=3600, ge=60)

    # -- outgoing mail and SMS (obrolan.notifications) ---------------------------------
    # console: mail is only logged (to an elided address, never its text), for
    # development, so `make run` needs no mail server. smtp: sent through smtp_host.
    mail_backend: Literal["console", "smtp"] = "console"
    mail_from: str = "obrolan <noreply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # starttls: upgrade a plain connection (port 587); tls: TLS from the start (465).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # console: SMS are only logged, for development. webhook: POSTed as signed JSON.
    sms_backend: Literal["console", "webhook"] = "console"
    sms_webhook_url: str = ""
    sms_webhook_secret: str = Field(default="", repr=False)
    sms_webhook_timeout_seconds: float = Field(default=10.0, gt=0)

    # -- verification codes for email and phone (F1) -------------------------------------
    verification_code_minutes: int = Field(default=10, ge=1)
    verification_max_attempts: int = Field(default=5, ge=1)
    # Codes sent to one address (email or phone) within address_changes_window_seconds.
    verification_codes_max_per_address: int = Field(default=5, ge=1)
    # Look-ups of people (by username, email or phone) per person asking within the
    # window (R18); 429 past it.
    lookups_max_per_account: int = Field(default=60, ge=1)
    lookups_window_seconds: int = Field(default=60 * 60, ge=1)

    # -- operations: request bounds, and checks that refuse bad values at start ---------
    # The largest request body, refused by its Content-Length before it is read, or cut
    # off as it passes the bound (obrolan.api.limits).
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The largest profile photo upload (PUT /api/v1/me/photo), in place of the bound above.
    max_photo_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    # -- several nodes (docs/operations.md, "Several nodes") ----------------------------
    # local: events reach this process's sockets only. redis: every node's sockets, via
    # Redis pub/sub; needs PostgreSQL.
    broker: Literal["local", "redis"] = "local"
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", repr=False)
    # The pub/sub channels are named <redis_channel>:events and <redis_channel>:ephemeral,
    # so that several installations can share one Redis.
    redis_channel: str = Field(default="obrolan", min_length=1)
    # How long a node's word on who is online lasts unless it renews it (every third of
    # this): after a node dies, the others tell its people's rooms they went offline
    # within about this long.
    presence_ttl_seconds: int = Field(default=30, ge=1)

    # -- privacy promises (docs/privacy.md): what this deployment promises, in numbers --
    # The enforcement (sweeps, deadlines, erasure) and the policy text read these; start
    # refuses a combination that would break one promise to keep another.
    # R3: a closed account's data is kept this long after closing, then erased.
    privacy_closed_account_days: int = Field(default=90, ge=1)
    # R4: erased data is gone this many days after the request, backups included.
    privacy_erasure_deadline_days: int = Field(default=30, ge=1)
    # Between an erasure request and the erasure itself, the person may change their mind.
    privacy_erasure_grace_days: int = Field(default=7, ge=0)
    # R5: encrypted backups and logs (the audit log, the security log) are kept this long.
    privacy_backup_days: int = Field(default=90, ge=1)
    privacy_log_days: int = Field(default=365, ge=1)
    # R13: a data request is answered within this many days, and requests for access,
    # rectification and restriction within this many hours (UU PDP Art. 32 and 41).
    privacy_request_days: int = Field(default=14, ge=1)
    privacy_urgent_request_hours: int = Field(default=72, ge=1)
    # A finished export can be downloaded this long, then it is deleted.
    privacy_export_hours: int = Field(default=72, ge=1)
    # Who answers for the data (the policy text and the emails name them).
    privacy_operator_name: str = Field(default="the operator of this obrolan server", min_length=1)
    privacy_operator_contact: str = ""
    # R7: how often the audit log's head (seq and hash) is written to the log output, as
    # evidence kept outside the database that a cut-short table cannot match.
    audit_checkpoint_seconds: int = Field(default=3600, ge=60)
    # -- business messaging (docs/business-api.md) --
    # R2: business messages and their media are deleted this many days after delivery.
    business_message_days: int = Field(default=30, ge=1)
    # The customer-service window (item 6): free-form messages this long after the
    # person's last message; templates at any time.
    business_window_hours: int = Field(default=24, ge=1)
    # A sender number's sends a second, on each node (the Cloud API's default is 80).
    business_sends_per_second: int = Field(default=80, ge=1)
    # A webhook that keeps failing is retried with back-off for this long, then given up.
    business_webhook_retry_days: int = Field(default=7, ge=1)
    # How long a webhook POST may take before it counts as failed.
    business_webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # The largest media a business may upload (POST /v{N}/{phone_number_id}/media), below
    # the Cloud API's own limit for each type; the request bound on that path follows it.
    business_media_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # Where uploaded media is kept, each file encrypted under its business's key. Empty:
    # <data_dir>/business-media. Several nodes share one directory (a network volume).
    business_media_dir: Path | None = None
    # The URL this server is reached at, for absolute media URLs in Cloud API answers
    # (empty: taken from each request).
    public_url: str = ""
    # Rows the retention sweep deletes per transaction: each batch holds the write lock,
    # so a send arriving meanwhile waits for one batch, never for the whole sweep.
    retention_batch_rows: int = Field(default=500, ge=1, le=100_000)

    # Checked at start, so a wrong value is one line naming the variable, not a
    # traceback (or, for the PRAGMA, SQL) later on.
    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url", "keystore_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        if not value:
            return value
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            driver = None
        if driver not in SUPPORTED_DRIVERS:
            raise ValueError(
                "use postgresql+asyncpg://user:password@host/database"
                " or sqlite+aiosqlite:///path/to/file.db"
            )
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'obrolan.db'}"

    @cached_property
    def resolved_kek_file(self) -> Path:
        return self.kek_file or self.data_dir / "kek.key"

    @cached_property
    def resolved_backup_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @cached_property
    def resolved_business_media_dir(self) -> Path:
        return self.business_media_dir or self.data_dir / "business-media"

    @model_validator(mode="after")
    def _webhook_is_configured(self) -> Self:
        if self.sms_backend == "webhook" and not (self.sms_webhook_url and self.sms_webhook_secret):
            raise ValueError(
                "OBROLAN_SMS_BACKEND=webhook needs OBROLAN_SMS_WEBHOOK_URL and"
                " OBROLAN_SMS_WEBHOOK_SECRET"
            )
        return self

    @model_validator(mode="after")
    def _redis_needs_postgres(self) -> Self:
        if self.broker == "redis" and self.is_sqlite:
            raise ValueError(
                "OBROLAN_BROKER=redis is for several nodes on one PostgreSQL database;"
                " SQLite serves one process (set OBROLAN_DATABASE_URL to postgresql+asyncpg://…)"
            )
        return self

    @model_validator(mode="after")
    def _privacy_promises_hold(self) -> Self:
        # The erasure runs when the grace period ends, at the latest one sweep later: both
        # must fit in the erasure promise (R4), or a person would be erased late.
        sweep_days = self.retention_sweep_seconds / 86_400
        if self.privacy_erasure_grace_days + sweep_days >= self.privacy_erasure_deadline_days:
            raise ValueError(
                "OBROLAN_PRIVACY_ERASURE_GRACE_DAYS plus one retention sweep"
                f" ({self.privacy_erasure_grace_days} days + {sweep_days:g} days) must be"
                " shorter than OBROLAN_PRIVACY_ERASURE_DEADLINE_DAYS"
                f" ({self.privacy_erasure_deadline_days} days): the erasure promise (R4)"
            )
        if self.privacy_urgent_request_hours > self.privacy_request_days * 24:
            raise ValueError(
                "OBROLAN_PRIVACY_URGENT_REQUEST_HOURS must not be longer than"
                " OBROLAN_PRIVACY_REQUEST_DAYS: the urgent deadline is the shorter one (R13)"
            )
        return self

    @model_validator(mode="after")
    def _keystore_is_apart(self) -> Self:
        from obrolan.crypto.keystore import KeyStoreLocation  # it imports this module

        KeyStoreLocation.for_database(self.resolved_database_url, self.keystore_url)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
