"""The help desk's limits and timings (docs/DESK.md): named, with why each is what it
is."""

from __future__ import annotations

from msgspec import Struct

from wire.desk.messages import HEARTBEAT
from wire.desk.text import DEFAULT_CRISIS_NOTICE

#: Most people in the waiting room, places held after a lost connection included. A
#: newcomer beyond it is refused with the reason and the current estimate; the bound keeps
#: a flood of connections from growing the registry's memory and everyone's wait.
MAX_WAITING = 50
#: Places beyond MAX_WAITING that only people who may be in danger (topic 1, or words of
#: crisis) may take: a room filled by others never turns them away. It is bounded only so
#: that memory is; one address holds at most MAX_PER_ADDRESS of them.
DANGER_ROOM = 50
#: Most places one desk client's key may hold (held places included): its own, and one held
#: for it while it has lost the token of that place (its place file gone), until that runs
#: out. Keys are free to make, so the address below bounds what one computer holds.
MAX_PER_KEY = 2
#: Most places held from one address (held places included), counted apart for people who
#: may be in danger: a script on one computer, however many keys it makes, cannot fill the
#: room of MAX_WAITING and keep everyone else out, yet a few people sharing a machine (each
#: client with its own key) all get in. Loopback is an address like any other: a process
#: on the registry's machine could otherwise fill the room.
MAX_PER_ADDRESS = 10
#: People waiting below which a join costs no work. From there a new place costs a
#: hashcash puzzle (wire/desk/work.py) of WORK_BITS_FIRST bits, one bit more for each
#: WORK_BITS_STEP more people waiting, at most WORK_BITS_MOST: a quiet desk asks nothing;
#: a busy one asks a person a second or two of one core at most, once; a flood of joins
#: pays that for every place it takes (docs/DESK.md, "Work under load").
WORK_FREE_BELOW = 20
WORK_BITS_FIRST = 16
WORK_BITS_STEP = 10
WORK_BITS_MOST = 21
#: Seconds a waiting person's place is kept after their connection breaks.
GRACE = 120.0
#: Seconds, at most, a restarted desk waits for the people whose places it kept (see
#: `restore`) to reconnect before it serves anyone. Their clients all lost the connection
#: at the same moment and retry on the same backoff (up to 4 s apart), so who reconnects
#: first is chance; serving whoever did would let them pass the people ahead of them.
RESTART_SETTLE = 5.0
#: Seconds after a restart within which a place kept on disk must be taken back, or it is
#: given up (see `restore`). A client still running reconnects by itself: it tries again at
#: most 4 s after a failed attempt (peer.core.desk.actions.RETRY_MAX), and an attempt that gets
#: no answer at all (the registry's machine still coming up) fails after 5 s
#: (peer.adapter.desk.runner.CONNECT_TIMEOUT); so it is back within 9 s of the desk listening, and
#: 15 s leaves room for a loaded machine and the join's round trip. A place nobody takes
#: back by then belongs to someone who gave up while the registry was down (closed the
#: client, or typed `.quit` and the desk never heard): held for the whole grace period, it
#: would be counted ahead of every newcomer, in positions and estimates, for nothing.
RECLAIM_WINDOW = 15.0
#: Shortest time between two position pushes to one person ("at most once a second").
PUSH_INTERVAL = 1.0
#: Shortest time between two "... is waiting" notices to an operator in a session: the
#: arrivals in between are told in one line at its end, not a line each (a burst of fifty
#: would bury what the person being served says).
ARRIVALS_INTERVAL = 30.0
#: Names at most in that one line; the rest are counted.
ARRIVALS_NAMED = 3
#: Seconds a session is taken to last until the desk has measured enough of them (the
#: registry's `--typical-session`): a help-desk conversation typed at a terminal (a
#: greeting, the question, an answer or two, the goodbye) takes about ten minutes, as
#: support chats commonly do; a call is quicker (about six), typing is slower than talking.
#: A guess too short would promise what the desk cannot keep; three sessions ended replace
#: it with what is measured.
TYPICAL_SESSION = 600.0
#: The shortest and longest typical session the registry may be given: shorter than ten
#: seconds is no conversation, and a typical length of hours would be a mistake of unit.
TYPICAL_SESSION_RANGE = (10.0, 4 * 3600.0)


class DeskSettings(Struct, frozen=True, kw_only=True):
    """How one desk runs, each setting defaulted as above; `closed` says why the desk serves
    nobody ("" while it does). ValueError for a setting out of bounds."""

    crisis_notice: str = DEFAULT_CRISIS_NOTICE
    grace: float = GRACE
    max_waiting: int = MAX_WAITING
    max_per_address: int = MAX_PER_ADDRESS
    max_per_key: int = MAX_PER_KEY
    danger_room: int = DANGER_ROOM
    push_interval: float = PUSH_INTERVAL
    reclaim_window: float = RECLAIM_WINDOW
    heartbeat: float = HEARTBEAT
    typical_session: float = TYPICAL_SESSION
    closed: str = ""

    def __post_init__(self) -> None:
        if self.grace < 0 or self.push_interval < 0:
            raise ValueError("grace and push_interval must be >= 0")
        if not self.heartbeat > 0:
            raise ValueError("heartbeat must be > 0")
        if self.danger_room < 0:
            raise ValueError("danger_room must be >= 0")
        if min(self.max_waiting, self.max_per_address, self.max_per_key) < 1:
            raise ValueError("max_waiting, max_per_address and max_per_key must be >= 1")


#: A desk's settings when it is given none.
DEFAULTS = DeskSettings()
