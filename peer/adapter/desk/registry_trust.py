"""The help-desk clients' first contact with the registry, over TCP, before their terminal
starts and before anything is sent (docs/SECURITY.md, "First contact"): the pinned key,
or the one first contact trusts (peer/adapter/key_contact.py), pinned.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from net.registry_key import ask_key, registry_label
from peer.adapter.key_contact import ContactRule, KeyContact, pin_trusted, taken_unasked
from secure.keys import Pins


class Untrusted(Exception):
    """Nothing may be sent to the registry (said already): the client ends with status 1."""


async def desk_registry_key(root: Path, ip: str, port: int, rule: ContactRule) -> bytes | None:
    """The registry's key for a client keeping its pins in `root`: pinned, or trusted now
    at first contact and pinned. None when no key answered, or at once when the connection
    was refused (the registry may be down: the client says so as it does when it cannot
    connect). Raises Untrusted."""
    pins, label, where = Pins(root), registry_label(ip, port), f"{ip}:{port}"
    pinned = pins.get(label)
    if rule.keeps(pinned):
        return pinned
    refusal = rule.refusal(where)
    if refusal is not None:
        _say(refusal)
        raise Untrusted
    asks: set[asyncio.Task[None]] = set()

    async def asked() -> None:
        try:
            key = await ask_key(ip, port)
        except ConnectionRefusedError:
            contact.refused()  # the registry is down: said by the client as it connects
            return
        if key is not None:
            contact.answered(key)

    def ask() -> None:
        task = asyncio.create_task(asked())
        asks.add(task)
        task.add_done_callback(asks.discard)

    contact = KeyContact(where, rule, ask, lambda line, error: _say(line))
    try:
        key = await contact.settle(no_answer="")
    finally:
        for task in list(asks):
            task.cancel()
    if key is None:
        if contact.heard:
            raise Untrusted
        return None
    problem = pin_trusted(pins, label, key)
    if problem is not None:
        _say(problem)
    if contact.unasked and key != pinned:
        _say(taken_unasked(where, key, pinned))
    return key


def _say(line: str) -> None:
    """A line of the client's, before its terminal starts (as it prints them)."""
    print(f">>> {line}", flush=True)
