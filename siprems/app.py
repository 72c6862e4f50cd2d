"""The Sanic application factory.

Run with `siprems serve` or `sanic siprems.app:create_app --factory --workers N`.
Each worker process builds its own PostgreSQL pool (to pgbouncer) and Redis
clients in `before_server_start`; nothing a request depends on lives in
process memory.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
import uuid

from sanic import Request, Sanic
from sanic_ext import Extend
from sanic_ext.extensions.http.extension import HTTPExtension
from sanic_ext.extensions.openapi.extension import OpenAPIExtension

from siprems import api, cache, jobtypes, jsonutil, logs, metrics
from siprems.api.errors import JsonErrorHandler
from siprems.config import Settings, load_settings
from siprems.db import create_pool
from siprems.db.migrate import apply_migrations
from siprems.logs import sanic_log_config
from siprems.redis_client import create_redis

log = logging.getLogger("siprems.app")
access_log = logging.getLogger("siprems.access")


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or load_settings()
    jobtypes.install()  # the API enqueues jobs: it needs each type's queue and retry policy
    app = Sanic(
        "siprems",
        dumps=jsonutil.dumps,
        loads=jsonutil.loads,
        error_handler=JsonErrorHandler(),
        log_config=sanic_log_config(),
    )
    app.ctx.settings = settings
    _configure(app, settings)
    _register_listeners(app, settings)
    _register_middleware(app, settings)
    api.register(app)
    _add_automatic_routes(app)
    return app


def _add_automatic_routes(app: Sanic) -> None:
    """sanic-ext adds the automatic OPTIONS (CORS preflight) and HEAD routes in a
    before_server_start listener, i.e. in every worker after start-up, where each
    route it adds finalizes the routers again: ~130 compilations, ~1.2 s of CPU per
    worker at every start. Run that listener once here instead, before the app starts
    (adding a route costs nothing then) and before Sanic forks its workers: in them it
    finds every route already there and adds none."""
    for future in app._future_listeners:
        if getattr(future.listener, "__name__", "") == "_add_handlers":
            future.listener(app)
    app.router.reset()  # the listener finalizes the router; Sanic does it again at start-up


def _configure(app: Sanic, settings: Settings) -> None:
    app.config.REQUEST_MAX_SIZE = settings.request_max_size
    app.config.FALLBACK_ERROR_FORMAT = "json"
    # Longer than HAProxy's idle server-connection lifetime, so HAProxy always
    # closes idle connections first (no 502 from a close race).
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.config.REQUEST_TIMEOUT = 30
    app.config.RESPONSE_TIMEOUT = 60
    app.config.PROXIES_COUNT = 1
    app.config.REAL_IP_HEADER = "x-forwarded-for"
    app.config.ACCESS_LOG = False
    app.config.MOTD = False
    app.config.CORS_ORIGINS = ",".join(settings.cors_origins)
    app.config.CORS_METHODS = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
    app.config.CORS_ALLOW_HEADERS = "authorization,content-type,idempotency-key,x-request-id"
    app.config.CORS_EXPOSE_HEADERS = "x-request-id,x-instance,retry-after,x-total-count"
    app.config.CORS_MAX_AGE = 3600
    app.config.OAS_UI_DEFAULT = "swagger"
    app.config.OAS_UI_REDOC = True
    app.config.OAS_UI_SWAGGER = True
    app.config.OAS_URL_PREFIX = "/docs"
    # Only the sanic-ext extensions we use (OpenAPI; HTTP: CORS, auto OPTIONS/HEAD).
    # The default set adds dependency injection, which runs a signal handler on
    # every request for a feature no route uses.
    Extend(app, built_in_extensions=False, extensions=[OpenAPIExtension, HTTPExtension])
    app.ext.openapi.describe(
        "SIPREMS API",
        version="1.0.0",
        description="Sales prediction and restock management for small shops.",
    )
    app.ext.openapi.add_security_scheme("bearerAuth", "http", scheme="bearer", bearer_format="JWT")


def _register_listeners(app: Sanic, settings: Settings) -> None:
    @app.main_process_start
    async def migrate(app: Sanic) -> None:
        if settings.migrate_on_start:
            applied = apply_migrations(settings.migrations_url, wait_seconds=60)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))

    @app.before_server_start
    async def connect(app: Sanic) -> None:
        app.ctx.db = await create_pool(
            settings.database_url,
            minsize=settings.db_pool_min,
            maxsize=settings.db_pool_max,
            timeout=settings.db_timeout,
        )
        app.ctx.redis = create_redis(settings.redis_url, settings.redis_timeout)
        app.ctx.queue = create_redis(settings.queue_redis_url, settings.redis_timeout)
        app.ctx.worker = f"{settings.instance}:{os.getpid()}"

    @app.after_server_start
    async def watch_pool(app: Sanic) -> None:
        app.add_task(_flush_metrics(app), name="metrics-flush")
        app.add_task(_retry_cache_bumps(app), name="cache-bumps")

    @app.after_server_stop
    async def disconnect(app: Sanic) -> None:
        metrics.flush_requests()
        metrics.worker_exited(os.getpid())
        app.ctx.db.close()
        await app.ctx.db.wait_closed()
        await app.ctx.redis.aclose()
        await app.ctx.queue.aclose()


# Request ids: 16 random hex digits per process, then a counter (unique, and no
# os.urandom syscall per request as uuid4 made).
_REQUEST_ID_PREFIX = uuid.uuid4().hex[:16]
_request_ids = itertools.count(1)


def _new_request_id_prefix() -> None:
    """Sanic forks its workers from the primary: each draws its own prefix."""
    global _REQUEST_ID_PREFIX, _request_ids
    _REQUEST_ID_PREFIX = uuid.uuid4().hex[:16]
    _request_ids = itertools.count(1)


os.register_at_fork(after_in_child=_new_request_id_prefix)


def _new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_ids):016x}"


async def _flush_metrics(app: Sanic) -> None:
    """Request tallies and DB pool gauges into the metrics files once a second
    (per request they cost ~10% of /health and ~5% of a cached read)."""
    while True:
        await asyncio.sleep(1.0)
        pool = app.ctx.db
        metrics.record_pool(pool.size, pool.freesize, pool.maxsize)
        metrics.flush_requests()


async def _retry_cache_bumps(app: Sanic) -> None:
    """Cache invalidations this worker could not make (Redis was down) are made as
    soon as Redis answers, whether or not this worker serves another request."""
    while True:
        await asyncio.sleep(0.5)
        await cache.retry_missed(app.ctx.redis)


def _register_middleware(app: Sanic, settings: Settings) -> None:
    @app.on_request(priority=100)
    async def assign_request_id(request: Request) -> None:
        incoming = request.headers.get("x-request-id", "")
        request.ctx.request_id = incoming[:128] if incoming else _new_request_id()
        request.ctx.started = time.perf_counter()
        metrics.request_started()

    @app.on_response(priority=100)
    async def identify_and_record(request: Request, response) -> None:
        response.headers["X-Instance"] = settings.instance
        rid = getattr(request.ctx, "request_id", None)
        if rid:
            response.headers["X-Request-ID"] = rid
        started = getattr(request.ctx, "started", None)
        if started is None:
            return
        request.ctx.started = None  # record once, even if middleware runs again
        elapsed = time.perf_counter() - started
        route = "/" + request.route.path if request.route else "<unmatched>"
        status = response.status
        metrics.record_request(request.method, route, status, elapsed)
        identity = getattr(request.ctx, "identity", None)
        # HAProxy checks /health every second per instance: keep it out of INFO.
        logs.request_line(
            access_log,
            logging.DEBUG if route == "/health" and status == 200 else logging.INFO,
            f"{request.method} {route} {status}",
            {
                "request_id": rid,
                "instance": settings.instance,
                "worker": os.getpid(),
                "store_id": identity.store_id if identity else None,
                "route": route,
                "path": request.path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
