"""The typed commands that concern no part of their own, and the `message` command's
questions (the recipient, then the text; an empty answer cancels). Sans-IO.
"""

from __future__ import annotations

from peer.core import commands as cmd
from peer.core.actions import Emit, ForFiles, Print
from peer.core.registry_link import RegistryLink
from peer.core.shared import Chats, Shared, text_ok
from wire.keys import fingerprint, key_from_text
from wire.limits import MAX_FAREWELL
from wire.messages import NO_REASON, ChannelPost, Message, RoomsRequest, SetAway
from wire.names import name_key

#: The commands that take us offline: typed while away, they do not mark us back first.
_TAKE_US_OFFLINE = ("leaving.quit", "commands.dereg")


class Commands:
    """The handlers of the commands above; whether we said we are away (`away`); the question
    of `message` asked (`asking`)."""

    def __init__(self, shared: Shared, link: RegistryLink, chats: Chats) -> None:
        self._shared = shared
        self._link = link
        self._direct = chats
        #: None: no question asked; "": the recipient asked; else the recipient, the text asked.
        self.asking: str | None = None
        #: Our key's fingerprint, for /whois (PeerCore's option: the adapter knows the key).
        self.fingerprint = ""
        #: why we are away, as the registry last took it (SetAway), or "": here
        self.away = ""

    def send_all(self, text: str, now: float, emit: Emit) -> None:
        if text_ok(text, emit):
            shared = self._shared
            state = shared.state
            post = ChannelPost(shared.new_id(), state.name, state.token, text)
            post = shared.settling.keep(post)
            self._link.request(post, now, emit)

    def who(self, flag: str, now: float, emit: Emit) -> None:
        """The table's rows (`flag` "-l": with addresses), ours marked."""
        if not (rows := self._shared.table.rows()):
            emit(Print("[The table is empty.]", "system"))
            return
        emit(Print("[Registered names:]", "system"))
        entries = sorted(rows, key=lambda e: name_key(e.name))
        width, own = max(len(e.name) for e in entries), name_key(self._shared.state.name)
        for entry in entries:
            status = "online " if entry.online else "offline"
            where = f"  {entry.ip}:{entry.port}" if flag == "-l" else ""
            me = "  (you)" if name_key(entry.name) == own else ""
            away = f"  (away: {entry.away})" if entry.away and entry.online else ""
            away = "  (away)" if entry.away == NO_REASON else away
            line = f"  {entry.name.ljust(width)}  {status}{where}{me}{away}".rstrip()
            emit(Print(line, "info", entry.name))

    def whois(self, name: str, now: float, emit: Emit) -> None:
        """The /whois line: `name`'s key fingerprint from the table, and ours."""
        if (entry := self._shared.table.entry(name)) is None:
            emit(self._shared.no_user(name))
            return
        key = key_from_text(entry.key)
        if key is None:
            line = f"[{entry.name} has no key yet (not started since the registry took keys).]"
            emit(Print(line, "system"))
            return
        yours = f"yours: {self.fingerprint}" if self.fingerprint else ""
        line = f"[{entry.name}'s key: {fingerprint(key)}; {yours}. Read them aloud to compare.]"
        emit(Print(line, "system"))

    def dereg(self, name: str, now: float, emit: Emit) -> None:
        if not self._is_me(name, "dereg", emit):
            return
        shared = self._shared
        if not shared.life.registered:
            # a `reg` going on stops: in flight, or waiting after a Busy
            regs = shared.requests.registers()
            for message in regs:
                shared.requests.answer_came(message.id)
            waited = shared.requests.register_again or bool(regs)
            shared.requests.register_again = False
            line = "[Your reg is tried no more.]" if waited else "[You are already offline.]"
            emit(Print(line, "system" if waited else "error"))
            return
        self._link.request(self._shared.deregister_message(), now, emit)

    def reg(self, name: str, now: float, emit: Emit) -> None:
        if not self._is_me(name, "reg", emit):
            return
        if self._shared.life.registered:
            emit(Print("[You are already registered.]", "error"))
            return
        self._link.request(self._shared.register_message(), now, emit)

    def help(self, topic: str, now: float, emit: Emit) -> None:
        in_room = bool(self._shared.state.room)
        for line in cmd.help_lines(topic, in_room=in_room):
            emit(Print(line, "info"))

    def mistake(self, message: str, now: float, emit: Emit) -> None:
        emit(Print(f"[{message}]", "error"))

    def for_server(self, instead: str, now: float, emit: Emit) -> None:
        """`server:who` or `server:exit` typed in a room: not said; `instead` works there."""
        room = self._shared.state.room
        line = f"[Not said in {room}; in a room, commands need their /: {instead}]"
        emit(Print(line, "error"))

    def for_files(self, verb: str, args: str, now: float, emit: Emit) -> None:
        emit(ForFiles(verb, args))

    def list_rooms(self, now: float, emit: Emit) -> None:
        self._link.request(RoomsRequest(self._shared.new_id()), now, emit)

    def away_from(self, text: str, now: float, emit: Emit) -> None:
        """/away [text]: marked away in everyone's `who` until we type again, or /back."""
        if len(text) > MAX_FAREWELL:
            emit(Print(f"[Say why you are away in {MAX_FAREWELL} characters at most.]", "error"))
        else:
            self._mark_away(text or NO_REASON, now, emit)

    def back(self, text: str, now: float, emit: Emit) -> None:
        if not self.away:
            emit(Print("[You are not marked away.]", "error"))
        else:
            self._mark_away("", now, emit)

    def _mark_away(self, text: str, now: float, emit: Emit) -> None:
        state = self._shared.state
        self._link.request(SetAway(self._shared.new_id(), state.name, state.token, text), now, emit)

    def _typed_again(self, line: str, now: float, emit: Emit) -> None:
        """A line typed while away: back, unless blank, /away or /back, or a /quit or dereg
        (going offline ends the mark: the registry forgets it)."""
        command = cmd.parse(line)
        if command is None or command.handler in (cmd.AWAY, cmd.BACK):
            self._shared.line_watchers.append(self._typed_again)  # (the line does it)
        elif self.away and self._shared.life.registered and command.handler not in _TAKE_US_OFFLINE:
            self._mark_away("", now, emit)
        else:
            self.away = ""  # offline: the registry forgot it

    def away_answered(self, asked: SetAway, reply: Message, now: float, emit: Emit) -> None:
        """The registry marked us away (or back), as asked: the next line typed is watched."""
        self.away, watchers = asked.text, self._shared.line_watchers
        if asked.text and self._typed_again not in watchers:
            watchers.append(self._typed_again)
        line = f"[You are marked away: {asked.text}]" if asked.text else "[You are back.]"
        emit(Print(line.replace(f": {NO_REASON}]", ".]"), "system"))

    def _is_me(self, name: str, verb: str, emit: Emit) -> bool:
        own = self._shared.state.name
        if name_key(name) != name_key(own):
            mine = self._shared.typed(f"{verb} {own}")
            emit(Print(f"[You can only {verb} yourself ({mine}).]", "error"))
            return False
        return True

    def ask_message(self, to: str, now: float, emit: Emit) -> None:
        """`message` (or `message <name>`) was typed: ask for what is missing."""
        self.asking = ""
        if to:
            self.answer_question(to, now, emit)
        else:
            emit(Print("[To whom?]", "system"))

    def answer_question(self, text: str, now: float, emit: Emit) -> None:
        """The line typed answers the question asked; an empty one cancels it."""
        to, self.asking = self.asking, None
        if not to:
            self._recipient(text.strip(), emit)
        elif not (text := text.rstrip()):  # leading spaces are the user's, as in `send`
            emit(Print("[Cancelled.]", "system"))
        else:
            self._direct.send(to, text, now, emit)

    def _recipient(self, name: str, emit: Emit) -> None:
        entry = self._shared.table.entry(name) if name else None
        if not name:
            emit(Print("[Cancelled.]", "system"))
        elif entry is None:  # said now, not after the text is typed
            emit(self._shared.no_user(name))
        else:
            self.asking = entry.name if name_key(entry.name) == name_key(name) else name
            emit(Print(f"[Message to {self.asking}?]", "system"))

    def question_prompt(self) -> str | None:
        """The prompt of the question asked; None when none is."""
        if self.asking is None:
            return None
        return f"message to {self.asking}: " if self.asking else "message to: "

    def question(self) -> str:
        return "" if self.asking is None else "text" if self.asking else "recipient"
