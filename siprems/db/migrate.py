"""Apply the numbered SQL files in `migrations/` exactly once.

All pending files run in ONE transaction that first takes a transaction-level
advisory lock, so several instances starting at once serialise: the first
applies, the others wait on the lock and then find nothing left to do. A
transaction-level lock (not a session lock) also works through pgbouncer.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

log = logging.getLogger("siprems.migrate")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_KEY = 727_001  # arbitrary, constant: "siprems migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise RuntimeError(f"migration file name not of the form NNNN_name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), path.name, path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migration files share a number")
    return found


def apply_migrations(dsn: str, *, wait_seconds: float = 30.0) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    conn = _connect_with_retry(dsn, wait_seconds)
    try:
        with conn, conn.cursor() as cur:  # one transaction: commit on success, rollback on error
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cur.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                           version    INTEGER PRIMARY KEY,
                           name       TEXT NOT NULL,
                           applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            applied = []
            for migration in discover():
                if migration.version in done:
                    continue
                log.info("applying migration %s", migration.name)
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                applied.append(migration.name)
        return applied
    finally:
        conn.close()


def _connect_with_retry(dsn: str, wait_seconds: float):
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return psycopg2.connect(dsn, connect_timeout=3)
        except psycopg2.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
