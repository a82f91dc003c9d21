"""`ChatApp -s`: start a registry, serve until it is stopped, or say why it did not start."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable
from pathlib import Path

import msgspec

from net.discovery import Advertisement, DiscoveryError
from registry.adapter.registry_console import printable, stop_on_signals, typed_ahead
from registry.adapter.server import RegistryServer
from registry.adapter.settings import RegistrySettings
from registry.adapter.storage import StorageError
from terminal.prompt import is_terminal, on_a_terminal
from wire.keys import join_code


async def run_registry(
    *,
    listen: tuple[str, int],
    data_dir: Path,
    out: Callable[[str], None],
    settings: RegistrySettings,
) -> int:
    """Serve a registry on `listen` until Ctrl-C, SIGTERM or `quit`; the exit status."""
    out = printable(out)
    bind, port = listen
    try:
        server = RegistryServer(
            data_dir=data_dir,
            listen=(bind, port),
            out=out,
            settings=msgspec.structs.replace(
                settings,
                console_operator=settings.console_operator and sys.stdin.isatty(),
                prompt=on_a_terminal(),
                screen=settings.screen and on_a_terminal(),
                log_on_screen=is_terminal(sys.stdout),
            ),
        )
    except StorageError as exc:
        out(f"ChatApp: error: {exc}")
        _not_carried_out(out)
        return 1
    try:
        await server.start()
    except OSError as exc:
        out(f"ChatApp: error: cannot listen on {bind}:{port}: {exc.strerror or exc}")
        _not_carried_out(out)
        return 1
    stop_on_signals(server.stop)
    server.console.read()
    public = server.endpoint.channel.public
    advert = (
        advertise(bind, port, public, server.log, server.console.say)
        if settings.discovery
        else None
    )
    try:
        await server.serve_forever()
    finally:
        if advert is not None:
            await advert.close()
        await server.close()
        out("Registry stopped.")
    return 0


def advertise(
    bind: str,
    port: int,
    public: bytes,
    log: Callable[[str], None],
    say: Callable[[str], None],
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
        return Advertisement.start(bind, port, join_code(public), done)
    except DiscoveryError as exc:
        done(str(exc))
        return None


def _not_carried_out(out: Callable[[str], None]) -> None:
    lines, pending = typed_ahead(sys.stdin)
    for line in [*lines, pending]:
        if line.strip():
            out(f"Not carried out, since the registry did not start: {line}")
