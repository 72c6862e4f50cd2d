"""Work around aiopg bug #909 (open upstream; fix proposed in aiopg PR #926).

A connection attempt that fails during the handshake (pgbouncer or PostgreSQL
down: "Connection refused") leaves the event loop watching a closed socket:
aiopg removes the reader of the bad descriptor but not its writer. uvloop then
keeps a closed poll handle for that descriptor number, and the next
connection that gets the same number fails in `add_reader` with
"RuntimeError: unable to perform operation on <UVPoll closed=True>" - a 500
instead of a 503 during an outage, and sometimes after it (measured by
`make chaos`: half of the errors of a pgbouncer restart were these 500s).

The patch drops both registrations of the descriptor in the same callback in
which aiopg forgets it, before any other code can reuse the number.
"""

from __future__ import annotations

import contextlib

from aiopg.connection import Connection

_original_ready = Connection._ready


def _ready(weak_self) -> None:
    self = weak_self()
    fd = self._fileno if self is not None else None
    _original_ready(weak_self)
    if fd is not None and self._fileno is None:  # aiopg just forgot a bad descriptor
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            self._loop.remove_writer(fd)
            self._loop.remove_reader(fd)
        self._writing = False


def apply() -> None:
    if Connection._ready is not _ready:
        Connection._ready = staticmethod(_ready)
