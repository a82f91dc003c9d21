"""Who the help desk knows: a person asking for help, an operator on duty, a session
between them (plain records, changed only by `registry.core.desk.queue.DeskQueue`).
"""

from __future__ import annotations

from msgspec import Struct, field

from registry.core.desk.actions import ConnId
from wire.desk.phone import mask_phone
from wire.shown_text import clean


class Person(Struct, eq=False):
    """Someone asking for help, waiting or being served."""

    token: str
    name: str
    phone: str  # normalised; leaves the core only towards the operator serving them
    topic: int
    description: str
    joined: float
    conn: ConnId | None
    address: str = ""  # the IP the person joined from (MAX_PER_ADDRESS), "" if unknown
    key: str = ""  # the public key of the client that joined (MAX_PER_KEY), "" if unknown
    dropped: float | None = None  # when the connection broke, while the place is held
    shown: tuple[int, int] | None = None  # (position, operators) the person last saw
    pushed_at: float = float("-inf")
    due: float | None = None  # when a push held back by PUSH_INTERVAL may go
    served: float = 0.0  # seconds spent being served since joining: not waiting
    back: bool = False  # put back at the front (see registry.core.desk.line.Line.to_front)
    # after a restart: the name of the operator who was serving them, and until when the
    # two are kept for each other (see DeskQueue.restore)
    awaits: str = ""
    awaits_until: float = 0.0
    crisis: str = (
        ""  # why they may be in danger (wire.desk.messages CRISIS_*), "" if nothing says so
    )
    # the lines of crisis typed while waiting (keep_said), for their operator
    said: tuple[str, ...] = ()
    alerted_at: float = float("-inf")  # when operators were last told of their words
    noticed_on: ConnId | None = None  # the connection the crisis notice was last sent on

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)

    def waited(self, now: float) -> float:
        """Seconds spent waiting since joining: time being served does not count."""
        return max(0.0, now - self.joined - self.served)


class Operator(Struct, eq=False):
    """An operator on duty: serves `topics`, one person at a time."""

    conn: ConnId
    name: str
    topics: frozenset[int]
    free_since: float
    order: int  # tie-break between operators free since the same moment
    session: Session | None = None
    told_at: float = float("-inf")  # the last "... is waiting" notice
    untold: list[Person] = field(default_factory=list)  # arrivals held back since


class Session(Struct, eq=False):
    """An operator serving a person."""

    id: str
    person: Person
    operator: Operator
    started: float
    heard: int = 0  # the person's lines received in the session (DeskEnded.heard)
    resumed: bool = False  # a conversation resumed after a restart: only its tail


def name_for_log(person: Person) -> str:
    """`Alice (phone *******45)`: how a person appears in logs."""
    return f"{clean(person.name)} (phone {person.masked})"


def sorted_topics(topics: frozenset[int]) -> tuple[int, ...]:
    """`topics` in order, as messages carry them."""
    return tuple(sorted(topics))
