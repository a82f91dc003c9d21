"""The operator's client on the full screen: DeskRunner, which also looks at the waiting room
every ROOM_LOOK seconds while on duty, and at once when the desk says it may have changed."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import msgspec

from peer.adapter.desk.runner import Arrived, DeskRunner, Event, RunnerSettings
from peer.adapter.desk.screen import TYPED, DutyState, OperatorScreen
from peer.adapter.desk.terminal import Terminal, Typed
from peer.adapter.terminal import colour_wanted
from peer.core.desk.actions import Action
from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import DeskPhase
from wire.desk.messages import (
    DeskEnded,
    DeskLook,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskRoom,
    DeskSession,
)

#: Seconds between two looks at the waiting room; the waits shown count on between them.
ROOM_LOOK = 3.0
#: What the desk says that may change the waiting room: looked at again at once.
CHANGES = (DeskOnDuty, DeskSession, DeskEnded, DeskNotice)


class ScreenRunner(DeskRunner):
    def __init__(self, core: OperatorCore, settings: RunnerSettings) -> None:
        colour = sys.stdout.isatty() and colour_wanted()
        link = core.link

        def answers() -> bool | None:
            return link.up if core.on_duty or link.up else None

        self.screen = OperatorScreen(
            DutyState(
                name=lambda: core.name,
                desk=lambda: f"{link.ip}:{link.port}",
                answers=answers,
                on_duty=lambda: core.on_duty and link.up and not core.reconnecting,
                serving=lambda: core.screen.serving,
            ),
            colour=colour,
        )
        term = Terminal(
            lambda event: self.events.put_nowait(event),
            tty=True,
            colour=colour,
            console=self.screen,
        )
        super().__init__(core, msgspec.structs.replace(settings, screen=term))
        self._duty = core
        self._looks: set[str] = set()  # the looks not answered yet
        self._look_now = asyncio.Event()

    async def run(self) -> int:
        self._spawn(self._look())
        return await super().run()

    def handle(self, event: Event, now: float) -> list[Action]:
        if isinstance(event, Typed):
            self.screen.about = TYPED
        elif isinstance(event, Arrived) and isinstance(event.message, DeskMessage):
            message = event.message
            if isinstance(message, DeskRoom) and message.reply_to in self._looks:
                self._looks.discard(message.reply_to)
                self.screen.room.update(message.rows, now)
                self.screen.app.invalidate()
                actions: list[Action] = []
                self._duty.link.heard(message, now, actions.append)  # a sign of life
                return actions
            self.screen.about = message
            if isinstance(message, CHANGES):
                self._look_now.set()
        return super().handle(event, now)

    def carry_out(self, actions: list[Action]) -> None:
        try:
            super().carry_out(actions)
        finally:
            self.screen.about = None

    async def _look(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._look_now.wait(), ROOM_LOOK)
            self._look_now.clear()
            core = self._duty
            if core.link.up and core.on_duty and core.link.phase is DeskPhase.DUTY:
                look = DeskLook(core.link.new_id())
                self._looks = {*list(self._looks)[-3:], look.id}  # an old look is not waited for
                self._send(look)
            elif not core.link.up and self.screen.room.known:
                self.screen.room.forget()
                self.screen.app.invalidate()
