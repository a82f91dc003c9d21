"""registry/core/registration.py alone: who may take a name, and the Welcome."""

from __future__ import annotations

from registry.adapter.password_checks import carry_out
from registry.core import actions as ra
from registry.core.credentials import token_matches
from registry.core.requests import Request
from secure import password
from tests.registry.core_helpers import REGISTRY_KEY, SECRET
from tests.registry.parts_helpers import T0, TOKEN, Parts, logs, parts, record, refusals, sent
from wire.keys import key_text
from wire.messages import PasswordAsk, PasswordChallenge, Register, TableUpdate, Welcome
from wire.names import SERVER_NAME_TAKEN
from wire.refusals import RefusalCode
from wire.version import WIRE_VERSION

AT = ("127.0.0.1", 7001)
K2 = b"\x02" * 32


def ask(
    name: str,
    *,
    port: int = 7001,
    token: str = "",
    proof: str = "",
    verifier: str = "",
    id: str = "",
) -> Register:
    return Register(id or f"{name}-reg", name, port, token, proof, WIRE_VERSION, verifier)


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
    assert p.registration.welcomes["Alice-reg"][1] == given.token
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


def _challenged(p: Parts, name: str, key: bytes) -> PasswordChallenge:
    """A PasswordAsk for `name` from `key`, its challenge begun off the thread (asked of
    the adapter first, nothing answered meanwhile): the challenge sent."""
    out: list[ra.Action] = []
    p.registration.ask(
        PasswordAsk(f"{name}-ask", name), Request("ask", AT, key_text(key)), T0, out.append
    )
    [check] = checks(out)
    assert check.session is None and check.client == key and not sent(out)
    done: list[ra.Action] = []
    p.registration.checked(check.ticket, carry_out(check, SECRET, REGISTRY_KEY), T0, done.append)
    [(_, challenge)] = sent(done)
    assert isinstance(challenge, PasswordChallenge)
    return challenge


def _proof(name: str, secret: str, key: bytes, challenge: PasswordChallenge) -> str:
    ident = password.identity(name, key, REGISTRY_KEY)
    return password.prove(secret, ident, challenge.scrypt, challenge.salt, challenge.public)


def test_a_name_held_by_another_key_is_refused_and_its_password_counted() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, online=False, key="k1")
    alice.password = "scrypt:none"  # no password proves it: its challenge is made up
    challenge = _challenged(p, "alice", K2)
    out: list[ra.Action] = []
    msg = ask("alice", proof=_proof("alice", "guess", K2, challenge))
    p.registration.register(msg, Request("alice-reg", AT, key_text(K2)), T0, out.append)
    [check] = checks(out)  # asked of the adapter, nothing answered yet
    assert check.session is not None and check.proof == msg.proof and not sent(out)
    kept = carry_out(check, SECRET, REGISTRY_KEY)
    assert kept is False
    done: list[ra.Action] = []
    p.registration.checked(check.ticket, kept, T0 + 0.3, done.append)
    assert [r.reason for r in refusals(done)] == ["Wrong password for alice."]
    assert [r.code for r in refusals(done)] == [RefusalCode.NOT_OWNER]  # the peer's hint
    assert p.registration.passwords.waiting(AT[0], T0 + 0.3) > 0  # counted as wrong


def test_copies_of_a_registration_being_checked_wait_for_its_outcome() -> None:
    p = parts()
    record(p.s, "alice", 7001, online=False, key="k1").password = password.new_verifier("right")
    challenge = _challenged(p, "alice", K2)
    msg = ask("alice", proof=_proof("alice", "right", K2, challenge))
    req = Request("alice-reg", AT, key_text(K2))
    out: list[ra.Action] = []
    for _ in range(3):  # the peer's retries, every 500 ms, while the proof is checked
        p.registration.register(msg, req, T0, out.append)
    [check] = checks(out)
    done: list[ra.Action] = []
    p.registration.checked(check.ticket, carry_out(check, SECRET, REGISTRY_KEY), T0, done.append)
    assert welcome(done).name == "alice"
    assert p.s.table.records["alice"].key == key_text(K2)  # the password moved it to the new key


def test_a_new_names_verifier_proves_nothing_once_another_key_took_the_name() -> None:
    p = parts()
    out: list[ra.Action] = []
    p.registration.ask(
        PasswordAsk("bob-ask", "bob"), Request("ask", AT, key_text(K2)), T0, out.append
    )
    [(_, said)] = sent(out)
    assert isinstance(said, PasswordChallenge) and said.new and not checks(out)
    # meanwhile another key registers bob, with no password
    other: list[ra.Action] = []
    p.registration.register(
        ask("bob", port=7002), Request("b2", ("127.0.0.1", 7002), "k3"), T0, other.append
    )
    done: list[ra.Action] = []
    msg = ask("bob", verifier=password.new_verifier("pw"))
    p.registration.register(msg, Request("bob-reg", AT, key_text(K2)), T0 + 0.3, done.append)
    # the verifier made for a new name proves nothing of bob's now
    assert [r.reason for r in refusals(done)] == [
        "The name bob is in use by a peer that is online."
    ]
    assert p.s.table.records["bob"].key == "k3" and p.s.table.records["bob"].password == ""


def test_a_ticket_of_no_registration_is_ignored() -> None:
    p = parts()
    out: list[ra.Action] = []
    p.registration.checked("nothing", True, T0, out.append)
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
