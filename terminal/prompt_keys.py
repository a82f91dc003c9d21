"""Key bindings every ChatApp prompt shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prompt_toolkit.key_binding import KeyBindings


def stray_escapes() -> KeyBindings:
    """Bindings for stray keys: Ctrl-Z does nothing (see below), and a typed or pasted
    colour code such as `ESC [ 3 1 m` is taken as the text it is. prompt_toolkit's input
    parser reads one as a mouse event, whose handler then fails on it and stops the prompt
    with a traceback; our prompts never turn mouse reporting on, so no real mouse event can
    arrive. Added after prompt_toolkit's own bindings (as a prompt's `key_bindings` are),
    these win."""
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.keys import Keys

    keys = KeyBindings()

    @keys.add(Keys.Vt100MouseEvent)
    def _as_text(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text(event.data)

    @keys.add("c-z")
    def _nothing(event: KeyPressEvent) -> None:
        # Suspending would leave the terminal raw under the shell (see _raw_input), and
        # prompt_toolkit's default inserts the key as a control character into the line,
        # which the others then got as an unreadable one.
        pass

    return keys
