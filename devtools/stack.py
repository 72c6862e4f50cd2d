"""Start the real services of a SIPREMS stack as plain processes on loopback.

Used by the test suite (every service on a free port, in a temp folder) and by
`make run` (`prepare` writes `.run/`, then honcho runs the `Procfile`). The
HAProxy and pgbouncer configuration files are the same ones compose uses.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
DB_NAME = "siprems"
DB_USER = "siprems"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str:
    for directory in PG_BIN_CANDIDATES:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found


def as_service_user(cmd: list[str]) -> list[str]:
    """PostgreSQL and pgbouncer refuse to run as root: drop to `postgres`."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _chown_service_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for root, _dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def wait_for_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """The port opens before Sanic's workers are ready: wait for a 200."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


def pgbouncer_defaults() -> dict[str, str]:
    """KEY=VALUE lines of pgbouncer/defaults.env (comments and blanks skipped)."""
    lines = (REPO / "pgbouncer" / "defaults.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def render(template: Path, values: dict[str, object]) -> str:
    return string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})


@dataclass
class Ports:
    postgres: int = field(default_factory=free_port)
    pgbouncer: int = field(default_factory=free_port)
    redis: int = field(default_factory=free_port)
    queue: int = field(default_factory=free_port)
    haproxy: int = field(default_factory=free_port)
    stats: int = field(default_factory=free_port)
    api: list[int] = field(default_factory=lambda: [free_port(), free_port()])


@dataclass
class Stack:
    """The services of one stack, rooted at `root` (created if missing)."""

    root: Path
    ports: Ports = field(default_factory=Ports)
    password: str = "siprems-local-password"
    jwt_secret: str = "local-stack-jwt-secret-0123456789abcdef"
    fast_unsafe_postgres: bool = False  # fsync off: tests only
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    # -- paths and URLs ------------------------------------------------------
    @property
    def pgdata(self) -> Path:
        return self.root / "pg"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}:{self.password}@127.0.0.1:{self.ports.pgbouncer}/{DB_NAME}"

    @property
    def direct_url(self) -> str:
        return f"postgresql://{DB_USER}:{self.password}@127.0.0.1:{self.ports.postgres}/{DB_NAME}"

    @property
    def admin_dsn(self) -> str:
        """Superuser over the Unix socket (trust): for test set-up only."""
        return f"host={self.sockdir} port={self.ports.postgres} user=postgres dbname=postgres"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.haproxy}"

    def env(self, **extra: object) -> dict[str, str]:
        """Environment for API, worker and scheduler processes."""
        env = dict(os.environ)
        env.update(
            SIPREMS_ENV="development",
            DATABASE_URL=self.database_url,
            DATABASE_DIRECT_URL=self.direct_url,
            REDIS_URL=f"redis://127.0.0.1:{self.ports.redis}/0",
            QUEUE_REDIS_URL=f"redis://127.0.0.1:{self.ports.queue}/0",
            JWT_SECRET=self.jwt_secret,
            PGPORT=str(self.ports.postgres),
            PGBOUNCER_PORT=str(self.ports.pgbouncer),
            REDIS_PORT=str(self.ports.redis),
            QUEUE_PORT=str(self.ports.queue),
            HAPROXY_PORT=str(self.ports.haproxy),
            HAPROXY_STATS_PORT=str(self.ports.stats),
            API1_PORT=str(self.ports.api[0]),
            API2_PORT=str(self.ports.api[1]),
            API1_ADDR=f"127.0.0.1:{self.ports.api[0]}",
            API2_ADDR=f"127.0.0.1:{self.ports.api[1]}",
            RUN_DIR=str(self.root),
            HAPROXY_BIND_ADDR="127.0.0.1",
            RATE_GENERAL=os.environ.get("RATE_GENERAL", "100"),
            RATE_CHAT=os.environ.get("RATE_CHAT", "50"),
            RATE_PREDICT=os.environ.get("RATE_PREDICT", "30"),
            RATE_AUTH=os.environ.get("RATE_AUTH", "20"),
            HAPROXY_TRUSTED_PROXY=os.environ.get("HAPROXY_TRUSTED_PROXY", ""),
        )
        env.update({k: str(v) for k, v in extra.items()})
        return env

    # -- one-time preparation ------------------------------------------------
    def prepare(self) -> None:
        """Create the cluster (if new) and write pgbouncer's config and users."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.sockdir.mkdir(exist_ok=True)
        (self.root / "log").mkdir(exist_ok=True)
        _chown_service_user(self.sockdir)
        _chown_service_user(self.root / "log")
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._write_pgbouncer_config()

    def _initdb(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pg.pw"
        pwfile.write_text(self.password + "\n")
        _chown_service_user(self.pgdata)
        _chown_service_user(pwfile)
        subprocess.run(
            as_service_user(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        pwfile.unlink()
        self.start_postgres()
        try:
            sql = f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{self.password}';CREATE DATABASE {DB_NAME} OWNER {DB_USER};"
            for statement in sql.split(";"):
                if statement:
                    subprocess.run(
                        as_service_user(
                            [
                                pg_bin("psql"),
                                "-h",
                                str(self.sockdir),
                                "-p",
                                str(self.ports.postgres),
                                "-U",
                                "postgres",
                                "-d",
                                "postgres",
                                "-v",
                                "ON_ERROR_STOP=1",
                                "-qc",
                                statement,
                            ]
                        ),
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )
        finally:
            self.stop("postgres")

    def _write_pgbouncer_config(self) -> None:
        # Tunables: pgbouncer/defaults.env (shared with compose's entrypoint.sh), env overrides.
        tunables = pgbouncer_defaults()
        tunables.update({k: v for k, v in os.environ.items() if k in tunables and v})
        conf = render(
            REPO / "pgbouncer" / "pgbouncer.ini.template",
            {
                "LISTEN_ADDR": "127.0.0.1",
                "LISTEN_PORT": self.ports.pgbouncer,
                "DB_HOST": "127.0.0.1",
                "DB_PORT": self.ports.postgres,
                "DB_NAME": DB_NAME,
                "AUTH_FILE": self.root / "userlist.txt",
                "ADMIN_USERS": DB_USER,
                **tunables,
            },
        )
        (self.root / "pgbouncer.ini").write_text(conf)
        # Plain-text password in the userlist: pgbouncer still speaks SCRAM to
        # clients and servers. Generated at start from the environment; never committed.
        (self.root / "userlist.txt").write_text(f'"{DB_USER}" "{self.password}"\n')
        os.chmod(self.root / "userlist.txt", 0o600)
        _chown_service_user(self.root / "userlist.txt")
        _chown_service_user(self.root / "pgbouncer.ini")

    # -- processes -------------------------------------------------------------
    def commands(self) -> dict[str, list[str]]:
        p = self.ports
        pg_opts = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=128MB"]
        # Per-statement calls and time (`SELECT ... FROM pg_stat_statements`): what
        # the capacity work reads to count round trips and find the costly queries.
        pg_opts += [
            "-c",
            "shared_preload_libraries=pg_stat_statements",
            "-c",
            "pg_stat_statements.track=top",
            "-c",
            "pg_stat_statements.track_planning=on",
        ]
        if self.fast_unsafe_postgres:
            pg_opts += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return {
            "postgres": as_service_user(
                [pg_bin("postgres"), "-D", str(self.pgdata), "-p", str(p.postgres), "-k", str(self.sockdir), *pg_opts]
            ),
            # max_client_conn 1000 needs more than runuser's default 1024 descriptors.
            "pgbouncer": as_service_user(
                ["sh", "-c", 'ulimit -n "$(ulimit -Hn)"; exec pgbouncer "$0"', str(self.root / "pgbouncer.ini")]
            ),
            "redis": [
                "redis-server",
                str(REPO / "docker" / "redis-cache.conf"),
                "--port",
                str(p.redis),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.root),
                "--save",
                "",
            ],
            "queue": [
                "redis-server",
                str(REPO / "docker" / "redis-queue.conf"),
                "--port",
                str(p.queue),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.root),
                "--appendfilename",
                "queue.aof",
                "--dbfilename",
                "queue.rdb",
            ],
            "api1": [sys.executable, "-m", "siprems", "serve", "--port", str(p.api[0])],
            "api2": [sys.executable, "-m", "siprems", "serve", "--port", str(p.api[1])],
            "haproxy": [
                "haproxy",
                "-W",
                "-db",
                "-f",
                str(REPO / "haproxy" / "haproxy.cfg"),
                "-f",
                str(REPO / "haproxy" / "backend-local.cfg"),
            ],
            "worker": [sys.executable, "-m", "workers"],
            "scheduler": [sys.executable, "-m", "workers.scheduler"],
        }

    def start(self, name: str, wait_port: int | None = None, **env: object) -> subprocess.Popen:
        cmd = self.commands()[name]
        extra = {"SIPREMS_INSTANCE": name} if name.startswith("api") else {}
        extra.update(env)
        with open(self.root / "log" / f"{name}.log", "ab") as log:  # the child has its own copy of the fd
            proc = subprocess.Popen(
                cmd, env=self.env(**extra), stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO), start_new_session=True
            )
        self.procs[name] = proc
        port = wait_port if wait_port is not None else self._port_of(name)
        if port:
            wait_for_port(port, timeout=60, proc=proc)
        if name.startswith("api"):
            wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60, proc=proc)
        return proc

    def start_postgres(self) -> None:
        self.start("postgres")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = (
                subprocess.run(
                    as_service_user(
                        [pg_bin("pg_isready"), "-h", str(self.sockdir), "-p", str(self.ports.postgres), "-q"]
                    )
                ).returncode
                == 0
            )
            if ok:
                return
            time.sleep(0.2)
        raise TimeoutError("PostgreSQL did not become ready")

    def _port_of(self, name: str) -> int | None:
        p = self.ports
        return {
            "postgres": p.postgres,
            "pgbouncer": p.pgbouncer,
            "redis": p.redis,
            "queue": p.queue,
            "api1": p.api[0],
            "api2": p.api[1],
            "haproxy": p.haproxy,
        }.get(name)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def start_extra_haproxy(
        self, name: str, backend: str = "backend-local.cfg", **env: object
    ) -> tuple[subprocess.Popen, int, int]:
        """Another HAProxy with the same haproxy.cfg on free ports (e.g. low rate
        limits for tests); `env` overrides the stack's. Returns (proc, port, stats port)."""
        port, stats = free_port(), free_port()
        cmd = [
            "haproxy",
            "-W",
            "-db",
            "-f",
            str(REPO / "haproxy" / "haproxy.cfg"),
            "-f",
            str(REPO / "haproxy" / backend),
        ]
        with open(self.root / "log" / f"{name}.log", "ab") as log:  # the child has its own copy of the fd
            proc = subprocess.Popen(
                cmd,
                env=self.env(HAPROXY_PORT=port, HAPROXY_STATS_PORT=stats, **env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(REPO),
                start_new_session=True,
            )
        self.procs[name] = proc
        wait_for_port(port, timeout=30, proc=proc)
        return proc, port, stats

    def kill(self, name: str) -> None:
        self.stop(name, signal.SIGKILL)

    def start_all(self, *, apis: bool = True) -> None:
        self.prepare()
        self.start_postgres()
        for name in ("pgbouncer", "redis", "queue"):
            self.start(name)
        if apis:
            from siprems.db.migrate import apply_migrations

            apply_migrations(self.direct_url)
            for name in ("api1", "api2"):
                self.start(name)
            self.start("haproxy")
            self.wait_in_rotation({"api1", "api2"})

    def wait_in_rotation(self, names: set[str], timeout: float = 30.0) -> None:
        """Block until HAProxy has routed /health to each named instance."""
        import urllib.request

        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not names <= seen:
            try:
                with urllib.request.urlopen(self.base_url + "/health", timeout=2) as r:
                    seen.add(r.headers.get("X-Instance", ""))
            except OSError:
                time.sleep(0.2)
        if not names <= seen:
            raise TimeoutError(f"HAProxy routed only to {seen}, expected {names}")

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def _ports_from_env() -> Ports:
    e = os.environ
    return Ports(
        postgres=int(e.get("PGPORT", 5433)),
        pgbouncer=int(e.get("PGBOUNCER_PORT", 6433)),
        redis=int(e.get("REDIS_PORT", 6380)),
        queue=int(e.get("QUEUE_PORT", 6381)),
        haproxy=int(e.get("HAPROXY_PORT", 5000)),
        stats=int(e.get("HAPROXY_STATS_PORT", 8404)),
        api=[int(e.get("API1_PORT", 8001)), int(e.get("API2_PORT", 8002))],
    )


ENV_KEYS = [
    "SIPREMS_ENV",
    "DATABASE_URL",
    "DATABASE_DIRECT_URL",
    "REDIS_URL",
    "QUEUE_REDIS_URL",
    "JWT_SECRET",
    "PGPORT",
    "PGBOUNCER_PORT",
    "REDIS_PORT",
    "QUEUE_PORT",
    "HAPROXY_PORT",
    "HAPROXY_STATS_PORT",
    "API1_PORT",
    "API2_PORT",
    "API1_ADDR",
    "API2_ADDR",
    "RUN_DIR",
    "HAPROXY_BIND_ADDR",
    "RATE_GENERAL",
    "RATE_CHAT",
    "RATE_PREDICT",
    "HAPROXY_TRUSTED_PROXY",
]


def main(argv: list[str] | None = None) -> int:
    """`prepare DIR`: create DIR (cluster, configs, env file, migrations, demo
    data) for `make run`; `exec DIR NAME`: become service NAME (Procfile)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.stack")
    parser.add_argument("action", choices=["prepare", "exec"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("name", nargs="?")
    args = parser.parse_args(argv)
    # The local stack trusts X-Forwarded-For from loopback (load tests act as many clients).
    os.environ.setdefault("HAPROXY_TRUSTED_PROXY", "127.0.0.1")
    stack = Stack(root=args.dir.resolve(), ports=_ports_from_env())
    if args.action == "exec":
        cmd = stack.commands()[args.name]
        env = stack.env(**({"SIPREMS_INSTANCE": args.name} if args.name.startswith("api") else {}))
        os.chdir(REPO)
        os.execvpe(cmd[0], cmd, env)
    stack.prepare()
    env = stack.env()
    (stack.root / "env").write_text("".join(f"{k}={env[k]}\n" for k in ENV_KEYS))
    # Migrations and demo data before the services start (so no race at boot).
    stack.start_postgres()
    try:
        from siprems.db.migrate import apply_migrations
        from siprems.demo.seed import seed

        apply_migrations(stack.direct_url)
        print(seed(stack.direct_url, only_if_empty=True))
    finally:
        stack.stop("postgres")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
