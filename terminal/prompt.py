"""One prompt_toolkit prompt for the whole run, on a terminal: lines printed while it runs
go above it. Enter does not end it (between two prompts the terminal would be in line mode
for a moment, and echo a key typed then into an incoming line). Beside it, the one
yes-or-no question asked before it starts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from terminal.typed_ahead import TypedAhead, hold_typed_ahead, read_typed_ahead

if TYPE_CHECKING:
    from prompt_toolkit.application import Application
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.completion import Completer
    from prompt_toolkit.history import History
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.key_binding.key_bindings import KeyBindingsBase

#: Seconds `LinePrompt.stop` waits for lines still being printed, and for the prompt to end.
STOP_WAIT = 2.0

#: Parts of a line as prompt_toolkit takes them: (style, text) pairs.
Parts = list[tuple[str, str]]


def on_a_terminal() -> bool:
    """Whether standard input and output are both a terminal, as a prompt needs."""
    return is_terminal(sys.stdin) and is_terminal(sys.stdout)


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or replaced by something that is none
        return False


def _raw_input() -> Input | None:
    """The terminal's input for prompt_toolkit, never back in cooked mode (as
    run_in_terminal would switch it while it prints, echoing a key pressed then)."""
    if not sys.stdin.isatty():
        return None  # prompt_toolkit's own choice
    from prompt_toolkit.input.vt100 import Vt100Input

    class RawInput(Vt100Input):
        def cooked_mode(self) -> contextlib.AbstractContextManager[None]:
            return contextlib.nullcontext()

    return RawInput(sys.stdin)


class LinePrompt:
    """One prompt for the whole run. Ctrl-C on a line with text clears it, as shells do,
    keeping it in the history (Up brings it back; `cleared` is called).
    Ctrl-C on an empty line (and SIGINT) calls `on_interrupt`, Ctrl-D `on_eof`: true means
    it dealt with the key, false ends the prompt. `history` gives the history the next line
    belongs to, `prompt_style` the prompt's style (each asked when needed). With
    `ctrl_c_ends` set, Ctrl-C ends the prompt whatever the line holds, and a prompt ended
    by a key stays on the screen as it stood."""

    def __init__(  # noqa: PLR0913 (what its owner makes its own: history, look, keys, Tab, ^C, ^D)
        self,
        *,
        history: Callable[[], History] | None = None,
        completer: Completer | None = None,
        prompt_style: Callable[[], str] = str,
        keys: KeyBindings | None = None,
        on_interrupt: Callable[[], bool] = lambda: False,
        on_eof: Callable[[], bool] = lambda: False,
    ) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import InMemoryHistory

        self._keys = keys
        self._which_history = history
        self._style = prompt_style
        self._on_interrupt = on_interrupt
        self._on_eof = on_eof
        #: Set before `start` by a program where Ctrl-C is leaving (the help-desk clients).
        self.ctrl_c_ends = False
        self.session: PromptSession[str] = PromptSession(
            history=history() if history is not None else InMemoryHistory(),
            completer=completer,
            complete_while_typing=False,
            erase_when_done=True,  # no dead prompt left under the last lines on leaving
            input=_raw_input(),
        )
        self._prompt: str | Callable[[], str] = "> "
        self._task: asyncio.Future[None] | None = None
        self._printing: set[asyncio.Future[None]] = set()
        # the lines the print on its way prints (`print_above`), while more may join them
        self._lines: Parts | None = None
        self._stopping = False
        self._echoing: list[Any] | None = None  # the terminal's modes, while echo is off
        #: When the line being handed to `on_line` was begun (monotonic seconds): its first
        #: key into an empty prompt, or when it was read if typed ahead.
        self.begun = 0.0
        self._first_key: float | None = None  # the line in the prompt's, once it has one
        #: Lines entered so far.
        self.lines_entered = 0
        self.session.default_buffer.on_text_changed += self._text_changed

    @property
    def app(self) -> Application[Any]:
        """The application that shows the prompt (the prompt session's, unless overridden)."""
        return self.session.app

    def set_prompt(self, text: str | Callable[[], str]) -> None:
        """The prompt's text from now on (a callable: asked each time it is drawn)."""
        self._prompt = text
        app = self.app
        if app.is_running:
            app.invalidate()

    def prompt_text(self) -> Parts:
        return [(self._style(), self._prompt() if callable(self._prompt) else self._prompt)]

    def print_above(self, parts: Parts) -> None:
        """Print a line above the prompt, with the others printed before it gets to it (a
        burst redraws the prompt once)."""
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText
        from prompt_toolkit.renderer import print_formatted_text as render_text
        from prompt_toolkit.styles import default_ui_style

        app = self.app
        if not app.is_running or app.is_done:
            print_formatted_text(FormattedText(parts))
            return
        if self._lines is not None:  # a print on its way takes this line too
            self._lines += [*parts, ("", "\n")]
            return
        self._lines = lines = [*parts, ("", "\n")]

        def render() -> None:
            if self._lines is lines:
                self._lines = None  # what is printed from now on is printed after these
            render_text(app.output, FormattedText(lines), default_ui_style())
            app.output.flush()

        self._in_terminal(render)

    def after_printed(self, then: Callable[[], None]) -> None:
        """Call `then` once every line printed so far is on the screen."""
        if not self._printing:
            then()
            return
        self._lines = None  # the lines printed after this are printed after `then` runs
        # queued as the prints are: a task awaiting them would run after later ones too
        self._in_terminal(then)

    def _in_terminal(self, then: Callable[[], None]) -> None:
        from prompt_toolkit.application import run_in_terminal

        queued = asyncio.ensure_future(run_in_terminal(then))
        self._printing.add(queued)
        queued.add_done_callback(self._printing.discard)

    async def stop(self) -> None:
        """Finish printing what is on its way, end the prompt, and leave the terminal as it was."""
        if self._printing:
            await asyncio.wait(set(self._printing), timeout=STOP_WAIT)
        self._stopping = True
        app = self.app
        app.erase_when_done = True
        if app.is_running and not app.is_done:
            with contextlib.suppress(Exception):  # it may be ending by itself right now
                app.exit()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=STOP_WAIT)
        _echo_again(self._echoing)
        self._echoing = None

    def next_line(self, buffer: Buffer) -> None:
        self.lines_entered += 1
        if self._which_history is not None:
            buffer.history = self._which_history()
        buffer.reset()

    def put_back(self, text: str) -> None:
        """Put `text` into the prompt, unless something is typed there already."""
        buffer = self.session.default_buffer
        if not buffer.text:
            buffer.insert_text(text)

    def end(self) -> None:
        """End the prompt as Ctrl-D on its empty line does (`on_end` is called)."""
        app = self.app
        if app.is_running and not app.is_done:
            app.exit(exception=EOFError)

    def cleared(self, text: str) -> None:
        """Ctrl-C cleared `text` from the prompt (kept in the history already)."""

    def _history_now(self) -> History:
        return self.session.history if self._which_history is None else self._which_history()

    def _keep(self, text: str) -> None:
        """Keep `text` in the history, once when it is there last already."""
        history = self._history_now()
        if text.strip() and history.get_strings()[-1:] != [text]:
            history.append_string(text)

    def _text_changed(self, buffer: Buffer) -> None:
        if not buffer.text:
            self._first_key = None
        elif self._first_key is None:
            self._first_key = time.monotonic()

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        """`text` was entered: printed above the prompt, kept in the history (once, when
        entered twice in a row), and handed to `on_line` line by line."""
        first_key, self._first_key = self._first_key, None
        self.begun = time.monotonic() if first_key is None else first_key
        self.print_above([*self.prompt_text(), ("", text)])
        self._keep(text)
        # a paste is each of its lines, as if typed (CR and LF only: not str.splitlines')
        for each in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            on_line(each)

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        """Run the prompt: each line entered goes to `on_line`, those typed ahead first.
        `on_end` is called once a key ends it, not `stop`. It takes SIGINT from the loop,
        and leaves the loop without a handler."""
        self._task = asyncio.ensure_future(self._run(self._bindings(on_line), on_line, on_end))

    def _bindings(self, on_line: Callable[[str], None]) -> list[KeyBindings]:
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

        own = KeyBindings()

        @own.add("enter")
        def _enter(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            self._entered(buffer.text, on_line)
            self.next_line(buffer)

        @own.add("c-c")
        def _clear_or_interrupt(event: KeyPressEvent) -> None:
            text = event.current_buffer.text
            if text and not self.ctrl_c_ends:
                self._keep(text)  # as shells do, the line goes; Up brings it back
                event.current_buffer.reset()
                self.cleared(text)
                return
            _interrupt(event)

        @own.add("<sigint>")  # SIGINT from outside (kill -INT): Ctrl-C on an empty line
        def _interrupt(event: KeyPressEvent) -> None:
            if self._on_interrupt():
                self.next_line(event.current_buffer)  # what was typed goes with it
                return
            # as prompt_toolkit's own Ctrl-C: the prompt ends
            event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        @own.add("c-d", filter=Condition(lambda: not self.session.default_buffer.text))
        def _end(event: KeyPressEvent) -> None:
            if not self._on_eof():
                event.app.exit(exception=EOFError)

        return [own, *([self._keys] if self._keys is not None else []), stray_escapes()]

    async def _run(
        self,
        bindings: list[KeyBindings],
        on_line: Callable[[str], None],
        on_end: Callable[[], None],
    ) -> None:
        from prompt_toolkit.key_binding import merge_key_bindings
        from prompt_toolkit.patch_stdout import patch_stdout

        ahead = _typed_ahead()
        if ahead.lines:
            # the terminal echoed them, and the next line's start: printed over that row
            output = self.session.output
            output.write_raw("\r\x1b[K")
            output.flush()
        for text in ahead.lines:
            self._entered(text, on_line)
        if not ahead.ended:
            self.app.erase_when_done = not self.ctrl_c_ends  # `stop` always erases
            with (
                patch_stdout(raw=True),
                redrawn_on_continue(lambda: self.app),  # after kill -STOP and fg
                contextlib.suppress(EOFError, KeyboardInterrupt),
            ):
                await self.prompt(merge_key_bindings(bindings), ahead.partial)
        if not self._stopping:
            self._echoing = _echo_off()
            on_end()

    async def prompt(self, keys: KeyBindingsBase, default: str) -> None:
        """Run the prompt with `keys`, `default` in its line, until a key ends it."""
        from prompt_toolkit.formatted_text import FormattedText

        await self.session.prompt_async(
            lambda: FormattedText(self.prompt_text()),
            key_bindings=keys,
            default=default,
            set_exception_handler=False,  # the program's own: one line, never a traceback
        )


def _typed_ahead() -> TypedAhead:
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):
        return TypedAhead()
    return read_typed_ahead(fd)


def _echo_off() -> list[Any] | None:
    """Echo off once the prompt has ended while the program prints on: the modes
    `_echo_again` puts back (None: echo was not turned off)."""
    import termios

    try:
        fd = sys.stdin.fileno()
        modes = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (termios.error, OSError, ValueError):  # no terminal any more
        return None
    return modes


def _echo_again(modes: list[Any] | None) -> None:
    """The terminal's `modes` back, and what was typed since dropped (the shell would run it)."""
    if modes is None:
        return
    import termios

    with contextlib.suppress(termios.error, OSError, ValueError):
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSAFLUSH, modes)


def stray_escapes() -> KeyBindings:
    """Bindings for stray keys, after prompt_toolkit's own: Ctrl-Z does nothing, and a
    pasted colour code (`ESC [ 3 1 m`) is text: prompt_toolkit reads one as a mouse event,
    whose handler fails with a traceback (mouse reporting is never on)."""
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.keys import Keys

    keys = KeyBindings()

    @keys.add(Keys.Vt100MouseEvent)
    def _as_text(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text(event.data)

    @keys.add("c-z")
    def _nothing(event: KeyPressEvent) -> None:
        # suspended, the terminal would stay raw (_raw_input); the default inserts ^Z
        pass

    return keys


@contextlib.contextmanager
def redrawn_on_continue(app: Callable[[], Application[Any] | None]) -> Iterator[None]:
    """While inside: on SIGCONT (after `kill -STOP` and `fg`, the shell leaves the terminal
    in line mode), the application `app()` returns gets raw mode back and is redrawn."""
    loop = asyncio.get_running_loop()
    watching = False
    with contextlib.suppress(RuntimeError, ValueError):  # a loop that cannot watch signals
        loop.add_signal_handler(signal.SIGCONT, lambda: _continued(app()))
        watching = True
    try:
        yield
    finally:
        if watching:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signal.SIGCONT)


def _continued(app: Application[Any] | None) -> None:
    if app is None or not app.is_running:
        return
    import termios

    from prompt_toolkit.input.vt100 import raw_mode

    with contextlib.suppress(OSError, ValueError, termios.error, NotImplementedError):
        # never left: the prompt's own raw mode puts back the earlier modes as it ends
        raw_mode(app.input.fileno()).__enter__()
    try:
        app.output.write_raw("\r")
        app.output.erase_end_of_line()
        app.output.flush()
    except OSError:
        return  # the terminal was closed (a hang-up continues us too): nothing to redraw
    app.renderer.reset()
    app.invalidate()


async def ask_yes_no(question: str) -> bool:
    """Show `question` and read its answer (`ask_line`): True for y or yes (any case)."""
    return (await ask_line(question)).strip().lower() in ("y", "yes")


async def ask_secret(question: str) -> str:
    """`ask_line`, its answer not echoed, as getpass reads a password."""
    import termios

    fd = sys.stdin.fileno()
    try:
        modes = termios.tcgetattr(fd)
    except termios.error:  # not a terminal: it echoes nothing
        return await ask_line(question)
    quiet = list(modes)
    quiet[3] &= ~termios.ECHO  # the local modes
    termios.tcsetattr(fd, termios.TCSANOW, quiet)  # (not flushed: what is typed ahead stays)
    try:
        answer = await ask_line(question)
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, modes)
    sys.stdout.write("\n")  # the answer's newline, not echoed
    sys.stdout.flush()
    return answer


async def ask_line(question: str) -> str:
    """Show `question` and read one line from standard input without blocking the event
    loop: the line without its newline. Asked before the prompt starts; what follows the
    answer's line stays for the prompt, as does what was typed before it (hold_typed_ahead)."""
    if hold_typed_ahead(sys.stdin.fileno()).partial:
        sys.stdout.write("\n")  # below the line being typed, echoed
    sys.stdout.write(question)
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    answer = bytearray()
    done: asyncio.Future[str] = loop.create_future()

    def readable() -> None:
        try:
            byte = os.read(fd, 1)  # one at a time: nothing after the answer's line is taken
        except OSError:
            byte = b""
        if byte and byte != b"\n":
            answer.extend(byte)
        elif not done.done():
            done.set_result(answer.decode(errors="replace"))

    loop.add_reader(fd, readable)
    try:
        return await done
    except asyncio.CancelledError:  # (which cancels `done` too)
        sys.stdout.write("\n")  # what follows begins a line of its own
        sys.stdout.flush()
        raise
    finally:
        loop.remove_reader(fd)
