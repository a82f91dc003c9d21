"""Which registry a client uses of those found on the network (launcher/finding.py)."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from launcher.finding import chosen, found_line, menu, none_line, services, several_line
from net.discovery import LOOK, Found
from wire.keys import code_from_text, fingerprint, join_code

KEY_A, KEY_B = os.urandom(32), os.urandom(32)
CODE_A, CODE_B = join_code(KEY_A), join_code(KEY_B)
DIGITS_A = code_from_text(CODE_A)
INSTEAD = "ChatApp -c ann SERVER-IP SERVER-PORT"


def test_one_registry_found_is_used_and_named() -> None:
    (service,) = services([Found("192.168.1.20", 5000, CODE_A)])
    assert service.at == (("192.168.1.20", 5000),) and service.code == DIGITS_A
    assert found_line(service) == "[Found the registry at 192.168.1.20:5000.]"
    assert service.fingerprint == fingerprint(KEY_A)


def test_registries_of_one_key_are_one_service_used_at_its_first_address() -> None:
    found = [Found("10.0.0.9", 5000, CODE_A), Found("10.0.0.2", 5001, CODE_A)]
    (service,) = services(found)
    assert service.where == "10.0.0.2:5001"
    assert found_line(service) == "[Found the registry at 10.0.0.2:5001 (one of 2 of its service).]"


def test_several_keys_are_several_registries_listed_by_address() -> None:
    found = [Found("10.0.0.9", 5000, CODE_A), Found("10.0.0.2", 5000, CODE_B)]
    listed = services(found)
    assert [s.where for s in listed] == ["10.0.0.2:5000", "10.0.0.9:5000"]
    line = several_line(listed, INSTEAD)
    assert line.startswith("[Found 2 registries: 10.0.0.2:5000 (key ")
    assert fingerprint(KEY_A) in line and fingerprint(KEY_B) in line
    assert line.endswith(f"Give the address of one: {INSTEAD}]")
    assert "\n" not in line  # one line, for a script
    lines = menu(listed)
    assert lines[1].startswith("  1) 10.0.0.2:5000") and fingerprint(KEY_B) in lines[1]
    assert chosen(listed, "2") is listed[1] and chosen(listed, " 1) ") is listed[0]
    for answer in ("", "0", "3", "x", "-1", "1.5"):
        assert chosen(listed, answer) is None


def test_a_record_without_a_join_code_is_no_registry() -> None:
    assert services([Found("10.0.0.2", 5000, ""), Found("10.0.0.3", 5000, "12-34")]) == []


def test_none_found_says_the_command_to_give_instead() -> None:
    line = none_line(INSTEAD)
    assert line == (
        f"[No registry answered on this network within {LOOK:g} seconds; give its address "
        f"instead: {INSTEAD}]"
    )
    assert "advertises that join code (2 others" in none_line(INSTEAD, 2, coded=True)


def test_records_of_which_none_proved_its_key_are_said_to_be_checked() -> None:
    assert none_line(INSTEAD, 40, coded=True, checked=12) == (
        f"[No registry on this network proved the key it advertised (12 checked); give its "
        f"address instead: {INSTEAD}]"
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["10.0.0.1", "10.0.0.2", "192.168.1.20"]),
            st.integers(1024, 65535),
            st.sampled_from([CODE_A, CODE_B, "", "junk", CODE_A.replace("-", " ")]),
        ),
        max_size=12,
    )
)
def test_every_registry_with_a_code_is_in_exactly_one_service(
    records: list[tuple[str, int, str]],
) -> None:
    found = [Found(*record) for record in records]
    listed = services(found)
    coded = {(ip, port, code_from_text(code)) for ip, port, code in records}
    coded = {r for r in coded if r[2] is not None}
    assert {(ip, port, s.code) for s in listed for ip, port in s.at} == coded
    assert len({s.code for s in listed}) == len(listed)
    assert all(list(s.at) == sorted(s.at) for s in listed)
