"""PostgreSQL's client programs, matched to the server's major version, and the
connection environment they get (the password in PGPASSWORD, never on a command line)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg2


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why."""


def server_major(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SHOW server_version_num")
        return int(cur.fetchone()[0]) // 10000


def program(name: str, major: int) -> str:
    """`pg_dump`/`pg_restore` of the server's major version: an older client cannot read a
    newer server, and a newer archive format cannot be restored by an older pg_restore."""
    exact = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if exact.exists():
        return str(exact)
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} {major} not found: install the PostgreSQL {major} client (apt: postgresql-client-{major})"
        )
    return found


def client_env(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it as PGPASSWORD."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = unquote(parts.password)
    host = parts.hostname or ""
    netloc = (unquote(parts.username or "") + "@" if parts.username else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), env


def connect(url: str):
    try:
        return psycopg2.connect(url)
    except psycopg2.OperationalError as exc:
        raise BackupError(f"cannot connect to the database: {str(exc).strip()}") from None
