"""`siprems restore FILE`: into an empty database (refused otherwise unless forced),
checked against the archive's manifest before and after."""

from __future__ import annotations

import subprocess
from pathlib import Path

from siprems.backup import manifest
from siprems.backup.dump import sequences
from siprems.backup.tools import BackupError, client_env, connect, program, server_major

USER_TABLES_SQL = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
"""


def verify_archive(archive: Path) -> dict | None:
    """The manifest, after checking the archive's checksum (None when it has no manifest)."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    data = manifest.read(archive)
    if data is not None and manifest.sha256(archive) != data["sha256"]:
        raise BackupError(f"{archive}: checksum does not match its manifest (damaged or replaced archive)")
    return data


def restore(url: str, archive: Path, *, force: bool = False, jobs: int = 1) -> dict:
    """Restore `archive` into the database at `url`; returns what was checked."""
    data = verify_archive(archive)
    conn = connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(USER_TABLES_SQL)
            existing = cur.fetchone()[0]
        major = server_major(conn)
    finally:
        conn.close()
    if existing and not force:
        raise BackupError(
            f"the target database is not empty ({existing} relations): restore into a new, empty database, "
            "or pass --force to drop and replace what the archive contains"
        )
    target, env = client_env(url)
    cmd = [program("pg_restore", major), "--no-owner", "--no-acl", "--exit-on-error", f"--dbname={target}"]
    if existing:  # forced: drop each object of the archive before re-creating it
        cmd += ["--clean", "--if-exists"]
    cmd += ["--single-transaction"] if jobs == 1 else [f"--jobs={jobs}"]
    done = subprocess.run([*cmd, str(archive)], check=False, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    return check(url, data)


def check(url: str, data: dict | None) -> dict:
    """Row counts and sequences of the restored database against the manifest."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            counts = manifest.row_counts(cur)
            seqs = sequences(cur)
    finally:
        conn.close()
    result = {"row_counts": counts, "tables": len(counts), "rows": sum(counts.values())}
    if data is None:
        result["verified"] = False
        return result
    wrong = {t: (n, counts.get(t)) for t, n in data["row_counts"].items() if counts.get(t) != n}
    seq_wrong = {s: (v, seqs.get(s)) for s, v in data.get("sequences", {}).items() if seqs.get(s) != v}
    if wrong or seq_wrong:
        raise BackupError(f"restored database differs from the manifest: rows {wrong}, sequences {seq_wrong}")
    result["verified"] = True
    return result
