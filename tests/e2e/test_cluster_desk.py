"""The help desk of a service of several registries, on a real nats-server
(tests/nats_servers.py): one waiting room and one set of operators, whichever registry a
client reaches, and places that outlive the registry that held them (docs/DESK.md, "A
service of several registries")."""

from __future__ import annotations

import re
import time

import pytest

from tests.nats_servers import STARTS_WITHIN, NatsServer
from wire.desk.render import PLACE, WELCOME_BACK, YOUR_TURN, ahead_of_you

from .harness import HOST, ChatEnv, ChatProc, free_port
from .members import DECIDES, RELAYS, member_args

pytestmark = pytest.mark.timeout(60)

PHONES = {"Dan": "555 0100 222", "Eve": "+44 7700 900123"}


def start_member(
    chat: ChatEnv, nats: list[NatsServer], name: str, *, decides: bool
) -> tuple[ChatProc, int]:
    """A registry of the service, on a port and data folder of its own."""
    port = free_port()
    proc = chat.spawn(
        *member_args(port, chat.root / name, nats), "--keepalive", "1", label=f"registry:{name}"
    )
    chat.join_code = proc.expect(r"--registry-key ([\d-]+)", STARTS_WITHIN).group(1)
    proc.expect(re.escape(DECIDES if decides else RELAYS), STARTS_WITHIN)
    return proc, port


def operator(chat: ChatEnv, name: str, port: int) -> ChatProc:
    """`ChatApp -o name` at the registry on `port`, serving every topic."""
    proc = chat.spawn("-o", name, HOST, str(port), *chat.trusting(), label=f"operator:{name}")
    proc.send(".serve all")
    proc.expect(rf"On duty as {name}, serving")
    return proc


def person(chat: ChatEnv, name: str, port: int) -> ChatProc:
    """`ChatApp -d` at the registry on `port`, asking about topic 2."""
    proc = chat.spawn(
        "-d", HOST, str(port), "--data-dir", str(chat.root / name), label=f"person:{name}"
    )
    for answer in (name, PHONES[name], "2"):
        proc.send(answer)
    return proc


@pytest.mark.slow
def test_one_desk_for_the_service_and_its_places_outlive_the_registry_that_held_them(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    one, one_port = start_member(chat, nats, "one", decides=True)
    two, two_port = start_member(chat, nats, "two", decides=False)
    # every registry of the service has the service's operator key
    key = (chat.root / "one" / "desk-key").read_text().strip()
    assert (chat.root / "two" / "desk-key").read_text().strip() == key
    chat.env["CHATAPP_DESK_KEY"] = key
    ann = operator(chat, "ann", one_port)
    dan = person(chat, "Dan", two_port)  # at the registry that relays: sent to the desk
    dan.expect(f"{YOUR_TURN} ann")
    ann.expect(r"Now serving Dan")
    eve = person(chat, "Eve", two_port)
    eve.expect(rf"{PLACE.format(1)}, you are next")
    eve.send(".queue")
    eve.expect(ahead_of_you(0))

    one.kill()
    killed = time.monotonic()
    two.expect(re.escape(DECIDES), 10)
    dan.expect(r"your conversation with ann resumes", 8)
    ann.expect(r"Now serving Dan", 20)
    print(f"ann back {time.monotonic() - killed:.1f} s after the kill")
    resumed = time.monotonic() - killed
    eve.expect(rf"{WELCOME_BACK}; {PLACE.format('[12]')}", 15)
    print(f"the session resumed {resumed:.1f} s after the registry that decided was killed")
    assert resumed < 12
    ann.send(".help")  # (a line typed before the new session shows is held back)
    ann.expect(r"Help-desk operator commands:")
    ann.send("where were we")
    dan.expect(r"ann: where were we")
    for proc in (ann, dan, eve):
        assert proc.count("Traceback") == 0
        assert proc.count(r"key changed|KEY CHANGED|new key") == 0
