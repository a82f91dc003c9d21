"""The person at the help desk (`ChatApp -d`, issue 4, seed 000): a sans-IO state machine.

The person types a name and a registered mobile number, picks a topic from the menu (and
describes the problem for some topics), and waits in the registry's waiting room until an
operator serves them. While waiting they see their position (pushed when it changes);
`.queue` asks how many are ahead and the estimated wait; `.quit` or Ctrl-C leaves. A
connection lost while the desk holds a place for the person's token is made again by
itself until the grace period is over; the token is kept in a file (`KeepPlace`) so that a
restarted client takes the place back (`FindPlace`).

Phases: form, connecting (the first connection), joining, waiting, served, reconnecting,
leaving, done. Events and actions: peer.desk.actions; the adapter: peer.desk.runner.
"""

from __future__ import annotations

from peer.desk.actions import (
    ANSWER_TIMEOUT,
    LEAVE_TIMEOUT,
    RETRY_FIRST,
    RETRY_MAX,
    Action,
    Ask,
    Connect,
    DeskClientCore,
    Drop,
    FindPlace,
    ForgetPlace,
    KeepPlace,
    KeptPlace,
    Probe,
    PutTyped,
    Send,
    SetPrompt,
    Show,
    style_of,
    unreachable,
)
from wire.desk.messages import (
    HEARTBEAT,
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
    DeskServed,
)
from wire.desk.phone import normalise_phone, phone_problem
from wire.desk.render import kept_place, render_person
from wire.desk.text import (
    CRISIS_TOPICS,
    DEFAULT_CRISIS_NOTICE,
    DESCRIBE_TOPICS,
    MAX_DESCRIPTION,
    MAX_DESK_LINE,
    MENU_TRIES,
    crisis_lines,
    format_estimate,
    menu_lines,
    name_problem,
    speaks_of_crisis,
    too_long_line,
    topic_label,
    topic_problem,
)
from wire.reliable import IdMaker
from wire.shown_text import clean
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

#: The commands of a person who is waiting or served (.quit works at any time).
WAITING_COMMANDS = frozenset({".queue", ".help", ".end"})

#: The questions of the form, by step.
QUESTIONS = {
    "name": "Name:",
    "phone": "Registered mobile number:",
    "topic": "Topic (1-6):",
    "description": "Description:",
}
QUITS = (".quit", ".exit")


class PersonCore(DeskClientCore):
    """One run of the desk client: the form, then the wait, then the session."""

    def __init__(
        self,
        ip: str,
        port: int,
        new_id: IdMaker,
        *,
        retry: tuple[float, float] = (RETRY_FIRST, RETRY_MAX),
        leave_timeout: float = LEAVE_TIMEOUT,
        heartbeat: float = HEARTBEAT,
        prompt: bool = False,
    ) -> None:
        """`retry`: the first and the longest wait between reconnection attempts;
        `leave_timeout`: how long a `.quit` waits for the desk's goodbye; `heartbeat`: see
        `DeskClientCore`; `prompt`: whether lines are typed at a prompt (a terminal), into
        which a line too long to send is put back."""
        super().__init__(ip, port, new_id, leave_timeout, heartbeat)
        self._prompt = prompt
        self._retry_first, self._retry_max = retry
        self.phase = "form"
        self._step = "name"  # of the form: name, phone, place (looked up), topic, description
        self._tries = 0  # of the topic menu
        # when the form stopped asking with questions left (a held place taken back, with
        # its topic): a line begun before then was typed for a question, never chat
        self._form_closed = float("-inf")
        self.name = self.phone = self.description = ""
        self.topic = 0
        self.token = ""
        self.grace = 0.0
        self._crisis = ""  # the crisis notice shown (the desk's, or the built-in one)
        self._desk_notice = False  # whether `_crisis` is the desk's own notice
        self._crisis_due: float | None = None  # the desk's notice is awaited until then
        self._unsent_crisis = ""  # words of crisis typed while no place was held yet
        self._sent_token = ""  # the token of the last DeskJoin: a place asked back
        self._position = -1
        self._operators = -1
        self._session = ""  # the session being served in (DeskServed), named by each line
        self._said: list[str] = []  # the lines sent in it, to tell which did not arrive
        self._refresh_at: float | None = None
        # reconnecting: when the place is given up, the wait before the next attempt and
        # when it is due (None while an attempt is under way)
        self._give_up_at = 0.0
        self._delay = self._retry_first
        self._retry_at: float | None = None
        # a reconnection is up but the desk has not answered its join yet: a desk that
        # accepts connections without answering (the registry stopped, its kernel still
        # accepting) is not back, and the grace period still runs from the first loss
        self._rejoining = False
        self._silence_told = False  # said once per loss that the desk accepts but is silent
        # leaving while reconnecting: a connection is made only to give the place up
        self._giving_up = False

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

    def place_found(self, kept: KeptPlace | None, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase != "form" or self._step != "place":
            return out
        if kept is None:
            self._step = "topic"
            out.extend(Show(line) for line in menu_lines())
            out.append(Ask(QUESTIONS["topic"]))
            return out
        self.token, self.topic, self.description = kept.token, kept.topic, kept.description
        self.grace = kept.grace
        self._form_closed = now
        out.append(
            Show(
                f"[You had a place in the waiting room a moment ago ({topic_label(self.topic)}); "
                "taking it back, with its topic, so the topic is not asked again.]"
            )
        )
        self._connect_first(out)
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
        join = DeskJoin(
            self.new_id(),
            self.name,
            self.phone,
            self.topic,
            self.description,
            self.token,
            WIRE_VERSION,
        )
        out.append(Send(join))
        self._answer_by = now + ANSWER_TIMEOUT
        out.extend(self._replay(now))
        return out

    def not_connected(self, why: str, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            out.append(Show(unreachable(self.ip, self.port, why), "error"))
            self._crisis_notice(out)
            self._end(1, out)
        elif self.phase == "reconnecting":
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
        if self._heard(message, now, out):
            pass  # a sign of life
        elif self.phase == "leaving":
            # only the desk's goodbye matters now (it says the place is given up)
            if isinstance(message, DeskEnded | DeskRefused):
                self._show_rendered(message, out)
                self._finish(0, out)
        elif self.phase not in ("form", "done"):
            if self._rejoining:
                self._rejoining = False
                if not isinstance(message, DeskRefused | DeskEnded):  # those say it all
                    out.append(Show("[Connected again.]"))
            self._message(message, out)
        return out

    def lost(self, reason: str, now: float) -> list[Action]:
        out: list[Action] = []
        self._connected = False
        self._answer_by = None
        if self.phase == "leaving":
            self._left(out)
        elif self.phase == "reconnecting":
            pass  # not from a connection of ours: the runner drops the older ones' events
        elif self._rejoining:
            # a reconnection the desk never answered: still the same loss, so the grace
            # period is not started again, and the person was told of it already
            self._rejoining = False
            self.phase = "reconnecting"
            self._retry_later(now)
            if not self._silence_told:
                self._silence_told = True
                left = max(0, int(self._give_up_at - now))
                out.append(
                    Show(
                        f"[The help desk accepts the connection but does not answer ({reason}); "
                        f"still trying. Your place is kept for {left} s more.]",
                        "error",
                    )
                )
        elif self.token and self.phase in ("served", "waiting", "joining"):
            # a place is held for our token, at the front when we were being served: a
            # blip of the network is not the end of the call
            kept = (
                "the session has ended. Reconnecting: you keep a place at the front"
                if self.phase == "served"
                else "reconnecting. Your place is kept"
            )
            out.append(
                Show(
                    f"[The connection to the help desk was lost ({reason}); {kept} for "
                    f"{int(self.grace)} s.]",
                    "error",
                )
            )
            self.phase = "reconnecting"
            self._give_up_at = now + self.grace
            self._delay = self._retry_first
            self._retry_at = now + min(self._delay, self.grace)
            self._silence_told = False
        elif self.phase == "served":
            out.append(
                Show(
                    f"[The connection to the help desk was lost ({reason}); the session has "
                    "ended.]",
                    "error",
                )
            )
            self._finish(1, out)
        elif self.phase not in ("form", "done"):
            out.append(Show(f"[The help desk closed the connection ({reason}).]", "error"))
            self._finish(1, out)
        return out

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

    # -- the form -------------------------------------------------------------------------

    def _form_answer(self, text: str, out: list[Action]) -> None:
        answer = text.strip()
        if answer in QUITS:
            self._bye(out)
            return
        if self._step == "place":  # the held place is being looked up: nothing is asked
            out.append(Show(_not_an_answer(text), "error"))
            return
        if answer.startswith(".") and not answer.startswith(".."):
            # .queue, .help and the like mean nothing yet: not an answer, and not a try
            command = answer.split()[0][:20]
            if command.lower() in WAITING_COMMANDS:
                line = f"[{command} works once you are waiting; answer the question first"
            else:  # a typo, or an answer that starts with a dot
                line = f"[{command} is no command; to answer with it, type .{command}"
            out.append(Show(line + " (.quit leaves).]", "error"))
            out.append(Ask(QUESTIONS[self._step]))
            return
        if answer.startswith(".."):
            answer, text = answer[1:], text.replace("..", ".", 1)  # a dot of the answer's own
        step = self._step
        if step == "name":
            why = name_problem(answer)
            if why is None:
                self.name = answer
                self._step = "phone"
        elif step == "phone":
            why = phone_problem(answer)
            if why is None:
                self.phone = normalise_phone(answer) or answer
                self._step = "place"
                out.append(FindPlace(self.phone))
                return
        elif step == "topic":
            self._topic_answer(text, out)
            return
        else:  # the description
            why = _description_problem(answer)
            if why is None:
                self.description = answer
                self._connect_first(out)
                return
        if why is not None:
            out.append(Show(f"[{why}]", "error"))
        out.append(Ask(QUESTIONS[self._step]))

    def _topic_answer(self, text: str, out: list[Action]) -> None:
        if not text.strip():  # as at the other questions: asked again, and no try used
            out.append(Ask(QUESTIONS["topic"]))
            return
        topic, why = topic_problem(text)
        if topic is None:
            self._tries += 1
            left = MENU_TRIES - self._tries
            more = f" {left} {'try' if left == 1 else 'tries'} left." if left else ""
            out.append(Show(f"[{why}{more}]", "error"))
            if left:
                out.append(Ask(QUESTIONS["topic"]))
            else:
                line = (
                    f"[No valid topic after {MENU_TRIES} tries, so the help desk client "
                    "closes. Start it again and type a number from 1 to 6.]"
                )
                out.append(Show(line, "error"))
                self._end(1, out)
            return
        self.topic = topic
        if topic in DESCRIBE_TOPICS:
            self._step = "description"
            out.append(Show("[Please describe your problem in a sentence or two.]"))
            out.append(Ask(QUESTIONS["description"]))
        else:
            self._connect_first(out)

    def _connect_first(self, out: list[Action]) -> None:
        self.phase = "connecting"
        out.append(SetPrompt("> "))
        out.append(Connect())

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

    def _typed_for_the_form(self, line: str) -> str:
        """What is said of a line begun for a question the form no longer asks."""
        return (
            f"[Not sent: “{clean(line.strip())}” was typed for the form, which asks nothing "
            f"more: the topic of your earlier place ({topic_label(self.topic)}) is kept.]"
        )

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

    # -- leaving ----------------------------------------------------------------------------

    def _leave(self, now: float, out: list[Action]) -> None:
        """`.quit`, Ctrl-C or the end of input: give the place up and say so (once the
        desk has confirmed, when there is a connection to tell it on). While reconnecting,
        one more connection is tried, for `_leave_timeout` at most, only to give the place
        up (`DeskGiveUp`): held for nobody, it would count ahead of everyone behind it
        until the desk gave it up by itself."""
        if (self.phase == "reconnecting" or self._rejoining) and self.token:
            # (a desk that has not answered the rejoin may not be running: a goodbye on
            # that connection could wait for nothing; DeskGiveUp goes on a new one)
            self._rejoining = False
            self.phase = "leaving"
            self._giving_up = True
            self._retry_at = None
            self._leave_by = now + self._leave_timeout
            out.append(Connect())
        elif not self._connected or self.phase == "reconnecting":
            self._left(out)
        else:
            self._start_leaving(now, out)

    def _retry_later(self, now: float) -> None:
        """The next reconnection attempt, after a wait twice the last (RETRY_MAX at most),
        and never after the place is given up."""
        self._delay = min(self._delay * 2, self._retry_max)
        self._retry_at = now + min(self._delay, max(0.0, self._give_up_at - now))

    def _given_up(self, out: list[Action]) -> None:
        line = "[Could not reach the help desk in time; your place was given up.]"
        out.append(Show(line, "error"))
        self._finish(1, out)

    def _left(self, out: list[Action]) -> None:
        if self._giving_up:  # the desk could not be reached to be told
            line = (
                "[You left the help desk. It could not be told now, and gives your place up "
                "by itself.]"
            )
        else:
            line = "[You left the help desk.]"
        out.append(Show(line))
        self._finish(0, out)

    def _finish(self, code: int, out: list[Action]) -> None:
        """The run ends: forget the place, and show the crisis notice again to whoever
        came for topic 1."""
        if self._crisis_due is not None:  # the desk's notice did not come: this is the one
            self._crisis_due = None
            self._crisis = self._crisis or DEFAULT_CRISIS_NOTICE
        out.append(ForgetPlace())
        self._crisis_notice(out)
        self._end(code, out)

    def _bye(self, out: list[Action]) -> None:
        out.append(Show("[Bye.]"))
        self._end(0, out)

    def _crisis_notice(self, out: list[Action]) -> None:
        """The crisis notice, for someone who may be in danger: topic 1, or words that
        say so (in the description, or a line typed while waiting)."""
        if self.topic in CRISIS_TOPICS or self._crisis or speaks_of_crisis(self.description):
            out.extend(
                Show(line, "alert") for line in crisis_lines(self._crisis or DEFAULT_CRISIS_NOTICE)
            )

    def _owed_notice(self, out: list[Action]) -> None:
        """The built-in crisis notice, when the desk's was awaited and has not come."""
        if self._crisis_due is not None:
            self._crisis_due = None
            self._crisis = self._crisis or DEFAULT_CRISIS_NOTICE
            self._crisis_notice(out)

    def _keep_place(self) -> KeepPlace:
        return KeepPlace(self.token, self.topic, self.description, self.grace)

    @staticmethod
    def _show_rendered(message: DeskMessage, out: list[Action]) -> None:
        out.extend(Show(line, style_of(line)) for line in render_person(message))


def _not_an_answer(line: str) -> str:
    """What is said of a line typed while no question is asked (a held place is looked up)."""
    return f"[Not taken as an answer: “{clean(line.strip())}”; nothing is asked right now.]"


def _description_problem(text: str) -> str | None:
    if not text:
        return "Please write a few words."
    if len(text) > MAX_DESCRIPTION:
        return f"Please keep it to {MAX_DESCRIPTION} characters at most; yours has {len(text)}."
    return None
