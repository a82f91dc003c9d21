"""Offers as a hostile peer makes them, on the file transfers' core: bounded per key and in
all, each refusal told to its sender once, the receiver's lines summed once a while, and
no record kept of an offer until it is accepted."""

from __future__ import annotations

from peer.core.actions import Print
from peer.core.files.transfer import FileAction, KeepTransfer, Role, Tell, Transfer
from peer.core.files.transfers import LAPSE, FileTransfers
from wire.base import IdMaker
from wire.messages import Entry, FileNote, FileOffer, NoteState

DIGEST = "ab" * 32
#: Offers waiting for an answer, at most, from one key and in all (docs/GUIDE.md, "Files");
#: the seconds at least between two lines of refusals, or of lapses.
OFFERS_FROM_ONE, OFFERS_WAITING, EVERY = 8, 64, 10.0
ROWS = {f"mal{n}": Entry(f"mal{n}", "127.0.0.2", 6000 + n, True, f"K{n}") for n in range(20)}


def bob(rows: dict[str, Entry] = ROWS) -> FileTransfers:
    return FileTransfers(own=lambda: "bob", entry=rows.get, new_id=IdMaker("b"), downloads="/dl")


def offer(core: FileTransfers, n: int, key: int, now: float) -> list[FileAction]:
    """Offer number `n` from the peer of key `key`, at `now`: what bob does."""
    message = FileOffer(f"m-{n}", f"mal{key}", f"o-{n}", f"f{n}.bin", 10, DIGEST)
    actions: list[FileAction] = []
    core.received(message, f"K{key}", now, actions.append)
    return actions


def notes(actions: list[FileAction]) -> list[FileNote]:
    return [a.message for a in actions if isinstance(a, Tell) and isinstance(a.message, FileNote)]


def lines(actions: list[FileAction]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Print)]


def ticked(core: FileTransfers, now: float) -> list[FileAction]:
    actions: list[FileAction] = []
    core.tick(now, actions.append)
    return actions


def test_offers_beyond_eight_from_one_key_are_refused_and_told_once() -> None:
    core = bob()
    shown = [offer(core, n, 0, 0.0) for n in range(OFFERS_FROM_ONE)]
    assert all("/accept" in lines(a)[0] for a in shown)
    refused = offer(core, 99, 0, 0.1)
    (note,) = [a.message for a in refused if isinstance(a, Tell)]  # it answers the offer alone
    assert isinstance(note, FileNote)
    assert note.state is NoteState.FAILED
    assert note.reason == "refused: 8 offers from mal0 wait for an answer already"
    assert lines(refused) == [
        "[mal0 offered a file 'f99.bin': refused, 8 offers from mal0 wait for an answer already.]"
    ]
    # told once: no copy follows, however long
    assert not notes(ticked(core, 10.0)) and not notes(ticked(core, 60.0))
    assert len(core.transfers) == OFFERS_FROM_ONE
    # another key still may offer
    assert "/accept 9" in lines(offer(core, 100, 1, 0.2))[0]


def test_offers_beyond_sixty_four_in_all_are_refused() -> None:
    core = bob()
    for n in range(OFFERS_WAITING):
        offer(core, n, n // OFFERS_FROM_ONE, 0.0)
    (note,) = notes(offer(core, 999, 19, 0.0))
    assert note.reason == "refused: 64 offers wait for an answer already"
    assert len(core.transfers) == OFFERS_WAITING
    # one answered (rejected) makes room for one more
    core.typed("reject", "1", 1.0, [].append)
    assert not notes(offer(core, 1000, 19, 1.0))


def test_a_flood_of_refusals_is_said_in_one_line_each_while() -> None:
    """Thousands refused from three keys: the first in full, then one line each EVERY s."""
    core = bob()
    for n in range(OFFERS_FROM_ONE):
        offer(core, n, 0, 0.0)
    said: list[str] = []
    told = 0
    for n in range(3000):
        now = n * 0.005  # 200 a second, for 15 s
        actions = offer(core, 100 + n, n % 3, now) + ticked(core, now)
        said += [line for line in lines(actions) if "/accept" not in line]
        told += len(notes(actions))
    said += lines(ticked(core, 30.0))
    assert told == 3000 - 2 * OFFERS_FROM_ONE  # keys 1 and 2 had room for 8 each
    assert len(said) == 3, said  # at 0 s, 10 s, and the rest at 30 s
    assert said[0].startswith("[mal0 offered a file 'f100.bin': refused, 8 offers")
    assert said[1].startswith("[1,983 more file offers refused, from mal0, mal1, mal2 (the last: ")
    assert ticked(core, 60.0) == []
    assert core.next_wake() == LAPSE  # no summary due: only the offers held lapse


def test_an_offer_is_kept_on_disk_only_once_accepted_and_lapses_in_one_line() -> None:
    rows = dict(ROWS)
    core = bob(rows)
    actions = [a for n in range(20) for a in offer(core, n, n % 3, 0.0)]
    assert not [
        a for a in actions if isinstance(a, KeepTransfer) and not a.ended
    ]  # nothing on disk
    rows["vic"] = Entry("vic", "127.0.0.2", 6001, True, "K1")  # mal1's key, renamed vic
    rows["mal1"] = Entry("mal1", "127.0.0.3", 6001, True, "K-other")  # the old name, taken
    followed: list[FileAction] = []
    core.follow_renames(followed.append)
    assert not followed  # an offer held only in memory: no record to follow
    rows.update(ROWS)
    accepted: list[FileAction] = []
    core.typed("accept", "1", 1.0, accepted.append)
    assert [a.transfer.number for a in accepted if isinstance(a, KeepTransfer) and not a.ended] == [
        1
    ]
    lapsed = ticked(core, LAPSE + 1)
    assert len([a for a in lapsed if isinstance(a, KeepTransfer) and a.ended]) == 19
    assert lines(lapsed) == [
        "[The offer of f1.bin from mal1 lapsed: no answer within 5 min.]",
    ]
    assert lines(ticked(core, LAPSE + 1 + EVERY)) == [
        "[18 more file offers lapsed, with mal2, mal0, mal1: no answer within 5 min.]"
    ]


def test_a_negative_size_is_a_bad_size_not_one_over_the_limit() -> None:
    core = bob()
    message = FileOffer("m-1", "mal0", "o-1", "f.bin", -1, DIGEST)
    actions: list[FileAction] = []
    core.received(message, "K0", 0.0, actions.append)
    (note,) = notes(actions)
    assert note.reason == "refused: a bad size (-1)"


def test_an_offer_refused_is_not_sent_again() -> None:
    """The sender's side: the refusal answers its offer (no FileSeen needed); no copy goes."""
    rows = {"bob": Entry("bob", "127.0.0.1", 5001, True, "KB")}
    alice = FileTransfers(own=lambda: "alice", entry=rows.get, new_id=IdMaker("a"), downloads="/")
    facts = Transfer(
        0, Role.SEND, "", "", "", "report.pdf", 100, DIGEST, "/home/alice/report.pdf", mtime_ns=7
    )
    sent: list[FileAction] = []
    alice.file_read("bob", facts, 0.0, sent.append)
    (offered,) = [a.message for a in sent if isinstance(a, Tell)]
    assert isinstance(offered, FileOffer)
    why = "refused: 8 offers from alice wait for an answer already"
    refusal = FileNote("b-1", "bob", offered.offer, NoteState.FAILED, why)
    said: list[FileAction] = []
    alice.received(refusal, "KB", 0.1, said.append)
    assert lines(said) == [f"[bob failed report.pdf to bob: {why}.]"]
    later = [a for t in (0.6, 1.2, 2.0, 3.0, 5.0) for a in ticked(alice, t)]
    assert not [a for a in later if isinstance(a, Tell) and isinstance(a.message, FileOffer)]
    assert not lines(later)
