"""Every command a user can type has its handler: each handler a line is read as names a
method of a part of the core, and each file command word reads as a verb with a usage
(`sendfile` is `file`; each word /help shows is the one read: peer.core.commands.SPECS)."""

from __future__ import annotations

from peer.core import commands as cmd
from peer.core.dispatch import PeerCore
from tests.peer.honest import REGISTRY_KEY
from tests.peer.parts_kit import ME, SERVER


def test_every_handler_names_a_method_of_a_part() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    handlers = {spec.handler for spec in cmd.SPECS} | {cmd.SAY, cmd.FOR_SERVER, cmd.MISTAKE}
    for handler in handlers | {cmd.LEAVE}:
        part, method = handler.split(".")
        assert callable(getattr(getattr(core.parts, part), method)), handler


def test_every_file_command_word_reads_as_a_verb_with_a_usage() -> None:
    verbs = set()
    for word in cmd.SPELLS:
        parsed = cmd.parse(f"/{word} 1")
        if parsed is not None and parsed.handler == "commands.for_files":
            verbs.add(parsed.args[0])
    assert verbs == set(cmd.FILE_USAGES)
