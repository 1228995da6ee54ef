"""Deterministic fingerprints: one per problem, whatever the volatile details.

A fingerprint groups signals that describe the same problem. Sources that know their
own grouping (a Sentry issue id, a Datadog alert cycle key) set it; otherwise it is
derived here from the signal's source, service, kind and title.

The algorithm (version 1) is part of the stored data: changing it is a migration.

1. Mask the title's volatile parts, in this order, each with a placeholder:
   UUIDs (`<uuid>`), quoted strings in `'`, `"` or backticks (`<str>`), hex ids —
   `0x…` or runs of 8+ hex digits holding at least one digit (`<hex>`), durations —
   a number followed by `ns`, `us`, `µs`, `ms`, `s`, `sec(s)`, `second(s)`, `m`,
   `min(s)`, `minute(s)`, `h`, `hr(s)`, `hour(s)`, `d`, `day(s)` (`<duration>`), and
   any remaining number, with its decimals (`<num>`).
2. Collapse runs of ASCII whitespace to one space and strip both ends.
3. Join `v1`, source, service (empty when absent), kind and the masked title with the
   unit separator U+001F, encode as UTF-8, take SHA-256, and keep the first 32 hex
   digits.

Only ASCII character classes and SHA-256 are used, so the result is the same in every
process, on every platform and on every Python version (Python's `hash()` is not).

>>> mask_volatile("timeout after 3012ms on order 88123")
'timeout after <duration> on order <num>'
>>> derive_fingerprint("sentry", "checkout", "error", "timeout after 3012ms on order 88123") == (
...     derive_fingerprint("sentry", "checkout", "error", "timeout after 2977ms on order 12")
... )
True
"""

from __future__ import annotations

import functools
import hashlib
import re

__all__ = ["FINGERPRINT_VERSION", "THEME_LENGTH", "derive_fingerprint", "mask_volatile", "theme_of"]

FINGERPRINT_VERSION = 1
"""The version of the algorithm `derive_fingerprint` implements."""

_SEPARATOR = "\x1f"

# Order matters: a uuid holds hex runs and numbers, a quoted string may hold anything.
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b",
            re.ASCII | re.IGNORECASE,
        ),
        "<uuid>",
    ),
    (re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`"), "<str>"),
    (
        re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*[0-9])[0-9a-f]{8,}\b", re.ASCII | re.IGNORECASE),
        "<hex>",
    ),
    (
        re.compile(
            r"(?<![\w.])[0-9]+(?:\.[0-9]+)?[ ]?"
            r"(?:ns|us|µs|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b",
            re.ASCII | re.IGNORECASE,
        ),
        "<duration>",
    ),
    (re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII), "<num>"),
)
_WHITESPACE = re.compile(r"\s+", re.ASCII)


def mask_volatile(title: str) -> str:
    """Replace the volatile parts of a title with placeholders (see the module docs).

    The masked title is also the signal's *theme*: two signals with the same masked
    title describe the same kind of failure, even across sources.
    """
    return _masked(title)


# Storms repeat the same few titles, and six regex passes per signal showed in the
# routing profiles: recent answers are kept.
@functools.lru_cache(maxsize=4096)
def _masked(title: str) -> str:
    masked = title
    for pattern, placeholder in _MASKS:
        masked = pattern.sub(placeholder, masked)
    return _WHITESPACE.sub(" ", masked).strip()


def derive_fingerprint(source: str, service: str | None, kind: str, title: str) -> str:
    """Derive the version-1 fingerprint of a signal (32 lowercase hex digits)."""
    parts = ("v1", source, service or "", kind, mask_volatile(title))
    digest = hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8"))
    return digest.hexdigest()[:32]


THEME_LENGTH = 500
"""The longest theme kept, in characters: stored themes are indexed, and PostgreSQL
refuses an index entry over about 2.7 KB (500 characters are at most 2 KB)."""


def theme_of(title: str) -> str:
    """A title's theme: its volatile parts masked (`mask_volatile`), cut to
    `THEME_LENGTH` characters. Signals and tickets sharing a theme are one problem
    seen again (correlation, insights)."""
    return mask_volatile(title)[:THEME_LENGTH]
