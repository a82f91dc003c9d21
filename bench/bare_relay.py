"""A bare UDP relay with per-member acks: the floor a Python relay reaches on this loop.

The usual anchors include "a UDP relay with per-member acks" beside ngircd. This is that
relay, as little as the protocol allows: it drains its socket per wake-up, parses each
datagram to plain JSON values with msgspec (the endpoint's parser, no message objects built),
sends a ChannelPost on to every other member at once as a ChannelMessage (encoded once), acks the
poster, and keeps, per message, the members that still owe an ack; one timer per message
resends to those every 500 ms, 5 times at most. No names, tokens, table, mailbox, window
or durability: what the registry does beyond this is what the registry costs. Members are
the addresses the bench gives it ("members PORT,PORT,..." on the helper's stdin);
bench/light.py's clients talk to it unchanged.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import msgspec

from wire.codec import encode
from wire.messages import Ack, ChannelMessage
from wire.reliable import ATTEMPTS, TIMEOUT

#: Plain JSON values, as msgspec reads them (the parser of a peer's endpoint).
parse = msgspec.json.Decoder().decode

Addr = tuple[str, int]

#: Datagrams read per wake-up at most, as the registry's endpoint.
DRAIN = 256


class BareRelay:
    """The relay on `sock` (bound, non-blocking), once `serve()` has been called."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.members: list[Addr] = []
        #: message id -> (its datagram, members still owing an ack, sends so far)
        self.owed: dict[str, tuple[bytes, set[Addr], list[int]]] = {}
        self.relayed = 0
        self.resent = 0
        self._acks = 0

    def serve(self) -> None:
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()

    def _readable(self) -> None:
        for _ in range(DRAIN):
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            try:
                self._datagram(parse(data), addr)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # not what a client of this bench sends: dropped

    def _datagram(self, obj: Any, addr: Addr) -> None:
        # `obj` is the JSON value of a datagram: one message object or a list of them,
        # as this bench's clients send; any other shape raises, and `_readable` drops it
        item: dict[str, Any]
        for item in obj if type(obj) is list else (obj,):
            kind = item.get("t")
            if kind == "ChannelPost":
                self._relay(item, addr)
            elif kind == "Acks":
                for reply in item["replies"]:
                    self._acked(reply, addr)
            elif kind == "Ack":
                self._acked(item["reply_to"], addr)

    def _relay(self, post: dict[str, str], addr: Addr) -> None:
        msg_id = post["id"]
        if msg_id not in self.owed:  # a resent post is acked again, not relayed again
            data = encode(ChannelMessage(msg_id, post["sender"], post["text"]))
            others = [m for m in self.members if m != addr]
            sendto = self.sock.sendto
            for member in others:
                sendto(data, member)
            self.relayed += 1
            self.owed[msg_id] = (data, set(others), [1])
            asyncio.get_running_loop().call_later(TIMEOUT, self._retry, msg_id)
        self._acks += 1
        self.sock.sendto(encode(Ack(f"relay-{self._acks}", msg_id)), addr)

    def _acked(self, msg_id: str, addr: Addr) -> None:
        entry = self.owed.get(msg_id)
        if entry is not None:
            entry[1].discard(addr)

    def _retry(self, msg_id: str) -> None:
        data, owing, sends = self.owed[msg_id]
        if not owing or sends[0] >= ATTEMPTS:
            del self.owed[msg_id]
            return
        sends[0] += 1
        for member in owing:
            self.resent += 1
            self.sock.sendto(data, member)
        asyncio.get_running_loop().call_later(TIMEOUT, self._retry, msg_id)
