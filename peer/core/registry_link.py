"""The peer's exchanges with the registry, above peer.core.requests: the outbox first, one
kept message at a time; what follows an answer or a give-up; keepalives; moves. Sans-IO.
"""

from __future__ import annotations

import math
from typing import Final

from peer.core.actions import Addr, AskRegistryKey, Emit, Print, SendSealed
from peer.core.lifecycle import Event, LifePhase
from peer.core.request_kinds import KEPT, RequestRecord, Stage
from peer.core.requests import SILENT_KEEPALIVES
from peer.core.retry_wait import SilentRounds
from peer.core.shared import QUITTING_LATER, Shared
from wire.messages import Deregister, Join, Keepalive, Leave, Message, Register, RoomPost, ring_next
from wire.refusals import RefusalCode

#: Where a request is not on its way: waiting behind another, answered, given up on.
_NOT_ON_ITS_WAY: Final = (Stage.HELD, Stage.ANSWERED, Stage.GIVEN_UP)


class RegistryLink:
    """The order of what goes to the registry, and what goes next once a request is
    answered or given up on (those given up on are handed back, for RequestEnds)."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._requests = shared.requests

    def request(self, message: Message, now: float, emit: Emit, quiet: bool = False) -> None:
        """Send `message` to the registry (`Requests.send`), after the kept messages
        waiting (the first of them goes as a probe)."""
        kept = self.next_kept() if self._shared.settling.held else None
        self._requests.send(message, now, emit, quiet, kept=kept)

    def over(
        self, message: Message, now: float, emit: Emit, *, gave_up: bool = False
    ) -> list[RequestRecord]:
        """`message` was answered or given up: if what follows waited for it, send the next
        kept message (after an answer only), else what was held behind it; those to give up
        on with it (the registry is away: typed behind it, kept behind it), in order."""
        requests = self._requests
        if not requests.release(message.id) or self._shared.life.phase is LifePhase.REPLACED:
            return []  # (replaced: this start sends nothing more, see Leaving.replaced)
        held = self._shared.settling.held
        if not gave_up and message.id not in held:
            kept = self.next_kept()
            if kept is not None:
                self.request(kept, now, emit, quiet=True)
                return []
        if gave_up and (message.id in held or isinstance(message, KEPT)):
            return requests.take_held(give_up=True)
        for request in requests.take_held():
            requests.send(request.message, now, emit, request.quiet)  # the outbox is behind it
        return []

    def next_kept(self) -> Message | None:
        """The first kept message not on its way yet (sent, paced, or waiting after a Busy);
        None when there is none, or when it waits for its room to be joined again, or for a
        /join typed before it (RoomReturn)."""
        room_return, records = self._shared.room_return, self._requests.records
        for message in self._shared.settling.outbox:
            if room_return.rejoining is not None and isinstance(message, RoomPost | Leave):
                return None  # (its room first)
            request = records.get(message.id)
            if request is None or request.stage in _NOT_ON_ITS_WAY:
                return None if room_return.waits_for_join(message) else message
        return None

    def flush_outbox(self, now: float, emit: Emit, *, back: bool = False) -> None:
        """Send the outbox on, after the join for kept room lines (asked again if
        unanswered), the saves and posts on their way joining it first; `back`: the
        registry was away, and those accepted whose outcome is awaited too."""
        self._join_outbox(back)
        rejoining = self._shared.room_return.rejoining
        if rejoining is not None and not self._requests.any_of(Join):
            # the join for kept lines went unanswered: ask again
            self.request(self._shared.join_message(rejoining), now, emit, quiet=True)
        if self._requests.waited_for is not None:
            return  # the kept message on its way sends the next once answered
        # One at a time, each once the one before is answered (`over`): a lost one sent
        # again later would reach the registry after those typed after it.
        kept = self.next_kept()
        if kept is not None:
            self.request(kept, now, emit, quiet=True)

    def _join_outbox(self, back: bool) -> None:
        """The saves and posts on their way, and, `back`, those accepted whose outcome is
        awaited (a restarted registry forgot them), join the outbox in the order typed, to
        go one at a time: sent again apart, one lost or asked again would be overtaken."""
        requests, settling = self._requests, self._shared.settling
        carried = [
            message
            for message in requests.messages()
            if isinstance(message, KEPT)
            and message.id not in settling.held  # (a kept one on its way goes first all the same)
        ]
        for message in carried:
            requests.answer_came(message.id)
            requests.release(message.id)  # (what was held behind it is behind the outbox now)
        settling.hold(*carried, *(requests.outcomes_over(math.inf) if back else ()))

    def due(self, now: float, emit: Emit) -> list[RequestRecord]:
        """Send what is due at `now`; those that ran out of tries, to give up on."""
        shared, requests = self._shared, self._requests
        requests.send_paced(now, emit)
        again, failed = requests.due(now)
        unanswered = again + failed
        if not shared.life.registered and self._move_on(unanswered, now, emit):
            # `unanswered`, then all else on its way, oldest first, then the outbox
            requests.take_back(unanswered, now)
            self._join_outbox(True)  # before the rest goes, so that none of them goes twice
            requests.send_again(now, emit, moved=True)
            self.flush_outbox(now, emit)
            again, failed = [], []
        elif failed and shared.tried and not shared.requests.down:
            # every registry of the service was tried: said, outbox retries too
            for request in failed:
                request.quiet = False
        server = shared.requests.server
        for request in again:
            emit(SendSealed(server, request.message, shared.trust.registry))
            if isinstance(request.message, Register) and not shared.life.registered:
                # its key too, answered in clear: a registry that runs (or runs again) is
                # told from one that does not even when a lossy LAN loses its handshakes
                emit(AskRegistryKey())
                if not shared.life.started:
                    if shared.life.phase is LifePhase.STARTING and None in shared.early_lines:
                        emit(QUITTING_LATER)
                    shared.life.fire(Event.REGISTER_RESENT)
        return [request for request in failed if not self._keeps_trying(request, now, emit)]

    def tick(self, now: float, emit: Emit) -> None:
        """After `due`: send what waited for a Busy, ask again for overdue outcomes, and
        send a keepalive when one is due."""
        shared, requests = self._shared, self._requests
        server = shared.requests.server
        for request in requests.busy_over(now):
            emit(SendSealed(server, request.message, shared.trust.registry))
        for accepted in requests.outcomes_over(now):
            # asked again: the registry dedupes; one restarted relays a forgotten post again
            self.request(accepted, now, emit, quiet=True)
        idle = not (shared.life.registered or shared.settling.held or requests.register_again)
        if not requests.keepalive_due(now) or idle:  # (one due schedules the next, idle or not)
            return
        if requests.down:
            emit(AskRegistryKey())  # silent: perhaps it has another key now
            self.flush_outbox(now, emit)
        # away, a message of the outbox on its way probes it: no keepalive beside it
        going = (Keepalive, Deregister, *KEPT) if requests.down else (Keepalive, Deregister)
        if shared.life.registered and not self.sent(going):
            message = Keepalive(
                shared.new_id(), shared.state.name, shared.state.token, shared.table.version
            )
            self.request(message, now, emit, quiet=True)
        elif requests.register_again and not self.sent(Register):  # (only offline: `registered`)
            self.request(shared.register_message(), now, emit, quiet=True)

    def _keeps_trying(self, request: RequestRecord, now: float, emit: Emit) -> bool:
        """Whether `request` is a first registration tried again later: the registry's silence
        is waited out as a start's key request's (SilentRounds: the jitter keyed by the request's
        id, as peers started together differ; the patience, SILENT_KEEPALIVES, counted from the
        start's first silent round, a Busy between not starting it afresh)."""
        requests = self._requests
        if not isinstance(request.message, Register) or self._shared.life.started:
            return False
        patience = SILENT_KEEPALIVES * requests.keepalive
        silent = requests.silent or SilentRounds("", patience, requests.began, request.message.id)
        requests.silent = silent
        silent.where = f"{requests.server[0]}:{requests.server[1]}"  # (it may have moved)
        after = silent.after_round(now)
        if after is not None:
            requests.wait(request, after[0])
            emit(Print(after[1], "system"))
        return after is not None

    def moved(self, addr: Addr, emit: Emit) -> None:
        """The service says ours stopped, from `addr`, another of its registries: use it."""
        shared = self._shared
        old = shared.requests.server
        shared.requests.move_to(addr)
        shared.tried.clear()
        emit(Print(_moved_line(old, addr), "system"))

    def _move_on(self, unanswered: list[RequestRecord], now: float, emit: Emit) -> bool:
        """Not registered, we are not told our registry stopped (`moved`): if it sent nothing
        since one of `unanswered` began its round, a copy's wait over at `now` (one heard from
        is slow: its round begins again at `now`), move to the next registry of the service
        not tried since one answered, said. False if none is."""
        shared = self._shared
        old, heard = shared.requests.server, shared.requests.heard_at
        if not shared.registries or not any(heard <= r.since < now for r in unanswered):
            return False
        shared.tried.add(old)
        new = ring_next(old, [addr for addr in shared.registries if addr not in shared.tried])
        if new is None:
            return False
        shared.requests.move_to(new)
        emit(Print(_moved_line(old, new), "system"))
        return True

    def come_back(self, now: float, emit: Emit) -> None:
        """The registry gave up on us (a laptop asleep, say): register again, quietly, unless
        offline, going (a refusal may cross the Deregister), or registering already."""
        if not self._shared.life.registered or self.sent(Deregister):
            return
        if not self.sent(Register):
            self.request(self._shared.register_message(), now, emit, quiet=True)

    def counts_us_offline(self, code: RefusalCode) -> bool:
        """Whether a refusal of `code` says the registry gave up on us, and we come back."""
        return (
            code is RefusalCode.OFFLINE
            and self._shared.life.registered
            and not self.sent(Deregister)
        )

    def sent(self, kind: type[Message] | tuple[type[Message], ...]) -> bool:
        """Whether a request of `kind` (one or a tuple) is sent as a datagram, unanswered."""
        return any(isinstance(m, kind) for m in self._requests.messages())


def _moved_line(old: Addr, new: Addr) -> str:
    return f"[Registry {old[0]}:{old[1]} is not answering; now using {new[0]}:{new[1]}.]"
