"""API tokens: `ry_<kind>_<secret>`, shown once, stored only as a sha256 hex digest."""

import hashlib
import hmac
import re
import secrets
from typing import Literal

TokenKind = Literal["user", "worker", "run"]
TOKEN_KINDS: tuple[TokenKind, ...] = ("user", "worker", "run")
_TOKEN = re.compile(r"^ry_(user|worker|run)_([A-Za-z0-9_\-]{32,128})$")


def new_token(kind: TokenKind) -> str:
    return f"ry_{kind}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_token_kind(token: str) -> TokenKind | None:
    """The kind a well-formed token claims, or None for a malformed one."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None  # type: ignore[return-value]


def hashes_match(stored_hash: str, token: str) -> bool:
    """Constant-time comparison, so response time does not leak how much of a hash matched."""
    return hmac.compare_digest(stored_hash, hash_token(token))
