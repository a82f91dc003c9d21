"""A name's password on a service of several registries (docs/SCALING.md): set through a
registry that relays, proven on the one that decides and again through the relay from
another machine, and a wrong one refused there. Each proof is bound to the service's key,
which every registry of it holds (secure/password.py)."""

from __future__ import annotations

import pytest

from tests.nats_servers import NatsServer

from .harness import PASSWORD_CHECK_WAIT, ChatEnv
from .test_cluster import start_member

pytestmark = pytest.mark.timeout(120)

PASSWORD = "correct horse battery staple"


def _in_and_out(chat: ChatEnv, port: int, folder: str, secret: str) -> str:
    """eve started from `folder` (a machine of her own: a new key) on the registry at `port`
    with `secret`, welcomed, then quit; what she was shown."""
    eve = chat.start_peer("eve", server_port=port, data_dir=chat.root / folder, password=secret)
    shown = eve.tail()
    eve.send("/quit")
    assert eve.wait_exit(10) == 0
    return shown


@pytest.mark.slow
def test_a_password_set_through_a_relay_is_proven_on_each_registry_and_a_wrong_one_refused(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    one, one_port = start_member(chat, nats, "one", decides=True)
    _, two_port = start_member(chat, nats, "two", decides=False)
    assert "[Setting the password of eve" in _in_and_out(chat, two_port, "desk", PASSWORD)
    one.expect(r"\(via another registry\) Register\(.*name='eve'.*verifier=…\)")
    # the registry that decides, then the relay again: the right password, from new machines
    for port, folder in ((one_port, "laptop"), (two_port, "phone")):
        shown = _in_and_out(chat, port, folder, PASSWORD)
        assert "Setting the password" not in shown
    # a wrong one, through the relay: refused, and the start ends with status 1
    thief = chat.start_peer(
        "eve", server_port=two_port, data_dir=chat.root / "thief", password="not it", wait=False
    )
    thief.expect_line("[Wrong password for eve.]", PASSWORD_CHECK_WAIT)
    assert thief.wait_exit(10) == 1
