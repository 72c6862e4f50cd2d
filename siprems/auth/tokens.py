"""JWT access and refresh tokens (PyJWT, HS256).

Claims: `sub` (user id as a string, what HAProxy keys rate limits on),
`user_id`, `store_id`, `type` (`access` | `refresh`), `iat`, `exp`, for
access tokens `sid` (the session: its refresh family), `ver` (the user's
token version, see `siprems.auth.revocation`) and `role` (the member's role
in the store; a refresh reads it anew from the database), and for refresh tokens `jti`
and `fam` (the rotation family).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from siprems.errors import Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Identity:
    user_id: int
    store_id: int
    email: str
    session: str = ""  # the refresh family the access token belongs to
    version: int = 0  # the user's token version when the token was issued
    # The member's role in the store (siprems.team.roles). Tokens issued before roles existed
    # carry none: every user then owned their store. A role change bumps the token version.
    role: str = "owner"


@dataclass(frozen=True)
class RefreshClaims:
    identity: Identity
    jti: str
    family: str
    expires_at: int


def issue_access(identity: Identity, secret: str, minutes: int) -> str:
    now = int(time.time())
    claims = {
        "sub": str(identity.user_id),
        "user_id": identity.user_id,
        "store_id": identity.store_id,
        "email": identity.email,
        "type": "access",
        "sid": identity.session,
        "ver": identity.version,
        "role": identity.role,
        "iat": now,
        "exp": now + minutes * 60,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def new_refresh(identity: Identity, secret: str, days: int, family: str | None = None) -> tuple[str, RefreshClaims]:
    now = int(time.time())
    claims = RefreshClaims(identity, str(uuid.uuid4()), family or str(uuid.uuid4()), now + days * 86400)
    token = jwt.encode(
        {
            "sub": str(identity.user_id),
            "user_id": identity.user_id,
            "store_id": identity.store_id,
            "email": identity.email,
            "type": "refresh",
            "iat": now,
            "exp": claims.expires_at,
            "jti": claims.jti,
            "fam": claims.family,
        },
        secret,
        algorithm=ALGORITHM,
    )
    return token, claims


def _decode(token: str, secret: str, expected_type: str) -> dict:
    try:
        # algorithms pinned: 'none' and any other algorithm are rejected.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub", "type"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired.", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The token is invalid.", code="invalid_token") from exc
    if claims.get("type") != expected_type:
        raise Unauthorized(f"An {expected_type} token is required.", code="invalid_token")
    if not isinstance(claims.get("user_id"), int) or not isinstance(claims.get("store_id"), int):
        raise Unauthorized("The token is invalid.", code="invalid_token")
    return claims


# Verified access tokens of this process: (secret, token) -> (identity, exp).
# A token's claims never change, so a repeat request skips the HMAC and the
# claim checks (a tenth of a cached read's CPU); expiry is still checked on
# every use, and revocation is a separate step (`siprems.auth.revocation`).
_verified: dict[tuple[str, str], tuple[Identity, int]] = {}
_VERIFIED_MAX = 20_000


def decode_access(token: str, secret: str) -> Identity:
    hit = _verified.get((secret, token))
    if hit is not None:
        if hit[1] > time.time():
            return hit[0]
        del _verified[(secret, token)]
        raise Unauthorized("The token has expired.", code="token_expired")
    claims = _decode(token, secret, "access")
    version = claims.get("ver", 0)
    identity = Identity(
        claims["user_id"],
        claims["store_id"],
        str(claims.get("email", "")),
        str(claims.get("sid", "")),
        version if isinstance(version, int) else 0,
        _role(claims.get("role", "owner")),
    )
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()  # crude but bounded; a miss only costs one verification
    _verified[(secret, token)] = (identity, int(claims["exp"]))
    return identity


def _role(value) -> str:
    if value not in ("owner", "manager", "cashier"):
        raise Unauthorized("The token is invalid.", code="invalid_token")
    return value


def decode_refresh(token: str, secret: str) -> RefreshClaims:
    claims = _decode(token, secret, "refresh")
    if not claims.get("jti") or not claims.get("fam"):
        raise Unauthorized("The token is invalid.", code="invalid_token")
    identity = Identity(claims["user_id"], claims["store_id"], str(claims.get("email", "")))
    return RefreshClaims(identity, claims["jti"], claims["fam"], claims["exp"])
