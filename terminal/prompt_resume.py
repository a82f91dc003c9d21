"""A running prompt put back after its process was stopped and continued.

A client stopped from outside (`kill -STOP`, or SIGTSTP sent by another program) while its
prompt_toolkit prompt runs has no say in what happens to the terminal meanwhile: the shell
takes it back and leaves it in the line-editing mode the shell wants. After `fg` (SIGCONT)
the terminal stays so: every key is echoed by the terminal itself, lines arrive only on
Enter and are shown twice, and the answers to the prompt's cursor-position requests
(`^[[23;1R`) are printed as text. Continued, the prompt puts the terminal back in the mode
it needs and draws itself anew. Shared by every ChatApp prompt: the one of terminal.prompt (the
chat peer's, the registry console's and the help-desk clients').
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prompt_toolkit.application import Application


@contextlib.contextmanager
def redrawn_on_continue(app: Callable[[], Application[Any] | None]) -> Iterator[None]:
    """While inside: on SIGCONT, the running application `app()` returns (None or not
    running: nothing to do) gets its terminal back in raw mode and is drawn again from
    scratch. Must be entered in the running event loop; does nothing where SIGCONT does not
    exist or the loop cannot watch signals."""
    sigcont = getattr(signal, "SIGCONT", None)
    loop = asyncio.get_running_loop()
    watching = False
    if sigcont is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sigcont, lambda: _continued(app()))
            watching = True
    try:
        yield
    finally:
        if watching and sigcont is not None:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sigcont)


def _continued(app: Application[Any] | None) -> None:
    """The process runs again after a stop: raw mode back, and the prompt redrawn on the
    cursor's line (below whatever the shell printed meanwhile)."""
    if app is None or not app.is_running:
        return
    import termios

    from prompt_toolkit.input.vt100 import raw_mode

    with contextlib.suppress(OSError, ValueError, termios.error, NotImplementedError):
        # Entered and never left: the prompt's own raw mode, entered as it started, puts
        # back the modes of before the prompt as it ends, which is what is wanted then.
        raw_mode(app.input.fileno()).__enter__()
    # Drawn anew from the start of the cursor's line, cleared: the cursor is where the
    # prompt left it (after the prompt's text) unless the shell printed a line meanwhile.
    app.output.write_raw("\r")
    app.output.erase_end_of_line()
    app.output.flush()
    app.renderer.reset()
    app.invalidate()
