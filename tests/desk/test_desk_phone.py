"""Phone numbers at the help desk: which are valid, when two spellings are one, masking."""

from __future__ import annotations

import pytest

from wire.desk.phone import mask_phone, normalise_phone, phone_key, phone_problem, scrub_phone


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("0151-2345-6789", "015123456789"),
        ("1234567", "1234567"),
        ("+123456789012345", "+123456789012345"),
        ("  555 0100 222 ", "5550100222"),
        ("+1 (202) 555-0147", "+12025550147"),
        ("202.555.0147", "2025550147"),
        ("+44 (0) 7700 900123", "+447700900123"),
    ],
)
def test_valid_phone_numbers(typed: str, normal: str) -> None:
    assert normalise_phone(typed) == normal
    assert phone_problem(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "123456",
        "1234567890123456",
        "+44 (0) 7700",
        "7700 900123 ext 4",
        "44+7700900123",
        "++447700900123",
        "٠١٢٣٤٥٦٧",
        "-1234567",
        "phone",
    ],
)
def test_invalid_phone_numbers(typed: str) -> None:
    assert normalise_phone(typed) is None
    assert "7 to 15 digits" in (phone_problem(typed) or "")


@pytest.mark.parametrize("typed", ["0000000", "+1 111 111 1111", "9999-9999"])
def test_one_digit_over_and_over_is_no_number(typed: str) -> None:
    assert normalise_phone(typed) is None
    assert "real mobile number" in (phone_problem(typed) or "")


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("+447700900123", "07700900123", True),
        ("+447700900123", "447700900123", True),
        ("+12025550147", "2025550147", True),
        ("5550147", "5550147", True),
        ("+447700900123", "07700900124", False),
        ("5550147", "2025550147", False),
    ],
)
def test_one_number_however_it_is_written(one: str, other: str, same: bool) -> None:
    assert (phone_key(one) == phone_key(other)) is same


def test_masking_keeps_the_last_two_digits() -> None:
    assert mask_phone("+447700900123") == "**********23"
    assert mask_phone("1234567") == "*****67"


def test_scrubbing_catches_the_number_in_any_spelling() -> None:
    phone = "+447700900123"
    text = "call +44 7700 900123, 07700-900-123 or 7700900123; exam on 2024-05-01, id 1234567"
    scrubbed = scrub_phone(text, phone)
    assert "900123" not in scrubbed
    assert "2024-05-01" in scrubbed and "1234567" in scrubbed
    assert scrub_phone("no digits here", phone) == "no digits here"
