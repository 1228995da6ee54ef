"""Fingerprints: stable, masked, and sensitive to what identifies a problem."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from feedbackloop.fingerprint import THEME_LENGTH, derive_fingerprint, mask_volatile, theme_of

words = st.sampled_from(["timeout", "on", "order", "failed", "for", "user", "db", "call"])
volatile = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.uuids().map(str),
    st.binary(min_size=4, max_size=16).map(lambda b: "0x" + b.hex()),
    st.integers(min_value=0, max_value=99999).map(lambda n: f"{n}ms"),
    st.integers(min_value=0, max_value=99).map(lambda n: f"{n} minutes"),
    st.text(alphabet="abcdefXYZ 12_-", max_size=12).map(lambda s: f"'{s}'"),
)
templates = st.lists(st.one_of(words, st.just("{}")), min_size=1, max_size=8)


def fill(template: list[str], values: list[str]) -> str:
    it = iter(values)
    return " ".join(next(it) if part == "{}" else part for part in template)


class TestMasking:
    def test_the_documented_example_masks_duration_and_number(self) -> None:
        """The example from the design masks to one theme."""
        assert mask_volatile("timeout after 3012ms on order 88123") == (
            "timeout after <duration> on order <num>"
        )

    def test_uuids_hex_ids_and_quoted_strings_are_masked(self) -> None:
        """Each volatile kind has its own placeholder."""
        title = "user 550e8400-e29b-41d4-a716-446655440000 at 0xdeadbeef said 'hi there'"
        assert mask_volatile(title) == "user <uuid> at <hex> said <str>"

    def test_whitespace_is_collapsed(self) -> None:
        """Runs of spaces, tabs and newlines count as one space."""
        assert mask_volatile("  a \t b\n c ") == "a b c"

    @given(templates, st.data())
    def test_volatile_parts_do_not_change_the_fingerprint(
        self, template: list[str], data: st.DataObject
    ) -> None:
        """Two titles that differ only in volatile values share a fingerprint."""
        holes = template.count("{}")
        first = data.draw(st.lists(volatile, min_size=holes, max_size=holes))
        second = data.draw(st.lists(volatile, min_size=holes, max_size=holes))
        kinds_match = all(
            _placeholder(a) == _placeholder(b) for a, b in zip(first, second, strict=True)
        )
        if kinds_match:
            assert derive_fingerprint("sentry", "api", "error", fill(template, first)) == (
                derive_fingerprint("sentry", "api", "error", fill(template, second))
            )


def _placeholder(value: str) -> str:
    return mask_volatile(value)


class TestDerivation:
    @given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
    def test_different_services_give_different_fingerprints(
        self, title: str, service_a: str, service_b: str
    ) -> None:
        """The same failure in two services is two problems."""
        if service_a != service_b:
            assert derive_fingerprint("sentry", service_a, "error", title) != (
                derive_fingerprint("sentry", service_b, "error", title)
            )

    @given(st.text(min_size=1), st.sampled_from(["error", "alert", "incident", "support"]))
    def test_different_kinds_give_different_fingerprints(self, title: str, kind: str) -> None:
        """An alert and an error with the same title are kept apart."""
        other = "deploy"
        assert derive_fingerprint("x", "svc", kind, title) != derive_fingerprint(
            "x", "svc", other, title
        )

    def test_golden_values_pin_the_algorithm(self) -> None:
        """Changing these values changes stored data: that needs a migration, not an edit."""
        assert derive_fingerprint(
            "sentry", "checkout", "error", "timeout after 3012ms on order 88123"
        ) == ("1d7ed884322fdc63bb969a789f2d730c")
        assert derive_fingerprint(
            "datadog", None, "alert", "CPU above 90% on host i-0abc12345def"
        ) == ("468d398bc4e5dbbd3905dca3968bf4a3")

    def test_the_fingerprint_is_the_same_in_another_process(self) -> None:
        """No per-process hash seed leaks into the value."""
        code = (
            "from feedbackloop.fingerprint import derive_fingerprint as d;"
            "print(d('sentry', 'checkout', 'error', 'timeout after 3012ms on order 88123'))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": "123"},
        )
        assert out.stdout.strip() == "1d7ed884322fdc63bb969a789f2d730c"


def test_a_theme_is_the_masked_title_cut_to_a_length_any_index_takes() -> None:
    """PostgreSQL refuses index entries over about 2.7 KB; a theme stays far below it."""
    title = "timeout after 3012ms: " + "é" * 5000
    assert theme_of(title) == mask_volatile(title)[:THEME_LENGTH]
    assert len(theme_of(title).encode()) <= 2 * 1024
