"""The exceptions that steer the job runtime; handlers in any domain raise them."""

from __future__ import annotations


class JobError(Exception):
    """Base of the exceptions that steer the runtime."""


class PermanentError(JobError):
    """A failure that no retry can fix: the job fails at once (dead letter)."""


class JobCancelled(JobError):
    """Raised at a checkpoint after the job was cancelled: it ends REVOKED."""


class LeaseLost(JobError):
    """Another worker has reclaimed this job (we looked dead): stop, do not ack."""
