"""Password hashing with argon2id (argon2-cffi). Hashing is CPU-bound: the API
calls these through `asyncio.to_thread` so a burst of logins does not stall the
event loop."""

from __future__ import annotations

import functools
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


# zxcvbn estimates guesses for at most this many characters; a longer password
# is judged by its start (a strong start makes the whole strong).
_ESTIMATE_CHARS = 72
# Fewer estimated guesses than this is a common password with small changes
# ("Password1!", "P@ssword1"): an online attack with our throttling finds it.
MIN_GUESSES_LOG10 = 5.0
WEAK_MESSAGE = (
    "This password is too common or too easy to guess (it is on lists of breached passwords, "
    "or close to one); choose a longer or less predictable one."
)


@functools.cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # ~14 MB: loaded on first use only

    return frozenset(FREQUENCY_LISTS["passwords"])


def common_password_problem(password: str) -> str | None:
    """The breached/common check: zxcvbn's list of the 30,000 most common passwords
    and its guess estimate. CPU-bound (a few ms): call it off the event loop."""
    from zxcvbn import zxcvbn

    if password.lower() in _common_passwords():
        return WEAK_MESSAGE
    estimate = zxcvbn(password[:_ESTIMATE_CHARS])
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        warning = estimate["feedback"].get("warning")
        return f"{WEAK_MESSAGE} {warning}" if warning else WEAK_MESSAGE
    return None


def password_problem(password: str) -> str | None:
    """The contract's rule (at least 8 characters, an upper-case letter, a digit),
    then the common-password check. The password is judged exactly as given."""
    if len(password) < 8:
        return "Password must be at least 8 characters long."
    if len(password) > 255:
        return "Password must be at most 255 characters long."
    if not re.search(r"[A-Z]", password):
        return "Password must contain at least one uppercase letter."
    if not re.search(r"\d", password):
        return "Password must contain at least one digit."
    return common_password_problem(password)
