"""The person's connection to the desk lost, made again, and left: a place held for their
token is taken back by reconnecting until the grace period is over, and `.quit` gives it
up (on one more connection, made for that alone, when the desk is out of reach).
"""

from __future__ import annotations

from peer.desk.actions import Action, Connect, Show
from peer.desk.person_state import PersonState


class PersonLink(PersonState):
    """Losing the connection, reconnecting, and leaving."""

    def lost(self, reason: str, now: float) -> list[Action]:
        """The connection to the desk ended, for `reason`: made again and again while the
        desk holds a place for our token (at the front, when we were being served: a blip
        of the network is not the end of the call); otherwise the run ends, saying why."""
        out: list[Action] = []
        self._connected = False
        self._answer_by = None
        if self.phase == "leaving":
            self._left(out)
        elif self.phase == "reconnecting":
            pass  # not from a connection of ours: the runner drops the older ones' events
        elif self._rejoining:
            self._still_silent(reason, now, out)
        elif self.token and self.phase in ("served", "waiting", "joining"):
            self._reconnect(reason, now, out)
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

    def _reconnect(self, reason: str, now: float, out: list[Action]) -> None:
        """The connection was lost while a place is held for our token: say so, and try
        again for as long as the desk holds it."""
        kept = (
            "the session is interrupted. Reconnecting: you keep a place at the front"
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

    def _still_silent(self, reason: str, now: float, out: list[Action]) -> None:
        """A reconnection the desk never answered ended: still the same loss, so the grace
        period is not started again, and the person was told of it already; that the desk
        accepts but is silent is said once."""
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
        """The next reconnection attempt, after a wait twice the last (RETRY_MAX at most;
        the first again while another registry of the service sends us on), and never
        after the place is given up."""
        if self._service_answers():
            self._delay = self._retry_first
        else:
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
