"""Real peers for the benchmarks: the `ChatApp -c` adapter (peer.adapter.node.PeerNode) with its
real core and Endpoint, many of them in one event loop, each on its own sockets on 127.0.0.1.

Only the console is replaced: instead of printing, it counts lines and calls listeners, so a
benchmark can see "[Message received by bob.]" or a channel message the moment it is shown.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.common import HOST, ROOT, Helper
from peer.adapter.key_contact import ContactRule
from peer.adapter.node import PeerNode
from peer.adapter.start import PeerSettings
from peer.core.actions import Print
from wire.keys import code_from_text

Addr = tuple[str, int]


class _Console:
    def __init__(self, peer: BenchPeer) -> None:
        self.show: Callable[[Print], None] = peer._shown  # (no call between: a line a message)

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        pass

    def set_prompt(self, text: str) -> None:
        pass

    def after_printed(self, then: Callable[[], None]) -> None:
        then()

    async def stop(self) -> None:
        pass


class BenchPeer:
    """One peer: PeerNode (real core, real Endpoint), driven by `line`."""

    def __init__(
        self,
        name: str,
        server: Addr,
        data_dir: Path,
        keepalive: float = 10.0,
        host: str = HOST,
        registry_code: str = "",
    ) -> None:
        """Peer `name` of the registry at `server`, bound to `host` (a loopback address:
        127.0.0.1 unless a benchmark spreads its peers over several, as over a LAN)."""
        self.name = name
        self.host = host
        self.node = PeerNode(
            name=name,
            server=server,
            data_dir=data_dir,
            console=_Console(self),
            settings=PeerSettings(
                bind=host,
                keepalive=keepalive,
                trust=ContactRule(code=code_from_text(registry_code) if registry_code else None),
            ),
        )
        self.port = 0
        self.shown = 0
        self.listeners: list[Callable[[BenchPeer, Print], None]] = []
        self.registered = asyncio.Event()

    async def open(self) -> None:
        """Bind UDP and TCP on a free port of its host (before registering)."""
        for attempt in range(50):
            try:
                addr = await self.node.endpoint.open(self.host, 0)
                break
            except OSError:
                # the UDP port the kernel chose is taken for TCP (an outgoing connection's
                # ephemeral port): choose again, as a user would pick another port
                if attempt == 49:
                    raise
        self.port = addr[1]
        self.node.core.state.port = self.port
        # the registry's key, pinned or asked for, as PeerNode.run does before registering
        if not await self.node.keys.registry_key(self.node.endpoint, self.node.core.after_welcome):
            raise RuntimeError(f"{self.name}: the registry gave no key")

    def start(self) -> None:
        """Send the registration (what PeerNode.run does after binding)."""
        self.node.start()

    async def register(self, timeout: float = 20.0) -> None:
        self.start()
        await asyncio.wait_for(self.registered.wait(), timeout)

    def line(self, text: str) -> None:
        """The user typed `text` (as the console hands a typed line to the node)."""
        self.node.typed(text)

    def table_complete(self, names: int) -> bool:
        table = self.node.core.table
        return len(table.rows()) >= names and all(e.online for e in table.rows())

    def _shown(self, line: Print) -> None:
        self.shown += 1
        if line.text == "[Welcome, You are registered.]":
            self.registered.set()
        for listener in self.listeners:
            listener(self, line)

    async def close(self) -> None:
        self.node.stop()
        await self.node.endpoint.close()


def lan_host(i: int) -> str:
    """The loopback address of a bench's peer number `i`: 127.0.1.1, 127.0.1.2, ... (250 to
    a /24), so that many peers each have an address of their own, as on a LAN. A registry
    under a storm of handshakes admits some 20 a second from one address
    (secure/cookie.py): a storm's peers on one address wait for that, not for it."""
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def start_registry(
    loop: str,
    *,
    rcvbuf: int = 0,
    profile: str = "",
    count: bool = False,
    mailbox_limit: int = 0,
    root: Path = ROOT,
) -> Helper:
    """A real registry (RegistryServer) in its own process, on its own core, of the checkout
    at `root`; with `count`, its report counts the messages it handled (a cost on every
    datagram); `mailbox_limit` replaces the usual limit on a mailbox's messages."""
    profile = profile or os.environ.get("BENCH_PROFILE_REGISTRY", "")
    args = ["registry", "--loop", loop]
    if rcvbuf:
        args += ["--rcvbuf", str(rcvbuf)]
    if profile:
        args += ["--profile", profile]
    if count:
        args.append("--count")
    if mailbox_limit:
        args += ["--mailbox-limit", str(mailbox_limit)]
    return Helper(*args, root=root)


async def make_peers(
    count: int,
    server: Addr,
    *,
    prefix: str = "p",
    batch: int = 25,
    data_dir: Path | None = None,
    own_keys: bool = False,
) -> list[BenchPeer]:
    """`count` registered peers, registered `batch` at a time (a gentle start, not a storm).
    They share one data folder, and so one key, unless `own_keys` (each its own folder: a
    registry counts what one key may store, as it would for one person)."""
    root = data_dir or Path(tempfile.mkdtemp(prefix="chatapp-bench-peers-"))
    peers = [
        BenchPeer(f"{prefix}{i}", server, root / f"{prefix}{i}" if own_keys else root)
        for i in range(count)
    ]
    for peer in peers:
        await peer.open()
    for i in range(0, count, batch):
        await asyncio.gather(*(p.register() for p in peers[i : i + batch]))
    return peers


async def close_all(peers: list[BenchPeer]) -> None:
    for peer in peers:
        await peer.close()
