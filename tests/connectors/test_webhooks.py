"""The shared webhook machinery: reading payloads, checking signatures, refusing by default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from feedbackloop import DeferredRaw, Signal
from feedbackloop.connectors import PollingSource, Source
from feedbackloop.connectors._webhooks import HmacWebhookSource, Payload, check_signature
from feedbackloop.connectors.datadog import DatadogSource
from feedbackloop.connectors.github import GitHubSource
from feedbackloop.connectors.jira import JiraSource
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.errors import PayloadError, SignatureError, ValidationError
from tests.connectors.payloads import hub_signature

SECRET = "s3cret-Δ-value"
BODY = b'{"action": "created"}'


def view(value: Any) -> Payload:
    return Payload(value, "acme")


class TestPayload:
    def test_a_dotted_path_reads_a_nested_value(self) -> None:
        """`require` walks objects by dotted path and returns the typed value."""
        assert view({"data": {"issue": {"id": "42"}}}).require("data.issue.id", str) == "42"

    def test_a_missing_field_names_source_and_full_path(self) -> None:
        """The error carries the source and the dotted path from the body's root."""
        with pytest.raises(PayloadError, match=r"acme: data\.issue\.title: is missing") as info:
            view({"data": {"issue": {}}}).at("data.issue").require("title", str)
        assert (info.value.source, info.value.field) == ("acme", "data.issue.title")

    def test_a_wrong_type_says_what_was_expected_and_found(self) -> None:
        """A number where text belongs is reported, never a TypeError."""
        with pytest.raises(PayloadError, match="expected a string, got an integer"):
            view({"title": 3}).require("title", str)

    def test_walking_through_a_non_object_is_a_payload_error(self) -> None:
        """A list where an object belongs stops the walk with a PayloadError naming it."""
        with pytest.raises(PayloadError, match=r"data: expected an object, got a list"):
            view({"data": [1]}).optional("data.issue", dict)

    def test_null_and_blank_text_count_as_absent(self) -> None:
        """JSON null and unfilled template variables read as None."""
        assert view({"a": None, "b": "  "}).optional("a", str) is None
        assert view({"a": None, "b": "  "}).optional("b", str) is None

    def test_booleans_are_not_integers(self) -> None:
        """`true` is not accepted where an integer is expected."""
        with pytest.raises(PayloadError, match="expected an integer, got a boolean"):
            view({"n": True}).require("n", int)

    def test_identifiers_may_be_numbers_or_text(self) -> None:
        """Vendors send ids either way; both read as text."""
        assert view({"id": 7}).ident("id") == "7"
        assert view({"id": "7"}).ident("id") == "7"

    @pytest.mark.parametrize(
        "value",
        [
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20+00:00",
            1700000000,
            1700000000000,
            "1700000000000",
            "2023-11-14 22:13:20 UTC",
            "1700000000\x1f",  # str.strip() takes it as space; float() did not
        ],
    )
    def test_times_read_from_iso_text_and_epoch_numbers(self, value: Any) -> None:
        """ISO 8601 text and epoch seconds or milliseconds give the same aware time."""
        assert view({"t": value}).time("t") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)

    @pytest.mark.parametrize("value", ["yesterday", 1e300, "9" * 16])
    def test_unreadable_times_are_payload_errors(self, value: Any) -> None:
        """Text that is no time, and numbers out of range, are reported by field."""
        with pytest.raises(PayloadError, match="t: not"):
            view({"t": value}).time("t")

    def test_each_reads_a_list_of_objects_and_names_a_bad_item(self) -> None:
        """Items that are not objects are reported with their index."""
        assert [item.require("k", str) for item in view({"l": [{"k": "a"}]}).each("l")] == ["a"]
        with pytest.raises(PayloadError, match=r"l\[1\]: expected an object"):
            view({"l": [{"k": "a"}, "b"]}).each("l")

    def test_a_body_that_is_not_an_object_is_refused(self) -> None:
        """A JSON list or string is not a delivery."""
        with pytest.raises(PayloadError, match="body must be a JSON object, got a list"):
            Payload.from_body(b"[1, 2]", source="acme")

    def test_raw_of_a_body_is_decoded_again_on_first_read(self) -> None:
        """A whole body's `raw` defers: the event holds bytes until `raw` is read."""
        payload = Payload.from_body(BODY, source="acme")
        signal = payload.build(
            Signal, source="acme", title="t", occurred_at=datetime.now(UTC), raw=payload.raw
        )
        assert isinstance(payload.raw, DeferredRaw)
        assert signal.raw == {"action": "created"}
        assert signal.raw is not payload.value

    def test_raw_of_a_view_is_its_value(self) -> None:
        """A view that is not a whole body (a polled item) is kept as it is."""
        item = {"id": "1"}
        assert view(item).raw is item
        assert Payload.from_body(BODY, source="acme").at("missing").raw == {}

    def test_build_turns_a_model_rejection_into_a_payload_error(self) -> None:
        """A value the model refuses is a payload the source cannot read."""
        with pytest.raises(PayloadError, match=r"acme: .*title") as info:
            view({}).build(Signal, source="acme", title=" ", occurred_at=datetime.now(UTC))
        assert isinstance(info.value, ValidationError)
        assert info.value.field == "title"


class TestCheckSignature:
    def check(self, value: str | None, body: bytes = BODY, *secrets: str) -> None:
        headers = {} if value is None else {"x-sig": value}
        check_signature(
            headers, body, secrets or (SECRET,), source="acme", header_name="X-Sig", prefix="v1="
        )

    def test_a_matching_entry_passes_whatever_the_header_case(self) -> None:
        """Header names are case-insensitive; the right digest passes."""
        self.check(f"v1={hub_signature(SECRET, BODY)}")

    def test_any_matching_entry_passes(self) -> None:
        """With several entries (rotation), one match is enough."""
        self.check(f"v1={'0' * 64}, v1={hub_signature(SECRET, BODY)}")

    def test_entries_of_an_unknown_version_are_skipped(self) -> None:
        """A future `v2=` entry beside a good `v1=` does not stop the delivery."""
        self.check(f"v2=abc,v1={hub_signature(SECRET, BODY)}")

    def test_a_header_without_an_entry_of_the_prefix_is_malformed(self) -> None:
        """No `v1=` entry at all is a malformed header, not a mismatch."""
        with pytest.raises(SignatureError, match="malformed X-Sig header: expected v1=<64 hex"):
            self.check(hub_signature(SECRET, BODY))


# The four vendors that sign bodies with HMAC-SHA256, and how each writes its header.
HMAC_SOURCES: dict[str, tuple[Callable[[str | None], HmacWebhookSource], str, str]] = {
    "sentry": (lambda s: SentrySource(client_secret=s), "Sentry-Hook-Signature", ""),
    "github": (lambda s: GitHubSource(webhook_secret=s), "X-Hub-Signature-256", "sha256="),
    "jira": (lambda s: JiraSource(webhook_secret=s), "X-Hub-Signature", "sha256="),
    "pagerduty": (lambda s: PagerDutySource(webhook_secrets=s), "X-PagerDuty-Signature", "v1="),
}
hmac_sources = pytest.mark.parametrize("vendor", sorted(HMAC_SOURCES))


def signed(vendor: str, secret: str, body: bytes) -> tuple[HmacWebhookSource, dict[str, str]]:
    build, name, prefix = HMAC_SOURCES[vendor]
    return build(SECRET), {name: prefix + hub_signature(secret, body)}


@hmac_sources
def test_a_correctly_signed_delivery_is_accepted(vendor: str) -> None:
    """The signature over the raw body with the configured secret passes."""
    source, headers = signed(vendor, SECRET, BODY)
    source.verify(headers, BODY)


@hmac_sources
def test_a_tampered_body_is_rejected(vendor: str) -> None:
    """One changed byte after signing fails verification."""
    source, headers = signed(vendor, SECRET, BODY)
    with pytest.raises(SignatureError, match="does not match the body"):
        source.verify(headers, BODY.replace(b"created", b"deleted"))


@hmac_sources
def test_a_signature_made_with_another_secret_is_rejected(vendor: str) -> None:
    """A delivery signed with a wrong secret fails verification."""
    source, headers = signed(vendor, "not-the-secret", BODY)
    with pytest.raises(SignatureError, match="does not match the body"):
        source.verify(headers, BODY)


@hmac_sources
def test_a_missing_signature_header_is_rejected(vendor: str) -> None:
    """No signature header: the error names the header to send."""
    source, headers = signed(vendor, SECRET, BODY)
    with pytest.raises(SignatureError, match=f"missing {next(iter(headers))} header"):
        source.verify({}, BODY)


@hmac_sources
@pytest.mark.parametrize("digest", ["xyz", "ab" * 31, "ab" * 33, ""])
def test_a_malformed_signature_header_is_rejected(vendor: str, digest: str) -> None:
    """A digest that is not 64 hex digits is malformed, never compared."""
    _, name, prefix = HMAC_SOURCES[vendor]
    source = HMAC_SOURCES[vendor][0](SECRET)
    with pytest.raises(SignatureError, match=r"malformed|missing"):
        source.verify({name: prefix + digest}, BODY)


ALL_SOURCES: dict[str, Callable[..., Source]] = {
    "sentry": SentrySource,
    "github": GitHubSource,
    "jira": JiraSource,
    "pagerduty": PagerDutySource,
    "datadog": DatadogSource,
}
all_sources = pytest.mark.parametrize("vendor", sorted(ALL_SOURCES))


@all_sources
def test_a_source_without_a_secret_refuses_deliveries_and_says_how_to_configure(
    vendor: str,
) -> None:
    """Nothing configured: refused, with the environment variable to set and verify=False."""
    with pytest.raises(SignatureError, match=rf"FEEDBACKLOOP_{vendor.upper()}_.*verify=False"):
        ALL_SOURCES[vendor]().verify({}, BODY)


@all_sources
def test_a_source_built_with_verify_false_accepts_unsigned_deliveries(vendor: str) -> None:
    """verify=False is the explicit opt-out for local experiments."""
    ALL_SOURCES[vendor](verify=False).verify({}, BODY)


@all_sources
def test_every_source_implements_the_source_protocol(vendor: str) -> None:
    """Each built-in source is a `Source`; the vendors with an API are `PollingSource`s."""
    source = ALL_SOURCES[vendor](verify=False)
    assert isinstance(source, Source)
    assert isinstance(source, PollingSource) == (vendor in ("sentry", "datadog", "pagerduty"))


@all_sources
def test_a_source_that_never_called_its_vendor_closes_without_opening_anything(
    vendor: str,
) -> None:
    """Receiving needs no API client: closing a source builds none just to close it."""
    source = ALL_SOURCES[vendor](verify=False)
    anyio.run(source.aclose)
    assert source._http is None


@hmac_sources
def test_secrets_never_appear_in_reprs(vendor: str) -> None:
    """The repr says whether a secret is configured, not what it is."""
    source = HMAC_SOURCES[vendor][0](SECRET)
    assert SECRET not in repr(source)
    assert "secret configured" in repr(source)


@all_sources
def test_a_redelivery_without_a_delivery_header_has_the_same_id(vendor: str) -> None:
    """Without the vendor's id header, the id is a digest of the body: stable, distinct."""
    source = ALL_SOURCES[vendor](verify=False)
    assert source.delivery_id({}, BODY) == source.delivery_id({}, BODY)
    assert source.delivery_id({}, BODY) != source.delivery_id({}, BODY + b" ")


@pytest.mark.parametrize(
    ("vendor", "name"),
    [
        ("sentry", "Request-ID"),
        ("github", "X-GitHub-Delivery"),
        ("jira", "X-Atlassian-Webhook-Identifier"),
        ("pagerduty", "X-Webhook-Id"),
    ],
)
def test_the_vendors_delivery_header_is_the_delivery_id(vendor: str, name: str) -> None:
    """Vendors that send a delivery id header have it used, looked up case-insensitively."""
    source = ALL_SOURCES[vendor](verify=False)
    assert source.delivery_id({name.lower(): "d-1"}, BODY) == "d-1"


@all_sources
def test_a_body_that_is_not_json_is_a_payload_error(vendor: str) -> None:
    """Garbage bodies are reported as unreadable, not as crashes."""
    with pytest.raises(PayloadError, match=f"{vendor}: body is not JSON"):
        ALL_SOURCES[vendor](verify=False).parse({}, b"<html>")


@all_sources
def test_a_number_too_long_to_read_is_a_payload_error(vendor: str) -> None:
    """Python refuses to convert integers of over 4,300 digits: a bad payload, not a crash."""
    with pytest.raises(PayloadError, match=f"{vendor}: body holds an unreadable value"):
        ALL_SOURCES[vendor](verify=False).parse({}, b'{"id": ' + b"9" * 5000 + b"}")
