"""A service of several registries as an attacker on the LAN finds it: its NATS nodes, made
by `ChatApp --new-service` (tests/nats_servers.py), let in nobody but the service's
registries, and neither the traffic to them nor their store on disk holds a password, a
token or a line of chat."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
from pathlib import Path

import nats as nats_client
import pytest

from peer.adapter.state import token_path
from registry.adapter.cluster.service_folder import (
    AUTHORITY_FILE,
    REGISTRY_CERT,
    REGISTRY_KEY,
    SERVICE_FILE,
    open_folder,
)
from tests.nats_servers import NatsServer, new_service, service_folder

from .capture import can_capture, capturing
from .harness import (
    HOST,
    OFFLINE_BYE,
    RECEIVED_BY_SERVER,
    SAVED,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    channel_line,
    direct,
    free_port,
    mail_line,
)
from .test_cluster import start_member, start_peer, unique

pytestmark = pytest.mark.timeout(90)


async def _connects(url: str, tls: ssl.SSLContext | None) -> bool:
    """Whether a NATS client reaches `url` (with `tls`, or none), and is let in."""

    async def quiet(exc: Exception) -> None:
        pass

    try:
        nc = await nats_client.connect(
            servers=[url], tls=tls, connect_timeout=2, allow_reconnect=False,
            max_reconnect_attempts=0, error_cb=quiet,
        )  # fmt: skip
    except Exception:
        return False
    await nc.close()
    return True


def test_nats_lets_in_the_services_registries_alone(nats: list[NatsServer], tmp_path: Path) -> None:
    node, ours = nats[0], service_folder(nats)
    other = open_folder(new_service(tmp_path / "other"))
    plain = node.url.replace("tls://", "nats://")
    no_certificate = ssl.create_default_context(cafile=ours.path / AUTHORITY_FILE)
    # another service's registry credentials, trusting this service's nodes
    foreign = ssl.create_default_context(cafile=ours.path / AUTHORITY_FILE)
    foreign.load_cert_chain(other.path / REGISTRY_CERT, other.path / REGISTRY_KEY)
    # a node's own certificate, of this service's authority, is no registry's
    a_node = ssl.create_default_context(cafile=ours.path / AUTHORITY_FILE)
    a_node.load_cert_chain(ours.path / "nats-1.crt", ours.path / "nats-1.key")

    async def scenario() -> dict[str, bool]:
        return {
            "no TLS, no credentials": await _connects(plain, None),
            "TLS, no credentials": await _connects(node.url, no_certificate),
            "another authority's certificate": await _connects(node.url, foreign),
            "a node's certificate": await _connects(node.url, a_node),
            "the service's registries": await _connects(node.url, ours.tls()),
        }

    assert asyncio.run(scenario()) == {
        "no TLS, no credentials": False,
        "TLS, no credentials": False,
        "another authority's certificate": False,
        "a node's certificate": False,
        "the service's registries": True,
    }


def _started_with(chat: ChatEnv, folder: Path) -> list[str]:
    """What a registry of the service `folder` said before it exited with status 1."""
    proc = chat.spawn(
        "-s", str(free_port()), "--bind", HOST, "--data-dir", str(chat.root / "r"),
        "--no-discovery", "--cluster", str(folder), label="registry",
    )  # fmt: skip
    proc.close_stdin()
    assert proc.wait_exit(30) == 1
    out = proc.collect(5)
    assert not any("Traceback" in row for row in out), out
    return [row for row in out if "error" in row]


def test_a_registry_whose_folder_nats_refuses_says_why_in_one_line(
    chat: ChatEnv, nats: list[NatsServer], tmp_path: Path
) -> None:
    ours = nats[0].service
    # another service's folder, pointed at this service's nodes: their certificate fails
    elsewhere = new_service(tmp_path / "other")
    (elsewhere / SERVICE_FILE).write_text((ours / SERVICE_FILE).read_text())
    said = _started_with(chat, elsewhere)
    assert len(said) == 1 and "its certificate is not of this service" in said[0], said
    # this service's folder, its credentials replaced by a node's certificate
    stolen = tmp_path / "stolen"
    shutil.copytree(ours, stolen, ignore=shutil.ignore_patterns("*-store"))
    for ending in ("crt", "key"):
        shutil.copy(ours / f"nats-1.{ending}", stolen / f"registry.{ending}")
    said = _started_with(chat, stolen)
    assert len(said) == 1 and "refused this service folder's credentials" in said[0], said


def test_a_cluster_given_nats_urls_is_refused_with_how_to_make_a_folder(chat: ChatEnv) -> None:
    proc = chat.spawn(
        "-s", str(free_port()), "--bind", HOST, "--no-discovery",
        "--cluster", "nats://127.0.0.1:4222", label="registry",
    )  # fmt: skip
    assert proc.wait_exit(15) == 2
    out = proc.collect(5)
    assert len(out) == 1 and "ChatApp --new-service DIR --nats HOST:PORT" in out[0], out


@pytest.mark.slow
@pytest.mark.skipif(not can_capture(), reason="capturing loopback needs root")
def test_nothing_secret_crosses_nats_or_rests_in_its_store(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    secret = unique("erins-secret-pw")
    texts = [unique(label) for label in ("direct", "saved", "channel", "room")]
    with capturing() as capture:
        _, lead_port = start_member(chat, nats, "one", decides=True)
        _, relay_port = start_member(chat, nats, "two", decides=False)
        # erin registers through the relay, which passes her password on to the lead
        erin = chat.start_peer(
            "erin", server_port=relay_port, keepalive=3.0, password=secret, timeout=20
        )
        bob = start_peer(chat, "bob", lead_port)
        erin.expect_line(f"[{bob.name} is online]")
        direct(erin, bob, texts[0])
        room = unique("den")
        for peer in (erin, bob):
            peer.send(f"join {room}")
            peer.expect(r"^>>> \[You joined ")
        erin.send(texts[3])
        bob.expect_line(f"{erin.name} (in {room}): {texts[3]}")
        erin.send(f"/send_all {texts[2]}")
        erin.expect_line(RECEIVED_BY_SERVER)
        bob.expect(channel_line(erin.name, texts[2]))
        bob.send(f"/dereg {bob.name}")
        bob.expect_line(OFFLINE_BYE)
        erin.send(f"/send {bob.name} {texts[1]}")
        erin.expect_line(SAVED, timeout=15)
        bob.send(f"/reg {bob.name}")
        bob.expect_line(YOU_HAVE_MESSAGES)
        bob.expect(mail_line(erin.name, texts[1]))
    ports = {server.port for server in nats}
    seen = b"".join(
        p.payload for p in capture.packets if p.proto == "tcp" and ports & {p.src[1], p.dst[1]}
    )
    assert len(seen) > 10_000  # (the registries' traffic through NATS was seen)
    token = json.loads(token_path(erin.data_dir, erin.name).read_text())["token"]
    for needle in (secret, token, *texts):
        assert needle.encode() not in seen, f"{needle!r} crossed NATS readable"
    store = b"".join(
        path.read_bytes()
        for path in (nats[0].service / "nats-1-store").rglob("*")
        if path.is_file()
    )
    assert len(store) > 1_000
    for needle in texts:
        assert needle.encode() not in store, f"{needle!r} lies readable in NATS's store"
    _buckets_hold_no_key(nats)


def _buckets_hold_no_key(nats: list[NatsServer]) -> None:
    """What the service keeps in NATS, read with its own credentials, holds neither its
    private key nor its operator key."""
    folder = service_folder(nats)
    secrets = [folder.key.private_bytes_raw().hex().encode(), folder.desk_key.encode()]

    async def read_all() -> bytes:
        nc = await nats_client.connect(servers=folder.urls, tls=folder.tls())
        js = nc.jetstream()
        held = []
        for info in await js.streams_info():
            name = info.config.name or ""
            held.append(name.encode())
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    held.append((await js.get_msg(name, seq)).data or b"")
                except Exception:
                    continue  # (deleted)
        await nc.close()
        return b"".join(held)

    held = asyncio.run(read_all())
    assert held
    for secret in secrets:
        assert secret not in held
