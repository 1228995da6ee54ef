"""What every webhook source shares: header lookup, HMAC checks, JSON reading.

- `Payload` reads a decoded body by dotted path and expected type, raising
  `PayloadError` that names the source and the field; parsers are written against it
  so that no vendor payload can make them raise anything else.
- `check_signature` verifies the `<prefix><hex HMAC-SHA256>` headers of Sentry,
  GitHub, Jira and PagerDuty (several entries for secret rotation) in constant time.
- `WebhookSource` and `HmacWebhookSource` hold what every built-in source does the same
  way: refusing deliveries while no secret is configured, decoding the body, the
  delivery id, a repr without secrets.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

import httpx
from pydantic import SecretStr

from feedbackloop._models import DeferredRaw
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._http import HTTPClient
from feedbackloop.errors import PayloadError, SignatureError, ValidationError
from feedbackloop.settings import ConnectorSettings

__all__ = [
    "HmacWebhookSource",
    "Payload",
    "WebhookSource",
    "body_digest",
    "check_signature",
    "compact",
    "header",
    "hmac_sha256_hex",
    "matches_any",
    "read_json",
    "require_aware",
    "require_header",
    "secrets_of",
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


def _signer(secret: str) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with `secret` and fed nothing: copied for each body, which
    spares setting the key up again for every delivery."""
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def _signed_hex(signer: hmac.HMAC, body: bytes) -> str:
    mac = signer.copy()
    mac.update(body)
    return mac.hexdigest()


def matches_any(candidates: Iterable[str], secrets: Iterable[str], body: bytes) -> bool:
    """True when any candidate hex signature equals the HMAC of `body` under any secret.

    Every comparison runs in constant time; all pairs are compared, so the time does
    not reveal which secret or which candidate matched.
    """
    return _matches_any(candidates, [_signer(secret) for secret in secrets], body)


def _matches_any(candidates: Iterable[str], signers: Iterable[hmac.HMAC], body: bytes) -> bool:
    expected = [_signed_hex(signer, body) for signer in signers]
    found = False
    for candidate in candidates:
        normalised = candidate.strip().lower()
        for digest in expected:
            found |= hmac.compare_digest(normalised, digest)
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
    except ValueError as exc:  # a number too long to convert (over 4,300 digits)
        raise PayloadError(
            f"{source}: body holds an unreadable value: {exc}", source=source
        ) from None
    except RecursionError:
        raise PayloadError(f"{source}: body is nested too deeply", source=source) from None


def compact(**labels: str | None) -> dict[str, str]:
    """Labels from keyword arguments, leaving out the ones without a value."""
    return {key: value for key, value in labels.items() if value is not None}


def require_aware(moment: datetime, *, source: str) -> datetime:
    """`moment` in UTC; a naive datetime is a ValidationError (polling takes aware times)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(
            f"{source}: poll(since=...) needs a timezone-aware datetime, "
            f"e.g. datetime.now(timezone.utc); got naive {moment.isoformat()}"
        )
    return moment.astimezone(UTC)


def body_digest(body: bytes) -> str:
    """A delivery id for vendors that send none: the SHA-256 of the raw body."""
    return hashlib.sha256(body).hexdigest()


# --- reading payloads ------------------------------------------------------------------

_T = TypeVar("_T")
_KIND_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    dict: "an object",
    list: "a list",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return _KIND_NAMES.get(type(value), type(value).__name__)


@dataclass(frozen=True, slots=True, init=False)
class Payload:
    """A read-only view of a decoded JSON value that names the field it cannot read.

    Every accessor takes a dotted path relative to this view (`"data.issue.id"`; `""`
    is the view itself) and either returns a value of the expected type or raises
    `PayloadError` carrying the source and the full dotted path of the field. JSON
    `null` counts as absent. Parsers built on it never raise `KeyError`, `TypeError`
    or `AttributeError`, whatever the vendor (or an attacker) sends.
    """

    value: Any
    source: str
    path: str = ""
    body: bytes | None = field(default=None, repr=False, compare=False)
    """The JSON body `value` was decoded from, for a whole body (`from_body`)."""

    def __init__(self, value: Any, source: str, path: str = "", body: bytes | None = None) -> None:
        # A frozen dataclass sets each field through object.__setattr__, which costs more
        # than most reads; parsers make several views per delivery, so the slots are set
        # directly.
        _set_value(self, value)
        _set_source(self, source)
        _set_path(self, path)
        _set_body(self, body)

    @classmethod
    def from_body(cls, body: bytes, *, source: str) -> Payload:
        """Decode `body`, which must be a JSON object."""
        value = read_json(body, source=source)
        if not isinstance(value, dict):
            raise PayloadError(
                f"{source}: body must be a JSON object, got {_describe(value)}", source=source
            )
        return cls(value, source, body=body)

    @property
    def raw(self) -> Any:
        """What an event's `raw` keeps of this payload.

        For a whole body, a `DeferredRaw` that decodes the body again on first read of
        `raw` (events waiting in a batch then hold the body's bytes, not its decoded
        tree); for any other view, the decoded value itself.
        """
        body = self.body
        if body is None:
            return self.value
        return DeferredRaw(functools.partial(read_json, body, source=self.source))

    def _where(self, path: str) -> str:
        if self.path and path:
            return f"{self.path}.{path}"
        return self.path or path or "(body)"

    def error(self, path: str, problem: str) -> PayloadError:
        """A PayloadError about field `path`: `"<source>: <field>: <problem>"`."""
        where = self._where(path)
        return PayloadError(f"{self.source}: {where}: {problem}", source=self.source, field=where)

    def _lookup(self, path: str) -> Any:
        # The hot path of every parser: no bookkeeping of the walk, which `_walk_error`
        # redoes only when a step lands on something that is not an object.
        value = self.value
        if "." not in path and path and isinstance(value, dict):
            return value.get(path)  # one step: most fields are read so
        for part in _parts(path):
            if isinstance(value, dict):
                value = value.get(part)
            elif value is None:
                return None
            else:
                raise self._walk_error(path)
        return value

    def _walk_error(self, path: str) -> PayloadError:
        value = self.value
        walked: list[str] = []
        for part in _parts(path):
            if not isinstance(value, dict):
                break
            value = value.get(part)
            walked.append(part)
        return self.error(".".join(walked), f"expected an object, got {_describe(value)}")

    def optional(self, path: str, kind: type[_T]) -> _T | None:
        """The value at `path` if present, else None; a wrong type is an error.

        Strings that are empty or only whitespace count as absent (an unfilled template
        variable reads the same as a missing one).
        """
        value = self._lookup(path)
        if type(value) is kind and (not isinstance(value, str) or value.strip()):
            return value  # the common case: exactly the type asked for
        return self._typed(path, value, kind)

    def _typed(self, path: str, value: Any, kind: type[_T]) -> _T | None:
        """`optional`'s rules applied to `value`, already read from `path`."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        # bool is an int subclass, and JSON integers are valid numbers.
        wrong_bool = isinstance(value, bool) and kind is not bool
        number = kind is float and isinstance(value, int) and not isinstance(value, bool)
        if number:
            return float(value)  # type: ignore[return-value]
        if wrong_bool or not isinstance(value, kind):
            expected = _KIND_NAMES.get(kind, kind.__name__)
            raise self.error(path, f"expected {expected}, got {_describe(value)}")
        return value

    def require(self, path: str, kind: type[_T]) -> _T:
        """The value at `path`, which must be present and of type `kind`."""
        value = self.optional(path, kind)
        if value is None:
            raise self.error(path, "is missing")
        return value

    def optional_ident(self, path: str) -> str | None:
        """An identifier that vendors send as a string or an integer, as a string."""
        value = self._lookup(path)
        if type(value) is str and value.strip():
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self._typed(path, value, str)

    def ident(self, path: str) -> str:
        """A required identifier (string or integer), as a string."""
        value = self.optional_ident(path)
        if value is None:
            raise self.error(path, "is missing")
        return value

    def optional_time(self, path: str) -> datetime | None:
        """A point in time: ISO 8601 text, or epoch seconds or milliseconds (number or digits).

        Times without a zone are taken as UTC; numbers above 10^11 as milliseconds.
        """
        value = self._lookup(path)
        if isinstance(value, str):
            stripped = value.strip()
            if _is_epoch_text(stripped):
                return self._epoch(path, float(stripped))
            if stripped:
                return self._iso(path, value, stripped)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self._epoch(path, value)
        text = self._typed(path, value, str)
        if text is None:
            return None
        return self._iso(path, text, text.strip())

    def _iso(self, path: str, text: str, stripped: str) -> datetime:
        try:
            moment = datetime.fromisoformat(stripped.removesuffix(" UTC"))
        except ValueError:
            raise self.error(path, f"not an ISO 8601 time: {text[:60]!r}") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def _epoch(self, path: str, value: float) -> datetime:
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise self.error(path, f"not a valid epoch time: {value!r}") from None

    def time(self, path: str) -> datetime:
        """A required point in time (see `optional_time`)."""
        value = self.optional_time(path)
        if value is None:
            raise self.error(path, "is missing")
        return value

    def at(self, path: str) -> Payload:
        """The object at `path` as a view; an empty view when it is absent."""
        value = self.optional(path, dict)
        return Payload({} if value is None else value, self.source, self._where(path))

    def each(self, path: str) -> list[Payload]:
        """The objects in the list at `path` (none when it is absent), each as a view."""
        items = self.optional(path, list) or []
        views = []
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise self.error(where, f"expected an object, got {_describe(item)}")
            views.append(Payload(item, self.source, self._where(where)))
        return views

    def build(self, model: Callable[..., _T], **fields: Any) -> _T:
        """Build a model from the fields read, turning a validation error into PayloadError.

        A value the model rejects (a resolve time before the creation time, say) is a
        payload the source cannot read, so it is reported as such, naming the model's field.
        """
        try:
            return model(**fields)
        except ValidationError as exc:
            where = ",".join(
                ".".join(str(part) for part in error.get("loc", ())) for error in exc.errors
            )
            raise PayloadError(
                f"{self.source}: {exc.message}",
                source=self.source,
                field=where or None,
                errors=exc.errors,
            ) from exc


_set_value, _set_source, _set_path, _set_body = (
    vars(Payload)[name].__set__ for name in Payload.__slots__
)
_EPOCH = re.compile(r"-?\d{1,16}(\.\d+)?")


def _is_epoch_text(text: str) -> bool:
    """Whether `text` (stripped) matches `_EPOCH`, trying the cheap tests first."""
    if text.isdecimal():  # what \d matches; most epoch texts are plain digits
        return len(text) <= 16
    # Epoch text ends in a digit; ISO text mostly ends in Z, which spares the regex.
    return text[-1:].isdecimal() and _EPOCH.fullmatch(text) is not None


@functools.lru_cache(maxsize=1024)
def _parts(path: str) -> tuple[str, ...]:
    """The steps of a dotted path; parsers ask for the same few paths again and again."""
    return tuple(path.split(".")) if path else ()


# --- signatures ------------------------------------------------------------------------

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def check_signature(
    headers: Headers,
    body: bytes,
    secrets: Sequence[str],
    *,
    source: str,
    header_name: str,
    prefix: str = "",
) -> None:
    """Verify a `<prefix><hex HMAC-SHA256 of the raw body>` signature header.

    The header may hold several comma-separated entries (PagerDuty sends one `v1=` entry
    per active secret during a rotation); the delivery is accepted when any entry
    matches the body under any secret. Entries with another prefix (a future signature
    version) are skipped. Comparisons run in constant time.

    Raises:
        SignatureError: the header is missing, holds no well-formed entry, or no entry
            matches.
    """
    candidates = _signature_entries(headers, source=source, header_name=header_name, prefix=prefix)
    signers = [_signer(secret) for secret in secrets]
    _require_match(candidates, signers, body, source=source, header_name=header_name)


def _signature_entries(
    headers: Headers, *, source: str, header_name: str, prefix: str
) -> list[str]:
    """The well-formed hex digests of the signature header (see `check_signature`)."""
    value = require_header(headers, header_name, source=source)
    candidates: list[str] = []
    for part in value.split(","):
        entry = part.strip()
        if not entry.startswith(prefix):
            continue
        digest = entry.removeprefix(prefix)
        if _HEX_SHA256.fullmatch(digest):  # a malformed entry is skipped, as the docs say
            candidates.append(digest)
    if not candidates:
        raise SignatureError(
            f"{source}: malformed {header_name} header: expected {prefix}<64 hex digits>",
            source=source,
        )
    return candidates


def _require_match(
    candidates: list[str],
    signers: Iterable[hmac.HMAC],
    body: bytes,
    *,
    source: str,
    header_name: str,
) -> None:
    if not _matches_any(candidates, signers, body):
        raise SignatureError(
            f"{source}: {header_name} does not match the body "
            "(a wrong secret, or the body was altered on the way)",
            source=source,
        )


def secrets_of(values: str | SecretStr | Iterable[str | SecretStr] | None) -> tuple[SecretStr, ...]:
    """Normalise one secret, several, or None to a tuple of SecretStr; blanks are dropped.

    A single string is one secret, commas and all; split a list-valued setting first.
    """
    if values is None:
        return ()
    if isinstance(values, str | SecretStr):
        values = [values]
    found = []
    for value in values:
        secret = value if isinstance(value, SecretStr) else SecretStr(value)
        if secret.get_secret_value().strip():
            found.append(secret)
    return tuple(found)


# --- the shared source machinery -------------------------------------------------------


class WebhookSource:
    """What every built-in webhook source shares; subclasses say what is vendor-specific.

    A subclass sets `name`, `delivery_header` (the vendor's delivery id header, if any)
    and `configure_hint`, and implements `_configured`, `_check` and `_read`.
    """

    name: ClassVar[str]
    delivery_header: ClassVar[str | None] = None
    configure_hint: ClassVar[str] = "configure a webhook secret"
    settings: ClassVar[type[ConnectorSettings]]
    # Sources that also call the vendor's API (polling, two-way sync) set `_transport`
    # and get their client from `_api`.
    _transport: httpx.AsyncBaseTransport | None = None
    _http: HTTPClient | None = None

    def __init__(self, *, verify: bool = True) -> None:
        self._verify = verify

    def _api(self, base_url: str, headers: dict[str, str]) -> HTTPClient:
        """The vendor's API client, built on first use (receiving needs none)."""
        if self._http is None:
            self._http = HTTPClient(
                connector=self.name, base_url=base_url, headers=headers, transport=self._transport
            )
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP connections the source opened to call the vendor's API."""
        if self._http is not None:
            await self._http.aclose()

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """Build the source from `FEEDBACKLOOP_<NAME>_*` environment variables.

        Args:
            **options: Constructor arguments that win over the environment
                (`verify=False`, `transport=...`).

        Raises:
            ConfigurationError: a setting is invalid; names the variable.
        """
        return cls(**{**dict(cls.settings.load()), **options})

    def _configured(self) -> bool:
        raise NotImplementedError

    def _check(self, headers: Headers, body: bytes) -> None:
        raise NotImplementedError

    def _read(self, headers: Headers, payload: Payload) -> list[Event]:
        raise NotImplementedError

    def verify(self, headers: Headers, body: bytes) -> None:
        """Check that the delivery comes from the vendor.

        Raises:
            SignatureError: the signature or token is missing, malformed or wrong, or no
                secret is configured (unless the source was built with `verify=False`).
        """
        if not self._verify:
            return
        if not self._configured():
            raise SignatureError(
                f"{self.name}: no webhook secret is configured, so deliveries are refused; "
                f"{self.configure_hint} (or build the source with verify=False for local "
                "experiments)",
                source=self.name,
            )
        self._check(headers, body)

    def parse(self, headers: Headers, body: bytes) -> list[Event]:
        """Read a verified delivery into events; an empty list for deliveries to ignore.

        Every event keeps the payload in `raw`, decoded again on first read.

        Raises:
            PayloadError: the body is not a JSON object or a field cannot be read; the
                error names the field.
        """
        return self._read(headers, Payload.from_body(body, source=self.name))

    def delivery_id(self, headers: Headers, body: bytes) -> str:
        """The vendor's delivery id header when sent, else the SHA-256 of the body."""
        if self.delivery_header is not None:
            value = header(headers, self.delivery_header)
            if value and value.strip():
                return value.strip()
        return body_digest(body)

    def __repr__(self) -> str:
        state = "configured" if self._configured() else "not configured"
        return f"{type(self).__name__}(verify={self._verify}, secret {state})"


class HmacWebhookSource(WebhookSource):
    """A source whose vendor signs the raw body with HMAC-SHA256 in one header."""

    signature_header: ClassVar[str]
    signature_prefix: ClassVar[str] = ""

    def __init__(
        self, *, secrets: str | SecretStr | Iterable[str | SecretStr] | None, verify: bool = True
    ) -> None:
        super().__init__(verify=verify)
        self._secrets = secrets_of(secrets)
        self._signers: tuple[hmac.HMAC, ...] | None = None  # keyed on first use

    def _configured(self) -> bool:
        return bool(self._secrets)

    def _check(self, headers: Headers, body: bytes) -> None:
        candidates = _signature_entries(
            headers,
            source=self.name,
            header_name=self.signature_header,
            prefix=self.signature_prefix,
        )
        _require_match(
            candidates, self._keyed(), body, source=self.name, header_name=self.signature_header
        )

    def _keyed(self) -> tuple[hmac.HMAC, ...]:
        """The secrets as keyed HMACs, made once rather than for every delivery."""
        if self._signers is None:
            self._signers = tuple(_signer(secret.get_secret_value()) for secret in self._secrets)
        return self._signers
