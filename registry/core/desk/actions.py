"""What the help desk's core (`registry.core.desk.queue.DeskQueue`) asks its adapter to do:
frames to send, connections to close (by the opaque ids the adapter chooses, `ConnId`), log
lines, transcript records, and what to keep on disk; msgspec Structs, as the registry's are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from msgspec import Meta, Struct

from wire.desk.messages import DeskMessage

ConnId = str


class Send(Struct, frozen=True):
    """Send `message` on connection `conn`."""

    conn: ConnId
    message: DeskMessage


class Close(Struct, frozen=True):
    """Close connection `conn` once what was sent before has gone; `reason` is for the log."""

    conn: ConnId
    reason: str


class Log(Struct, frozen=True):
    """A line for the registry's log; it never holds a full phone number. `kind` is "" for
    a line about an event; for a refusal it names the refusal (a constant), and the line
    goes through the registry's one rate-limited log (net/drop_log.py)."""

    line: str
    kind: str = ""


class SessionStarted(Struct, frozen=True):
    """A session began: start its transcript. `phone` is masked already, and `said` (the
    lines of crisis typed while waiting) scrubbed of the number; `crisis` is why the person
    may be in danger (wire.desk.messages CRISIS_*, "" if nothing says so)."""

    session: str
    name: str
    phone: str
    topic: int
    description: str
    operator: str
    waited: float
    crisis: str = ""
    said: tuple[str, ...] = ()


class SessionLine(Struct, frozen=True):
    """A line said in a session, already scrubbed of the person's phone number; `crisis`
    when it is the person's and holds words of someone in danger (marked in the
    transcript as for the operator)."""

    session: str
    sender: str
    text: str
    crisis: bool = False


class SessionEnded(Struct, frozen=True):
    """A session ended after `length` seconds; `reason` says how."""

    session: str
    reason: str
    length: float


class KeptPlace(
    Struct,
    frozen=True,
    forbid_unknown_fields=True,
    rename={"joined": "joined_at", "serving_since": "serving_at"},
):
    """A place in the waiting room as kept on disk, times on the queue's clock: `joined`
    (later by the time `served`), `back` (at the front, or in a session), the `operator`
    serving them and since when (`serving_since`, None when in no session); see Person.
    The file spells it so, with times of day (registry/adapter/desk/files.py)."""

    token: Annotated[str, Meta(min_length=1)]
    name: str
    phone: str
    topic: int
    description: str
    address: str
    joined: float  # msgspec refuses NaN, Infinity and what overflows a float
    operator: str = ""  # who was serving them, "" for nobody (see DeskQueue.restore)
    back: bool = False
    served: Annotated[float, Meta(ge=0)] = 0.0
    serving_since: float | None = None
    crisis: str = ""
    said: tuple[str, ...] = ()


class KeepPlaces(Struct, frozen=True):
    """Keep `places` on disk in place of what was kept: should the registry stop without
    closing the desk (a crash, a power cut), its next start holds them (`restore`). In
    order: the people being served, who would be held at the front, then the waiting room."""

    places: tuple[KeptPlace, ...]


class KeepOperators(Struct, frozen=True):
    """Keep on disk the operators' public keys the registry has authorised (key text ->
    the name it first went on duty under): each goes on duty with no operator key."""

    keys: tuple[tuple[str, str], ...]


Action = (
    Send | Close | Log | SessionStarted | SessionLine | SessionEnded | KeepPlaces | KeepOperators
)
#: Takes each action as a part decides it, in order (docs/ARCHITECTURE.md, "Cores and adapters").
Emit = Callable[[Action], None]
