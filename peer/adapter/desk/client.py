"""`ChatApp -d <server-ip> <server-port>`: asking the help desk for help. The person's logic
is `peer.core.desk.person.PersonCore`, run by `peer.adapter.desk.runner`; its held places are kept
under the per-user state directory, so that a restarted client takes its place back.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Unpack

from peer.adapter.desk.held_place import PERSON_LOCK, ClientRun, run_locked, state_root
from peer.adapter.desk.runner import DeskRunner
from peer.adapter.desk.terminal import use_colour
from peer.adapter.key_contact import ContactRule
from peer.core.desk.person import PersonCore
from wire.reliable import IdMaker

#: Said when another person's client runs with the same data directory.
BUSY = (
    "Another help desk client is already running with the data directory {root}{pid}; the "
    "two would share the places they hold. Quit it first, or give this one a directory of "
    "its own with --data-dir."
)


async def run_desk_client(
    server_ip: str,
    server_port: int,
    *,
    stdin_is_tty: bool,
    state_dir: Path | None = None,
    **options: Unpack[ClientRun],
) -> int:
    """Ask the help desk for help; the exit status (0 after leaving or a finished session,
    1 when the desk could not be reached, refused, was lost while serving, no valid topic
    was chosen, or another client runs with the same `state_dir`). Never raises."""
    root = state_dir or state_root()

    async def run(key: bytes | None) -> int:
        core = PersonCore(server_ip, server_port, IdMaker(os.urandom(4).hex()), prompt=stdin_is_tty)
        colour = use_colour(options.get("colour"))
        runner = DeskRunner(
            core, client="help desk client", tty=stdin_is_tty, colour=colour, places=root,
            keys=root, registry_key=key,
        )  # fmt: skip
        return await runner.run()

    where, trust = (server_ip, server_port), options.get("trust", ContactRule())
    return await run_locked(root, PERSON_LOCK, BUSY, where, trust, run)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        print(
            "usage: python -m peer.adapter.desk.client <server-ip> <server-port>", file=sys.stderr
        )
        sys.exit(2)
    tty = sys.stdin.isatty()
    try:
        sys.exit(asyncio.run(run_desk_client(sys.argv[1], int(sys.argv[2]), stdin_is_tty=tty)))
    except KeyboardInterrupt:
        sys.exit(130)
