"""Password hashing with argon2id (argon2-cffi). Hashing is CPU-bound: the API
calls these through `asyncio.to_thread` so a burst of logins does not stall the
event loop."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# time_cost/memory_cost tuned for ~20-30 ms per hash on a small server core.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A valid hash to verify against when the user does not exist, so timing does
# not reveal which e-mail addresses are registered.
DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """The contract's rule: at least 8 characters, an upper-case letter, a digit."""
    if len(password) < 8:
        return "Password must be at least 8 characters long."
    if len(password) > 255:
        return "Password must be at most 255 characters long."
    if not re.search(r"[A-Z]", password):
        return "Password must contain at least one uppercase letter."
    if not re.search(r"\d", password):
        return "Password must contain at least one digit."
    return None
