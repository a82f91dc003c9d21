"""Running a peer as the program: its console made, its node started, until the user quits."""

from __future__ import annotations

import math
from pathlib import Path

from peer.adapter.node import PeerNode
from peer.adapter.start import PASSWORD_AGAIN, PeerSettings, StartRefused
from peer.adapter.terminal import TerminalConsole, make_console
from peer.core.actions import Addr, Print
from wire.words import counted


async def run_peer(
    *,
    name: str,
    server: Addr,
    data_dir: Path,
    settings: PeerSettings,
    plain: bool = False,
) -> int:
    """Run a peer until the user quits; the exit status, or PASSWORD_AGAIN when its password
    was refused and `settings.ask_again`."""
    console = make_console(colour=settings.colour, bell=settings.bell, plain=plain)
    try:
        node = PeerNode(
            name=name, server=server, data_dir=data_dir, console=console, settings=settings
        )
    except StartRefused as refused:
        console.show(Print(str(refused), "error"))
        return 1
    if isinstance(console, TerminalConsole):
        from peer.adapter.kept_history import KeptHistory  # prompt_toolkit's: on a terminal only

        core, watch = node.core, node.core.parts.shared.watch
        console.bind(
            lambda: core.state.name,
            core.table.online_names,
            rooms=core.room_names,
            room=lambda: core.state.room,
            question=core.question,
            kept=KeptHistory(lambda: node.state.history_path, secret=settings.password),
            losing=lambda: [*core.unfinished(), *unfinished_transfers(node.state.files_path)],
            people=lambda: [(row.name, row.online) for row in core.table.rows()],
            registry=lambda: "{}:{}".format(*core.server),
            answers=lambda: None if watch.heard_at == -math.inf else not watch.down,
            outbox=lambda: len(core.outbox),
            transfers=node.files.progress,
        )
    status = await node.run()
    wrong = node.core.state.password_refused
    if settings.ask_again and (wrong or node.password_anew):
        return PASSWORD_AGAIN
    return status


def unfinished_transfers(folder: Path) -> list[str]:
    """The file transfers not finished (a record each in `folder`), as a phrase."""
    try:
        count = sum(1 for _ in folder.glob("*.json"))
    except OSError:
        count = 0
    if not count:
        return []
    return [f"{counted(count, 'file transfer')} {'is' if count == 1 else 'are'} unfinished"]
