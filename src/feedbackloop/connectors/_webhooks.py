"""What every webhook source shares: header lookup, HMAC checks, JSON reading."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from feedbackloop.connectors import Headers
from feedbackloop.errors import PayloadError, SignatureError

__all__ = [
    "body_digest",
    "header",
    "hmac_sha256_hex",
    "matches_any",
    "read_json",
    "require_header",
]


def header(headers: Headers, name: str) -> str | None:
    """The value of header `name`, looked up case-insensitively; None when absent."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def hmac_sha256_hex(secret: str | bytes, body: bytes) -> str:
    """Hex HMAC-SHA256 of `body` with `secret`."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def matches_any(candidates: Iterable[str], secrets: Iterable[str], body: bytes) -> bool:
    """True when any candidate hex signature equals the HMAC of `body` under any secret.

    Every comparison runs in constant time; all pairs are compared, so the time does
    not reveal which secret or which candidate matched.
    """
    expected = [hmac_sha256_hex(secret, body) for secret in secrets]
    found = False
    for candidate in candidates:
        for digest in expected:
            found |= hmac.compare_digest(candidate.strip().lower(), digest)
    return found


def require_header(headers: Headers, name: str, *, source: str) -> str:
    """The value of header `name`, or a SignatureError saying it is missing."""
    value = header(headers, name)
    if not value:
        raise SignatureError(f"{source}: missing {name} header", source=source)
    return value


def read_json(body: bytes, *, source: str) -> Any:
    """Decode a JSON body, or raise PayloadError saying what is wrong with it."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise PayloadError(f"{source}: body is not UTF-8 ({exc.reason})", source=source) from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"{source}: body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            source=source,
        ) from None
    except RecursionError:
        raise PayloadError(f"{source}: body is nested too deeply", source=source) from None


def body_digest(body: bytes) -> str:
    """A delivery id for vendors that send none: the SHA-256 of the raw body."""
    return hashlib.sha256(body).hexdigest()
