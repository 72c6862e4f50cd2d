"""Typed configuration, read from the environment once.

Every variable is documented in `.env.example`. Defaults are safe for a local
stack; `SIPREMS_ENV=production` refuses to start with a missing or default
JWT secret.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields, replace
from urllib.parse import quote, urlsplit, urlunsplit

DEFAULT_JWT_SECRET = "dev-insecure-secret-change-me"


class ConfigError(RuntimeError):
    """Raised when the environment describes a configuration we refuse to run."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | test | production
    instance: str = field(default_factory=socket.gethostname)

    # Data stores. DATABASE_URL goes through pgbouncer (transaction pooling);
    # DATABASE_DIRECT_URL reaches PostgreSQL itself and is used for migrations only.
    database_url: str = "postgresql://siprems:siprems@127.0.0.1:6433/siprems"
    database_direct_url: str = ""
    # A secret kept apart from the URLs (e.g. a Kubernetes secret key): when set it
    # replaces the password in both URLs above, percent-encoded.
    database_password: str = ""
    db_pool_min: int = 0
    db_pool_max: int = 10
    db_timeout: float = 10.0
    redis_url: str = "redis://127.0.0.1:6380/0"
    queue_redis_url: str = "redis://127.0.0.1:6381/0"
    # A reply that waits on a starved event loop (a sign-up burst on 2 cores) must not
    # read as an outage: 1 s gave a few 503s at login in the 500-shop load test.
    redis_timeout: float = 2.0

    # Auth
    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_access_minutes: int = 30
    jwt_refresh_days: int = 7

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8001
    workers: int = 2
    request_max_size: int = 16 * 1024 * 1024
    cors_origins: list[str] = field(default_factory=lambda: ["http://localhost:3000", "http://localhost:5173"])
    migrate_on_start: bool = True
    cache_ttl_seconds: int = 300
    idempotency_ttl_seconds: int = 86400
    legacy_chat_enabled: bool = True
    # Bearer token for /metrics, /cache-stats and the detailed /ready. Empty: only
    # requests that did not pass a proxy (no X-Forwarded-For: the instance's own,
    # internal port) may read them.
    metrics_token: str = ""

    # Assistant
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_timeout: float = 20.0
    chat_history_turns: int = 50
    chat_ttl_seconds: int = 86400

    # Jobs
    job_result_ttl_seconds: int = 7 * 86400
    job_max_deliveries: int = 5
    job_visibility_timeout_ms: int = 60_000
    job_concurrency: int = 32  # jobs one worker process runs at once (CPU-bound fits share a thread pool)
    job_shutdown_grace_seconds: float = 60.0  # SIGTERM: wait this long, then hand jobs back
    job_plugins: list[str] = field(default_factory=list)  # extra handler modules (tests)
    # Workers run below the API's CPU priority: model fits must never starve requests.
    # SCHED_IDLE (Linux): a worker only gets CPU time no API process wants; nice on top
    # orders workers among themselves and is what remains where SCHED_IDLE is unavailable.
    worker_nice: int = 10
    worker_idle_sched: bool = True

    # Webhooks: the n-th failed delivery is retried after about base * 2**(n-1) s (capped at 1 h)
    webhook_retry_base_seconds: float = 10.0

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def migrations_url(self) -> str:
        return self.database_direct_url or self.database_url

    def validate(self) -> Settings:
        if self.env not in {"development", "test", "production"}:
            raise ConfigError(f"SIPREMS_ENV must be development, test or production, not {self.env!r}")
        if self.is_production and (not self.jwt_secret or self.jwt_secret == DEFAULT_JWT_SECRET):
            raise ConfigError("JWT_SECRET must be set to a non-default value in production")
        if self.is_production and len(self.jwt_secret) < 32:
            raise ConfigError("JWT_SECRET must be at least 32 characters in production")
        if self.db_pool_max < 1:
            raise ConfigError("DB_POOL_MAX must be at least 1")
        if not 0 <= self.worker_nice <= 19:
            raise ConfigError("WORKER_NICE must be between 0 and 19")
        return self


# Environment variable name for each field (the field name upper-cased unless listed).
_ENV_NAMES = {"env": "SIPREMS_ENV", "instance": "SIPREMS_INSTANCE"}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from environment variables (upper-case field names)."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = _ENV_NAMES.get(f.name, f.name.upper())
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        kind = f.type
        try:
            if kind == "int":
                values[f.name] = int(raw)
            elif kind == "float":
                values[f.name] = float(raw)
            elif kind == "bool":
                values[f.name] = _bool(raw)
            elif kind == "list[str]":
                values[f.name] = _list(raw)
            else:
                values[f.name] = raw
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is not a valid {kind}") from exc
    settings = Settings(**values)
    if settings.database_password:
        settings = replace(
            settings,
            database_url=with_password(settings.database_url, settings.database_password),
            database_direct_url=with_password(settings.database_direct_url, settings.database_password),
        )
    return settings.validate()


def with_password(url: str, password: str) -> str:
    """`url` with its password set to `password` (an empty url stays empty)."""
    if not url:
        return url
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0].partition(":")[0] if "@" in parts.netloc else ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
