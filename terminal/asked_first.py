"""Leaving a prompt, asked first when it would lose something: Ctrl-C or Ctrl-D on the empty
line asks; `y` (or `yes`), or the same key again, leaves; any other answer stays. Shared by
the registry's console and the peer's prompt."""

from __future__ import annotations

from collections.abc import Callable

#: The answers that leave.
YES = ("y", "yes")


class AskedFirst:
    """`question()` is what to ask before leaving ("": nothing would be lost, leave at once);
    `leave()` leaves once the answer is yes; `stays(line)` says the prompt stays, given the
    line that answered otherwise."""

    def __init__(
        self,
        question: Callable[[], str],
        leave: Callable[[], None],
        stays: Callable[[str], None],
    ) -> None:
        self._question = question
        self._leave = leave
        self._stays = stays
        #: The question asked, while it waits for its answer ("": none); the prompt shows it.
        self.asked = ""

    def key(self) -> bool:
        """Ctrl-C or Ctrl-D on the empty line: True when it asked (the prompt stays), False
        when the caller leaves now (nothing to lose, or the key pressed again)."""
        if self.asked:
            self.asked = ""
            return False
        self.asked = self._question()
        return bool(self.asked)

    def answer(self, line: str) -> bool:
        """Whether `line` answered the question asked: then it left, or stayed (said)."""
        if not self.asked:
            return False
        self.asked = ""
        if line.strip().lower() in YES:
            self._leave()
        else:
            self._stays(line)
        return True
