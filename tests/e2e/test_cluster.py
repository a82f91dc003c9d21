"""Several registries, one service, on a real nats-server (tests/nats_servers.py): peers on
different registries see one table, chat, share the channel and leave each other mail."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nats_servers import NatsServer, nats_cluster

from .harness import (
    HOST,
    OFFLINE_BYE,
    RECEIVED_BY_SERVER,
    SAVED,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    ChatProc,
    channel_line,
    direct,
    free_port,
    mail_line,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[list[NatsServer]]:
    with nats_cluster(tmp_path / "nats") as servers:
        yield servers


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def start_member(
    chat: ChatEnv, nats: list[NatsServer], name: str, *, decides: bool
) -> tuple[ChatProc, int]:
    """A registry of the service, on a port and data folder of its own."""
    port = free_port()
    urls = ",".join(server.url for server in nats)
    proc = chat.spawn(
        "-s", str(port), "--bind", HOST, "--data-dir", str(chat.root / name),
        "--keepalive", "0.5", "--cluster", urls, "-v", label=f"registry:{name}",
    )  # fmt: skip
    said = "decides for the service now" if decides else "relaying to the registry that decides"
    proc.expect(re.escape(said), 15)
    return proc, port


def test_peers_of_two_registries_share_one_table_the_channel_and_mail(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    one, one_port = start_member(chat, nats, "one", decides=True)
    two, two_port = start_member(chat, nats, "two", decides=False)
    alice = chat.start_peer("alice", server_port=one_port)
    bob = chat.start_peer("bob", server_port=two_port)
    alice.expect_line("[Client table updated.]")
    direct(alice, bob, unique("hi"))
    direct(bob, alice, unique("back"))
    post = unique("all")
    alice.send(f"send_all {post}")
    alice.expect_line(RECEIVED_BY_SERVER)
    bob.expect(channel_line("alice", post))
    bob.send("dereg bob")
    bob.expect_line(OFFLINE_BYE)
    kept = unique("later")
    alice.send(f"send bob {kept}")
    alice.expect_line(SAVED, timeout=15)
    bob.send("reg bob")
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect(mail_line("alice", kept))
