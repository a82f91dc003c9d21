"""Every command a user can type has its handler: each command type parsed has a handler
in TypedInput's table, and each file command word reads as a verb with a usage (`sendfile`
is `file`; each word /help shows is the one read: peer.core.commands.SPECS)."""

from __future__ import annotations

import typing

from peer.core import commands as cmd
from peer.core.dispatch import PeerCore
from tests.peer.honest import REGISTRY_KEY
from tests.peer.parts_kit import ME, SERVER


def test_every_command_type_has_a_handler() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    assert set(core.typed.commands) == frozenset(typing.get_args(cmd.Command))


def test_every_file_command_word_reads_as_a_verb_with_a_usage() -> None:
    verbs = set()
    for word in cmd.SPELLS:
        parsed = cmd.parse(f"/{word} 1")
        if isinstance(parsed, cmd.FileCommand):
            verbs.add(parsed.verb)
    assert verbs == set(cmd.FILE_USAGES)


def test_every_command_a_part_takes_names_a_method_of_that_part() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    for word in cmd.SPELLS:
        parsed = cmd.parse(f"/{word} x")
        if isinstance(parsed, cmd.ForPart):
            part, method = parsed.handler.split(".")
            assert callable(getattr(getattr(core.parts, part), method)), parsed.handler
