"""`ChatApp -d <server-ip> <server-port>`: asking the help desk for help (issue 4, seed 000).

The person's logic is `peer.desk_person.PersonCore`; `peer.desk_runner` runs it over the
terminal and a TCP connection to the registry's desk, keeping the held-place file
(`peer.desk_held_place`) under the per-user state directory, so that restarting
`ChatApp -d` within the grace period takes the place back.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from peer.desk_held_place import state_root
from peer.desk_person import PersonCore
from peer.desk_runner import DeskRunner
from peer.desk_terminal import use_colour
from wire.reliable import IdMaker


async def run_desk_client(
    server_ip: str,
    server_port: int,
    *,
    stdin_is_tty: bool,
    state_dir: Path | None = None,
    colour: bool | None = None,
) -> int:
    """`ChatApp -d <server-ip> <server-port>`: ask the help desk for help; return the exit
    status (0 after leaving or a finished session, 1 when the desk could not be reached,
    refused, was lost while being served, or no valid topic was chosen). Reads standard
    input as lines (a terminal gets an editable prompt); never raises."""
    core = PersonCore(server_ip, server_port, IdMaker(os.urandom(4).hex()))
    runner = DeskRunner(
        core,
        client="help desk client",
        tty=stdin_is_tty,
        colour=use_colour(colour),
        places=state_dir or state_root(),
    )
    return await runner.run()


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m peer.desk_client <server-ip> <server-port>", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_desk_client(argv[0], int(argv[1]), stdin_is_tty=sys.stdin.isatty()))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
