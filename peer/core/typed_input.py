"""What is typed, dispatched: each line carried out now or held until it can be, refused,
answered to a question of `message`, or parsed and handed to its command's part. Sans-IO."""

from __future__ import annotations

from peer.core import commands as cmd
from peer.core.actions import Emit, ExitPeer, Print
from peer.core.lifecycle import LifePhase
from peer.core.parts import Parts
from peer.core.request_kinds import TYPING_WAITS
from peer.core.shared import QUITTING_LATER, not_carried_out
from wire.messages import TableRequest

#: The handlers of what may be typed while offline.
WORKS_OFFLINE = frozenset(("commands.reg", "commands.dereg", "commands.help", "leaving.quit"))


class TypedInput:
    """The dispatch of typed lines (the lines held are Shared's)."""

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        self._shared = parts.shared
        self._life = parts.shared.life
        self._requests = parts.shared.requests
        self._requests_open = parts.shared.requests.records

    def line(self, text: str, now: float, emit: Emit, *, held: bool = False) -> None:
        """The user typed `text`: done now, or held until it can be (`held`: its turn came)."""
        life, asking = self._life, self._parts.commands
        if not held:
            if life.phase is LifePhase.START_FAILED:
                # read after the refusal (a script's line, read late): said as those before
                not_carried_out((text,), "you are not registered", emit)
                return
            if not life.started:
                self._shared.early_lines.append(text)
                return
            waiting = self._shared.lines_after_change
            if waiting or (self._requests_open and self._changing()):
                waiting.append(text)
                return
        if life.going and text.strip():
            # typed, or pasted, after /quit: the user is leaving, and said so first
            not_carried_out((text,), "you are quitting", emit)
            return
        if self._shared.line_watchers:  # parts waiting for the user to type again
            watchers, self._shared.line_watchers = self._shared.line_watchers, []
            for watcher in watchers:
                watcher(text, now, emit)
        if asking.asking is not None:  # (a question is asked: the line answers it)
            asking.answer_question(text, now, emit)
            return
        state = self._shared.state
        # after a /join that waits for kept lines, text is for the room it joins
        joining = self._shared.room_return.join_after_kept is not None
        command = cmd.parse(text, in_room=state.room != "" or joining)
        if command is None:
            return
        offline = not life.registered and life.started
        if offline and command.handler not in WORKS_OFFLINE:
            # a `reg` goes on: typed while the registry is away (Requests), or told to wait
            waits = self._shared.requests.register_again or bool(self._shared.requests.registers())
            verb, to = ("dereg", "stop the reg waiting") if waits else ("reg", "come back")
            typed = self._shared.typed(f"{verb} {state.name}")
            emit(Print(f"[You are offline. Type {typed} to {to}, or /quit.]", "error"))
            return
        part, method = command.handler.split(".")
        getattr(getattr(self._parts, part), method)(*command.args, now, emit)

    def end_of_input(self, now: float, emit: Emit) -> None:
        """The input ended: quit, once the lines before it are carried out. After a failed
        start, the exit (again): every line typed has been said not carried out."""
        if self._life.phase is LifePhase.START_FAILED:
            emit(ExitPeer(1))
        elif self._life.started and (self._shared.lines_after_change or self._changing()):
            # quit once the lines waiting are carried out
            self._shared.lines_after_change.append(None)
        elif self._life.started:
            self._parts.leaving.quit("", now, emit)
        elif None not in self._shared.early_lines:
            self._shared.early_lines.append(None)
            if self._life.phase is LifePhase.STARTING_LATE:
                emit(QUITTING_LATER)

    def carry_out_waiting(self, now: float, emit: Emit) -> None:
        """Carry out the lines that waited for a change, in order, until one of them
        starts another change (the rest wait for that one)."""
        lines = self._shared.lines_after_change
        while lines and not self._changing():
            text = lines.popleft()
            if text is None:
                self._parts.leaving.quit("", now, emit)
            else:
                self.line(text, now, emit, held=True)

    def _changing(self) -> bool:
        """Whether a change the next typed line depends on is on its way, whose answer it
        waits for: a join (is a line room text?), a rename (who sends?), a dereg or reg
        (may it be sent?), a leave (a /join must not overtake it), the whole table while
        ours is older than our Welcome (is a name typed in it?); not a `reg` going on."""
        requests = self._requests
        changes = TYPING_WAITS[:-1] if self._shared.requests.register_again else TYPING_WAITS
        if not requests.any_of((*changes, TableRequest), streamed=True):
            return False  # (one look, nearly always enough)
        whole = self._parts.table_news.before_welcome
        kinds = (*changes, TableRequest) if whole else changes
        return any(isinstance(m, kinds) for m in requests.messages(streamed=True, held=True))
