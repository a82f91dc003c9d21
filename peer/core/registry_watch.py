"""Whether the registry answers, and when the next keepalive goes (docs/PROTOCOL.md,
"Liveness"). Sans-IO."""

from __future__ import annotations

import math
from typing import Final

from wire.reliable import Alarm

#: Seconds between keepalives (or probes of the outbox while the registry is away).
KEEPALIVE: Final = 10.0
#: Keepalive periods a first registration is tried for while the registry stays silent,
#: less and less often (as TCP gives up a connection after its SYNs' bound).
SILENT_KEEPALIVES: Final = 6


class RegistryWatch:
    """The keepalive schedule, and whether the registry is away (`down`: a request given
    up on, nothing from it since); `alarm` is lowered to each keepalive scheduled."""

    def __init__(self, keepalive: float = KEEPALIVE, alarm: Alarm | None = None) -> None:
        self._alarm = alarm or Alarm()
        self.keepalive = keepalive
        #: When the next keepalive is due, or None when none is (not registered).
        self.next_keepalive: float | None = None
        self.down = False
        #: Whether the rooms' being unavailable was said since the registry last answered.
        self.rooms_down_said = False
        #: When the first registration was sent (the registry's silence is counted from it),
        #: and when its silence was first said (None: not yet).
        self.began = 0.0
        self.still_trying_since: float | None = None
        #: Whether a `reg` typed offline went unanswered: it goes with each probe, each period.
        self.register_again = False
        #: When anything last came from the registry: it runs (Requests.due).
        self.heard_at = -math.inf

    def registered(self, now: float) -> None:
        """Registered at `now`: keepalives from now on, every period."""
        self.register_again = False
        self.next_keepalive = now + self.keepalive
        self._alarm.lower(self.next_keepalive)

    def offline(self) -> None:
        """Registered no more: no keepalives."""
        self.next_keepalive = None

    def keepalive_due(self, now: float) -> bool:
        """Whether a keepalive is due at `now`; if so, the next one is scheduled a period on."""
        if self.next_keepalive is None or now < self.next_keepalive:
            return False
        self.next_keepalive = now + self.keepalive
        return True

    def went_away(self, now: float, *, started: bool, reg: bool = False) -> None:
        """A request was given up on at `now`: the registry is away. A peer that has
        `started` probes it even when offline, for its outbox; a typed `reg` (`reg`) goes
        on with a probe at once."""
        self.down, self.register_again = True, self.register_again or reg
        if (self.next_keepalive is None or reg) and started:
            self.next_keepalive = now if reg else now + self.keepalive
            self._alarm.lower(self.next_keepalive)

    def came_back(self) -> None:
        """Something came from the registry while it was away: its absence is over."""
        self.down = self.rooms_down_said = False
