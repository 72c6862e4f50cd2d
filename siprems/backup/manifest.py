"""The manifest beside each archive (`<archive>.json`) and what is checked against it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_counts(cur) -> dict[str, int]:
    """Rows of every table of the public schema (exact counts: a backup is rare and must be checked)."""
    cur.execute(TABLES_SQL)
    tables = [r[0] for r in cur.fetchall()]
    counts = {}
    for table in tables:
        cur.execute(f'SELECT count(*) FROM public."{table}"')
        counts[table] = cur.fetchone()[0]
    return counts


def schema_version(cur) -> list[int]:
    """The applied migrations (a set: their numbers), empty for a database never migrated."""
    cur.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
    if not cur.fetchone()[0]:
        return []
    cur.execute("SELECT version FROM schema_migrations ORDER BY version")
    return [r[0] for r in cur.fetchall()]


def write(archive: Path, data: dict) -> Path:
    path = manifest_path(archive)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.rename(path)
    return path


def read(archive: Path) -> dict | None:
    path = manifest_path(archive)
    return json.loads(path.read_text()) if path.exists() else None
