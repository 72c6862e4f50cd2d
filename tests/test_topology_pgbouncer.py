"""pgbouncer (pgbouncer/): transaction pooling holds 300 concurrent clients on
at most 25 server connections; the admin console answers SHOW POOLS; the
compose entry point renders the same config and really runs; the app keeps no
session state that transaction pooling would break."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import aiopg
import psycopg2
import pytest

from devtools.stack import (
    DB_NAME,
    DB_USER,
    as_service_user,
    free_port,
    pgbouncer_defaults,
    wait_for_port,
)
from topology_support import REPO

CLIENTS = 300


def _admin(stack):
    conn = psycopg2.connect(
        host="127.0.0.1", port=stack.ports.pgbouncer, dbname="pgbouncer", user=DB_USER, password=stack.password
    )
    conn.autocommit = True
    return conn


def _show(conn, what: str) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(f"SHOW {what}")
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]


def test_admin_console_shows_transaction_pools_and_settings(stack):
    with psycopg2.connect(stack.database_url) as app, app.cursor() as cur:  # a pool exists once used
        cur.execute("SELECT 1")
    app.close()
    conn = _admin(stack)
    try:
        pools = [p for p in _show(conn, "POOLS") if p["database"] == DB_NAME]
        assert pools and all(p["pool_mode"] == "transaction" for p in pools)
        config = {row["key"]: row["value"] for row in _show(conn, "CONFIG")}
    finally:
        conn.close()
    assert config["pool_mode"] == "transaction"
    assert config["max_client_conn"] == "1000"
    assert config["default_pool_size"] == "25"
    assert int(config["reserve_pool_size"]) > 0
    assert config["auth_type"] == "scram-sha-256"


def test_300_concurrent_clients_hold_at_most_25_server_connections(stack):
    samples: list[dict] = []
    backends: list[int] = []
    stop = threading.Event()

    def monitor():
        admin = _admin(stack)
        direct = psycopg2.connect(stack.direct_url)
        direct.autocommit = True
        try:
            while not stop.is_set():
                pool = next(p for p in _show(admin, "POOLS") if p["database"] == DB_NAME and p["user"] == DB_USER)
                samples.append(pool)
                with direct.cursor() as cur:  # what PostgreSQL itself sees (minus this connection)
                    cur.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                        (DB_NAME,),
                    )
                    backends.append(cur.fetchone()[0])
                time.sleep(0.02)
        finally:
            admin.close()
            direct.close()

    async def one_client(connected: asyncio.Barrier) -> int:
        async with aiopg.connect(stack.database_url, enable_hstore=False, timeout=60) as conn:
            await connected.wait()  # all 300 connected at once before anyone queries
            async with conn.cursor() as cur:
                for _ in range(3):
                    await cur.execute("SELECT pg_sleep(0.01), 1")
                    assert (await cur.fetchone())[1] == 1
            return 1

    async def run_all() -> list:
        connected = asyncio.Barrier(CLIENTS)
        return await asyncio.gather(*(one_client(connected) for _ in range(CLIENTS)), return_exceptions=True)

    watcher = threading.Thread(target=monitor)
    watcher.start()
    try:
        started = time.monotonic()
        outcomes = asyncio.run(run_all())
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        watcher.join(10)
    failures = [o for o in outcomes if o != 1]
    servers = [s["sv_active"] + s["sv_idle"] + s["sv_used"] + s["sv_tested"] + s["sv_login"] for s in samples]
    clients = [s["cl_active"] + s["cl_waiting"] for s in samples]
    print(
        f"\npgbouncer: {CLIENTS} clients in {elapsed:.1f}s, max clients seen {max(clients)}, "
        f"max waiting {max(s['cl_waiting'] for s in samples)}, max server conns {max(servers)}, "
        f"max PostgreSQL backends {max(backends)}, {len(samples)} samples"
    )
    assert not failures, failures[:3]
    assert max(clients) >= CLIENTS  # they really were connected together
    assert max(s["cl_waiting"] for s in samples) > 0  # ... and queued for servers
    assert max(servers) <= 25
    assert max(backends) <= 25


# -- the compose entry point ---------------------------------------------------


def _entrypoint_env(stack, run_dir: Path, port: int) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "DB_PASSWORD": stack.password,
        "DB_USER": DB_USER,
        "DB_NAME": DB_NAME,
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(stack.ports.postgres),
        "LISTEN_ADDR": "127.0.0.1",
        "LISTEN_PORT": str(port),
        "PGBOUNCER_RUN_DIR": str(run_dir),
    }


def test_entrypoint_renders_the_same_config_as_the_local_stack(stack, tmp_path):
    env = _entrypoint_env(stack, tmp_path, stack.ports.pgbouncer)
    env["AUTH_FILE"] = str(stack.root / "userlist.txt")
    subprocess.run(["sh", str(REPO / "pgbouncer" / "entrypoint.sh"), "render", str(tmp_path)], env=env, check=True)
    assert (tmp_path / "pgbouncer.ini").read_text() == (stack.root / "pgbouncer.ini").read_text()
    assert (tmp_path / "userlist.txt").read_text() == f'"{DB_USER}" "{stack.password}"\n'
    assert oct((tmp_path / "userlist.txt").stat().st_mode & 0o777) == "0o600"


def test_entrypoint_fails_without_a_password(tmp_path):
    result = subprocess.run(
        ["sh", str(REPO / "pgbouncer" / "entrypoint.sh"), "render", str(tmp_path)],
        env={"PATH": os.environ["PATH"]},
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "DB_PASSWORD" in result.stderr


def test_entrypoint_starts_a_working_pgbouncer(stack, tmp_path):
    run_dir = Path(tempfile.mkdtemp(prefix="pgbouncer-entrypoint-", dir=stack.root))  # readable by postgres
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam("postgres")
        os.chown(run_dir, entry.pw_uid, entry.pw_gid)
    # The postgres user runs the script: give it a copy it can read even when
    # the checkout itself is private (e.g. cloned into a 0700 temp folder).
    scripts = run_dir / "pgbouncer"
    shutil.copytree(REPO / "pgbouncer", scripts)
    os.chmod(scripts, 0o755)
    for f in scripts.iterdir():
        os.chmod(f, 0o644)
    port = free_port()
    env = _entrypoint_env(stack, run_dir, port)
    env["PGBOUNCER_DEFAULT_POOL_SIZE"] = "3"  # an override from the environment
    with open(tmp_path / "pgbouncer.log", "wb") as log:  # the child has its own copy of the fd
        proc = subprocess.Popen(
            as_service_user(["env", *[f"{k}={v}" for k, v in env.items()], "sh", str(scripts / "entrypoint.sh")]),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, timeout=20, proc=proc)
        dsn = f"postgresql://{DB_USER}:{stack.password}@127.0.0.1:{port}/{DB_NAME}"
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == DB_USER
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(f"postgresql://{DB_USER}:wrong@127.0.0.1:{port}/{DB_NAME}").close()
        admin = psycopg2.connect(host="127.0.0.1", port=port, dbname="pgbouncer", user=DB_USER, password=stack.password)
        admin.autocommit = True
        config = {row["key"]: row["value"] for row in _show(admin, "CONFIG")}
        admin.close()
        assert config["default_pool_size"] == "3"
        assert config["max_client_conn"] == pgbouncer_defaults()["PGBOUNCER_MAX_CLIENT_CONN"]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)


# -- the app is safe under transaction pooling -----------------------------------

# Statements that leave state on a server connection which, under transaction
# pooling, the next transaction (another client) would inherit or miss.
SESSION_STATE = [
    (r"\A\s*set\s+(session\s+)?(?!local\b)[a-z_][\w.]*\s*(=|\bto\b)", "session SET/RESET (use SET LOCAL)"),
    (r"\A\s*reset\s+[a-z_][\w.]*\s*\Z", "session SET/RESET (use SET LOCAL)"),
    (r"\bpg_(try_)?advisory_lock(_shared)?\s*\(", "session advisory lock (use pg_advisory_xact_lock)"),
    (r"\bprepare\s+\w+\s*(\(|as\b)|\bdeallocate\b", "SQL PREPARE/DEALLOCATE"),
    (r"\A\s*(listen|unlisten)\s", "LISTEN (needs a direct connection)"),
    (r"\bwith\s+hold\b", "WITH HOLD cursor"),
    (r"\bset_config\s*\([^)]*,\s*false\s*\)", "set_config(..., false) is session-wide"),
    (r"\bcreate\s+(temp|temporary)\s+table\b(?![\s\S]*on\s+commit\s+drop)", "temp table outside ON COMMIT DROP"),
]
SQL_START = re.compile(
    r"^\s*(select|insert|update|delete|with|set|reset|create|alter|drop|prepare|deallocate|"
    r"listen|unlisten|declare|begin|discard|lock)\b",
    re.IGNORECASE,
)


def _sql_strings(path: Path) -> list[tuple[int, str]]:
    """String constants (f-string parts joined) of a module, docstrings excluded."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    fstring_parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in fstring_parts:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else " x " for v in node.values)
            found.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.append((node.lineno, node.value))
    return [(line, text) for line, text in found if SQL_START.match(text)]


def _app_modules() -> list[Path]:
    roots = [REPO / "siprems", REPO / "workers"]
    return [p for root in roots if root.exists() for p in root.rglob("*.py")]  # the dev harness is in devtools/


def test_app_sql_keeps_no_session_state():
    problems = []
    for path in _app_modules():
        for line, sql in _sql_strings(path):
            for statement in sql.split(";"):
                for pattern, why in SESSION_STATE:
                    if re.search(pattern, statement, re.IGNORECASE):
                        problems.append(f"{path.relative_to(REPO)}:{line}: {why}: {statement.strip()[:80]}")
    assert not problems, "\n".join(problems)


def test_every_aiopg_pool_skips_the_hstore_lookup():
    calls = []
    for path in _app_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"create_pool", "connect"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "aiopg"
            ):
                flag = next((k.value for k in node.keywords if k.arg == "enable_hstore"), None)
                calls.append(
                    (f"{path.relative_to(REPO)}:{node.lineno}", isinstance(flag, ast.Constant) and flag.value is False)
                )
    assert calls, "expected the app to create its aiopg pool somewhere"
    assert all(ok for _, ok in calls), [where for where, ok in calls if not ok]


def test_session_state_scanner_catches_the_usual_mistakes(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""SET NX marker: a docstring, not SQL."""\n'
        'A = "SET statement_timeout = 5000"\n'
        'B = "SELECT pg_advisory_lock(1)"\n'
        'C = f"SELECT * FROM t WHERE id = {1}; LISTEN jobs"\n'
        'D = "SET LOCAL statement_timeout = 5000"\n'
        'E = "UPDATE t SET a = 1"\n'
        'F = "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE\\n SET a = 2"\n'
        'G = "Set the store details"\n'
        'H = "RESET statement_timeout"\n'
    )
    flagged = set()
    for _, sql in _sql_strings(bad):
        for statement in sql.split(";"):
            for pattern, why in SESSION_STATE:
                if re.search(pattern, statement, re.IGNORECASE):
                    flagged.add(why.split(" ")[0] + " " + why.split(" ")[1])
    assert flagged == {"session SET/RESET", "session advisory", "LISTEN (needs"}
