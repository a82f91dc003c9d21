"""registry/core/registration.py alone: who may take a name, and the Welcome."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core import credentials
from registry.core.credentials import token_matches
from registry.core.requests import Request
from tests.registry.parts_helpers import T0, TOKEN, logs, parts, record, refusals, sent
from wire.messages import Register, TableUpdate, Welcome
from wire.names import SERVER_NAME_TAKEN
from wire.refusals import RefusalCode
from wire.version import WIRE_VERSION

AT = ("127.0.0.1", 7001)


def ask(
    name: str, *, port: int = 7001, token: str = "", password: str = "", id: str = ""
) -> Register:
    return Register(id or f"{name}-reg", name, port, token, password, WIRE_VERSION)


def welcome(out: list[ra.Action]) -> Welcome:
    [found] = [m for _, m in sent(out) if isinstance(m, Welcome)]
    return found


def test_a_new_name_is_made_online_and_welcomed_with_a_new_token() -> None:
    p = parts()
    out: list[ra.Action] = []
    p.registration.register(ask("Alice"), Request("Alice-reg", AT, "k1"), T0, out.append)
    alice = p.s.table.get("alice")
    assert alice is not None and alice.online and alice.key == "k1" and alice.addr == AT
    given = welcome(out)
    assert given.name == "Alice" and token_matches(given.token, alice.token)
    assert p.registration.given_tokens["Alice-reg"] == given.token
    assert "registered Alice at 127.0.0.1:7001" in logs(out)


def test_another_version_a_bad_port_and_the_server_s_name_are_refused() -> None:
    p = parts()
    out: list[ra.Action] = []
    old = Register("a-1", "alice", 7001, "", "", "0")
    p.registration.register(old, Request("a-1", AT), T0, out.append)
    p.registration.register(ask("alice", port=0), Request("alice-reg", AT), T0, out.append)
    p.registration.register(ask("Server"), Request("Server-reg", AT), T0, out.append)
    codes = [r.code for r in refusals(out)]
    assert codes == [RefusalCode.VERSION, RefusalCode.OTHER, RefusalCode.OTHER]
    assert refusals(out)[2].reason == SERVER_NAME_TAKEN and p.s.table.records == {}


def checks(out: list[ra.Action]) -> list[ra.CheckPassword]:
    return [a for a in out if isinstance(a, ra.CheckPassword)]


def test_a_name_held_by_another_key_is_refused_and_its_password_counted() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, online=False, key="k1")
    alice.password = "scrypt:none"  # no password hashes to it
    out: list[ra.Action] = []
    p.registration.register(
        ask("alice", password="guess"), Request("alice-reg", AT, "k2"), T0, out.append
    )
    [check] = checks(out)  # asked of the adapter, nothing answered yet
    assert (check.password, check.stored) == ("guess", "scrypt:none") and not sent(out)
    kept = credentials.proven(check.password, check.stored, check.salt)
    assert kept == ""
    done: list[ra.Action] = []
    p.registration.checked(check.ticket, kept, T0 + 0.3, done.append)
    assert [r.reason for r in refusals(done)] == ["Wrong password for alice."]
    assert [r.code for r in refusals(done)] == [RefusalCode.NOT_OWNER]  # the peer's hint
    assert p.registration.passwords.waiting(AT[0], T0 + 0.3) > 0  # counted as wrong


def test_copies_of_a_registration_being_checked_wait_for_its_outcome() -> None:
    p = parts()
    record(p.s, "alice", 7001, online=False, key="k1").password = credentials.hash_password(
        "right", b"salt"
    )
    msg, req = ask("alice", password="right"), Request("alice-reg", AT, "k2")
    out: list[ra.Action] = []
    for _ in range(3):  # the peer's retries, every 500 ms, while scrypt runs
        p.registration.register(msg, req, T0, out.append)
    [check] = checks(out)
    done: list[ra.Action] = []
    p.registration.checked(
        check.ticket, credentials.proven("right", check.stored, b""), T0, done.append
    )
    assert welcome(done).name == "alice"
    assert p.s.table.records["alice"].key == "k2"  # the password moved it to the new key


def test_a_new_name_is_hashed_off_the_thread_and_checked_again_if_taken_meanwhile() -> None:
    p = parts()
    msg, req = ask("bob", password="pw"), Request("bob-reg", AT, "k2")
    out: list[ra.Action] = []
    p.registration.register(msg, req, T0, out.append)
    [check] = checks(out)
    assert check.stored == "" and p.s.table.get("bob") is None
    # meanwhile another key registers bob, with no password
    other: list[ra.Action] = []
    p.registration.register(
        ask("bob", port=7002), Request("b2", ("127.0.0.1", 7002), "k3"), T0, other.append
    )
    kept = credentials.proven("pw", "", check.salt)
    done: list[ra.Action] = []
    p.registration.checked(check.ticket, kept, T0 + 0.3, done.append)
    # the hash made for a new name proves nothing of bob's now: checked anew
    [again] = checks(done)
    assert again.stored == credentials.NO_PASSWORD and p.s.table.records["bob"].key == "k3"


def test_a_ticket_of_no_registration_is_ignored() -> None:
    p = parts()
    out: list[ra.Action] = []
    p.registration.checked("nothing", "scrypt-17$00$00", T0, out.append)
    assert out == []


def test_the_owner_back_at_another_address_waits_for_a_probe_of_the_holder() -> None:
    p = parts()
    record(p.s, "alice", 7001, key="k1")
    out: list[ra.Action] = []
    there = ("127.0.0.1", 7009)
    msg = ask("alice", port=7009, token=TOKEN, id="a2-1")
    p.registration.register(msg, Request("a2-1", there, "k1"), T0, out.append)
    [(addr, ping)] = sent(out)
    assert addr == AT and isinstance(ping, TableUpdate)  # the holder is asked first
    assert "asking alice at 127.0.0.1:7001 first" in logs(out)[0]


def test_a_copy_of_a_registration_gets_the_token_its_first_answer_gave() -> None:
    p = parts()
    first: list[ra.Action] = []
    p.registration.register(ask("alice"), Request("alice-reg", AT, "k1"), T0, first.append)
    again: list[ra.Action] = []
    p.registration.register(ask("alice"), Request("alice-reg", AT, "k1"), T0 + 1, again.append)
    assert welcome(again).token == welcome(first).token
    assert logs(again) == []  # a copy is answered, not logged again


def test_a_token_given_to_a_peer_already_online_there_is_on_disk_before_its_welcome() -> None:
    # A copy of a registration after a restart (its first answer's token forgotten, since
    # only hashes are kept) is answered with a new token: a registry killed after saying
    # it must not come back knowing only the old one.
    p = parts()
    record(p.s, "alice", 7001, key="k1")
    out: list[ra.Action] = []
    p.registration.register(ask("alice"), Request("alice-reg", AT, "k1"), T0, out.append)
    given = welcome(out).token
    alice = p.s.table.get("alice")
    assert alice is not None and token_matches(given, alice.token)
    kinds = [type(a) for a in out]
    assert ra.SaveTable in kinds
    assert kinds.index(ra.SaveTable) < next(
        i for i, a in enumerate(out) if isinstance(a, ra.Send) and isinstance(a.message, Welcome)
    )


def test_too_many_new_names_from_one_address_are_refused() -> None:
    p = parts(new_names=1)
    out: list[ra.Action] = []
    p.registration.register(ask("alice"), Request("alice-reg", AT), T0, out.append)
    p.registration.register(
        ask("bob", port=7002), Request("bob-reg", ("127.0.0.1", 7002)), T0, out.append
    )
    [refused] = refusals(out)
    assert refused.reply_to == "bob-reg" and "Too many new names" in refused.reason
