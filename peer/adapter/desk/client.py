"""`ChatApp -d <server-ip> <server-port>`: asking the help desk for help. The person's logic
is `peer.core.desk.person.PersonCore`, run by `peer.adapter.desk.runner`; its held places are kept
in its state directory, so that a restarted client takes its place back.
"""

from __future__ import annotations

import os
from pathlib import Path

from peer.adapter.desk.held_place import ANY_TRUST, PERSON_LOCK, run_locked
from peer.adapter.desk.runner import DeskRunner, RunnerSettings
from peer.adapter.key_contact import ContactRule
from peer.core.desk.actions import Addr
from peer.core.desk.link import ClientSettings
from peer.core.desk.person import PersonCore
from wire.ids import IdMaker

#: Said when another person's client runs with the same data directory.
BUSY = (
    "Another help desk client is already running with the data directory {root}{pid}; the "
    "two would share the places they hold. Quit it first, or give this one a directory of "
    "its own with --data-dir."
)


async def run_desk_client(
    desk: Addr,
    *,
    stdin_is_tty: bool,
    state_dir: Path,
    trust: ContactRule = ANY_TRUST,
) -> int:
    """Ask the help desk at `desk` (ip, port) for help, keeping keys, pins and held places in
    `state_dir`, first contact as `trust` says; the exit status (docs/DESK.md). Never raises."""

    async def run(key: bytes | None) -> int:
        core = PersonCore(desk, IdMaker(os.urandom(4).hex()), ClientSettings(prompt=stdin_is_tty))
        settings = RunnerSettings(
            client="help desk client",
            tty=stdin_is_tty,
            places=state_dir,
            keys=state_dir,
            registry_key=key,
        )
        return await DeskRunner(core, settings).run()

    return await run_locked(state_dir, PERSON_LOCK, BUSY, desk, trust, run)
