"""Every Redis key name and stream name, in one place.

Two Redis servers: CACHE (cache, chat history; may evict keys that have a TTL)
and QUEUE (job streams and records; never evicts). Each section below belongs
to one concept; add new names in the matching section.
"""

from __future__ import annotations

PREFIX = "siprems"

# --- cache (CACHE server) -----------------------------------------------------


def cache_generation(store_id: int) -> str:
    """Counter bumped after every write that changes a store's cached reads."""
    return f"{PREFIX}:cache:gen:{store_id}"


def cache_entry(store_id: int, generation: int, name: str) -> str:
    return f"{PREFIX}:cache:{store_id}:{generation}:{name}"


# --- chat (CACHE server) ------------------------------------------------------

# --- jobs (QUEUE server) --------------------------------------------------------

# --- forecasting (CACHE server) -------------------------------------------------
