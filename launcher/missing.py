"""What ChatApp says when Python lacks a library it needs: the command that installs them,
not a traceback. Imports nothing outside the standard library."""

from __future__ import annotations

#: The commands that install ChatApp with what it needs, from a checkout (the README's).
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e ."


def missing_dependency(missing: ModuleNotFoundError) -> str:
    """The line for `missing`: which library, and how to install them all."""
    name = missing.name or "a library it needs"
    return (
        f"ChatApp: error: {name} is not installed for this Python. From the ChatApp folder, "
        f"install ChatApp and what it needs with:\n  {INSTALL}\n"
        "then start it as .venv/bin/ChatApp (for example .venv/bin/ChatApp -s 5000)."
    )
