"""The person's connection to the desk lost, made again, and left: a place held for their
token is taken back by reconnecting until the grace period is over, and `.quit` gives it
up (on one more connection, made for that alone, when the desk is out of reach).
"""

from __future__ import annotations

from peer.core.desk.actions import Connect, Emit, Show
from peer.core.desk.person_state import PersonState


class Reconnect:
    """Losing the connection, reconnecting, and leaving."""

    def __init__(self, s: PersonState) -> None:
        self.s = s
        self.link = s.link

    def lost(self, reason: str, now: float, emit: Emit) -> None:
        """The connection to the desk ended, for `reason`: made again and again while the
        desk holds a place for our token (at the front, when we were being served: a blip
        of the network is not the end of the call); otherwise the run ends, saying why."""
        s, phase = self.s, self.link.phase
        self.link.closed()
        if phase == "leaving":
            self.left(emit)
        elif phase == "reconnecting":
            pass  # not from a connection of ours: the runner drops the older ones' events
        elif s.rejoining:
            self._still_silent(reason, now, emit)
        elif s.token and phase in ("served", "waiting", "joining"):
            self._reconnect(reason, now, emit)
        elif phase == "served":
            emit(
                Show(
                    f"[The connection to the help desk was lost ({reason}); the session has "
                    "ended.]",
                    "error",
                )
            )
            s.finish(1, emit)
        elif phase not in ("form", "done"):
            emit(Show(f"[The help desk closed the connection ({reason}).]", "error"))
            s.finish(1, emit)

    def _reconnect(self, reason: str, now: float, emit: Emit) -> None:
        """The connection was lost while a place is held for our token: say so, and try
        again for as long as the desk holds it."""
        s = self.s
        kept = (
            "the session is interrupted. Reconnecting: you keep a place at the front"
            if self.link.phase == "served"
            else "reconnecting. Your place is kept"
        )
        emit(
            Show(
                f"[The connection to the help desk was lost ({reason}); {kept} for "
                f"{int(s.grace)} s.]",
                "error",
            )
        )
        self.link.phase = "reconnecting"
        s.give_up_at = now + s.grace
        self.link.rewind()
        self.link.later(now, s.give_up_at)
        s.silence_told = False

    def _still_silent(self, reason: str, now: float, emit: Emit) -> None:
        """A reconnection the desk never answered ended: still the same loss, so the grace
        period is not started again, and the person was told of it already; that the desk
        accepts but is silent is said once."""
        s = self.s
        s.rejoining = False
        self.link.phase = "reconnecting"
        self.link.later(now, s.give_up_at)
        if not s.silence_told:
            s.silence_told = True
            left = max(0, int(s.give_up_at - now))
            emit(
                Show(
                    f"[The help desk accepts the connection but does not answer ({reason}); "
                    f"still trying. Your place is kept for {left} s more.]",
                    "error",
                )
            )

    def leave(self, now: float, emit: Emit) -> None:
        """`.quit`, Ctrl-C or the end of input: give the place up and say so (once the
        desk has confirmed, when there is a connection to tell it on). While reconnecting,
        one more connection is tried, for the link's `leave_timeout` at most, only to give
        the place up (`DeskGiveUp`): held for nobody, it would count ahead of everyone
        behind it until the desk gave it up by itself."""
        s, link = self.s, self.link
        if (link.phase == "reconnecting" or s.rejoining) and s.token:
            # (a desk that has not answered the rejoin may not be running: a goodbye on
            # that connection could wait for nothing; DeskGiveUp goes on a new one)
            s.rejoining = False
            link.phase = "leaving"
            s.giving_up = True
            link.retry_at = None
            link.leave_by = now + link.leave_timeout
            emit(Connect())
        elif not link.up or link.phase == "reconnecting":
            self.left(emit)
        else:
            emit(link.leave(now))

    def given_up(self, emit: Emit) -> None:
        """The grace period is over, and the desk was not reached in it."""
        line = "[Could not reach the help desk in time; your place was given up.]"
        emit(Show(line, "error"))
        self.s.finish(1, emit)

    def left(self, emit: Emit) -> None:
        """The person has left (the desk confirmed it, or could not be told)."""
        if self.s.giving_up:  # the desk could not be reached to be told
            line = (
                "[You left the help desk. It could not be told now, and gives your place up "
                "by itself.]"
            )
        else:
            line = "[You left the help desk.]"
        emit(Show(line))
        self.s.finish(0, emit)
