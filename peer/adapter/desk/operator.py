"""`ChatApp -o <name> <server-ip> <server-port>`: serving at the help desk. The operator's
logic is `peer.core.desk.duty.OperatorCore`, run by `peer.adapter.desk.runner`; this module finds
the operator key and starts the run.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from pathlib import Path

from disk.files import default_dir
from disk.operator_key import key_path, read_key
from peer.adapter.desk.held_place import ANY_TRUST, operator_lock, run_locked
from peer.adapter.desk.runner import DeskRunner, RunnerSettings
from peer.adapter.key_contact import ContactRule
from peer.core.desk.actions import Addr
from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import ClientSettings
from secure.keys import Pins
from wire.ids import IdMaker
from wire.names import name_key
from wire.refusals import RefusalCode

#: The environment variable that gives an operator the registry's operator key.
KEY_ENV = "CHATAPP_DESK_KEY"


def find_operator_key(stdin_is_tty: bool, registry_dir: Path | None = None) -> str | None:
    """The operator key to go on duty with: $CHATAPP_DESK_KEY; else the key of a registry
    of this user on this machine (in `registry_dir`, the `--data-dir` given, else its
    default data directory); else asked for, unechoed, when standard input is a terminal.
    None when there is none of these."""
    given = os.environ.get(KEY_ENV, "").strip()
    if given:
        return given
    local = read_key(key_path(registry_dir or default_dir("registry")))
    if local is not None:
        return local
    if stdin_is_tty:
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            return getpass.getpass("Operator key: ").strip() or None
    return None


#: What an operator is told when no key was found (see `find_operator_key`).
NO_KEY = (
    f"an operator needs the registry's operator key: set {KEY_ENV}, or start on a terminal "
    "to be asked for it (the registry keeps it in its data directory, file desk-key)"
)


def _authorised_label(name: str, server_ip: str, server_port: int) -> str:
    # per name: the registry authorises a key for the name it was given, and no other
    return f"operator {name_key(name)} authorised at registry {server_ip}:{server_port}"


def operator_authorised(root: Path, name: str, server_ip: str, server_port: int) -> bool:
    """Whether the registry at `server_ip`:`server_port` has authorised this operator
    client's own key (kept in `root`) as operator `name` (it showed the operator key once):
    then it needs the key no more."""
    return Pins(root).get(_authorised_label(name, server_ip, server_port)) is not None


def _remember_authorised(root: Path, key: str, core: OperatorCore, runner: DeskRunner) -> None:
    """After the run of `core` (by `runner`, its keys in `root`): went on duty by showing
    the operator `key`, our key is authorised from now on by the registry it ran at
    (docs/DESK.md); refused without it, it is not any more (the registry lost it)."""
    pins, label = Pins(root), _authorised_label(core.name, core.link.ip, core.link.port)
    with contextlib.suppress(OSError):  # not kept: the key is asked for again next time
        if core.on_duty and key and runner.registry_key:
            pins.pin(label, runner.registry_key)
        elif not key and core.refused_code is RefusalCode.OPERATOR_KEY:
            pins.forget(label)


#: Said when an operator client of the same name runs with the same data directory.
BUSY = (
    "An operator client for {name} is already running with the data directory {root}{pid}; "
    "quit it first, or go on duty under another name."
)


async def run_operator(  # noqa: PLR0913 (who, where, key, terminal, folder, trust)
    name: str,
    desk: Addr,
    *,
    key: str,
    stdin_is_tty: bool,
    state_dir: Path,
    trust: ContactRule = ANY_TRUST,
) -> int:
    """Serve at the help desk at `desk` (ip, port) as `name`, with the operator `key`, keys
    and pins in `state_dir`, first contact as `trust` says; the exit status. Never raises."""
    root = state_dir

    async def run(registry_key: bytes | None) -> int:
        # serve_when_asked: see OperatorLines.early_topics
        client = ClientSettings(prompt=stdin_is_tty, serve_when_asked=not stdin_is_tty)
        core = OperatorCore(name, desk, key, IdMaker(os.urandom(4).hex()), client)
        settings = RunnerSettings(
            client="operator client", tty=stdin_is_tty, keys=root, registry_key=registry_key
        )
        runner = DeskRunner(core, settings)
        code = await runner.run()
        _remember_authorised(root, key, core, runner)
        return code

    busy = BUSY.replace("{name}", name.replace("{", "{{").replace("}", "}}"))
    return await run_locked(root, operator_lock(name), busy, desk, trust, run)
