"""Registries of a service on the tests' NATS servers (tests/nats_servers.py): the one place
that says how a registry is told its service, for every test that starts one, and what it
says as it starts in each role."""

from __future__ import annotations

from pathlib import Path

from tests.nats_servers import NatsServer

from .harness import HOST

#: What a registry that decides for the service says as it starts to.
DECIDES = "this registry decides for the service now"
#: What a registry that relays says as it starts to.
RELAYS = "relaying to the registry that decides"


def member_args(
    port: int, data_dir: Path, nats: list[NatsServer], folder: Path | None = None
) -> list[str]:
    """`ChatApp`'s arguments for a registry of the service on `nats` (through the service
    folder `folder`, when given), on `port`, its data in `data_dir`."""
    service = str(folder or nats[0].service)
    return ["-s", str(port), "--bind", HOST, "--data-dir", str(data_dir), "--cluster", service]
