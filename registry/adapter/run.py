"""`ChatApp -s`: start a registry (alone, or one of a service's with `--cluster`), serve until it
is stopped, or say why it did not start."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from net.discovery import Advertisement, DiscoveryError
from registry.adapter.registry_console import printable, typed_ahead
from registry.adapter.server import RegistryServer
from registry.adapter.settings import RegistrySettings
from registry.adapter.store import StorageError
from terminal.prompt import is_terminal, on_a_terminal
from wire.keys import join_code

if TYPE_CHECKING:
    from registry.adapter.cluster.registry import ClusterRegistry
    from registry.adapter.cluster.service_folder import ServiceFolder


async def run_registry(
    *,
    listen: tuple[str, int],
    data_dir: Path,
    out: Callable[[str], None],
    settings: RegistrySettings,
    folder: ServiceFolder | None = None,
) -> int:
    """Serve a registry on `listen`, alone or one of the service of `folder`, until Ctrl-C,
    SIGTERM or `quit`; the exit status."""
    bind, port = listen
    out = printable(out)
    registry: RegistryServer | ClusterRegistry
    try:
        if folder is None:
            alone = msgspec.structs.replace(
                settings,
                console_operator=settings.console_operator and sys.stdin.isatty(),
                prompt=on_a_terminal(),
                screen=settings.screen and on_a_terminal(),
                log_on_screen=is_terminal(sys.stdout),
            )
            registry = RegistryServer(data_dir=data_dir, listen=listen, out=out, settings=alone)
            await registry.start()
        else:
            from registry.adapter.cluster.registry import ClusterRegistry

            registry = ClusterRegistry(folder, listen, out, data_dir, settings)
            out = registry.out  # (its prompt's, once there is one)
            await registry.open()
    except (StorageError, OSError) as exc:
        return _not_started(out, _failure(exc, bind, port))
    registry.take_console()
    advert = None
    if settings.discovery:
        advert = advertise(bind, port, registry.public, registry.log, registry.say)
    try:
        await registry.run()
    except (StorageError, OSError) as exc:  # (StorageError: a service's, as it takes the lead)
        out(f"ChatApp: error: {_failure(exc, bind, port)}")
        return 1
    finally:
        if advert is not None:
            await advert.close()
        await registry.close()
        out("Registry stopped.")
    return 0


def advertise(
    bind: str, port: int, public: bytes, log: Callable[[str], None], say: Callable[[str], None]
) -> Advertisement | None:
    """Advertise the registry on the network, and `log` whether it is; None when it is not
    (on loopback, as it `say`s at once, or when discovery cannot work)."""
    if ipaddress.ip_address(bind).is_loopback:
        say(
            f"Not advertised on the network: it listens on {bind}, which only this machine "
            "reaches (--bind a LAN address to be found)"
        )
        return None

    def done(problem: str | None) -> None:
        if problem is None:
            log(
                "advertised on this network: peers find it with ChatApp -c NAME alone "
                "(--no-discovery stops that)"
            )
        else:
            log(
                f"cannot advertise this registry on the network ({problem}): peers need its address"
            )

    try:
        return Advertisement(bind, port, join_code(public), done)
    except DiscoveryError as exc:
        done(str(exc))
        return None


def _failure(exc: StorageError | OSError, bind: str, port: int) -> str:
    if isinstance(exc, StorageError):
        return str(exc)
    return f"cannot listen on {bind}:{port}: {exc.strerror or exc}"


def _not_started(out: Callable[[str], None], error: str) -> int:
    """Say why the registry did not start, and what was typed ahead; the exit status."""
    out(f"ChatApp: error: {error}")
    lines, pending = typed_ahead(sys.stdin)
    for line in [*lines, pending]:
        if line.strip():
            out(f"Not carried out, since the registry did not start: {line}")
    return 1
