"""HAProxy as k8s/ runs it, on the real binary: haproxy.cfg + backend-k8s.cfg
+ the peers section k8s-peers.sh renders, with the environment of each
overlay's StatefulSet; and two HAProxy peers really sharing one rate limit."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from devtools.stack import free_port, wait_for_port
from k8s_support import OVERLAYS, REPO, container, env_of, one, render
from topology_support import Backend, client_from, fresh_source_address

HAPROXY_DIR = REPO / "haproxy"
SCRIPT = HAPROXY_DIR / "k8s-peers.sh"


def pod_env(overlay: str, ordinal: int = 0) -> dict[str, str]:
    """The HAProxy container's environment, secrets and downward API filled in."""
    objects = render(overlay)
    env = env_of(objects, container(one(objects, "StatefulSet", "haproxy"), "haproxy"))
    fields = {"metadata.name": f"haproxy-{ordinal}", "status.podIP": "127.0.0.1"}
    out = {}
    for name, value in env.items():
        if isinstance(value, tuple):
            value = fields[value[1]] if value[0] == "field" else "secret-value-" + "x" * 32
        out[name] = value
    return out


def render_peers(env: dict[str, str], path) -> str:
    result = subprocess.run(
        ["sh", str(SCRIPT), "render"],
        env={"PATH": os.environ["PATH"], **env},
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    path.write_text(result.stdout)
    return result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_haproxy_config_as_deployed_is_valid(overlay, tmp_path):
    env = pod_env(overlay)
    peers = render_peers(env, tmp_path / "peers.cfg")
    result = subprocess.run(
        [
            "haproxy",
            "-c",
            "-L",
            env["POD_NAME"],
            "-f",
            str(HAPROXY_DIR / "haproxy.cfg"),
            "-f",
            str(HAPROXY_DIR / "backend-k8s.cfg"),
            "-f",
            str(tmp_path / "peers.cfg"),
        ],
        env={"PATH": os.environ["PATH"], **env},
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # A table that names a peers section which does not exist is a fatal error,
    # so "valid" also proves the tables are attached to `peers siprems`.
    assert "peers siprems" in peers


def test_peers_file_has_this_pod_and_leaves_out_peers_that_do_not_resolve(tmp_path):
    env = {**pod_env("prod", ordinal=1), "HAPROXY_PEERS_DOMAIN": "haproxy-peers.invalid"}
    text = render_peers(env, tmp_path / "peers.cfg")
    lines = [line.split() for line in text.splitlines() if line.strip().startswith("peer ")]
    # haproxy-0 and haproxy-2 do not resolve here (as before their pods exist).
    assert lines == [["peer", "haproxy-1", "127.0.0.1:10000"]]


def _wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def _start(name: str, files: list, env: dict[str, str], log_dir) -> subprocess.Popen:
    cmd = ["haproxy", "-W", "-db", "-L", name]
    for f in files:
        cmd += ["-f", str(f)]
    with open(log_dir / f"{name}.log", "ab") as log:  # the child has its own copy of the fd
        return subprocess.Popen(
            cmd, env={"PATH": os.environ["PATH"], **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _two_haproxies(tmp_path, backend, share: bool):
    """Two HAProxy nodes over one API stand-in; with `share`, peers of each other."""
    ports = [(free_port(), free_port(), free_port()) for _ in range(2)]  # http, stats, peers
    peers = tmp_path / "peers.cfg"
    peers.write_text(
        "peers siprems\n" + "".join(f"    peer haproxy-{i} 127.0.0.1:{p[2]}\n" for i, p in enumerate(ports))
    )
    procs = []
    for i, (http, stats, _) in enumerate(ports):
        env = {
            "HAPROXY_BIND_ADDR": "127.0.0.1",
            "HAPROXY_PORT": str(http),
            "HAPROXY_STATS_PORT": str(stats),
            "JWT_SECRET": "k8s-test-secret-" + "x" * 32,
            "RATE_GENERAL": "10",
            "RATE_CHAT": "10",
            "RATE_PREDICT": "10",
            "API1_ADDR": backend.addr,
            "API2_ADDR": backend.addr,
        }
        # A runtime socket, only to see when the peers have connected.
        sock = tmp_path / f"haproxy-{i}.sock"
        (tmp_path / f"socket-{i}.cfg").write_text(f"global\n    stats socket {sock} mode 600 level admin\n")
        files = [HAPROXY_DIR / "haproxy.cfg", HAPROXY_DIR / "backend-local.cfg", tmp_path / f"socket-{i}.cfg"]
        if share:
            env["HAPROXY_TABLE_PEERS"] = "peers siprems"
            files.append(peers)
        procs.append(_start(f"haproxy-{i}", files, env, tmp_path))
    for proc, (http, _, _) in zip(procs, ports, strict=False):
        wait_for_port(http, timeout=30, proc=proc)
    if share:
        # A fresh pair connects to each other at once; the collision is settled by
        # dropping one session, and updates sent meanwhile are lost. Wait until
        # both sides are established and stay so (same connection count for 2 s),
        # so the test measures sharing, not start-up.
        socks = [tmp_path / f"haproxy-{i}.sock" for i in range(2)]
        assert _wait_for(lambda: _peers_settled(socks), 30), [_runtime(s, "show peers") for s in socks]
    return procs, [f"http://127.0.0.1:{http}" for http, _, _ in ports]


def _peer_sessions(sock) -> list[str]:
    return re.findall(
        r"\(remote,active\).*?last_status=(\w+).*?new_conn=(\d+)", _runtime(sock, "show peers"), re.DOTALL
    )


def _peers_settled(socks) -> bool:
    first = [_peer_sessions(s) for s in socks]
    if not all(sessions and all(status == "ESTA" for status, _ in sessions) for sessions in first):
        return False
    time.sleep(2)
    return [_peer_sessions(s) for s in socks] == first


def _runtime(sock, command: str) -> str:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(sock))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()
    except OSError:
        return ""


def _rate_seen(sock, key: str) -> int | None:
    """http_req_rate of `key` in a node's rl_general table (None: no entry).
    Keys look like "127.0.0.1ip:" (haproxy.cfg's concat() appends its prefix)."""
    for line in _runtime(sock, "show table rl_general").splitlines():
        if f"key={key} " in line and "http_req_rate(10000)=" in line:
            return int(line.rsplit("http_req_rate(10000)=", 1)[1].split()[0])
    return None


@pytest.mark.parametrize("share", [True, False], ids=["peers", "no-peers"])
def test_rate_limit_is_shared_between_peers(tmp_path, share):
    backend = Backend("echo")
    procs = []
    socks = [tmp_path / f"haproxy-{i}.sock" for i in range(2)]
    try:
        procs, urls = _two_haproxies(tmp_path, backend, share)
        if share:
            # Warm-up from another client address: once node B holds its entry,
            # the A -> B session is up for good (the simultaneous connects of a
            # fresh pair collide and one is retried; updates sent then are lost).
            warm_source = fresh_source_address()
            with client_from(warm_source, urls[0]) as warm:
                assert warm.get("/api/x").status_code == 200
                assert _wait_for(
                    lambda: any(
                        f"key={warm_source}ip:" in line
                        for line in _runtime(socks[1], "show table rl_general").splitlines()
                    ),
                    30,
                )
        with httpx.Client(timeout=10) as c:
            # 8 of the 10-per-10 s budget on node A...
            assert [c.get(urls[0] + "/api/products").status_code for _ in range(8)] == [200] * 8
            if share:
                # ...which node B learns within moments...
                assert _wait_for(lambda: _rate_seen(socks[1], "127.0.0.1ip:") == 8, 10), _runtime(
                    socks[1], "show table rl_general"
                )
            # ...then node B.
            statuses = [c.get(urls[1] + "/api/products").status_code for _ in range(4)]
    finally:
        for proc in procs:
            _stop(proc)
        backend.close()
    if share:
        # B counts from A's 8: requests 9 and 10 pass, the 11th is over the limit.
        assert statuses == [200, 200, 429, 429], statuses
    else:
        # Without peers each node counts alone: B has its whole budget.
        assert statuses == [200] * 4, statuses


def _children(pid: int) -> list[tuple[int, str]]:
    out = subprocess.run(
        ["ps", "--ppid", str(pid), "-o", "pid=,args="], check=False, capture_output=True, text=True
    ).stdout
    return [(int(line.split(None, 1)[0]), line.split(None, 1)[1]) for line in out.splitlines() if line.strip()]


def test_k8s_peers_script_runs_haproxy_and_reloads_when_a_peer_appears(tmp_path):
    """The container command for real: it renders the peers file and execs
    HAProxy with the three files; HAProxy's master runs the peers-watch
    program, which adds a peer once its name resolves and reloads the master.
    Only name resolution is faked (a `getent` first on PATH answering from a
    file): the pod DNS of a StatefulSet does not exist here."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    answers = tmp_path / "dns"
    answers.write_text("")
    (fake_bin / "getent").write_text(f'#!/bin/sh\ngrep " $2$" {answers} || exit 2\n')
    (fake_bin / "getent").chmod(0o755)
    # HAProxy starts the watcher from the path the ConfigMap is mounted at; here, the repository's script.
    cfg = (HAPROXY_DIR / "backend-k8s.cfg").read_text()
    assert "command /bin/sh /usr/local/etc/haproxy/k8s-peers.sh watch" in cfg
    (tmp_path / "backend-k8s.cfg").write_text(cfg.replace("/usr/local/etc/haproxy/k8s-peers.sh", str(SCRIPT)))
    (tmp_path / "haproxy.cfg").write_text((HAPROXY_DIR / "haproxy.cfg").read_text())
    http, stats, peer_port = free_port(), free_port(), free_port()
    env = {
        **pod_env("dev"),
        "HAPROXY_REPLICAS": "2",
        "HAPROXY_BIND_ADDR": "127.0.0.1",
        "HAPROXY_PORT": str(http),
        "HAPROXY_STATS_PORT": str(stats),
        "HAPROXY_PEERS_PORT": str(peer_port),
        "HAPROXY_PEERS_FILE": str(tmp_path / "peers.cfg"),
        "HAPROXY_PEERS_INTERVAL": "0.5",
        "HAPROXY_CONF_DIR": str(tmp_path),
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
    }
    with open(tmp_path / "run.log", "ab") as log:  # the child has its own copy of the fd
        proc = subprocess.Popen(
            ["sh", str(SCRIPT), "run"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    peers_file = tmp_path / "peers.cfg"
    try:
        wait_for_port(stats, timeout=30, proc=proc)
        r = httpx.get(f"http://127.0.0.1:{stats}/healthz", timeout=5)
        assert r.status_code == 200 and r.text == "ok"
        # exec: the script's process is HAProxy's master now.
        assert "haproxy" in Path(f"/proc/{proc.pid}/cmdline").read_text()
        assert peers_file.read_text().splitlines()[1:] == ["peers siprems", f"    peer haproxy-0 127.0.0.1:{peer_port}"]
        watcher = _wait_for(lambda: [c for c in _children(proc.pid) if "k8s-peers.sh watch" in c[1]])
        assert watcher, _children(proc.pid)
        workers = {pid for pid, args in _children(proc.pid) if args.startswith("haproxy")}
        assert workers
        # haproxy-1's pod gets an address: the watcher adds it and reloads.
        answers.write_text(f"127.0.0.2       haproxy-1.{env['HAPROXY_PEERS_DOMAIN']}\n")
        assert _wait_for(lambda: f"peer haproxy-1 127.0.0.2:{peer_port}" in peers_file.read_text())
        new = _wait_for(lambda: {pid for pid, a in _children(proc.pid) if a.startswith("haproxy")} - workers)
        assert new, "no new HAProxy worker after the peers file changed (no reload)"
        assert proc.poll() is None
        assert httpx.get(f"http://127.0.0.1:{stats}/healthz", timeout=5).status_code == 200
    finally:
        _stop(proc)
