"""A mailbox's limit (registry/core/post_office.py): what fits, what is refused and who is told."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.post_office import MIN_BYTES, BoxCount, Quotas, byte_limit
from tests.registry.core_helpers import T0, X, Y, core, register, run_until, sends, token_of
from wire.limits import MAX_TEXT
from wire.messages import (
    NOTICE_KIND,
    ChannelPost,
    Deregister,
    MailTaken,
    Refused,
    Register,
    Saved,
    SaveMessage,
    StoredMessage,
    Welcome,
)
from wire.version import WIRE_VERSION

#: w's address, not x's: one address may fill half of a box (ADDRESS_SHARE).
W = ("10.0.0.2", 6004)
Tokens = dict[str, str]


def with_y_offline(limit: int) -> tuple[RegistryCore, Tokens]:
    """A registry whose boxes hold `limit` messages, x and w online (their tokens returned)
    and y registered but offline. x and w, taking turns, fill the whole box: these are the
    box's own limits (one sender's share of it is tests/registry/test_quotas.py's)."""
    reg = core(mailbox_limit=limit)
    tokens = {"x": register(reg, "x", X).token, "w": register(reg, "w", W).token}
    wy = register(reg, "y", Y)
    reg.receive(Deregister("y-d", "y", wy.token, False, ""), Y, T0)
    return reg, tokens


def turn(n: int) -> tuple[str, ra.Addr]:
    """Who sends number `n`: x when it is even, w when odd."""
    return ("x", X) if n % 2 == 0 else ("w", W)


def save(reg: RegistryCore, tokens: Tokens, n: int, text: str = "") -> list[object]:
    """What its sender is sent for save number `n` to y."""
    name, addr = turn(n)
    message = SaveMessage(f"{name}-{n}", name, tokens[name], "y", text or f"direct {n}")
    return [m for a, m in sends(reg.receive(message, addr, T0)) if a == addr]


def post(reg: RegistryCore, tokens: Tokens, n: int) -> list[ra.Action]:
    name, addr = turn(n)
    return reg.receive(ChannelPost(f"{name}-c{n}", name, tokens[name], f"channel {n}"), addr, T0)


def test_a_direct_message_to_a_full_mailbox_is_refused_and_its_sender_told() -> None:
    reg, tokens = with_y_offline(limit=10)
    for n in range(10):
        [_ack, outcome] = save(reg, tokens, n)
        assert isinstance(outcome, Saved) and not outcome.refused
    [refusal] = save(reg, tokens, 10)
    assert isinstance(refusal, Refused) and refusal.reply_to == "x-10"
    assert refusal.reason == "y's mailbox is full."
    assert [m.text for m in reg.mail["y"]] == [f"direct {n}" for n in range(10)]
    # a copy of the refused save, sent again, is refused again: nothing stored
    [again] = save(reg, tokens, 10)
    assert isinstance(again, Refused) and len(reg.mail["y"]) == 10


def test_the_limit_counts_bytes_too() -> None:
    limit = 20  # 20 messages, and MIN_BYTES of text (more than 20 x 2 KiB)
    assert byte_limit(limit) == MIN_BYTES
    reg, tokens = with_y_offline(limit)
    long_text = "é" * (MAX_TEXT // 2)  # MAX_TEXT bytes
    fits = MIN_BYTES // MAX_TEXT
    for n in range(fits):
        [_, outcome] = save(reg, tokens, n, long_text)
        assert isinstance(outcome, Saved)
    [refusal] = save(reg, tokens, fits, "x")  # the fifth message, one byte over
    assert isinstance(refusal, Refused) and refusal.reason == "y's mailbox is full."


def test_channel_messages_stop_short_of_full_leaving_one_notice_and_room_for_direct() -> None:
    reg, tokens = with_y_offline(limit=10)
    logs = []
    for n in range(20):
        logs += [a.line for a in post(reg, tokens, n) if isinstance(a, ra.Log)]
    box = reg.mail["y"]
    assert [m.text for m in box[:9]] == [f"channel {n}" for n in range(9)]  # 90% of 10
    [notice] = box[9:]
    assert notice.kind == NOTICE_KIND and notice.sender == ""
    assert notice.text.startswith("Your mailbox filled up at ")
    assert "channel messages sent after that were not kept" in notice.text
    assert sum("for y are no longer kept: the box is full" in line for line in logs) == 1  # once
    # the box is full for direct messages only once the notice's place is taken too
    assert isinstance(save(reg, tokens, 0)[0], Refused)


def test_direct_messages_keep_their_share_when_the_channel_is_busy() -> None:
    reg, tokens = with_y_offline(limit=100)
    for n in range(200):
        post(reg, tokens, n)
    assert len(reg.mail["y"]) == 91  # 90 channel messages and the notice
    saved = [save(reg, tokens, n)[-1] for n in range(20)]
    assert sum(isinstance(m, Saved) for m in saved) == 9  # up to 100
    assert all(isinstance(m, Refused) for m in saved[9:])


def test_a_probed_message_that_finds_the_mailbox_full_is_reported_not_saved() -> None:
    reg, tokens = with_y_offline(limit=2)
    assert all(isinstance(save(reg, tokens, n)[-1], Saved) for n in range(2))
    register(reg, "y", Y, token_of(reg, "y"))  # online again, its mail handed over, not taken
    reg.receive(SaveMessage("x-7", "x", tokens["x"], "y", "hi"), X, T0)  # y online: probed
    out = run_until(reg, T0 + 5)  # y never answers, not even the probe
    outcome = next(m for a, m in sends(out) if isinstance(m, Saved) and m.reply_to == "x-7")
    assert not outcome.delivered
    assert outcome.refused == "y's mailbox is full."
    assert [m.id for m in reg.mail["y"]] == ["x-0", "w-1"]


def test_taking_the_mail_makes_room_again() -> None:
    reg, tokens = with_y_offline(limit=4)
    for n in range(4):
        save(reg, tokens, n)
    assert isinstance(save(reg, tokens, 4)[0], Refused)
    y_token = token_of(reg, "y")
    out = reg.receive(Register("y-again", "y", Y[1], y_token, "", WIRE_VERSION), Y, T0 + 1)
    [welcome] = [m for _, m in sends(out) if isinstance(m, Welcome)]
    assert len(welcome.mail) == 4
    reg.receive(MailTaken("y-t", "y", y_token, tuple(m.id for m in welcome.mail)), Y, T0 + 1)
    assert "y" not in reg.mail  # all handed over: the box is gone
    reg.receive(Deregister("y-d2", "y", y_token, False, ""), Y, T0 + 2)
    [_, outcome] = save(reg, tokens, 4)
    assert isinstance(outcome, Saved) and not outcome.refused


def test_a_restarted_registry_counts_the_mail_it_loaded() -> None:
    old = "2026-01-01 00:00:00"
    kept = {"y": [StoredMessage(f"m{n}", "x", "kept", old, "direct") for n in range(5)]}
    before, tokens = with_y_offline(limit=5)  # the table of the registry that kept them
    reg = core(mailbox_limit=5, mail=kept, table=before.table)
    [refusal] = save(reg, tokens, 1)  # w's: x's would be over its address's share
    assert isinstance(refusal, Refused) and refusal.reason == "y's mailbox is full."


def test_a_tally_counts_what_its_box_holds() -> None:
    quotas, tally = Quotas(), BoxCount()
    quotas.count(tally, StoredMessage("a", "x", "héllo", "s", "direct"), None)
    assert set(tally.senders) == {("x", "a")} and tally.size == 6 and not tally.noticed
    assert tally.has_room(10, "direct", 2) and not tally.has_room(10, "direct", 1)
    assert not tally.has_room(10, "channel", 2)  # 2 of 2 is over 90%
    notice = StoredMessage("n", "", "full", "s", NOTICE_KIND)
    quotas.count(tally, notice, None)
    assert tally.noticed and tally.size == 10
    quotas.uncount(tally, notice)
    assert not tally.noticed and tally.size == 6 and set(tally.senders) == {("x", "a")}
