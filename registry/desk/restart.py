"""The places kept on disk across a registry's crash: held for their people to come back,
and the operator and person who were talking kept for each other (docs/DESK.md, "A
registry that stops without closing the desk").
"""

from __future__ import annotations

from registry.desk.actions import Action, KeptPlace, Log
from registry.desk.admission import room_is_full
from registry.desk.limits import RESTART_SETTLE
from registry.desk.people import Operator, Person, name_for_log
from registry.desk.sessions import Sessions
from wire.desk.text import crisis_reason, format_duration, stronger_crisis
from wire.names import name_key
from wire.shown_text import clean


class AfterRestart(Sessions):
    """Places kept from before a restart, and the conversations to resume."""

    def restore(self, places: list[KeptPlace], now: float) -> list[Action]:
        """Hold `places`, kept on disk by the run before (see KeepPlaces), as places whose
        connection broke just now: each is kept for its token, in the order given (those
        `back` first, as they were), and given up if nobody takes it back within
        RECLAIM_WINDOW (or `grace`, if shorter). Call before any connection; beyond
        `max_waiting` (and the room kept for people in danger) the rest are not held.

        A place whose person was being served names their operator: for `grace`, the two
        are kept for each other, so that the conversation resumes with the same operator
        when both are back (the line is not reshuffled by who reconnects first). The person
        goes to nobody else meanwhile, and the operator takes nobody else while the person
        may come back, whatever topics it serves now (it was serving them, and `.serve`
        chooses who is taken next, not whether a conversation goes on); once the person's
        place is given up, or `grace` is over, the usual rules apply.

        The session a place was in when the run before stopped counts as time served up to
        now: nothing tells when in it the registry stopped, and a wait shown longer than it
        was would count talking to an operator as waiting (it also keeps that session out
        of the estimate, as any session cut short)."""
        for place in sorted(places, key=lambda place: not place.back):
            danger = bool(place.crisis or crisis_reason(place.topic, place.description))
            full = room_is_full(len(self._waiting), in_danger=danger, limits=self.limits)
            if full or place.token in self._tokens:
                continue  # a copy of a place cannot be a second one
            person = self._held(place, now)
            self._waiting.append(person)
            self._tokens[person.token] = person
            self._restored.add(person.token)
        self._settle_until = now + RESTART_SETTLE
        self._reclaim_by = now + self.reclaim_window
        self._kept = self._places()
        return self._restored_line()

    def _held(self, place: KeptPlace, now: float) -> Person:
        """The person of a kept `place`, holding it as if their connection broke `now`."""
        served = max(0.0, place.served)
        in_session = 0.0
        if place.serving_since is not None:
            in_session = max(0.0, now - place.serving_since)
        return Person(
            token=place.token,
            name=place.name,
            phone=place.phone,
            topic=place.topic,
            description=place.description,
            joined=min(place.joined, now) - served,
            conn=None,
            address=place.address,
            dropped=now,
            awaits=place.operator,
            awaits_until=now + self.grace if place.operator else 0.0,
            served=served + in_session,
            back=place.back,
            crisis=stronger_crisis(place.crisis, crisis_reason(place.topic, place.description)),
            said=place.said,
        )

    def _restored_line(self) -> list[Action]:
        """The log's line on the places just held after a restart (none for none)."""
        count = len(self._waiting)
        if not count:
            return []
        places_text = "1 place" if count == 1 else f"{count} places"
        line = (
            f"desk: {places_text} kept from before the registry stopped, held for "
            f"{format_duration(min(self.grace, self.reclaim_window))} for their people to come "
            f"back; nobody is served for up to {format_duration(RESTART_SETTLE)} while they "
            "reconnect"
        )
        return [Log(line)]

    def _give_up_unclaimed(self) -> list[Action]:
        """Give up the places kept across a restart that nobody took back in time."""
        actions: list[Action] = []
        for person in list(self._waiting):
            if person.token in self._restored and person.conn is None:
                within = f"{format_duration(self.reclaim_window)} of the restart"
                actions += self._give_up_place(person, within)
        self._restored.clear()
        return actions

    def _give_up_place(self, person: Person, within: str) -> list[Action]:
        """Give up the place of `person`, who did not come back `within` (how long, said
        in the log); an operator kept for them is told it takes the next person."""
        self._remove_waiting(person)
        actions = self._tell_kept_operator(
            person, f"{clean(person.name)} did not come back; you take the next person."
        )
        line = f"desk: {name_for_log(person)} did not come back within {within}; place given up"
        return [*actions, self._log(line, person)]

    def _stop_awaiting(self, now: float) -> list[Action]:
        """The operator and person kept for each other after a restart who are not
        together again within the grace period: each is free for anyone, and told so."""
        actions: list[Action] = []
        for person in self._waiting:
            if not person.awaits or now < person.awaits_until:
                continue
            name = clean(person.name)
            actions += self._tell_kept_operator(
                person, f"{name} is not back yet; you take the next person."
            )
            if person.conn is not None:
                actions.append(
                    self._notice(
                        person.conn,
                        f"{person.awaits} is not back; the next free operator will serve you.",
                    )
                )
            actions.append(
                self._log(
                    f"desk: {name_for_log(person)} and {person.awaits} were not together "
                    "again in time; no longer kept for each other",
                    person,
                )
            )
            person.awaits, person.shown = "", None  # a push with the usual figures
        return actions

    def _kept_operator(self, person: Person) -> Operator | None:
        """The operator on duty kept for `person` after a restart (see `restore`), if any."""
        if not person.awaits:
            return None
        key = name_key(person.awaits)
        return next((o for o in self._operators.values() if name_key(o.name) == key), None)

    def _tell_kept_operator(self, person: Person, text: str) -> list[Action]:
        """`text` to the operator kept for `person`, when it is on duty."""
        operator = self._kept_operator(person)
        return [] if operator is None else [self._notice(operator.conn, text)]
