# ruff: noqa: B023  (each lambda is called at once, within its loop pass)
"""Any sequence of drops and restarts of either side ends with the identical file, or a
clear failure: the receiver's core driven with a model of its pull (bytes land in the
partial file, a checkpoint keeps the record, a restart cuts the partial file to it)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from peer.core.actions import Print
from peer.core.files.transfer import FileAction, KeepTransfer, Outcome, Pull, Transfer
from peer.core.files.transfers import RETRY, FileTransfers
from tests.hypothesis_profiles import examples
from wire.base import IdMaker
from wire.messages import Entry, FileOffer

DATA = bytes(range(256)) * 40  # 10,240 bytes
STEP = 1000  # bytes a pull moves before the next event


def receiver(online: list[bool]) -> FileTransfers:
    def row(name: str) -> Entry | None:
        return Entry("alice", "127.0.0.1", 5000, online[0], "KA") if name == "alice" else None

    return FileTransfers(own=lambda: "bob", entry=row, new_id=IdMaker("b"), downloads="/dl")


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["move", "drop", "restart_bob", "sender_down", "sender_up", "checkpoint_lost"]
        ),
        max_size=40,
    )
)
def test_drops_and_restarts_end_with_the_same_file(events: list[str]) -> None:
    online = [True]
    bob = receiver(online)
    partial = bytearray()
    kept: dict[int, Transfer] = {}
    pulling: list[Transfer] = []
    said: list[str] = []
    now = 0.0

    def carry(actions: list[FileAction]) -> None:
        for action in actions:
            if isinstance(action, KeepTransfer) and not action.ended:
                kept[action.transfer.number] = Transfer(
                    **{f: getattr(action.transfer, f) for f in action.transfer.__struct_fields__}
                )
            elif isinstance(action, Pull):
                pulling[:] = [action.transfer]
                del partial[action.transfer.verified :]  # the Puller cuts to what is verified
            elif isinstance(action, Print):
                said.append(action.text)

    def step(event: object) -> None:
        actions: list[FileAction] = []
        event(actions.append)  # type: ignore[operator]
        carry(actions)

    offer = FileOffer("a-1", "alice", "a-1", "f.bin", len(DATA), hashlib.sha256(DATA).hexdigest())
    step(lambda emit: bob.received(offer, "KA", now, emit))
    step(lambda emit: bob.typed("accept", "", now, emit))
    for event in [*events, "sender_up", *["move"] * (2 * len(DATA) // STEP + 4)]:
        now += RETRY + 0.1
        if event == "sender_down":
            online[0] = False
        elif event == "sender_up":
            online[0] = True
        if event == "restart_bob":
            bob = receiver(online)
            pulling.clear()
            records = [
                Transfer(**{f: getattr(t, f) for f in t.__struct_fields__}) for t in kept.values()
            ]
            step(lambda emit: bob.loaded(records, now, emit))
        elif pulling and (event == "drop" or not online[0]):  # a pull to a sender down fails
            t = pulling.pop()
            step(lambda emit, t=t: bob.pulled(t, Outcome.DROPPED, "dropped", now, emit))
        elif event in ("move", "checkpoint_lost") and pulling and online[0]:
            t = pulling[0]
            partial += DATA[len(partial) : len(partial) + STEP]
            if event == "move":  # bytes written and kept; else written, the checkpoint lost
                step(lambda emit, t=t: _verified(bob, t, len(partial), emit))
            if len(partial) == len(DATA) and event == "move":
                pulling.clear()
                assert hashlib.sha256(partial).hexdigest() == offer.sha256
                step(lambda emit, t=t: bob.pulled(t, Outcome.DONE, "/dl/f.bin", now, emit))
        step(lambda emit: bob.tick(now, emit))
        if not bob.transfers and not pulling:
            break
    assert bytes(partial) == DATA
    assert said[-1].startswith("[Received f.bin from alice")


def _verified(bob: FileTransfers, transfer: Transfer, at: int, emit: object) -> None:
    transfer.verified = at
    emit(KeepTransfer(transfer))  # type: ignore[operator]
    bob.progress(transfer, at, emit)  # type: ignore[arg-type]
