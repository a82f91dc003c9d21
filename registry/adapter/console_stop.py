"""Stopping the registry from its console's prompt (Ctrl-C or Ctrl-D on an empty line).

A registry that serves nobody stops at once. One that serves someone (peers online, a
person at the help desk) asks first, as the prompt: `y` stops it, anything else keeps it
running, and the same key pressed again at the question stops it (the key was meant).
"""

from __future__ import annotations

from collections.abc import Callable

from wire.words import counted

#: How the question ends: the answer that is taken when only Enter is pressed comes last.
YES_NO = "[y/N]"


class StopQuestion:
    """The question before stopping: `serves` says whom the registry serves ("" for
    nobody), `stop` stops it."""

    def __init__(self, serves: Callable[[], str], stop: Callable[[], None]) -> None:
        self._serves = serves
        self._stop = stop
        self._asked = ""  # the question, while it waits for its answer

    @property
    def asking(self) -> str:
        """The question waiting for its answer, or ""."""
        return self._asked

    def key(self) -> None:
        """Ctrl-C or Ctrl-D on an empty line: stop, or ask first (see the module)."""
        serves = self._serves()
        if self._asked or not serves:
            self._asked = ""
            self._stop()
            return
        self._asked = f"Stop the registry? It serves {serves}. {YES_NO} "

    def answer(self, line: str) -> str:
        """The line typed at the question: what to say (stopping says so itself)."""
        self._asked = ""
        if line.strip().lower() in ("y", "yes"):
            self._stop()
            return ""
        return "The registry keeps running."


def serving(online: int, at_desk: str) -> str:
    """Whom a registry serves, in words ("" for nobody): `online` peers, and `at_desk`,
    the person its console serves at the help desk ("" for none)."""
    parts = [f"{counted(online, 'peer')} online"] if online else []
    if at_desk:
        parts.append(f"{at_desk} at the help desk")
    return " and ".join(parts)
