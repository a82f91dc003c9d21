"""What the tests of PeerCore as a whole share: alice registered with bob online and
carol offline, and what its actions say and send."""

from __future__ import annotations

from unittest.mock import ANY

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.registration import WELCOME
from peer.core.requests import SILENT_KEEPALIVES
from peer.core.retry_wait import SILENT_WAIT_LAST
from peer.core.table import Rule
from tests.peer.honest import REGISTRY_KEY, peer_key_text
from tests.peer.retry_rule import REGISTER_ROUND
from wire.messages import (
    Ack,
    Busy,
    Chat,
    Entry,
    Notice,
    Register,
    Rename,
    StoredMessage,
    Welcome,
)
from wire.refusals import RefusalCode
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT, TIMEOUT

SERVER = ("127.0.0.1", 5000)


SERVER = ("127.0.0.1", 5000)
ME = ("127.0.0.1", 6001)


ME = ("127.0.0.1", 6001)
BOB = ("127.0.0.1", 6002)


BOB = ("127.0.0.1", 6002)
T0 = 1_700_000_000.0


#: Seconds a request is tried for (ATTEMPTS tries, TIMEOUT apart) before it is given up.
ROUND = ATTEMPTS * TIMEOUT


#: Seconds a direct message is tried for before it is given up.
DIRECT_ROUND = ATTEMPTS * DIRECT_TIMEOUT


#: How the registry refuses a request made as alice once it no longer knows the name.
NO_ALICE, UNKNOWN = "No one is called alice.", RefusalCode.NAME_UNKNOWN


#: bob's key, as the table has it.
BOBS = peer_key_text("bob")


#: What is said of a forgery of what only the registry sends, from a forger's machine.
FORGED = pa.Rejected(Rule.REGISTRY.value, ANY)


def prints(actions: list[pa.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, pa.Print)]


def sent(actions: list[pa.Action]) -> list[object]:
    """What is sent (over TCP too), once what is printed is on the screen too (OnceShown)."""
    return [a.message for a in flat(actions) if isinstance(a, pa.SendSealed)]


def flat(actions: list[pa.Action]) -> list[pa.Action]:
    """`actions` with those a OnceShown holds in its place."""
    out: list[pa.Action] = []
    for action in actions:
        out.extend(flat(list(action.then)) if isinstance(action, pa.OnceShown) else [action])
    return out


def registered(mail: tuple[StoredMessage, ...] = ()) -> tuple[PeerCore, list[pa.Action]]:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    assert isinstance(register, Register)
    entries = (
        Entry("alice", *ME, True),
        Entry("bob", *BOB, True, BOBS),
        Entry("carol", "127.0.0.1", 6003, False),
    )
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, entries, mail, ())
    return core, core.receive(welcome, SERVER, REGISTRY_KEY, T0)


def run_until(core: PeerCore, end: float) -> list[pa.Action]:
    out: list[pa.Action] = []
    while (wake := core.next_wake()) is not None and wake <= end:
        out += core.tick(wake)
    return out


#: The start of what a start says after its first silent round: where, and how long since.
STILL_TRYING = f"[No answer from the registry at {SERVER[0]}:{SERVER[1]} after "


#: ... and after each round after that.
STILL_NO_ANSWER = f"[Still no answer from {SERVER[0]}:{SERVER[1]} after "


def trying(lines: list[str], start: str = STILL_TRYING) -> list[str]:
    """The lines of `lines` that say the registry is still tried, as `start` says it."""
    return [line for line in lines if line.startswith(start)]


#: Seconds by which a first registration the registry leaves silent is given up.
GIVEN_UP_BY = REGISTER_ROUND + SILENT_KEEPALIVES * 10.0 + SILENT_WAIT_LAST + REGISTER_ROUND


ENTRIES = (Entry("alice", *ME, True), Entry("bob", *BOB, True))


QUIT_AFTER_ANSWER = "[Quitting once the registry has answered; Ctrl-C quits at once.]"


OWN_ROW = (Entry("alice", "127.0.0.1", 6001, True),)


def quit_notice(n: int, name: str, farewell: str = "") -> Notice:
    text = f"{name} has quit" + (f" ({farewell})" if farewell else "")
    return Notice(f"q-{n}", text, name)


FULL = "bob's mailbox is full."


def chats_to(actions: list[pa.Action], addr: tuple[str, int]) -> list[str]:
    return [
        a.message.text
        for a in actions
        if isinstance(a, pa.SendSealed) and a.addr == addr and isinstance(a.message, Chat)
    ]


RELEASED = (
    "[The registry released the name alice: you are offline. Type reg alice to register it again.]"
)


def told_busy_once() -> tuple[PeerCore, Register]:
    """A peer starting, its registration answered Busy (wait 0.9 s) at T0 + 0.2."""
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    assert isinstance(register, Register)
    core.receive(Busy("r-1", register.id, 900), SERVER, REGISTRY_KEY, T0 + 0.2)
    return core, register


def welcomed(core: PeerCore, register: Register, now: float) -> bool:
    """Whether a Welcome answering `register` at `now` registers `core`."""
    entries = (Entry("alice", *ME, True),)
    welcome = Welcome("r-3", register.id, "alice", "tok", 3, entries, (), ())
    return WELCOME in prints(core.receive(welcome, SERVER, REGISTRY_KEY, now))


def renamed_by_answer(core: PeerCore, new: str, at: float) -> Rename:
    [rename] = sent(core.line(f"/nick {new}", at))
    assert isinstance(rename, Rename)
    core.receive(Ack(f"r-{at}", rename.id), SERVER, REGISTRY_KEY, at + 0.01)
    assert core.state.name == new
    return rename
