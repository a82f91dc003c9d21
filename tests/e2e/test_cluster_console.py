"""The console of each registry of a service on a real terminal (a pty, its screen read
through pyte as tests/e2e/terminal_peers.py reads it): the prompt a lone registry's console
has, deciding or relaying, and through a change of lead, which each registry says once."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Iterator

import pexpect
import pytest

from tests.nats_servers import STARTS_WITHIN, NatsServer

from .harness import CHATAPP, HOST, ChatEnv, free_port
from .members import DECIDES, RELAYS, member_args
from .terminal_peers import Terminal

pytestmark = pytest.mark.timeout(150)

KEEPALIVE = 3.0
#: Rows of each terminal: every line since the registry started stays on its screen.
ROWS = 50
#: What each registry says as the lead changes, and as it starts.
LEADS = "decides for the service now"
PROMPT = "registry>"


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    try:
        yield opened
    finally:
        for terminal in opened:
            terminal.close()


def member_at_a_terminal(
    chat: ChatEnv, nats: list[NatsServer], terminals: list[Terminal], name: str, said: str
) -> tuple[Terminal, int]:
    """A registry of the service on a terminal of its own, once it has said `said` and
    shows its prompt."""
    port = free_port()
    env = dict(chat.env, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")  # (pyte answers no CPR)
    args = member_args(port, chat.root / name, nats)
    terminal = Terminal(
        [sys.executable, str(CHATAPP), *args, "--keepalive", f"{KEEPALIVE:g}"], env, ROWS
    )
    terminals.append(terminal)
    at_the_prompt(terminal, said, timeout=STARTS_WITHIN)
    return terminal, port


def at_the_prompt(terminal: Terminal, said: str, typed: str = "", timeout: float = 10.0) -> None:
    """Wait until `terminal` shows a row with `said` and, last, the prompt with `typed`."""
    prompt = f"{PROMPT} {typed}".rstrip()
    terminal.wait(
        f"{said!r} above {prompt!r}",
        lambda rows: rows[-1] == prompt and any(said in row for row in rows[:-1]),
        timeout,
    )


def leads(terminal: Terminal) -> list[str]:
    """The rows where the registry says which registry decides for the service."""
    return [row for row in terminal.lines() if LEADS in row]


def test_a_relay_and_the_lead_have_the_registry_prompt_and_answer_there(
    chat: ChatEnv, nats: list[NatsServer], terminals: list[Terminal]
) -> None:
    lead, lead_port = member_at_a_terminal(chat, nats, terminals, "one", DECIDES)
    relay, _ = member_at_a_terminal(chat, nats, terminals, "two", RELAYS)
    at_the_prompt(relay, f"the registry at {HOST}:{lead_port} {LEADS}; this one relays to it")
    chat.start_peer("alice", server_port=lead_port, keepalive=KEEPALIVE)
    for terminal in (relay, lead):
        terminal.type("who\r")
        at_the_prompt(terminal, "registry> who")  # the line entered, kept above the prompt
        terminal.wait(
            "alice in the answer to who",
            lambda rows: rows[-1] == PROMPT and any(re.match(r"  alice +online", r) for r in rows),
        )
    relay.type("\x0c")  # Ctrl-L: the screen cleared, the prompt at its top
    relay.wait("a cleared screen", lambda rows: rows == [PROMPT])
    # Ctrl-D: the lead serves alice, so it asks first; the relay holds no peer, so it stops
    lead.type("\x04")
    lead.wait(
        "the question", lambda rows: rows[-1] == "Stop the registry? It serves 1 peer online. [y/N]"
    )
    lead.type("\r")
    at_the_prompt(lead, "The registry keeps running.")
    relay.type("\x04")
    relay.wait("the relay stopped", lambda rows: "Registry stopped." in rows)
    relay.child.expect(pexpect.EOF, timeout=10)
    relay.child.close()
    assert relay.child.exitstatus == 0


@pytest.mark.slow
def test_when_the_lead_is_killed_each_registry_left_says_once_which_leads_now(
    chat: ChatEnv, nats: list[NatsServer], terminals: list[Terminal]
) -> None:
    one, one_port = member_at_a_terminal(chat, nats, terminals, "one", DECIDES)
    first_lead = f"the registry at {HOST}:{one_port} {LEADS}; this one relays to it"
    left = [member_at_a_terminal(chat, nats, terminals, name, first_lead) for name in "ab"]
    for terminal, _ in left:
        terminal.type("who")  # half typed as the lead changes
    one.child.kill(signal.SIGKILL)
    for terminal, _ in left:
        terminal.wait(
            "the new lead said, above the half-typed line",
            lambda rows: len([r for r in rows if LEADS in r]) == 2 and rows[-1] == "registry> who",
        )
    said = {port: leads(terminal)[-1] for terminal, port in left}
    (new,) = [port for port, row in said.items() if f"this registry {LEADS} ({HOST}:{port})" in row]
    lead = next(terminal for terminal, port in left if port == new)
    relay, relay_port = next((terminal, port) for terminal, port in left if port != new)
    assert said[relay_port].endswith(f"the registry at {HOST}:{new} {LEADS}; this one relays to it")
    # the relay's console asks the new lead, and names it
    for terminal in (lead, relay):
        terminal.type("\r")
        at_the_prompt(terminal, "  no names registered yet")
    relay.type("release bob\r")
    at_the_prompt(
        relay, f"release is typed at the registry that decides for the service ({HOST}:{new})"
    )
    for terminal, _ in left:
        rows = terminal.lines()
        assert len(leads(terminal)) == 2, rows  # said once each: not again since
        changed = rows.index(leads(terminal)[-1])
        assert not any(f":{one_port}" in row for row in rows[changed:]), rows
    # quit, with or without a "/", stops a registry in either role
    for terminal, typed in ((relay, "/quit"), (lead, "quit")):
        terminal.type(f"{typed}\r")
        terminal.wait("stopped", lambda rows: "Registry stopped." in rows)
        terminal.child.expect(pexpect.EOF, timeout=10)
        terminal.child.close()
        assert terminal.child.exitstatus == 0
