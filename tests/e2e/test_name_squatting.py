"""Name squatting, tried with real processes: scripts on several addresses, each name with
a key of its own, register names and never come back. The registry forgets names unused
for the time it is given (--forget-names-after), and keeps at most --newcomer-names names
whose owner never came back, taking them from the addresses that registered the most."""

from __future__ import annotations

import pytest

from .harness import WELCOME, ChatEnv
from .secure_socket import SecureSocket

from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from wire.version import WIRE_VERSION  # isort: skip


def _squat(server: tuple[str, int], host: str, names: list[str], port: int) -> None:
    """Register each of `names` from `host`, each with a new key, at ports from `port` on;
    then go silent (no keepalive: the registry finds them gone)."""
    for n, name in enumerate(names):
        with SecureSocket(host=host) as squatter:
            squatter.learn_key(server)
            # over TCP: a Welcome with a table this long would not fit a datagram
            register = messages.Register(f"{name}-r", name, port + n, "", "", WIRE_VERSION)
            squatter.over_tcp(register, server, messages.Welcome)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_squatted_name_unused_for_the_time_given_goes_back_to_anyone(chat: ChatEnv) -> None:
    registry = chat.start_registry(options=["--no-desk-console", "--forget-names-after", "2s"])
    assert chat.registry_port is not None
    server = ("127.0.0.1", chat.registry_port)
    _squat(server, "127.0.0.2", ["carol", "dave"], 41000)
    _squat(server, "127.0.0.3", ["erin"], 42000)
    registry.expect(r"forgot carol: unused for 2 s; 0 stored messages deleted", timeout=30)
    registry.expect(r"forgot erin: unused for 2 s", timeout=30)
    # the real carol, on her own machine with her own key, takes the name
    carol = chat.start_peer("carol", data_dir=chat.root / "carol", wait=False)
    carol.expect_line(WELCOME)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_newcomer_names_past_the_bound_go_from_the_addresses_that_registered_the_most(
    chat: ChatEnv,
) -> None:
    registry = chat.start_registry(options=["--no-desk-console", "--newcomer-names", "5"])
    assert chat.registry_port is not None
    server = ("127.0.0.1", chat.registry_port)
    vic = chat.start_peer("vic", data_dir=chat.root / "vic")
    vic.send("/quit")
    assert vic.wait_exit() == 0
    # four addresses, three names each, each name with a key of its own
    for a in range(4):
        names = [f"sq{a}x{n}" for n in range(3)]
        _squat(server, f"127.0.0.{a + 2}", names, 43000 + 10 * a)
    # 13 newcomers, 5 kept: 8 forgotten, the scripts', once offline; none of vic's
    forgotten = [registry.expect(r"forgot (\S+): one of more than 5 names", timeout=30)]
    while len(forgotten) < 8:
        forgotten.append(registry.expect(r"forgot (\S+): one of more than 5 names", timeout=30))
    names = sorted(m.group(1) for m in forgotten)
    assert all(name.startswith("sq") for name in names), names
    registry.expect_not(r"forgot vic", within=1.0)
    vic = chat.start_peer("vic", data_dir=chat.root / "vic", wait=False)
    vic.expect_line(WELCOME)
    registry.expect(r"registered again vic", timeout=10)  # its own name, kept
