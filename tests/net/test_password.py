"""secure/password.py at the real cost: a verifier made at today's scrypt cost and said so, a
proof that holds on its own channel only, and odd fields refused without an error."""

from __future__ import annotations

from secure import password

ME, REGISTRY, ELSEWHERE = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32


def test_a_verifier_is_made_at_today_s_cost_and_proven_on_its_own_channel_only() -> None:
    made = password.new_verifier("sesame")
    stored = password.Stored.parse(made)
    assert password.LOG2_N >= 17 and made.startswith(f"srp-{password.LOG2_N}$")
    assert stored is not None and "sesame" not in made
    ident = password.identity("Eve", ME, REGISTRY)
    began = password.challenge(stored, ident)
    proof = password.prove("sesame", ident, began.scrypt, began.salt, began.public)
    assert password.verify(began.session, proof)
    # the same proof for the channel of another registry's key is refused
    elsewhere = password.challenge(stored, password.identity("eve", ME, ELSEWHERE))
    assert not password.verify(elsewhere.session, proof)
    # (a wrong password is refused at a lowered cost in the registry's tests)


def test_odd_fields_give_no_proof_and_no_match_never_an_error() -> None:
    stored = password.made_up(b"secret", "eve")
    began = password.challenge(stored, b"id")
    for odd in ("", "$", "zz$00", "00$00", "01$" + "00" * 31, "01$" + "zz" * 32, "é$é"):
        assert not password.verify(began.session, odd)
    for cost in ("", "9$00", "21$00", "17$zz", "x$00", "17$"):
        assert password.prove("pw", b"id", cost, began.salt, began.public) == ""
    assert password.prove("pw", b"id", began.scrypt, "zz", began.public) == ""
    assert password.prove("pw", b"id", began.scrypt, began.salt, "") == ""
    # B of zero fails SRP-6a's check: no proof
    assert password.prove("pw", b"id", "14$00", began.salt, "00" * 256) == ""
    for kept in (
        "",
        "srp-17$00$00",
        "srp-9$00$00$00",
        "srp-17$$00$00",
        "srp-17$00$00$" + "00" * 257,
    ):
        assert password.Stored.parse(kept) is None, kept
