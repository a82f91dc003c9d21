"""One sender's share of the mailboxes (registry/core/post_office.py): whatever one sender does, a
mailbox keeps room for the others, the disk it can fill is bounded, and a refusal says why."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.post_office import MAILBOX_MESSAGES, SENDER_BYTES, PostOffice
from registry.core.requests import Origin, Request
from registry.core.table import MAX_WROTE_TO, Record, Table
from tests.registry.core_helpers import T0, core, sends
from tests.registry.parts_helpers import services, unstamped
from wire.keys import key_text
from wire.limits import MAX_SEALED
from wire.messages import (
    NOTICE_KIND,
    Acks,
    Deregister,
    MailTaken,
    Refused,
    Register,
    Saved,
    SaveMessage,
    Welcome,
)
from wire.version import WIRE_VERSION

MALLORY = ("10.0.0.66", 7066)
BOB = ("10.0.0.2", 7002)
ALICE = ("10.0.0.1", 7001)


def key(n: int) -> bytes:
    return bytes([n]) * 32


def join(reg: RegistryCore, name: str, addr: tuple[str, int], with_key: bytes) -> str:
    """Register `name` from `addr` with `with_key`; its token."""
    msg = Register(f"{name}-reg", name, addr[1], "", "", WIRE_VERSION)
    out = reg.receive(msg, addr, T0, key=with_key)
    [welcome] = [m for _, m in sends(out) if isinstance(m, Welcome)]
    return welcome.token


def offline(reg: RegistryCore, name: str, addr: tuple[str, int], with_key: bytes) -> None:
    """`name` registered and gone offline by dereg: its mail waits at the registry."""
    token = join(reg, name, addr, with_key)
    reg.receive(Deregister(f"{name}-d", name, token, False, ""), addr, T0, key=with_key)


def save(
    reg: RegistryCore,
    sender: str,
    token: str,
    to: str,
    n: int,
    addr: tuple[str, int],
    with_key: bytes,
    text: str = "hi",
) -> object:
    """What `sender` hears of its save number `n` for `to`: Saved or Refused."""
    msg = SaveMessage(f"{sender}-{n}", sender, token, to, text)
    out = reg.receive(msg, addr, T0, key=with_key)
    heard = [m for a, m in sends(out) if a == addr]
    # acked, as a peer does: what is pushed to it next is not held behind this
    reg.receive(Acks(f"{sender}-ack-{n}", tuple(m.id for m in heard)), addr, T0, key=with_key)
    return next(m for m in heard if isinstance(m, Saved | Refused))


def test_a_flood_from_one_key_fills_a_quarter_and_another_senders_message_is_kept() -> None:
    reg = core()
    offline(reg, "alice", ALICE, key(1))
    mallory = join(reg, "mallory", MALLORY, key(66))
    bob = join(reg, "bob", BOB, key(2))
    answers = [save(reg, "mallory", mallory, "alice", n, MALLORY, key(66)) for n in range(1000)]
    kept = sum(isinstance(a, Saved) for a in answers)
    assert kept == MAILBOX_MESSAGES // 4
    refusal = answers[-1]
    assert isinstance(refusal, Refused)
    assert refusal.reason == (
        "You have a quarter of alice's mailbox, the most one sender may fill; "
        "try again once alice has read your messages."
    )
    assert isinstance(save(reg, "bob", bob, "alice", 0, BOB, key(2)), Saved)


def wrote_to_then_offline(reg: RegistryCore, name: str, addr: tuple[str, int], to: str) -> None:
    """`name`, with key 1, registered, left a message for `to` and went offline."""
    token = join(reg, name, addr, key(1))
    reg.receive(SaveMessage(f"{name}-w", name, token, to, "hello"), addr, T0, key=key(1))
    reg.receive(Deregister(f"{name}-d", name, token, False, ""), addr, T0, key=key(1))


def test_many_keys_at_one_address_fill_half_of_a_mailbox_at_most() -> None:
    reg = core()
    bob = join(reg, "bob", BOB, key(2))
    wrote_to_then_offline(reg, "alice", ALICE, "bob")
    kept = 0
    last: object = None
    for k in range(8):  # eight names, eight keys, one machine
        name = f"sock{k}"
        token = join(reg, name, (MALLORY[0], 8000 + k), key(100 + k))
        for n in range(300):
            last = save(reg, name, token, "alice", n, (MALLORY[0], 8000 + k), key(100 + k))
            kept += isinstance(last, Saved)
    assert kept == MAILBOX_MESSAGES // 2
    assert isinstance(last, Refused)
    assert last.reason.startswith("Senders at 10.0.0.66 have half of alice's mailbox")
    assert isinstance(save(reg, "bob", bob, "alice", 0, BOB, key(2)), Saved)


def test_names_registered_to_hold_one_senders_mail_fill_no_more_disk_than_its_cap() -> None:
    reg = core(new_names=100)
    for n in range(40):  # squatted names, each an empty mailbox to fill
        offline(reg, f"box{n}", (MALLORY[0], 9000 + n), key(200 + n))
    mallory = join(reg, "mallory", MALLORY, key(66))
    text = "x" * MAX_SEALED
    refusals = []
    for n in range(40):
        for m in range(40):
            answer = save(reg, "mallory", mallory, f"box{n}", 100 * n + m, MALLORY, key(66), text)
            if isinstance(answer, Refused):
                refusals.append(answer.reason)
    stored = sum(len(msg.text) for box in reg.mail.values() for msg in box)
    assert SENDER_BYTES - MAX_SEALED < stored <= SENDER_BYTES
    assert refusals[-1] == (
        "Your messages waiting at the registry take 4 MiB, the most one sender may keep "
        "there; try again once they are read."
    )


def test_what_a_sender_had_stored_before_a_restart_still_counts_against_it() -> None:
    reg = core()
    offline(reg, "alice", ALICE, key(1))
    mallory = join(reg, "mallory", MALLORY, key(66))
    for n in range(MAILBOX_MESSAGES // 4):
        save(reg, "mallory", mallory, "alice", n, MALLORY, key(66))
    again = core(table=reg.table, mail=reg.mail)
    refusal = save(again, "mallory", mallory, "alice", 999, MALLORY, key(66))
    assert isinstance(refusal, Refused) and "a quarter of alice's mailbox" in refusal.reason


#: Mallory's key and address: whom her messages count against.
MALLORY_ORIGIN: Origin = (key_text(key(66)), MALLORY[0])


def mailboxes(limit: int, *owners: Record) -> PostOffice:
    """Mailboxes of `limit` messages, for `owners` (in the table)."""
    s = services()
    s.table.records.update((owner.name, owner) for owner in owners)
    return PostOffice(s, {}, {}, limit)


def take(mail: PostOffice, owner: Record, ids: list[str], out: list[ra.Action]) -> None:
    """`owner`'s peer has shown the messages `ids` (MailTaken)."""
    msg = MailTaken("t-1", owner.name, owner.token, tuple(ids))
    mail.taken(msg, Request(msg.id, owner.addr), owner, T0, out.append)


def mallory_stores(mail: PostOffice, owner: Record, kind: str, count: int) -> list[str]:
    """What `mail.store` answers to `count` messages "hi" of `kind` from mallory."""
    out: list[ra.Action] = []
    return [
        mail.store(owner, unstamped(f"m{n}", "mallory", "hi", kind), MALLORY_ORIGIN, T0, out.append)
        for n in range(count)
    ]


def test_a_share_is_given_back_as_the_owner_reads_the_mail() -> None:
    owner = Record("alice", "10.0.0.1", 7001, False, "t")
    mail = mailboxes(8, owner)
    out: list[ra.Action] = []
    mallory = MALLORY_ORIGIN
    kept = mallory_stores(mail, owner, "direct", 3)
    assert kept[:2] == ["", ""] and kept[2]
    take(mail, owner, ["m0", "m1"], out)
    assert mail.store(owner, unstamped("m3", "mallory", "hi"), mallory, T0, out.append) == ""
    assert mail.quotas.held(mallory) == 2


# strangers' stores, hand-overs by the owner in between: (box, size, kind) or "take"
_ACT = st.one_of(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 3 * 1024),
        st.sampled_from(["direct", "channel"]),
        st.integers(0, 39),  # which of the strangers' keys (ten addresses, four keys each)
    ),
    st.tuples(st.integers(0, 2), st.just(-1), st.just("take"), st.just(0)),
)


@settings(deadline=None)
@given(limit=st.integers(4, 60), acts=st.lists(_ACT, max_size=300))
def test_whatever_strangers_do_a_message_from_one_the_owner_wrote_to_is_kept(
    limit: int, acts: list[tuple[int, int, str, int]]
) -> None:
    owners = [Record(f"r{i}", "10.0.0.1", 7000 + i, False, "t") for i in range(3)]
    for owner in owners:
        owner.wrote("bob")  # the one the owners wrote to
    mail = mailboxes(limit, *owners)
    out: list[ra.Action] = []
    for n, (box, size, kind, which) in enumerate(acts):
        owner = owners[box]
        if kind == "take":
            take(mail, owner, [m.id for m in mail.part(owner)][: limit // 3], out)
            continue
        origin = (key_text(key(66 + which)), f"10.0.0.{100 + which // 4}")
        mail.store(owner, unstamped(f"m{n}", "mallory", "x" * size, kind), origin, T0, out.append)
    bob: Origin = (key_text(key(2)), "10.0.0.2")
    text = "y" * 200  # a message of the size people type
    for owner in owners:
        assert mail.store(owner, unstamped("bob-1", "bob", text), bob, T0, out.append) == ""


def test_channel_messages_over_a_share_leave_the_owner_one_notice_naming_their_sender() -> None:
    # nobody is answered for a channel message not kept: the owner is told instead
    owner = Record("alice", "10.0.0.1", 7001, False, "t")
    mail = mailboxes(8, owner)
    kept = mallory_stores(mail, owner, "channel", 5)
    assert kept[:2] == ["", ""] and all(kept[2:])
    box = mail.boxes["alice"]
    notices = [m for m in box if m.kind == NOTICE_KIND]
    assert [m.id for m in box] == ["m0", "m1", notices[0].id] and len(notices) == 1
    assert notices[0].sender == "" and "from mallory" in notices[0].text
    assert mail.quotas.held(MALLORY_ORIGIN) == 2 * len("hi")  # bytes: the notice is nobody's


def test_channel_messages_over_a_senders_share_of_all_mailboxes_leave_the_notice_too() -> None:
    # the box has room, and the sender has none of it: over its share of the registry's disk
    out: list[ra.Action] = []
    big = "x" * (SENDER_BYTES // 8)
    owners = [Record(f"o{n}", "10.0.0.1", 7000 + n, False, "t") for n in range(10)]
    mail = mailboxes(MAILBOX_MESSAGES, *owners)
    answers = [
        mail.store(
            owner, unstamped(f"m{n}", "mallory", big, "channel"), MALLORY_ORIGIN, T0, out.append
        )
        for n, owner in enumerate(owners)
    ]
    assert answers[:8] == [""] * 8 and all("4 MiB" in answer for answer in answers[8:])
    for owner in owners[8:]:
        [notice] = mail.boxes[owner.name]
        assert notice.kind == NOTICE_KIND and "from mallory" in notice.text


def test_strangers_at_many_addresses_fill_half_and_one_the_owner_wrote_to_gets_in() -> None:
    reg = core(new_names=100)
    bob = join(reg, "bob", BOB, key(2))
    wrote_to_then_offline(reg, "alice", ALICE, "bob")
    answers = []
    for k in range(40):  # forty keys at ten addresses
        where = (f"10.0.1.{k % 10}", 8000 + k)
        token = join(reg, f"s{k}", where, key(100 + k))
        answers += [save(reg, f"s{k}", token, "alice", n, where, key(100 + k)) for n in range(40)]
    kept = sum(isinstance(a, Saved) for a in answers)
    assert kept == MAILBOX_MESSAGES // 2
    refusal = answers[-1]
    assert isinstance(refusal, Refused)
    assert refusal.reason == (
        "Senders alice has not written to fill half of alice's mailbox, the most they may; "
        "the rest is kept for those alice writes to."
    )
    assert isinstance(save(reg, "bob", bob, "alice", 0, BOB, key(2)), Saved)


def test_whom_an_owner_wrote_to_is_kept_in_the_table_across_a_restart() -> None:
    reg = core()
    join(reg, "bob", BOB, key(2))
    wrote_to_then_offline(reg, "alice", ALICE, "Bob")
    saved = reg.table.to_json()
    [row] = [r for r in saved["names"] if r["name"] == "alice"]
    assert row["wrote_to"] == ["bob"]
    again = Table.from_json(saved, T0)
    alice = again.get("alice")
    assert alice is not None and alice.knows("BOB") and not alice.knows("carol")


def test_an_owner_writing_to_many_keeps_the_latest_it_wrote_to() -> None:
    record = Record("alice", "10.0.0.1", 7001, False, "t")
    assert record.wrote_to is None
    new = [record.wrote(f"n{i}") for i in range(MAX_WROTE_TO + 5)]
    assert all(new)
    assert not record.wrote("n104")
    assert record.wrote_to is not None and len(record.wrote_to) == MAX_WROTE_TO
    assert not record.knows("n0") and record.knows("n5") and record.knows("alice")
