"""The running registry's console: its output (log lines and answers, in order) and what is
typed there (registry commands, the help desk's).

Ctrl-C or Ctrl-D on the prompt's empty line stops the registry. One that serves someone (peers
online, a person at the help desk) asks first, as the prompt: `y` stops it, anything else
keeps it running, and the same key pressed again at the question stops it (it was meant)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from registry.adapter.console import printable, read_lines, typed_ahead
from registry.adapter.console_commands import (
    LOG_COMMAND,
    LogShown,
    is_registry_command,
    run_command,
)
from registry.adapter.desk.service import CONSOLE_NAME
from registry.adapter.settings import RegistrySettings
from terminal.prompt import LinePrompt
from wire.words import counted

if TYPE_CHECKING:
    from registry.adapter.server import RegistryServer

#: How to stop a registry from its console, said as it starts.
STOP_HINT = (
    "quit or Ctrl-C stops the registry (/quit while you serve someone at the help desk); "
    "it asks first while it serves anyone."
)

#: How log lines of errors start: they are shown even while `.log off` hides the log, as
#: the registry may have stopped answering.
ERROR_MARK = "ERROR"


class RegistryConsole:
    """The console of `registry`: `out` prints one line on it (log lines included), unless
    the console is a prompt (see RegistrySettings), which prints every line above it."""

    def __init__(
        self, registry: RegistryServer, out: Callable[[str], None], settings: RegistrySettings
    ) -> None:
        self._registry = registry
        self._asked = ""  # the question before stopping, while it waits for its answer
        self._prompt = (
            LinePrompt(on_interrupt=self._interrupted, on_eof=self._interrupted)
            if settings.prompt
            else None
        )
        self.out = printable(self._above if self._prompt is not None else out)
        # lines waiting for the end of this pass (see `log` and `say`), each with whether
        # it is a log line
        self._lines: list[tuple[str, bool]] = []
        self._log_shown = LogShown(on_screen=settings.log_on_screen)
        self.operator = settings.console_operator

    # -- output -------------------------------------------------------------------------

    def log(self, line: str) -> None:
        """One timestamped line on the console, written in order at the end of this pass of
        the event loop: a line about a request then follows the answers it caused out of the
        door (a write to a terminal or a pipe costs as much as relaying a message)."""
        self._later(f"{time.strftime('%H:%M:%S')} {line}", is_log=True)

    def say(self, line: str) -> None:
        """One line of the console's answer, after the log lines still to be written: a
        `who` typed after `release alice` answers below the line saying alice was released
        (that line waits for the end of the pass, or for the table to be on disk)."""
        if not self._lines and not self._registry.commits.is_open:
            self.out(line)
            return
        self._later(line, is_log=False)

    def _later(self, line: str, *, is_log: bool) -> None:
        self._lines.append((line, is_log))
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.write)
            except RuntimeError:  # no loop running: nothing to wait for
                self.write()

    @property
    def waiting(self) -> bool:
        """Whether lines wait to be written (`write`)."""
        return bool(self._lines)

    def write(self) -> None:
        """Write the lines waiting, unless a commit is open: it has them written after its
        sends (RegistryServer's `_release`)."""
        if self._registry.commits.is_open:
            return
        lines, self._lines = self._lines, []
        for line, is_log in lines:
            # a log line `.log off` hides is counted instead (errors always show)
            if not (is_log and not _is_error(line) and self._log_shown.hides()):
                self.out(line)

    def started(self) -> None:
        """Say how this console serves at the help desk, and how to stop; from then on the
        desk's lines come through `say`."""
        desk = self._registry.desk
        if self.operator and not desk.problem:
            self.out(
                f"This console is the help desk's operator {CONSOLE_NAME}, as it runs "
                "on a terminal: people who ask for help (ChatApp -d) are handed to you here."
            )
            self.out(
                "  .serve none stops that (.serve all resumes); --no-desk-console starts the "
                "registry without it."
            )
            self.out(self._log_shown.hint())
            # on duty after the lines above, so that what it says (maybe a person served
            # at once) comes under them; and through `say`, so that it comes under the log
            # lines of what led to it too (a person's join, then `[Now serving ...]`)
            desk.console.set_output(self.say, self._put_back if self._prompt else None)
        elif self._prompt is not None:
            if not desk.problem:  # a closed desk said so above
                self.out(
                    "This console does not serve at the help desk (--no-desk-console); "
                    "ChatApp -o serves there."
                )
            self.out(self._log_shown.hint())
        if self._prompt is not None:
            self.out(STOP_HINT)

    async def stop(self) -> None:
        """Write what waits; a prompt prints its last lines and leaves the terminal as it was."""
        self.write()
        if self._prompt is not None:
            await self._prompt.stop()

    # -- input --------------------------------------------------------------------------

    def line(self, line: str, begun: float | None = None) -> None:
        """A line typed on the registry's console, begun at `begun` (monotonic seconds; None:
        now, as for a line read from a pipe): a registry command, or the help desk's (its
        commands, and any line while the console serves someone). A registry command
        written with a "/" (`/who`) is the registry's even then."""
        if self._asked:
            self._asked = ""
            if line.strip().lower() in ("y", "yes"):
                self._registry.stop()
            else:
                self.say("The registry keeps running.")
            return
        words = line.split()
        if words and words[0].lower() == LOG_COMMAND:
            # the console's, even while it serves someone
            self.say(self._log_shown.command(words[1:]))
            return
        if words and words[0].startswith("/") and is_registry_command(line):
            self._command([words[0][1:], *words[1:]])
            return
        begun = time.monotonic() if begun is None else begun
        desk = self._registry.desk
        if desk.console.wants(line.rstrip("\n"), begun):
            if desk.problem:
                self.say(f"  {words[0]}: {desk.problem}")
            elif not desk.console.on_duty:
                self.say(
                    f"  {words[0]} is a help-desk command, and this console does not serve at "
                    f"the help desk ({self._why_no_desk()}); ChatApp -o serves there"
                )
            else:
                desk.console.typed(line.rstrip("\n"), begun)
            return
        if words:
            self._command(words)

    def _why_no_desk(self) -> str:
        if not self.operator and self._prompt is not None:
            return "--no-desk-console was given"
        if not self.operator:
            return "its input is not a terminal, or --no-desk-console was given"
        return "its input ended"

    def _command(self, words: list[str]) -> None:
        """Carry out the console's command `words` (registry.adapter.console_commands)."""
        for line in run_command(words, self._registry):
            self.say(line)

    def ended(self) -> None:
        """The console's input ended. On a terminal (Ctrl-D) that is said, and the console
        goes off duty at the help desk; the registry keeps running either way."""
        if self._prompt is not None:
            # the prompt took the loop's SIGINT handler away as it ended: Ctrl-C stops the
            # registry again
            self._registry.catch_signals()
        if self.operator:
            self._registry.desk.console.ended()
            self.out(
                "Console input ended; the registry keeps running (Ctrl-C stops it). The console "
                "is off duty at the help desk."
            )

    def read(self, stdin: TextIO | None = None) -> None:
        """Carry out the console's lines from now on, in order (standard input unless
        `stdin`; a terminal, a pipe and /dev/null alike): first what was typed while the
        registry started, each line shown as it is carried out (typed ahead in the shell,
        it was never shown: see registry.adapter.console), then each line as it comes. With a
        prompt (see RegistrySettings), the prompt reads them, and shows each one entered."""
        if self._prompt is not None and stdin is None:
            self._prompt.set_prompt(self._prompt_says)
            prompt = self._prompt
            prompt.start(lambda line: self.line(line, prompt.begun), self.ended)
            return
        stdin = stdin if stdin is not None else sys.stdin
        lines, pending = typed_ahead(stdin)
        for line in lines:
            if line.strip():
                self.say(f"Typed as the registry started, carried out now: {line}")
            self.line(line)
        read_lines(stdin, pending, self.line, self.ended)

    # -- the prompt ---------------------------------------------------------------------

    def _prompt_says(self) -> str:
        """The console's prompt: where a line typed there goes (or the question asked)."""
        serves = self._registry.desk.console.serves
        return self._asked or (f"to {serves}> " if serves else "registry> ")

    def _put_back(self, text: str) -> None:
        """Put `text` back into the prompt, once the line entered has left it."""
        assert self._prompt is not None
        asyncio.get_running_loop().call_soon(self._prompt.put_back, text)

    def _above(self, line: str) -> None:
        """Print `line` above the console's prompt."""
        assert self._prompt is not None
        self._prompt.print_above([("", line)])

    def _interrupted(self) -> bool:
        """Ctrl-C or Ctrl-D on the console's empty line stops the registry, or asks first
        when it serves someone (see the module)."""
        registry = self._registry
        online = len(registry.core.table.online())
        at_desk = registry.desk.console.serves
        whom = [f"{counted(online, 'peer')} online"] if online else []
        whom += [f"{at_desk} at the help desk"] if at_desk else []
        if self._asked or not whom:
            self._asked = ""
            registry.stop()
        else:
            self._asked = f"Stop the registry? It serves {' and '.join(whom)}. [y/N] "
        if self._prompt is not None:
            self._prompt.set_prompt(self._prompt_says)  # drawn again: the question, or not
        return True


def _is_error(line: str) -> bool:
    """Whether a log line (`HH:MM:SS text`) tells of an error."""
    return line.partition(" ")[2].startswith(ERROR_MARK)
