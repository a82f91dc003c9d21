"""The help desk's limits and timings (docs/DESK.md), each with why it is what it is."""

from __future__ import annotations

from msgspec import Struct

from wire.desk.messages import HEARTBEAT
from wire.desk.text import DEFAULT_CRISIS_NOTICE

#: Most people in the waiting room, held places included: a flood cannot grow memory nor
#: everyone's wait.
MAX_WAITING = 50
#: Places beyond MAX_WAITING for people who may be in danger alone.
DANGER_ROOM = 50
#: Most places one client key holds: its own, and one held while its place file is lost.
#: Keys are free to make, so the address below bounds what one computer holds.
MAX_PER_KEY = 2
#: Most places from one address, counted apart for people who may be in danger: one
#: computer cannot fill the room, yet a few people sharing one all get in.
MAX_PER_ADDRESS = 10
#: People waiting below which a join costs no work; from there a hashcash puzzle
#: (wire/desk/work.py) of WORK_BITS_FIRST bits, one more per WORK_BITS_STEP more people,
#: WORK_BITS_MOST at most: a person pays a second or two once, a flood pays for every place.
WORK_FREE_BELOW = 20
WORK_BITS_FIRST = 16
WORK_BITS_STEP = 10
WORK_BITS_MOST = 21
#: Seconds a waiting person's place is kept after their connection breaks.
GRACE = 120.0
#: Seconds at most a restarted desk waits for the places it kept to reconnect before it
#: serves anyone: their clients retry on the same backoff, so who is back first is chance.
RESTART_SETTLE = 5.0
#: Seconds after a restart within which a kept place must be taken back: a running client
#: is back within 9 s (RETRY_MAX 4 s, plus CONNECT_WAIT 5 s).
RECLAIM_WINDOW = 15.0
#: Shortest time between two position pushes to one person.
PUSH_INTERVAL = 1.0
#: Shortest time between two "... is waiting" notices to an operator in a session.
ARRIVALS_INTERVAL = 30.0
#: Names at most in that one line; the rest are counted.
ARRIVALS_NAMED = 3
#: Seconds a session is taken to last until enough are measured (`--typical-session`), as
#: support chats take.
TYPICAL_SESSION = 600.0


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


DEFAULTS = DeskSettings()


def work_bits(waiting: int) -> int:
    if waiting < WORK_FREE_BELOW:
        return 0
    return min(WORK_BITS_FIRST + (waiting - WORK_FREE_BELOW) // WORK_BITS_STEP, WORK_BITS_MOST)


def room_is_full(waiting: int, *, in_danger: bool, limits: DeskSettings) -> bool:
    """Whether a newcomer finds no room with `waiting` places taken (DANGER_ROOM more for
    someone `in_danger`)."""
    return waiting >= limits.max_waiting + (limits.danger_room if in_danger else 0)
