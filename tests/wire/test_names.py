"""Names of peers and rooms: 1-32 ASCII letters, digits, '_', '-', '.', not starting with
'.'; unique ignoring case (docs/PROTOCOL.md, "Who owns a name")."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire.limits import MAX_NAME
from wire.names import name_key, name_problem

ALLOWED = frozenset(string.ascii_letters + string.digits + "_-.")

VALID = [
    "a",
    "Z",
    "0",
    "_",
    "-",
    "alice",
    "Bob_99",
    "a.b",
    "a..b",
    "trailing.",
    "-leading-dash",
    "_hidden",
    "9lives",
    "x" * MAX_NAME,
    "A1-b2_c3.d4",
]

INVALID = [
    "",
    ".",
    ".hidden",
    "..",
    "x" * (MAX_NAME + 1),
    "." + "x" * (MAX_NAME - 1),
    "a b",
    " a",
    "a ",
    "a\n",  # a regex `$` would let a trailing newline through
    "\na",
    "a\tb",
    "a/b",
    "a\\b",
    "a@b",
    "a:b",
    "a,b",
    "a+b",
    "\u00e9",
    "caf\u00e9",
    "\uff41",  # fullwidth a
    "\u2168",  # a roman numeral letter
    "\u0661\u0662",  # Arabic-Indic digits
    "\u00df",  # sharp s, which casefolds to "ss"
    "\u212a",  # the Kelvin sign, which lowercases to ASCII k
    "a\u0130",  # dotted capital I
    "\u540d\u524d",
    "a\x00",
    "a\u200b",  # zero-width space
    "\ud800",
]


@pytest.mark.parametrize("name", VALID)
def test_valid_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names(name: str) -> None:
    problem = name_problem(name)
    assert isinstance(problem, str)
    assert problem


def test_problems_say_what_is_wrong() -> None:
    assert "empty" in (name_problem("") or "")
    assert str(MAX_NAME) in (name_problem("x" * (MAX_NAME + 1)) or "")
    assert "'.'" in (name_problem(".x") or "")
    assert "letters" in (name_problem("a b") or "")


def reference_valid(name: str) -> bool:
    return (
        1 <= len(name) <= MAX_NAME
        and not name.startswith(".")
        and all(ch in ALLOWED for ch in name)
    )


@settings(deadline=None)
@given(
    st.one_of(
        st.text(alphabet=sorted(ALLOWED), max_size=MAX_NAME + 3),
        st.text(
            alphabet=[*sorted(ALLOWED), " ", "\n", "\u00e9", "\u212a", "/", "\u0663"],
            max_size=MAX_NAME + 3,
        ),
        st.text(max_size=MAX_NAME + 3),
    )
)
def test_name_problem_matches_the_rule(name: str) -> None:
    assert (name_problem(name) is None) == reference_valid(name)


valid_names = st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,31}", fullmatch=True)


@settings(deadline=None)
@given(valid_names)
def test_generated_valid_names_pass(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [("alice", "ALICE"), ("Alice", "aLiCe"), ("bob_1", "BOB_1"), ("a.b-c", "A.B-C")],
)
def test_name_key_ignores_case(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("a", "b"), [("alice", "alicia"), ("a.b", "a-b"), ("x1", "x_1")])
def test_name_key_keeps_other_differences(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


@settings(deadline=None)
@given(a=valid_names, b=valid_names, flips=st.lists(st.booleans(), max_size=MAX_NAME))
def test_name_key_is_case_insensitive_equality(a: str, b: str, flips: list[bool]) -> None:
    # Two valid names share a key exactly when they differ only in case.
    assert (name_key(a) == name_key(b)) == (a.lower() == b.lower())
    mixed = "".join(ch.swapcase() if i < len(flips) and flips[i] else ch for i, ch in enumerate(a))
    assert name_problem(mixed) is None
    assert name_key(mixed) == name_key(a)
