"""Helpers for the topology tests: tiny HTTP backends that HAProxy can point
at, client source addresses (each test its own rate-limit bucket), HAProxy's
stats CSV, and the connections a process holds."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
_source_octet = itertools.count(10)


def fresh_source_address() -> str:
    """A loopback address no other test has used: HAProxy sees a new client IP."""
    return f"127.0.{next(_source_octet)}.1"


def client_from(address: str, base_url: str, **kw) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, timeout=10, **kw)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # health checks reset their connections
        pass


class Backend:
    """A threaded HTTP server standing in for an API instance.

    mode "echo": answers every request with JSON describing it (method, path,
    headers). mode "drop": answers GET /health, and closes the connection
    without any answer for everything else (a server dying mid-request).
    """

    def __init__(self, mode: str = "echo", host: str = "127.0.0.1", port: int = 0):
        self.mode = mode
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                if self.path == "/health":
                    return self._reply({"status": "healthy"})
                with backend._lock:
                    backend.seen.append((self.command, self.path))
                if backend.mode == "drop":
                    self.close_connection = True
                    return
                self._reply(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "padding": "x" * 2000,
                    }
                )

            def _reply(self, body: dict):
                data = orjson.dumps(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = _QuietServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.addr = f"{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for m, _ in self.seen if m == method)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stats_rows(stats_port: int, auth: tuple[str, str] | None = None) -> list[dict]:
    r = httpx.get(f"http://127.0.0.1:{stats_port}/stats;csv", auth=auth, timeout=5)
    r.raise_for_status()
    lines = r.text.splitlines()
    header = lines[0].lstrip("# ").split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]


def server_status(stats_port: int) -> dict[str, str]:
    """{"api1": "UP", "api2": "DOWN", ...} for the API backend."""
    return {
        row["svname"]: row["status"]
        for row in stats_rows(stats_port)
        if row["pxname"] == "be_api" and row["svname"] not in ("BACKEND", "FRONTEND")
    }


def wait_until(predicate, timeout: float, interval: float = 0.1) -> float:
    """Seconds until predicate() was true; raises after timeout."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], check=False, capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def established_from(pid: int, peer_ports: set[int]) -> list[str]:
    """Local addresses of the TCP connections process `pid` holds to `peer_ports`."""
    out = subprocess.run(["ss", "-tnpH", "state", "established"], check=False, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4 or f"pid={pid}," not in line:
            continue
        local, peer = parts[2], parts[3]
        if int(peer.rsplit(":", 1)[1]) in peer_ports:
            found.append(local)
    return found
