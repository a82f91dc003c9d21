"""The typed commands that concern no part of their own: the channel, the table shown,
going offline and back, help, and the mistakes said. Each handler takes its command,
`now` and the actions (PeerCore's table of commands gives each its handler). Sans-IO.
"""

from __future__ import annotations

from peer import commands as cmd
from peer.actions import Action, Print
from peer.registry_link import RegistryLink
from peer.shared import Shared, text_ok
from peer.table_news import TableNews
from wire.messages import ChannelPost, Deregister, RoomsRequest
from wire.names import name_key


class Commands:
    """The handlers of the commands above (no state of their own)."""

    def __init__(self, shared: Shared, link: RegistryLink, table_news: TableNews) -> None:
        self._shared = shared
        self._link = link
        self._table_news = table_news

    def send_all(self, command: cmd.SendAll, now: float, out: list[Action]) -> None:
        if text_ok(command.text, out):
            shared = self._shared
            state = shared.state
            post = ChannelPost(shared.new_id(), state.name, state.token, command.text)
            shared.settling.keep(post, out)
            self._link.request(post, now, out)

    def who(self, command: cmd.Who, now: float, out: list[Action]) -> None:
        self._shared.table.who(command.long, self._shared.state.name, out)

    def whois(self, command: cmd.Whois, now: float, out: list[Action]) -> None:
        out.append(Print(self._table_news.whois(command.name), "system"))

    def dereg(self, command: cmd.Dereg, now: float, out: list[Action]) -> None:
        if not self._is_me(command.name, "dereg", out):
            return
        shared = self._shared
        state = shared.state
        if not state.life.registered:
            out.append(Print("[You are already offline.]", "error"))
            return
        message = Deregister(shared.new_id(), state.name, state.token, False, "")
        self._link.request(message, now, out)

    def reg(self, command: cmd.Reg, now: float, out: list[Action]) -> None:
        if not self._is_me(command.name, "reg", out):
            return
        if self._shared.life.registered:
            out.append(Print("[You are already registered.]", "error"))
            return
        self._link.request(self._shared.register_message(), now, out)

    def help(self, command: cmd.Help, now: float, out: list[Action]) -> None:
        in_room = bool(self._shared.state.room)
        out.extend(Print(line, "info") for line in cmd.help_lines(command.topic, in_room=in_room))

    def mistake(self, command: cmd.Mistake, now: float, out: list[Action]) -> None:
        out.append(Print(f"[{command.message}]", "error"))

    def for_server(self, command: cmd.ForServer, now: float, out: list[Action]) -> None:
        room = self._shared.state.room
        line = f"[Not said in {room}; in a room, commands need their /: {command.instead}]"
        out.append(Print(line, "error"))

    def list_rooms(self, command: cmd.ListRooms, now: float, out: list[Action]) -> None:
        self._link.request(RoomsRequest(self._shared.new_id()), now, out)

    def _is_me(self, name: str, verb: str, out: list[Action]) -> bool:
        own = self._shared.state.name
        if name_key(name) != name_key(own):
            mine = self._shared.typed(f"{verb} {own}")
            out.append(Print(f"[You can only {verb} yourself ({mine}).]", "error"))
            return False
        return True
