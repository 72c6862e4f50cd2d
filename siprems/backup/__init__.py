"""Backups of the database: `siprems backup` and `siprems restore FILE` (no web imports).

A backup is PostgreSQL's own `pg_dump` custom-format archive taken through the
direct URL (pgbouncer's transaction pooling cannot hold the exported snapshot),
next to a JSON manifest: time, schema version, row counts read in the dump's own
snapshot, and the archive's SHA-256.
"""
