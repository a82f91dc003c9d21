"""`ChatApp -d <server-ip> <server-port>`: asking the help desk for help.

The person's logic is `peer.desk.person.PersonCore`; `peer.desk.runner` runs it over the
terminal and a TCP connection to the registry's desk, keeping the held-place file
(`peer.desk.held_place`) under the per-user state directory, so that restarting
`ChatApp -d` within the grace period takes the place back.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TypedDict, Unpack

from net.files import InUse
from peer.desk.held_place import PERSON_LOCK, hold_client_lock, private_root, state_root
from peer.desk.person import PersonCore
from peer.desk.registry_trust import Untrusted, desk_registry_key
from peer.desk.runner import DeskRunner
from peer.desk.terminal import use_colour
from peer.key_contact import ContactRule
from wire.reliable import IdMaker


class DeskClientRun(TypedDict, total=False):
    """How `run_desk_client` runs: `colour`, whether in colour (None, the default: as the
    terminal and the environment say); `trust`, how first contact with the registry goes
    (by default, as a script's without a secret: the first key)."""

    colour: bool | None
    trust: ContactRule


async def run_desk_client(
    server_ip: str,
    server_port: int,
    *,
    stdin_is_tty: bool,
    state_dir: Path | None = None,
    **options: Unpack[DeskClientRun],
) -> int:
    """`ChatApp -d <server-ip> <server-port>`: ask the help desk for help; return the exit
    status (0 after leaving or a finished session, 1 when the desk could not be reached,
    refused, was lost while being served, or no valid topic was chosen, or another one runs
    with the same `state_dir`: see `hold_client_lock`). Reads standard input as lines (a
    terminal gets an editable prompt); never raises."""
    root = state_dir or state_root()
    private_root(root)
    try:
        lock = hold_client_lock(root, PERSON_LOCK)
    except InUse as busy:
        pid = f" (pid {busy.pid})" if busy.pid else ""
        print(
            f">>> [Another help desk client is already running with the data directory "
            f"{root}{pid}; the two would share the places they hold. Quit it first, or give "
            "this one a directory of its own with --data-dir.]",
            flush=True,
        )
        return 1
    try:
        key = await desk_registry_key(
            root, server_ip, server_port, options.get("trust", ContactRule())
        )
        core = PersonCore(server_ip, server_port, IdMaker(os.urandom(4).hex()), prompt=stdin_is_tty)
        runner = DeskRunner(
            core,
            client="help desk client",
            tty=stdin_is_tty,
            colour=use_colour(options.get("colour")),
            places=root,
            keys=root,
            registry_key=key,
        )
        return await runner.run()
    except Untrusted:
        return 1
    finally:
        if lock is not None:
            os.close(lock)


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m peer.desk.client <server-ip> <server-port>", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_desk_client(argv[0], int(argv[1]), stdin_is_tty=sys.stdin.isatty()))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
