"""The file transfers' core, driven by events on a fake clock: offers, answers, lapses,
pulls, drops, notes, and restarts from the kept records."""

from __future__ import annotations

import copy

from peer.core.actions import Print
from peer.core.files.transfer import (
    FileAction,
    KeepTransfer,
    Outcome,
    Pull,
    ReadFile,
    Role,
    Tell,
    Transfer,
    TransferPhase,
)
from peer.core.files.transfers import LAPSE, RETRY, FileTransfers
from peer.core.files.transfers import TALLY_EVERY as EVERY
from wire.base import IdMaker
from wire.messages import Entry, FileNote, FileOffer, FileSeen, NoteState

DIGEST = "ab" * 32
KEYS = {"alice": "KA", "bob": "KB"}


def table(online: dict[str, bool]) -> dict[str, Entry]:
    return {n: Entry(n, "127.0.0.1", 5000 + i, online[n], KEYS[n]) for i, n in enumerate(KEYS)}


def core(name: str, online: dict[str, bool] | None = None) -> FileTransfers:
    rows = table(online or {"alice": True, "bob": True})
    return FileTransfers(own=lambda: name, entry=rows.get, new_id=IdMaker(name), downloads="/dl")


def run(step: object) -> list[FileAction]:
    actions: list[FileAction] = []
    step(actions.append)  # type: ignore[operator]
    return actions


def lines(actions: list[FileAction]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Print)]


def offered(alice: FileTransfers, now: float = 0.0, size: int = 100) -> FileOffer:
    facts = Transfer(
        0, Role.SEND, "", "", "", "report.pdf", size, DIGEST, "/home/alice/report.pdf", mtime_ns=7
    )
    actions = run(lambda emit: alice.file_read("bob", facts, now, emit))
    (offer,) = [a.message for a in actions if isinstance(a, Tell)]
    assert isinstance(offer, FileOffer)
    return offer


def test_file_typed_asks_for_the_file_then_offers_it() -> None:
    alice = core("alice")
    actions = run(lambda emit: alice.typed("file", "bob /home/alice/report.pdf", 0.0, emit))
    assert actions == [ReadFile("bob", "/home/alice/report.pdf")]
    offer = offered(alice)
    assert (offer.name, offer.size, offer.sha256) == ("report.pdf", 100, DIGEST)
    assert alice.transfers[1].phase is TransferPhase.OFFERED


def test_a_file_to_someone_offline_is_refused_with_the_reason() -> None:
    alice = core("alice", {"alice": True, "bob": False})
    actions = run(lambda emit: alice.typed("file", "bob x", 0.0, emit))
    assert lines(actions) == [
        "[bob is offline: a file goes only to someone online (the registry keeps no files).]"
    ]


def test_an_offer_unseen_after_five_copies_is_withdrawn() -> None:
    alice = core("alice")
    offered(alice)
    sent = 1
    for tick in range(1, 10):
        actions = run(lambda emit, t=tick: alice.tick(t * 0.5, emit))
        sent += sum(isinstance(a, Tell) for a in actions)
        if lines(actions):
            assert lines(actions) == ["[No answer from bob: the offer of report.pdf is withdrawn.]"]
            break
    assert sent == 5 and not alice.transfers


def test_an_offer_is_shown_then_accepted_and_pulled() -> None:
    alice, bob = core("alice"), core("bob")
    offer = offered(alice)
    actions = run(lambda emit: bob.received(offer, "KA", 0.0, emit))
    assert isinstance(actions[0], Tell) and isinstance(actions[0].message, FileSeen)
    assert "/accept 1 or /reject 1" in lines(actions)[0]
    actions = run(lambda emit: bob.typed("accept", "", 1.0, emit))
    (pull,) = [a for a in actions if isinstance(a, Pull)]
    assert pull.transfer.path == "/dl/.report.pdf.chatapp-1.part"
    # a copy of the offer again changes nothing
    again = run(lambda emit: bob.received(offer, "KA", 1.1, emit))
    assert [type(a.message) for a in again if isinstance(a, Tell)] == [FileSeen]


def test_an_offer_from_another_key_is_another_offer() -> None:
    bob = core("bob")
    offer = offered(core("alice"))
    run(lambda emit: bob.received(offer, "KA", 0.0, emit))
    note = FileNote("x-1", "alice", offer.offer, NoteState.CANCELLED, "")
    run(lambda emit: bob.received(note, "K-OTHER", 0.0, emit))
    assert 1 in bob.transfers  # not cancelled by a key that is not alice's


def test_bad_names_and_sizes_are_refused_and_the_sender_told() -> None:
    bob = core("bob")
    bad = (("../../.bashrc", 10), ("a\x1b[2Jb", 10), ("ok.txt", 3 * 1024**3), ("x\ud800", 1))
    for n, (name, size) in enumerate(bad):
        offer = FileOffer("x-1", "alice", f"o-{name}", name, size, DIGEST)
        # (EVERY apart: each is said in full)
        actions = run(lambda emit, o=offer, t=n * EVERY: bob.received(o, "KA", t, emit))
        notes = [
            a.message for a in actions if isinstance(a, Tell) and isinstance(a.message, FileNote)
        ]
        assert [n.state for n in notes] == [NoteState.FAILED]
        assert "refused" in lines(actions)[0] and "\x1b" not in lines(actions)[0]
    assert not bob.transfers


def test_an_offer_lapses_after_five_minutes_on_both_sides() -> None:
    alice, bob = core("alice"), core("bob")
    offer = offered(alice)
    run(lambda emit: alice.received(FileSeen("b-1", "bob", offer.id), "KB", 0.1, emit))
    run(lambda emit: bob.received(offer, "KA", 0.0, emit))
    for side in (alice, bob):
        assert "lapsed" in lines(run(lambda emit, s=side: s.tick(LAPSE + 1, emit)))[0]
        assert not side.transfers


def test_the_sender_serves_only_the_key_it_offered_to() -> None:
    alice = core("alice")
    offer = offered(alice)
    assert isinstance(run_want(alice, offer.offer, 0, "K-OTHER"), str)
    assert isinstance(run_want(alice, offer.offer, 101, "KB"), str)
    served = run_want(alice, offer.offer, 0, "KB")
    assert isinstance(served, Transfer) and served.phase is TransferPhase.MOVING


def test_the_sender_says_a_resume_starts_where_the_receiver_kept_its_bytes() -> None:
    alice = core("alice")
    offer = offered(alice)
    run_want(alice, offer.offer, 0, "KB")
    transfer = alice.transfers[1]
    run(lambda emit: alice.progress(transfer, 25, emit))
    stopped = lines(run(lambda emit: alice.served(transfer, "reset", emit)))
    assert stopped[0].startswith("[report.pdf to bob stopped at 25% ")
    resumed = run(lambda emit: alice.want(offer.offer, 10, "KB", 1.0, emit))
    assert lines(resumed) == [
        "[Resuming report.pdf to bob from 10% (10 bytes of 100 bytes), "
        "the last part bob had safely on disk; the rest is sent again.]"
    ]


def run_want(alice: FileTransfers, offer: str, offset: int, key: str) -> Transfer | str:
    got: list[Transfer | str] = []
    run(lambda emit: got.append(alice.want(offer, offset, key, 0.0, emit)))
    return got[0]


def test_a_drop_is_said_once_and_pulled_again_while_the_sender_is_online() -> None:
    bob = core("bob")
    run(lambda emit: bob.received(offered(core("alice")), "KA", 0.0, emit))
    run(lambda emit: bob.typed("accept", "1", 0.0, emit))
    transfer = bob.transfers[1]
    run(lambda emit: bob.progress(transfer, 40, emit))
    said = lines(run(lambda emit: bob.pulled(transfer, Outcome.DROPPED, "it broke", 1.0, emit)))
    assert said == [
        "[report.pdf from alice stopped at 40% (40 bytes of 100 bytes): it broke. "
        "It resumes by itself when alice is back; or /cancel 1.]"
    ]
    actions = run(lambda emit: bob.tick(1.0 + RETRY, emit))
    assert [a.transfer.verified for a in actions if isinstance(a, Pull)] == [40]
    again = run(lambda emit: bob.pulled(transfer, Outcome.DROPPED, "it broke", 5.0, emit))
    assert not lines(again)  # said once per stop, not at every retry


def test_a_restart_resumes_from_the_kept_record() -> None:
    bob = core("bob")
    run(lambda emit: bob.received(offered(core("alice")), "KA", 0.0, emit))
    kept = [
        a.transfer
        for a in run(lambda emit: bob.typed("accept", "1", 0.0, emit))
        if isinstance(a, KeepTransfer) and not a.ended
    ]
    record = copy.deepcopy(kept[-1])
    record.verified = 60
    later = core("bob")
    said = lines(run(lambda emit: later.loaded([record], 100.0, emit)))
    assert said == [
        "[report.pdf from alice: 60% (60 bytes of 100 bytes) kept; "
        "it resumes when alice is online.]"
    ]
    actions = run(lambda emit: later.tick(100.0, emit))
    assert lines(actions) == [
        "[Resuming report.pdf from alice from 60% (60 bytes of 100 bytes), "
        "the last part safely on disk here; the rest comes again.]"
    ]
    assert [a.transfer.verified for a in actions if isinstance(a, Pull)] == [60]


def test_done_is_told_to_the_sender_who_says_so() -> None:
    alice, bob = core("alice"), core("bob")
    offer = offered(alice)
    run(lambda emit: bob.received(offer, "KA", 0.0, emit))
    run(lambda emit: bob.typed("accept", "", 0.0, emit))
    actions = run(
        lambda emit: bob.pulled(bob.transfers[1], Outcome.DONE, "/dl/report.pdf", 1.0, emit)
    )
    (note,) = [a.message for a in actions if isinstance(a, Tell)]
    assert any(isinstance(a, KeepTransfer) and a.ended for a in actions)
    assert isinstance(note, FileNote)
    said = lines(run(lambda emit: alice.received(note, "KB", 1.1, emit)))
    assert said == ["[bob has report.pdf (100 bytes, SHA-256 checked).]"]
    assert not alice.transfers and not bob.transfers


def test_cancel_stops_both_sides() -> None:
    alice, bob = core("alice"), core("bob")
    offer = offered(alice)
    run(lambda emit: bob.received(offer, "KA", 0.0, emit))
    actions = run(lambda emit: alice.typed("cancel", "", 1.0, emit))
    (note,) = [a.message for a in actions if isinstance(a, Tell)]
    said = lines(run(lambda emit: bob.received(note, "KA", 1.1, emit)))  # type: ignore[arg-type]
    assert said == ["[alice cancelled report.pdf from alice.]"]
    assert not bob.transfers
    listed = lines(run(lambda emit: bob.typed("files", "", 2.0, emit)))
    assert listed == ["  1  report.pdf from alice  cancelled"]
    # the number /files lists is said ended, not unknown; an unknown one, unknown
    said = lines(run(lambda emit: bob.typed("accept", "1", 3.0, emit)))
    assert said == ["[Transfer 1 has ended (cancelled). /files lists them.]"]
    said = lines(run(lambda emit: bob.typed("cancel", "2", 3.0, emit)))
    assert said == ["[No transfer '2'. /files lists them.]"]


def test_a_peer_renamed_mid_transfer_is_named_anew_and_kept_so() -> None:
    rows = table({"alice": True, "bob": True})
    alice = FileTransfers(own=lambda: "alice", entry=rows.get, new_id=IdMaker("a"), downloads="/")
    offered(alice)
    rows["bob"] = rows["robert"] = Entry("robert", "127.0.0.1", 5001, True, "KB")
    kept = [a for a in run(alice.follow_renames) if isinstance(a, KeepTransfer) and not a.ended]
    assert [k.transfer.peer for k in kept] == ["robert"]
    assert not run(alice.follow_renames)  # once
    rows["bob"] = Entry("bob", "127.0.0.1", 5002, True, "KC")  # another took the old name
    run(alice.follow_renames)
    said = lines(run(lambda emit: alice.typed("files", "", 1.0, emit)))
    assert said == ["  1  report.pdf to robert  offered, no answer yet"]


def test_bytes_taken_are_said_but_a_resume_starts_from_those_verified() -> None:
    bob = core("bob")
    run(lambda emit: bob.received(offered(core("alice")), "KA", 0.0, emit))
    run(lambda emit: bob.typed("accept", "1", 0.0, emit))
    transfer = bob.transfers[1]
    run(lambda emit: bob.progress(transfer, 20, emit))
    said = lines(run(lambda emit: bob.progress(transfer, 60, emit, kept=False)))
    assert said == ["[report.pdf from alice: 60% (60 bytes of 100 bytes)]"]
    assert transfer.verified == 20
    run(lambda emit: bob.pulled(transfer, Outcome.DROPPED, "it broke", 1.0, emit))
    actions = run(lambda emit: bob.tick(1.0 + RETRY, emit))
    assert [a.transfer.verified for a in actions if isinstance(a, Pull)] == [20]
