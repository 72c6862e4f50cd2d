"""Every Redis key name and stream name, in one place.

Two Redis servers: CACHE (cache, chat history; may evict keys that have a TTL)
and QUEUE (job streams and records; never evicts). Each section below belongs
to one concept; add new names in the matching section.
"""

from __future__ import annotations

PREFIX = "siprems"

# --- cache (CACHE server) -----------------------------------------------------


def cache_generation(store_id: int, family: str) -> str:
    """Counter of one cache family of a store (see `siprems.cache.FAMILIES`),
    bumped after every write that changes what that family's reads return."""
    return f"{PREFIX}:cache:gen:{store_id}:{family}"


def cache_entry(store_id: int, generations: str, name: str) -> str:
    """`generations`: the read's family generations joined by '.', in order."""
    return f"{cache_entry_prefix(store_id)}{generations}:{name}"


def cache_entry_prefix(store_id: int) -> str:
    return f"{PREFIX}:cache:{store_id}:"


# --- login back-off (CACHE server; every key has a TTL) ----------------------------


def login_failures(account: str) -> str:
    """HASH {failures, locked_until} of one account (`account`: a hash of its e-mail)."""
    return f"{PREFIX}:auth:fail:{account}"


# --- chat (CACHE server) ------------------------------------------------------


def chat_history(user_id: int, session_id: str) -> str:
    """List of JSON messages `{role, text, timestamp}` of one user's session."""
    return f"{PREFIX}:chat:history:{user_id}:{session_id}"


def chat_sessions(user_id: int) -> str:
    """Sorted set: the user's session ids scored by last activity (epoch ms)."""
    return f"{PREFIX}:chat:sessions:{user_id}"


# --- auth revocation (QUEUE server: never evicted) -------------------------------


def auth_revocation_epoch() -> str:
    """Counter bumped by every revocation: workers re-check cached answers when it moves."""
    return f"{PREFIX}:auth:revocations"


def auth_user_version(user_id: int) -> str:
    """The user's token version: access tokens with a lower `ver` are revoked."""
    return f"{PREFIX}:auth:ver:{user_id}"


def auth_revoked_session(session: str) -> str:
    """Set (with a TTL) when a session's access tokens are revoked (logout)."""
    return f"{PREFIX}:auth:revoked:{session}"


# --- jobs (QUEUE server) --------------------------------------------------------
# Lua scripts build per-id keys as prefix .. id, so every per-id key here is
# "<prefix><id>" and `name("")` is the prefix handed to the scripts.

JOBS = f"{PREFIX}:jobs"
JOBS_GROUP = "workers"  # the one consumer group on every job stream
JOBS_DELAYED = f"{JOBS}:delayed"  # ZSET job id -> due time (ms): retries and deferred jobs
JOBS_WORKERS = f"{JOBS}:workers"  # ZSET worker name -> last heartbeat (ms)
JOBS_DURATION_TYPES = f"{JOBS}:durations"  # SET of job types with a durations hash


def job_stream(queue: str) -> str:
    return f"{JOBS}:stream:{queue}"


def job_dead_letters(queue: str) -> str:
    return f"{JOBS}:dead:{queue}"


def job_durations(job_type: str) -> str:
    """HASH of run-time histogram buckets, count, sum and outcomes of a job type."""
    return f"{JOBS}:durations:{job_type}"


def job_record(job_id: str) -> str:
    """HASH: the job's state, arguments, progress and result."""
    return f"{JOBS}:job:{job_id}"


def job_children(parent_id: str) -> str:
    """SET of the child job ids of a fan-out parent."""
    return f"{JOBS}:children:{parent_id}"


def job_store_active(store_id: int | str) -> str:
    """ZSET of a store's unfinished job ids (score: creation time, ms)."""
    return f"{JOBS}:active:{store_id}"


def job_idempotency(store_id: int | str, key: str) -> str:
    return f"{JOBS}:idem:{store_id}:{key}"


def job_worker_info(name: str) -> str:
    return f"{JOBS}:worker:{name}"


def cron_fire(schedule: str, scope: str, fire_ts: int) -> str:
    """SET NX marker: this occurrence of the schedule has been enqueued."""
    return f"{JOBS}:cron:fire:{schedule}:{scope}:{fire_ts}"


def cron_last(schedule: str, scope: str) -> str:
    """The latest occurrence (unix s) that was handled, for catch-up after downtime."""
    return f"{JOBS}:cron:last:{schedule}:{scope}"


# --- forecasting (CACHE server) -------------------------------------------------
