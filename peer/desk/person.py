"""The person at the help desk (`ChatApp -d`): a sans-IO state machine.

The person types a name and a registered mobile number, picks a topic from the menu (and
describes the problem for some topics), and waits in the registry's waiting room until an
operator serves them. While waiting they see their position (pushed when it changes);
`.queue` asks how many are ahead and the estimated wait; `.quit` or Ctrl-C leaves. A
connection lost while the desk holds a place for the person's token is made again by
itself until the grace period is over; the token is kept in a file (`KeepPlace`) so that a
restarted client takes the place back (`FindPlace`).

Phases: form, connecting (the first connection), joining, waiting, served, reconnecting,
leaving, done. Events and actions: peer.desk.actions; the adapter: peer.desk.runner. Its
state is `peer.desk.person_state`'s; the form, `peer.desk.person_form`'s; losing the
connection, reconnecting and leaving, `peer.desk.person_link`'s.
"""

from __future__ import annotations

from peer.desk.actions import (
    ANSWER_TIMEOUT,
    Action,
    Ask,
    Connect,
    Drop,
    Probe,
    PutTyped,
    Send,
    Show,
    unreachable,
)
from peer.desk.person_form import QUESTIONS, QUITS, PersonForm
from peer.desk.person_link import PersonLink
from wire.desk.messages import (
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskGiveUp,
    DeskJoin,
    DeskLine,
    DeskMessage,
    DeskPosition,
    DeskQueued,
    DeskQueueRequest,
    DeskRefused,
    DeskRegistries,
    DeskServed,
    DeskWork,
)
from wire.desk.render import kept_place
from wire.desk.text import (
    DEFAULT_CRISIS_NOTICE,
    MAX_DESK_LINE,
    crisis_lines,
    format_estimate,
    speaks_of_crisis,
    too_long_line,
)
from wire.desk.work import MAX_BITS, solve
from wire.version import WIRE_VERSION

#: Seconds between refreshes of the held-place file while waiting or served: it tells a
#: restarted client whether the place can still be held.
REFRESH = 5.0
#: Seconds a person who typed words of crisis while waiting waits for the desk's own crisis
#: notice (it answers at once) before the built-in one is shown instead: one notice, the
#: registry's, with its local numbers, and never none.
CRISIS_NOTICE_WAIT = 2.0

PERSON_HELP = (
    "[.queue shows how many are ahead and the estimated wait; .quit (or Ctrl-C) leaves;",
    " once you are served, type a message and press Enter; .end ends the session.]",
)


class PersonCore(PersonForm, PersonLink):
    """One run of the desk client: the form, then the wait, then the session."""

    # -- events ---------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        return [
            Show(f"[ChatApp help desk at {self.ip}:{self.port}. Type .quit at any time to leave.]"),
            Ask(QUESTIONS["name"]),
            Probe(),
        ]

    def typed(self, text: str, now: float, begun: float | None = None) -> list[Action]:
        out: list[Action] = []
        begun = now if begun is None else begun
        if self.phase == "form":
            self._form_answer(text, out)
        elif self.phase == "connecting":
            self._hold(text, begun)
        elif self.phase not in ("leaving", "done"):
            self._line(text, now, out, begun)
        return out

    def end_of_input(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "form":
            self._bye(out)
        elif self.phase == "connecting":
            self._hold(None, now)
        elif self.phase not in ("leaving", "done"):
            self._leave(now, out)
        return out

    def connected(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "leaving" and self._giving_up:
            self._connected = True
            out.append(Send(DeskGiveUp(self.new_id(), self.phone, self.token, WIRE_VERSION)))
            return out
        if self.phase == "reconnecting":
            self._rejoining = True  # "Connected again" once the desk answers the join
        elif self.phase != "connecting":
            return out
        self._connected = True
        self._liveness = None  # the join's answer is awaited first
        self.phase = "joining"
        self._sent_token = self.token
        if self._refresh_at is None:
            self._refresh_at = now + REFRESH
        self._send_join("", now, out)
        out.extend(self._replay(now))
        return out

    def _send_join(self, work: str, now: float, out: list[Action]) -> None:
        """Ask for a place (or the one held for the token), with `work` if asked for."""
        join = DeskJoin(
            self.new_id(),
            self.name,
            self.phone,
            self.topic,
            self.description,
            self.token,
            WIRE_VERSION,
            work,
        )
        out.append(Send(join))
        self._answer_by = now + ANSWER_TIMEOUT

    def _work(self, asked: DeskWork, now: float, out: list[Action]) -> None:
        """The desk is busy and asks for work before a new place (wire/desk/work.py): done
        here, a second or two at most, and the join sent again with it. A desk asking more
        than MAX_BITS, or a seed that is not hex, is not one of ours: said, and given up."""
        if self.phase != "joining":
            return
        try:
            if not 0 < asked.bits <= MAX_BITS:
                raise ValueError
            work = solve(asked.seed, asked.bits)
        except ValueError:
            out.append(Show("[The help desk asked for work this client cannot do.]", "error"))
            self._finish(1, out)
            return
        self._send_join(work, now, out)

    def not_connected(self, why: str, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            out.append(Show(unreachable(self.ip, self.port, why), "error"))
            self._crisis_notice(out)
            self._end(1, out)
        elif self.phase == "reconnecting":
            if self._next_registry():
                out.append(Connect())  # (another registry of the service, at once)
            else:
                self._retry_later(now)
        elif self.phase == "leaving" and self._giving_up:
            self._left(out)
        return out

    def probe_failed(self, why: str, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "form":  # said before the form is filled in for nothing
            out.append(Show(unreachable(self.ip, self.port, why), "error"))
            out.append(Show("[Start ChatApp -d again once the help desk is running.]", "error"))
            out.extend(Show(line, "alert") for line in crisis_lines(DEFAULT_CRISIS_NOTICE))
            self._end(1, out)
        return out

    def received(self, message: DeskMessage, now: float) -> list[Action]:
        out: list[Action] = []
        if isinstance(message, DeskRegistries):
            self._registries_told(message, out)
        elif self._heard(message, now, out):
            pass  # a sign of life
        elif self.phase == "leaving":
            # only the desk's goodbye matters now (it says the place is given up)
            if isinstance(message, DeskEnded | DeskRefused):
                self._show_rendered(message, out)
                self._finish(0, out)
        elif isinstance(message, DeskWork):
            self._work(message, now, out)
        elif self.phase not in ("form", "done"):
            if self._rejoining:
                self._rejoining = False
                if not isinstance(message, DeskRefused | DeskEnded):  # those say it all
                    out.append(Show("[Connected again.]"))
            self._message(message, out)
        return out

    def _registries_told(self, message: DeskRegistries, out: list[Action]) -> None:
        """The registries of the service; when the desk is at another one, the join (or
        the goodbye) goes there instead, on a new connection, as if this one were not."""
        if not self._learn(message) or self.phase in ("form", "done"):
            return
        if self.phase == "joining":
            self.phase = "reconnecting" if self._rejoining else "connecting"
            self._rejoining = False
        out.append(Connect())

    def tick(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self._crisis_due is not None and now >= self._crisis_due:
            self._owed_notice(out)
        if self._leaving_due(now):
            self._left(out)
            return out
        if self._rejoining and now >= self._give_up_at:
            out.append(Drop())  # the desk never answered: the place is given up by now
            self._rejoining = False
            self._given_up(out)
            return out
        if self.phase == "joining" and self._unanswered(now, out, lambda o: self._finish(1, o)):
            return out
        if self.phase in ("joining", "waiting", "served") and self._beat(now, out):
            return out  # taken as lost: reconnecting
        if self.phase == "reconnecting" and self._retry_at is not None and now >= self._retry_at:
            if now >= self._give_up_at:
                self._given_up(out)
                return out
            self._retry_at = None
            out.append(Connect())
        if self._refresh_at is not None and now >= self._refresh_at:
            self._refresh_at = now + REFRESH
            if self.phase in ("waiting", "served") and self.token:
                out.append(self._keep_place())
        return out

    def next_wake(self) -> float | None:
        if self.phase == "leaving":
            return self._leave_by
        if self.phase in ("form", "connecting", "done"):
            return None
        # while a reconnection attempt is under way its outcome comes as an event
        answer_by = self._answer_by if self.phase == "joining" else None
        beat = self._beat_due() if self.phase in ("joining", "waiting", "served") else None
        give_up = self._give_up_at if self._rejoining else None
        times = (self._refresh_at, self._retry_at, answer_by, beat, give_up, self._crisis_due)
        wakes = [t for t in times if t is not None]
        return min(wakes) if wakes else None

    # -- waiting and being served -----------------------------------------------------------

    def _line(self, raw: str, now: float, out: list[Action], begun: float) -> None:
        text = raw.strip()
        command = text.lower()
        if command in QUITS:
            self._leave(now, out)
        elif command == ".help":
            out.extend(Show(line) for line in PERSON_HELP)
        elif command == ".queue":
            if self.phase == "served":
                out.append(Show("[You are being served now.]"))
            elif self.phase == "waiting":
                out.append(Send(DeskQueueRequest(self.new_id())))
            elif self.phase == "reconnecting" or self._rejoining:
                out.append(Show("[Reconnecting to the help desk; your place is kept.]"))
            else:
                out.append(Show("[One moment: joining the waiting room.]"))
        elif command == ".end":
            if self.phase == "served":
                out.append(Send(DeskEnd(self.new_id(), self._session)))
            else:
                line = "[You are not being served yet; .quit leaves the waiting room.]"
                out.append(Show(line))
        elif text.startswith(".") and not text.startswith(".."):
            out.append(Show(f"[Unknown command {text.split()[0][:20]}; .help lists them.]"))
        elif begun < self._form_closed and text:
            # typed for a question the form skipped (the topic, say), before it said so
            out.append(Show(self._typed_for_the_form(raw), "error"))
        else:
            self._chat(raw[1:] if text.startswith("..") else raw, now, out, raw)

    def _chat(self, line: str, now: float, out: list[Action], typed: str = "") -> None:
        """`line`, typed as `typed` (with its leading `..`), is chat: sent to the operator
        when served, else said not to be (words of crisis go to the desk)."""
        if not line.strip():
            return
        if self.phase != "served" and speaks_of_crisis(line):
            # Nobody reads it yet: the notice is for now, and the desk tells its operators.
            # A desk whose notice is not known here yet sends it in answer (it may differ
            # from the built-in one): that one is shown, unless it is slow to come.
            if self.phase == "waiting" and self._connected and not self._desk_notice:
                self._crisis_due = now + CRISIS_NOTICE_WAIT
            else:
                self._crisis = self._crisis or DEFAULT_CRISIS_NOTICE
                self._crisis_notice(out)
            out.append(
                Show(
                    "[Nobody is serving you yet, so this line is not a message to anyone; the "
                    "help desk is told that you may need help urgently.]"
                )
            )
            if self.phase == "waiting":
                out.append(Send(DeskLine(self.new_id(), "", line[:MAX_DESK_LINE], "")))
            else:  # joining, or reconnecting: said once the place is known
                self._unsent_crisis = line[:MAX_DESK_LINE]
        elif self.phase != "served":
            out.append(
                Show(
                    "[You are not being served yet, so the line was not sent; .queue shows "
                    "where you stand.]"
                )
            )
        elif len(line) > MAX_DESK_LINE:
            out.append(Show(too_long_line(line, in_prompt=self._prompt), "error"))
            if self._prompt:  # to shorten, not to type again
                out.append(PutTyped(typed or line))
        else:
            self._said.append(line)
            out.append(Send(DeskLine(self.new_id(), "", line, self._session)))

    def _message(self, message: DeskMessage, out: list[Action]) -> None:
        if isinstance(message, DeskCrisis):
            if message.text != self._crisis:  # not again what was shown a moment ago
                self._show_rendered(message, out)
            self._crisis, self._desk_notice, self._crisis_due = message.text, True, None
        elif isinstance(message, DeskQueued):
            self._queued(message, out)
        elif isinstance(message, DeskPosition):
            self._position_changed(message, out)
        elif isinstance(message, DeskServed):
            # the held-place file stays: should the connection break during the session,
            # a place at the front is held for this token (see `lost`)
            self.phase = "served"
            self._session, self._said = message.session, []
            self._show_rendered(message, out)
        elif isinstance(message, DeskEnded):
            self._show_rendered(message, out)
            if self.phase == "served" and message.heard >= 0:
                # they crossed the end on their way, and the connection is closing
                for line in self._said[message.heard :]:
                    said = "the session ended before this line reached the help desk"
                    out.append(Show(f"[Not sent: {said}: “{line}”]", "error"))
            if message.requeued:
                self.phase = "joining"  # a DeskQueued with the new place follows
                self._position = -1
            else:
                self._finish(0 if self.phase == "served" else 1, out)
        elif isinstance(message, DeskRefused):
            self._show_rendered(message, out)
            self._finish(1, out)
        else:
            self._show_rendered(message, out)

    def _queued(self, queued: DeskQueued, out: list[Action]) -> None:
        self.token = queued.token
        self.grace = float(queued.grace)
        self.phase = "waiting"
        out.append(self._keep_place())
        if self._sent_token and not queued.restored:
            line = "[Your earlier place could not be kept, so you join the waiting room again.]"
            out.append(Show(line))
        # answered: a later DeskQueued (back in the queue when an operator leaves) is not
        # the answer to a place asked back
        self._sent_token = ""
        self._operators = queued.operators
        self._position = queued.position
        if queued.position > 0:
            self._show_rendered(queued, out)
            if self._unsent_crisis:
                out.append(Send(DeskLine(self.new_id(), "", self._unsent_crisis, "")))
        elif queued.restored:  # served at once: said before anything can reach the operator
            out.append(Show(kept_place(queued.topic, "an operator is free for you now")))
        self._unsent_crisis = ""

    def _position_changed(self, update: DeskPosition, out: list[Action]) -> None:
        if self._operators == 0 and update.operators > 0:
            line = "[An operator for your topic is on duty now.]"
            if update.position == self._position:  # else the new position says it
                estimate = format_estimate(update.est_kind, update.est_low, update.est_high)
                line = f"[An operator for your topic is on duty now; estimated wait: {estimate}.]"
            out.append(Show(line))
        elif self._operators > 0 and update.operators == 0:
            line = "[No operator for your topic is on duty any more; you keep your place.]"
            out.append(Show(line))
        self._operators = update.operators
        if update.position != self._position:
            self._position = update.position
            self._show_rendered(update, out)
