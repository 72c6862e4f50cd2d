"""A webhook receiver for tests: an HTTP server on a free loopback port, in a
thread, that records every request and answers from a plan (e.g. 500, 500,
then 200), optionally holding each request for a while."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, plan: list[int] | None = None, hold_seconds: float = 0.0):
        self.plan = list(plan or [])
        self.hold_seconds = hold_seconds
        self.requests: list[dict] = []  # every request, in arrival order
        self.started = threading.Event()  # a request has arrived (before any hold)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.started.set()
                if receiver.hold_seconds:
                    time.sleep(receiver.hold_seconds)
                with receiver._lock:
                    status = receiver.plan.pop(0) if receiver.plan else 200
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if 200 <= r["status"] < 300]

    def wait_for(self, predicate, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(self.requests):
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"receiver saw {len(self.requests)} requests: {[r['status'] for r in self.requests]}")

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.accepted()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
