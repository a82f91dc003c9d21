"""Driving one part of the registry core alone: the shared services over a table of
records made by hand, with ids r-1, r-2... and tokens 1, 2, 3... in hex."""

from __future__ import annotations

import dataclasses
import itertools

from registry.core import actions as ra
from registry.core.authority import Act
from registry.core.credentials import token_hash
from registry.core.dispatch import CLAIMS
from registry.core.liveness import Liveness
from registry.core.post_office import PostOffice
from registry.core.posts import Posts
from registry.core.presence import Presence
from registry.core.registration import Registration
from registry.core.requests import Request
from registry.core.restart_news import RestartNews
from registry.core.room_requests import RoomRequests
from registry.core.services import Services
from registry.core.table import Record, Table
from wire.messages import Message, Refused, StoredMessage
from wire.names import name_key

T0 = 1_700_000_000.0
#: the token every record made by `record` holds (its hash is what the table keeps)
TOKEN = "ab" * 16


def services(table: Table | None = None, timing: tuple[float, int] = (0.5, 5)) -> Services:
    """The shared parts over `table` (a new one by default)."""
    ids, tokens = itertools.count(1), itertools.count(1)
    return Services.make(
        table if table is not None else Table(),
        lambda: f"r-{next(ids)}",
        lambda: f"{next(tokens):032x}",
        timing,
    )


def record(s: Services, name: str, port: int, *, online: bool = True, key: str = "") -> Record:
    """A record of `name` at 127.0.0.1:`port` put in `s`'s table, holding TOKEN."""
    made = Record(name, "127.0.0.1", port, online, token_hash(TOKEN), key=key, last_seen=T0)
    made.last_register_id = f"{name}-reg"
    s.table.records[name_key(name)] = made
    return made


def claimed(s: Services, act: Act, msg: Message, req: Request, now: float, emit: ra.Emit) -> None:
    """`act` on `msg` as RegistryCore does: once it proved its claim (dispatch.CLAIMS)."""
    s.names.claimed(CLAIMS[type(msg)], act)(msg, req, now, emit)


def unstamped(msg_id: str, sender: str, text: str, kind: str = "direct") -> StoredMessage:
    """A message to store: `PostOffice.store` stamps it."""
    return StoredMessage(msg_id, sender, text, "", kind)


def sent(out: list[ra.Action]) -> list[tuple[tuple[str, int], Message]]:
    """Every (address, message) the actions send, a SendMany as one per address."""
    found: list[tuple[tuple[str, int], Message]] = []
    for a in out:
        if isinstance(a, ra.Send):
            found.append((a.addr, a.message))
        elif isinstance(a, ra.SendMany):
            found += [(addr, a.message) for addr in a.addrs]
    return found


def refusals(out: list[ra.Action]) -> list[Refused]:
    """The refusals the actions send."""
    return [m for _, m in sent(out) if isinstance(m, Refused)]


def logs(out: list[ra.Action]) -> list[str]:
    """The log lines of the actions."""
    return [a.line for a in out if isinstance(a, ra.Log)]


@dataclasses.dataclass
class Parts:
    """Every part of a registry core, made as RegistryCore makes them, without the core."""

    s: Services
    post: PostOffice
    liveness: Liveness
    posts: Posts
    rooms: RoomRequests
    presence: Presence
    registration: Registration


def parts(s: Services | None = None, *, new_names: int = 50, limit: int = 100) -> Parts:
    """The parts over `s` (new services by default), mailboxes of `limit` messages."""
    s = s if s is not None else services()
    post = PostOffice(s, {}, {}, limit)
    liveness = Liveness(s, 10.0, (0.5, 5))
    rooms = RoomRequests(s, {})
    posts = Posts(s, post, liveness, RestartNews(s).unacked, rooms.rooms)
    presence = Presence(s, rooms.leave_room, posts.restarted, post)
    registration = Registration(s, liveness, presence, post, new_names)
    return Parts(s, post, liveness, posts, rooms, presence, registration)
