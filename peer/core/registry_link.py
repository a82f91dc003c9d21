"""The peer's side of its exchanges with the registry, above peer.core.requests: what is sent
in which order (what the user types goes after the outbox kept while the registry did not
answer, one kept message at a time), what follows an answer or a give-up, keepalives, and
whether the registry is away (peer.core.registry_watch). What an answer means to the user is
peer.core.answers'; what a give-up means, peer.core.request_ends'. Sans-IO: Send actions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from peer.core.actions import Addr, AskRegistryKey, Emit, Print, Send
from peer.core.lifecycle import Event, Phase
from peer.core.requests import Request
from peer.core.shared import Shared
from peer.core.typed_lines import QUITTING_LATER
from wire.messages import (
    Busy,
    ChannelPost,
    Deregister,
    Join,
    Keepalive,
    Leave,
    Message,
    Register,
    Rename,
    RoomPost,
    SaveMessage,
)
from wire.refusals import RefusalCode

#: The requests that carry something the user sent: what a quit waits for (see
#: `peer.core.leaving`), and what is kept in the outbox when the registry does not answer (see
#: `peer.core.request_ends`).
DELIVERED = (SaveMessage, ChannelPost, RoomPost, Leave)

#: What is told of a request given up on: the request, `now`, the actions, and whether it
#: was given up as the registry stayed busy (peer.core.request_ends.RequestEnds.failed).
Failed = Callable[[Request, float, Emit, bool], None]


class RegistryLink:
    """The order of what goes to the registry, and what goes next once a request is
    answered or given up on."""

    def __init__(self, shared: Shared, failed: Failed) -> None:
        """`failed` is told of each request given up on."""
        self._shared = shared
        self._requests = shared.requests
        self._failed = failed

    # -- sending ------------------------------------------------------------------------

    def request(self, message: Message, now: float, emit: Emit, quiet: bool = False) -> None:
        """Send `message` to the registry (`Requests.send`). What the user types while kept
        messages wait to be sent again (the registry was away) goes after them: the first
        kept one is sent first, as a probe (`Requests.send`, `kept`). The acks held for the
        registry go before it (peer.core.inbox)."""
        inbox = self._shared.inbox
        if inbox.acks_held:
            inbox.send_held(emit)
        kept = self.next_kept() if self._shared.outbox else None
        self._requests.send(message, now, emit, quiet, kept=kept)

    def over(self, message: Message, now: float, emit: Emit, *, gave_up: bool = False) -> None:
        """`message` was answered (and its answer taken) or given up: if what follows
        waited for it, send the next kept message, or else what was held behind it, in
        order. The outbox goes on only after an answer that took its message out of it:
        one given up on, or kept again (refused as offline), says the registry cannot take
        the rest now either; they go when it answers again (`flush_outbox`)."""
        requests = self._requests
        if not requests.over(message.id):
            return
        if self._shared.life.phase is Phase.REPLACED:
            return  # this start sends nothing more (see Leaving.replaced)
        outbox = self._shared.outbox
        if not gave_up and message not in outbox:
            kept = self.next_kept()
            if kept is not None:
                self.request(kept, now, emit, quiet=True)
                return
        for waiting, quiet in requests.take_held():
            if gave_up and (message in outbox or isinstance(message, DELIVERED)):
                # a kept one (or one kept next) went unanswered a round: the registry is
                # away, and what was typed behind it is kept behind it, said so now rather
                # than a round later
                self._failed(Request(waiting, quiet), now, emit, False)
            else:
                requests.send(waiting, now, emit, quiet)  # the outbox is behind it

    def next_kept(self) -> Message | None:
        """The first kept message not on its way yet; None when there is none, or when it
        waits for its room to be joined again (RoomReturn.rejoin_for_kept), or for a /join
        typed before it (RoomReturn.waits_for_join)."""
        room_return = self._shared.room_return
        kept = self._requests.next_kept(rejoining=room_return.rejoining is not None)
        return None if kept is None or room_return.waits_for_join(kept) else kept

    def flush_outbox(self, now: float, emit: Emit) -> None:
        """Send the outbox on, from its first kept message not on its way (the join for
        kept room lines first, asked again if it went unanswered), the saves and posts on
        their way joining it first (`_join_outbox`)."""
        self._join_outbox(emit)
        rejoining = self._shared.room_return.rejoining
        if rejoining is not None and not self._requests.any_of(Join):
            # the join for kept lines went unanswered: ask again
            self.request(self._shared.join_message(rejoining), now, emit, quiet=True)
        if self._requests.waited_for is not None:
            return  # the kept message on its way sends the next once answered
        # One at a time, each once the one before is answered (`over`): sent together, a
        # lost one would be sent again TIMEOUT later, after those typed after it, and the
        # registry would store or relay them out of the order typed. An idle registry
        # answers in well under a millisecond: nobody sees the wait.
        kept = self.next_kept()
        if kept is not None:
            self.request(kept, now, emit, quiet=True)

    def ask_outcomes_again(self, due: float, now: float, emit: Emit) -> None:
        """Ask again for each outcome awaited whose deadline is `due` or before: the
        registry dedupes, and one killed while relaying a post, which forgot it, relays it
        again."""
        for accepted in self._requests.outcomes_over(due):
            self.request(accepted, now, emit, quiet=True)

    def registry_restarted(self, now: float, emit: Emit) -> None:
        """The registry started again (the core has said it is back, if it was away): what
        was kept for it goes now. The outbox is sent, and each post or save awaiting its
        outcome is asked for again: a registry killed while relaying a post has forgotten
        it, and relays it again now rather than when its outcome is overdue. Not before our
        Welcome: a start of this peer on the port the registry counted online goes back to
        its room first, and sends what it kept once it is there."""
        if not self._shared.life.registered:
            return
        self.flush_outbox(now, emit)
        self.ask_outcomes_again(math.inf, now, emit)

    def _join_outbox(self, emit: Emit) -> None:
        """The saves and posts on their way, not taken by the registry, join the outbox in
        the order typed. The outbox is sent on when a registry answers again, starts again,
        or is another of the service: one that may not have had them. Sent again at their
        own times, one lost (or held while a new session is made) would be overtaken by
        those typed after it; in the outbox, they go one at a time, in order."""
        requests, outbox = self._requests, self._shared.outbox
        carried = [
            message
            for message in requests.messages()
            if isinstance(message, DELIVERED)
            and not requests.accepted(message.id)
            and message not in outbox  # (a kept one on its way goes first all the same)
        ]
        for message in carried:
            requests.answer_sent(message.id)
            requests.over(message.id)  # (what was held behind it is behind the outbox now)
            outbox.unanswered.pop(message.id, None)
            outbox.add(message)
        if carried:
            outbox.keep(emit)  # on disk, as any kept message

    # -- the registry away and back -----------------------------------------------------

    def went_away(self, now: float, emit: Emit) -> None:
        """A request was given up on at `now`: the registry is away. Its key is asked, as
        at each keepalive while it is: one that answers with another key looks silent."""
        watch = self._shared.watch
        if not watch.down:
            emit(AskRegistryKey())
        watch.went_away(now, started=self._shared.life.started)

    def came_back(self, now: float, emit: Emit) -> None:
        """Something came from the registry, away until now: said, and the outbox goes."""
        self._shared.watch.came_back(now)
        emit(Print("[Server is back.]", "system"))
        self.flush_outbox(now, emit)

    def busy(self, busy: Busy, now: float, emit: Emit) -> None:
        """The registry is too busy to carry out a request now (a join storm): it is sent
        again after the wait asked, which is said once; kept waiting too long, it fails as
        one the registry does not answer."""
        requests = self._requests
        if requests.too_busy(busy.reply_to, now):
            given_up = requests.answer(busy.reply_to, now)
            if given_up is not None:
                self._failed(given_up, now, emit, True)
            return
        wait = max(0.0, busy.wait_ms / 1000)
        request, first = requests.busy(busy.reply_to, wait, now)
        if request is not None and first and not request.quiet:
            line = f"[The registry is busy; trying again in {wait:.1f} s.]"
            emit(Print(line, "system"))

    # -- time ---------------------------------------------------------------------------

    def tick(self, now: float, emit: Emit) -> None:
        """Send what is due at `now`, give up on what ran out of tries, ask again for
        overdue outcomes, and send a keepalive when one is due."""
        shared, requests = self._shared, self._requests
        requests.release(now, emit)
        # (one fetched over TCP whose answer did not come in time is among them: it moves
        # on, or is given up, as those sent as datagrams)
        again, failed = requests.due(now, shared.watch.heard_at)
        if failed and self._move_on(emit):
            self._send_moved(failed, now, emit)
            again, failed = [], []
        elif failed and shared.tried and not shared.watch.down:
            # every registry of the service was tried: said as of a registry alone (what
            # went to the last as outbox retries was never said to have failed)
            for request in failed:
                request.quiet = False
        server = shared.server
        for request in again:
            emit(Send(server, request.message, shared.trust.registry))
            if isinstance(request.message, Register) and not shared.life.started:
                # its key too, answered in clear and at once: a registry that runs is
                # told from one that does not even when a lossy LAN loses its handshakes
                emit(AskRegistryKey())
                self._starting_late(emit)
        for request in failed:
            if not self._keeps_trying(request, now, emit):
                self._failed(request, now, emit, False)
        for request in requests.busy_over(now):
            emit(Send(server, request.message, shared.trust.registry))
        self.ask_outcomes_again(now, now, emit)
        if shared.watch.keepalive_due(now):
            self._keepalive(now, emit)

    def _starting_late(self, emit: Emit) -> None:
        """The first registration was sent again: its answer is late."""
        life = self._shared.life
        if life.phase is Phase.STARTING and self._shared.lines.ended_early():
            emit(QUITTING_LATER)
        life.fire(Event.REGISTER_RESENT)

    def _keeps_trying(self, request: Request, now: float, emit: Emit) -> bool:
        """Whether `request`, unanswered in its round at `now`, is a first registration the
        registry left silent, tried again later (Requests.retry_later) for the watch's
        `silent_patience`, which is said once: a registry buried under a join storm drops
        what its socket cannot hold."""
        watch = self._shared.watch
        if not isinstance(request.message, Register) or self._shared.life.started:
            return False
        if not self._requests.retry_later(request, now, watch.silent_patience):
            return False
        if not watch.still_trying_said:
            watch.still_trying_said = True
            emit(Print("[No answer from the registry yet; still trying.]", "system"))
        return True

    def moved(self, addr: Addr, emit: Emit) -> None:
        """Another registry of the service reaches us now (ours stopped): use it."""
        shared = self._shared
        old = shared.server
        shared.move_to(addr)
        shared.tried.clear()
        emit(Print(_moved_line(old, addr), "system"))

    def _move_on(self, emit: Emit) -> bool:
        """Our registry left a request unanswered for a whole round of tries: move to the
        next registry of the service not tried since one answered, and say so. False for a
        registry alone, or when every one was tried: the request is given up on."""
        shared = self._shared
        old = shared.server
        if not shared.registries:
            return False
        shared.tried.add(old)
        untried = [addr for addr in shared.registries if addr not in shared.tried]
        if not untried:
            return False
        later = [addr for addr in untried if addr > old]
        new = min(later or untried)
        shared.move_to(new)
        emit(Print(_moved_line(old, new), "system"))
        return True

    def _send_moved(self, given_up: list[Request], now: float, emit: Emit) -> None:
        """After a move, the registry moved to gets what the one before left unanswered
        (`given_up`), then all else on its way, oldest first: the saves and posts among
        them with the outbox, one at a time (`flush_outbox`). Outcomes awaited are asked
        for again, as of a registry started again (`registry_restarted`)."""
        requests = self._requests
        requests.take_back(given_up, now)
        self._join_outbox(emit)  # before the rest goes, so that none of them goes twice
        requests.send_again(now, emit, moved=True)
        self.flush_outbox(now, emit)
        self.ask_outcomes_again(math.inf, now, emit)

    def _keepalive(self, now: float, emit: Emit) -> None:
        shared = self._shared
        if not shared.life.registered and not shared.outbox:
            return
        if shared.watch.down:
            emit(AskRegistryKey())  # silent: perhaps it has another key now
            self.flush_outbox(now, emit)
        if shared.life.registered and not self.sent(Keepalive) and not self.sent(Deregister):
            message = Keepalive(shared.new_id(), shared.state.name, shared.state.token)
            self.request(message, now, emit, quiet=True)

    def come_back(self, now: float, emit: Emit) -> None:
        """The registry no longer counts us as online: it gave up on us, silent too long
        (a laptop asleep, say). Register again, quietly, unless the user went offline
        meanwhile, or is going (a refusal may cross the Deregister, whose ack comes after
        it), or a registration is on its way already. Its Welcome takes us back to our room."""
        if not self._shared.life.registered or self.sent(Deregister):
            return
        if not self.sent(Register):
            self.request(self._shared.register_message(), now, emit, quiet=True)

    def counts_us_offline(self, code: RefusalCode) -> bool:
        """Whether a refusal of `code` refused a request because the registry gave up on
        us, which we are still registered to come back from (not going offline meanwhile)."""
        return (
            code is RefusalCode.OFFLINE
            and self._shared.life.registered
            and not self.sent(Deregister)
        )

    # -- read-only views ----------------------------------------------------------------

    def sent(self, kind: type[Message]) -> bool:
        """Whether a request of `kind` is sent as a datagram and not answered."""
        return any(isinstance(m, kind) for m in self._requests.messages())

    def renames_asked(self) -> list[Rename]:
        """Renames we asked for that are on their way, or were given up on lately."""
        return [m for m in self._requests.messages(given_up=True) if isinstance(m, Rename)]

    def renames_given_up(self) -> list[Rename]:
        """Renames we gave up on lately: the registry may have done them, and no answer
        will say so if it was killed since."""
        on_their_way = {m.id for m in self._requests.messages()}
        return [m for m in self.renames_asked() if m.id not in on_their_way]


def _moved_line(old: Addr, new: Addr) -> str:
    return f"[Registry {old[0]}:{old[1]} is not answering; now using {new[0]}:{new[1]}.]"
