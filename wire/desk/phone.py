"""Phone numbers at the help desk: valid, the same number, masked."""

from __future__ import annotations

import re

#: Digits in a phone number: E.164 allows at most 15; 7 is the shortest local number.
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15


_PHONE_SHAPE = re.compile(r"\+?[0-9(][0-9 \-.()]*")
_TRUNK_ZERO = re.compile(r"^(\+\d{1,3})\s*\(0\)")


def normalise_phone(text: str) -> str | None:
    """The number as an optional '+' then digits, or None if `text` is not one (`+1 (202)
    555-0147`, `202.555.0147`). A trunk `(0)` after the country code is not dialled from abroad,
    so it is not kept."""
    stripped = text.strip()
    if not stripped.isascii() or not _PHONE_SHAPE.fullmatch(stripped):
        return None
    stripped = _TRUNK_ZERO.sub(r"\1", stripped)
    digits = "".join(ch for ch in stripped if ch.isdigit())
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS or _placeholder(digits):
        return None
    return ("+" if stripped.startswith("+") else "") + digits


#: Trailing digits that make two numbers the same number (see `phone_key`).
PHONE_KEY_DIGITS = 9


def phone_key(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-PHONE_KEY_DIGITS:]


def _placeholder(digits: str) -> bool:
    """One digit over and over (`0000000`): no number to call back, nor to tell people apart."""
    return len(set(digits)) == 1


def phone_problem(text: str) -> str | None:
    if normalise_phone(text) is not None:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.strip().isascii() and _PHONE_SHAPE.fullmatch(text.strip()) and _placeholder(digits):
        return "Please give your real mobile number: the operator may need to call you back."
    return (
        f"A mobile number has {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits, with an "
        "optional leading '+'; spaces, dashes, dots and brackets are allowed (e.g. +44 7700 "
        "900123)."
    )


def mask_phone(phone: str) -> str:
    """`+44 7700 900123` -> `*********23`."""
    digits = [ch for ch in phone if ch.isdigit()]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


#: A run of at least MIN_PHONE_DIGITS digits, with spaces, dashes, dots or brackets between.
_DIGIT_RUN = re.compile(r"\+?\d(?:[ \-.()/]*\d){%d,}" % (MIN_PHONE_DIGITS - 1))  # noqa: UP031


def mask_numbers(text: str) -> str:
    return _DIGIT_RUN.sub(lambda match: mask_phone(match.group()), text)


def scrub_phone(text: str, phone: str) -> str:
    """`text` with the person's own number masked wherever it appears."""
    tail = "".join(ch for ch in phone if ch.isdigit())[-MIN_PHONE_DIGITS:]
    if len(tail) < MIN_PHONE_DIGITS:
        return text

    def mask(match: re.Match[str]) -> str:
        digits = "".join(ch for ch in match.group() if ch.isdigit())
        return mask_phone(digits) if digits.endswith(tail) else match.group()

    return _DIGIT_RUN.sub(mask, text)
