"""The `siprems` command: serve, migrate, seed, backup, restore, backtest, jobs."""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial


def _prepare_metrics_dir() -> None:
    """prometheus-client reads PROMETHEUS_MULTIPROC_DIR when first imported,
    so the per-instance directory is made (fresh) before anything imports it."""
    import os
    import shutil
    import tempfile

    base = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.gettempdir()
    # One directory per instance process tree, even when instances share a base.
    path = os.path.join(base, f"siprems-metrics-{os.getpid()}")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def _serve(args: argparse.Namespace) -> int:
    _prepare_metrics_dir()
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from siprems.app import create_app
    from siprems.config import load_settings
    from siprems.logs import configure_logging

    settings = load_settings()
    configure_logging()
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    # Sanic kills an instance whose workers have not acknowledged start-up within
    # 30 s (a class constant, in tenths of a second). On a CPU-starved host (seen at
    # load 14 on 2 cores) the imports alone take longer, and the instance never comes
    # up: allow 120 s. A worker that crashes still ends the wait at once.
    from sanic.worker.manager import WorkerManager
    from sanic.worker.process import WorkerProcess

    WorkerManager.THRESHOLD = WorkerProcess.THRESHOLD = 1200
    # Workers are forked from this process, which has already imported and built the
    # app: a worker is serving within a fraction of a second. Under Sanic's default
    # (spawn) each worker imported everything again (~1.5 s of CPU each, three times
    # the work of one import per instance restart, 20-40 s wall on a starved host).
    Sanic.start_method = "fork"
    loader = AppLoader(factory=partial(_built_app, create_app))
    app = loader.load()
    app.prepare(host=host, port=port, workers=workers, single_process=workers == 1 and args.single)
    Sanic.serve(primary=app, app_loader=loader)
    return 0


def _built_app(create):
    """The app this process built (a forked worker inherits it), else a new one."""
    from sanic import Sanic
    from sanic.exceptions import SanicException

    try:
        return Sanic.get_app("siprems")
    except SanicException:
        return create()


def _migrate(args: argparse.Namespace) -> int:
    from siprems.config import load_settings
    from siprems.db.migrate import apply_migrations

    applied = apply_migrations(load_settings().migrations_url, wait_seconds=args.wait)
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from siprems.config import load_settings
    from siprems.db.migrate import apply_migrations
    from siprems.demo.seed import seed

    settings = load_settings()
    apply_migrations(settings.migrations_url)
    result = seed(settings.migrations_url, only_if_empty=args.if_empty, days=args.days)
    print(result)
    return 0


def _direct_url(args: argparse.Namespace) -> str:
    """--url, else DATABASE_DIRECT_URL; never DATABASE_URL (pgbouncer's transaction pooling
    would split pg_dump's session and the exported snapshot across server connections)."""
    from siprems.backup.tools import BackupError
    from siprems.config import load_settings

    url = args.url or load_settings().database_direct_url
    if not url:
        raise BackupError("set DATABASE_DIRECT_URL (PostgreSQL itself, not pgbouncer) or pass --url")
    return url


def _backup(args: argparse.Namespace) -> int:
    import json

    from siprems.backup.dump import backup
    from siprems.backup.tools import BackupError

    try:
        data = backup(_direct_url(args), args.dir, keep=args.keep)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    summary = {k: data[k] for k in ("file", "created_at", "schema_version", "bytes", "sha256", "seconds")}
    print(json.dumps({**summary, "rows": sum(data["row_counts"].values()), "pruned": data.get("pruned", [])}))
    return 0


def _restore(args: argparse.Namespace) -> int:
    import json

    from siprems.backup.restore import restore
    from siprems.backup.tools import BackupError

    try:
        result = restore(_direct_url(args), args.file, force=args.force, jobs=args.jobs)
    except BackupError as exc:
        print(f"restore refused or failed: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: result[k] for k in ("tables", "rows", "verified")}))
    return 0


def _backtest(argv: list[str]) -> int:
    from siprems.forecasting.backtest import main as backtest_main

    return backtest_main(argv)


def _jobs(argv: list[str]) -> int:
    from siprems import jobtypes
    from siprems.jobs.admin import main as jobs_main

    jobtypes.install()  # redrive reads each type's retry policy

    return jobs_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Sub-commands with their own argument parsers.
    if argv and argv[0] == "backtest":
        return _backtest(argv[1:])
    if argv and argv[0] == "jobs":
        return _jobs(argv[1:])

    parser = argparse.ArgumentParser(prog="siprems")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (Sanic, several workers)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--single", action="store_true", help="single process (debugging)")
    serve.set_defaults(func=_serve)

    migrate = sub.add_parser("migrate", help="apply pending SQL migrations")
    migrate.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the database")
    migrate.set_defaults(func=_migrate)

    seed = sub.add_parser("seed", help="load the deterministic demo shop")
    seed.add_argument("--if-empty", action="store_true", help="only when the database has no stores")
    seed.add_argument("--days", type=int, default=730, help="days of sales history")
    seed.set_defaults(func=_seed)

    from pathlib import Path

    backup = sub.add_parser("backup", help="pg_dump (custom format) of the database, with a JSON manifest")
    backup.add_argument("--dir", type=Path, default=Path("backups"), help="where archives go (default ./backups)")
    backup.add_argument("--keep", type=int, help="then delete all but the newest KEEP archives in --dir")
    backup.add_argument("--url", help="database URL (default DATABASE_DIRECT_URL: never through pgbouncer)")
    backup.set_defaults(func=_backup)

    restore = sub.add_parser("restore", help="restore an archive into an empty database")
    restore.add_argument("file", type=Path)
    restore.add_argument("--url", help="target database URL (default DATABASE_DIRECT_URL)")
    restore.add_argument("--force", action="store_true", help="replace the archive's objects in a non-empty database")
    restore.add_argument("--jobs", type=int, default=1, help="parallel pg_restore jobs (1: one transaction)")
    restore.set_defaults(func=_restore)

    sub.add_parser("backtest", help="rolling-origin forecast backtest (see --help)")
    sub.add_parser("jobs", help="inspect queues, pending entries and dead letters (see --help)")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
