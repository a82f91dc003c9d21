"""The room this peer is in: joining and leaving, its lines said and shown. Sans-IO."""

from __future__ import annotations

from datetime import datetime

from peer.core import commands as cmd
from peer.core.actions import Addr, Dated, Emit, Print
from peer.core.registry_link import RegistryLink
from peer.core.shared import Shared, text_ok
from wire.limits import MAX_FAREWELL
from wire.messages import (
    Join,
    Leave,
    Message,
    Refused,
    RoomList,
    RoomMessage,
    RoomNotice,
    RoomPost,
    RoomsRequest,
    SetTopic,
)
from wire.names import name_key, name_problem
from wire.words import counted

NOT_IN_A_ROOM = Print("[You are not in a room. join <room> enters one.]", "error")


#: What `/shrug` adds to what is said with it.
SHRUG = "¯\\_(ツ)_/¯"


class Membership:
    """The room we are in is the PeerState's (`room`); the rooms heard of (joined, listed,
    or told about) are kept as the registry spells them: for tab completion, and to take
    its spelling over the one typed."""

    def __init__(self, shared: Shared, link: RegistryLink) -> None:
        self._shared = shared
        self._link = link
        self._inbox = shared.inbox
        self._topic_asked: set[str] = set()  # ids of the `rooms` asked by /topic alone
        self._rooms_seen: dict[str, str] = {}  # room keys -> names

    def join(self, room: str, now: float, emit: Emit) -> None:
        problem = name_problem(room)
        if problem:
            line = f"[Cannot join {room!r}: {problem} (room names follow the name rules).]"
            emit(Print(line, "error"))
            return
        state = self._shared.state
        if state.room and name_key(room) == name_key(state.room):
            emit(Print(f"[You are already in {state.room}.]", "error"))
            return
        join = self._shared.join_message(room)
        if self._shared.room_return.typed_join(join, emit):
            self._link.request(join, now, emit)

    def leave(self, now: float, emit: Emit) -> None:
        """Leave at once here and tell the registry (unanswered, the Leave waits in the
        outbox like a message)."""
        shared = self._shared
        state = shared.state
        if not state.room:
            emit(NOT_IN_A_ROOM)
            return
        emit(Print(f"[You left {state.room}.]", "system"))
        state.room = ""
        leave = Leave(shared.new_id(), state.name, state.token)
        # it may wait in the outbox, after lines typed in the room
        shared.settling.note_typed(leave)
        self._link.request(leave, now, emit)

    def say(self, text: str, now: float, emit: Emit) -> None:
        """The user said `text` in the room they are in (not when too long: said)."""
        if not text_ok(text, emit):
            return
        shared = self._shared
        state = shared.state
        joining = shared.room_return.join_after_kept
        room = joining.room if joining is not None else state.room
        if not room:  # `/me` typed outside a room
            emit(NOT_IN_A_ROOM)
            return
        said = RoomPost(shared.new_id(), state.name, state.token, room, text)
        said = shared.settling.keep(said)
        if joining is None:
            self._link.request(said, now, emit)
        else:
            # typed after a /join that waits for kept lines: for the room it joins
            shared.settling.hold(said)  # logged at the end of the event, before it is shown
            emit(Print(f"[Kept; said in {room} once you are in it.]", "system"))
        if cmd.spelled_as_command(text):
            line = (
                f"[Said in {room} as text; in a room, commands need "
                f"their /: /{text.split()[0].lower()}]"
            )
            emit(Print(line, "system"))

    def me(self, action: str, now: float, emit: Emit) -> None:
        """/me `action`: said in the room, shown as `* name action`."""
        self.say(f"/me {action.lstrip()}", now, emit)

    def shrug(self, text: str, now: float, emit: Emit) -> None:
        self.say(f"{text} {SHRUG}".lstrip(), now, emit)

    def topic(self, text: str, now: float, emit: Emit) -> None:
        """/topic `text`: our room's topic set; without text, shown (asked with `rooms`)."""
        shared = self._shared
        state = shared.state
        if not state.room:
            emit(NOT_IN_A_ROOM)
        elif not text:
            ask = RoomsRequest(shared.new_id())
            self._topic_asked.add(ask.id)
            self._link.request(ask, now, emit)
        elif len(text) > MAX_FAREWELL:
            emit(Print(f"[A topic is at most {MAX_FAREWELL} characters.]", "error"))
        else:
            topic = SetTopic(shared.new_id(), state.name, state.token, state.room, text)
            self._link.request(topic, now, emit)

    def topic_set(self, asked: SetTopic, reply: Message, now: float, emit: Emit) -> None:
        line = f"[You set the topic of {asked.room}: {' '.join(asked.text.split())}]"
        emit(Print(line, "system"))

    def message(self, message: RoomMessage, addr: Addr, now: float, emit: Emit) -> None:
        """A line said in a room (or from its history, after a join): shown once."""
        shared = self._shared
        key = self._inbox.accept(message.sender, message.id)
        history = message.history and shared.life.registered
        if not shared.room_return.shows(message.id, key is not None, history):
            return
        self.seen_room(message.room)
        key = key or (name_key(message.sender), message.id)  # (a history line shown again)
        self._inbox.show(message, key, room_line(message), now, emit)

    def notice(self, notice: RoomNotice, emit: Emit) -> bool:
        """A room's notice (someone joined or left): shown once; True when it is new."""
        if not self._inbox.accept("", notice.id):
            return False
        self.seen_room(notice.room)
        emit(Print(f"[{notice.text}]", "system"))
        return True

    def seen_room(self, room: str) -> None:
        """Remember `room` for completion; take the registry's spelling of our own room."""
        state = self._shared.state
        self._rooms_seen[name_key(room)] = room
        if state.room and name_key(room) == name_key(state.room):
            state.room = room

    def room_names(self) -> list[str]:
        return sorted(self._rooms_seen.values(), key=name_key)

    def rooms_answered(self, asked: RoomsRequest, reply: Message, now: float, emit: Emit) -> None:
        if not isinstance(reply, RoomList):
            return
        current = self._shared.state.room
        self._rooms_seen = {name_key(r): r for r in reply.rooms}
        if current:
            self._rooms_seen[name_key(current)] = current
        topics = dict(zip(map(name_key, reply.rooms), reply.topics, strict=False))
        if asked.id in self._topic_asked:  # /topic alone
            self._topic_asked.discard(asked.id)
            topic = topics.get(name_key(current), "")
            line = f"[Topic of {current}: {topic}]" if topic else f"[{current} has no topic.]"
            emit(Print(line, "system"))
            return
        if not reply.rooms:
            emit(Print(f"[No rooms yet. {self._shared.typed('join <room>')} makes one.]", "system"))
            return
        emit(Print("[Rooms:]", "system"))
        width = max(len(r) for r in reply.rooms)
        for room, count in zip(reply.rooms, reply.counts, strict=False):
            here = "  (you are here)" if name_key(room) == name_key(current) else ""
            about = f"  - {topics[key]}" if topics.get(key := name_key(room)) else ""
            emit(Print(f"  {room.ljust(width)}  {counted(count, 'member')}{here}{about}", "info"))

    def joined(self, join: Join, reply: Message, now: float, emit: Emit) -> None:
        """The registry answered `join` (a refusal is RequestEnds'): we are in its room, spelled
        as the registry does. Kept lines that waited for it go now (a kept /leave after them
        takes us out again)."""
        shared, kept = self._shared, self._shared.settling
        shared.state.room = self._rooms_seen.get(name_key(join.room), join.room)
        self.seen_room(shared.state.room)
        if shared.room_return.join_over(join) and any(isinstance(m, Leave) for m in kept.outbox):
            shared.state.room = ""
        if kept.held:  # kept lines that waited for this join go now
            self._link.flush_outbox(now, emit)

    def rejoin_refused(self, join: Join, refusal: Refused, now: float, emit: Emit) -> None:
        """The join for kept lines was refused: say each of them in full, as not sent."""
        shared = self._shared
        if not shared.room_return.join_over(join):
            return
        for message in shared.settling.outbox:
            if isinstance(message, RoomPost):
                self.post_refused(message, refusal, now, emit)
            elif isinstance(message, Leave):
                shared.settling.stop_holding(message)  # in no room already

    def post_refused(self, post: RoomPost, refusal: Refused, now: float, emit: Emit) -> None:
        """Say which line was not sent, in full, and why; refused as not in its room, we are
        in none here either. Refused as offline (the registry gave up on us), it is kept,
        and said in the room once we are back in it."""
        shared = self._shared
        if self._link.counts_us_offline(refusal.code):
            shared.settling.hold(post)
            self._link.come_back(now, emit)
            return
        shared.settling.stop_holding(post)
        emit(Print(f"[Not sent to {post.room}: {refusal.reason}]", "error"))
        emit(Print(f"[Your line: {post.text}]", "error"))
        state = shared.state
        if state.room and name_key(state.room) == name_key(post.room):
            state.room = ""
            line = f"[You are no longer in {post.room}; /join {post.room} to go back.]"
            emit(Print(line, "error"))


def room_line(message: RoomMessage) -> Print:
    """The line of `message`, said in a room: as it is said, or from the room's history
    (marked so, with when it was said)."""
    said = f"{message.sender} (in {message.room}): {message.text}"
    if message.text.startswith("/me "):
        said = f"* {message.sender} {message.text[4:]} (in {message.room})"
    if message.history:
        return Dated(f"[history {message.stamp[:16]}] {said}", "history", message.sender)
    return Print(said, "room", message.sender)


def as_of(line: Print, wall: float) -> Print:
    """`line` of a room's history as shown at the time of day `wall`: without its date when
    that is the day of `wall`."""
    dated = datetime.fromtimestamp(wall).strftime("[history %Y-%m-%d ")
    if not line.text.startswith(dated):
        return line
    return Print("[history " + line.text[len(dated) :], line.style, line.who)
