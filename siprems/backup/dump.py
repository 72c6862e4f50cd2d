"""`siprems backup`: one consistent archive plus its manifest, and retention.

The row counts are read in the very snapshot pg_dump dumps (`pg_export_snapshot`
in a REPEATABLE READ transaction held open while pg_dump starts), so a restore
can be checked table by table even when the shop kept selling during the backup.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from siprems.backup import manifest
from siprems.backup.tools import BackupError, client_env, connect, program, server_major

PREFIX = "siprems-"
SUFFIX = ".dump"

SEQUENCES_SQL = "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1"


def sequences(cur) -> dict[str, int | None]:
    cur.execute(SEQUENCES_SQL)
    return {name: value for name, value in cur.fetchall()}


def backup(url: str, directory: Path, *, keep: int | None = None) -> dict:
    """Dump the database at `url` into `directory`; returns the manifest (with `file`)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    archive = directory / f"{PREFIX}{stamp.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"
    partial = archive.with_name(archive.name + ".partial")
    conn = connect(url)
    started = time.monotonic()
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot(), current_database(), version()")
            snapshot, database, server = cur.fetchone()
            counts = manifest.row_counts(cur)
            schema = manifest.schema_version(cur)
            seqs = sequences(cur)
        major = server_major(conn)
        target, env = client_env(url)
        cmd = [program("pg_dump", major), "--format=custom", f"--snapshot={snapshot}", f"--file={partial}", target]
        done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    finally:
        conn.close()
    partial.rename(archive)
    data = {
        "file": archive.name,
        "created_at": stamp.isoformat(),
        "database": database,
        "server_version": server.split(" on ")[0],
        "pg_dump": program("pg_dump", major),
        "format": "custom",
        "schema_migrations": schema,
        "schema_version": max(schema) if schema else 0,
        "row_counts": counts,
        "sequences": seqs,
        "bytes": archive.stat().st_size,
        "sha256": manifest.sha256(archive),
        "seconds": round(time.monotonic() - started, 2),
    }
    manifest.write(archive, data)
    if keep is not None:
        data["pruned"] = [p.name for p in prune(directory, keep)]
    return data


def archives(directory: Path) -> list[Path]:
    """This tool's archives in `directory`, oldest first (the name sorts by time)."""
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives (and their manifests)."""
    if keep < 1:
        raise BackupError("--keep must be at least 1 (the backup just taken)")
    old = archives(directory)[:-keep]
    for path in old:
        manifest.manifest_path(path).unlink(missing_ok=True)
        path.unlink()
    return old
