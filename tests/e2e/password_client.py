"""A hand-made client's side of a name's password (secure/password.py), over a SecureSocket:
a PasswordAsk, and a Register with the proof of a password, or with a guess that proves
nothing, as an attacker online sends one (wrong passwords alike cost it nothing to make)."""

from __future__ import annotations

import hashlib
import secrets

from .secure_socket import Addr, SecureSocket

from secure import password  # isort: skip  (the e2e harness puts the repository on sys.path)
from wire import messages  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip


def cheap_verifier(secret: str) -> str:
    """A verifier of `secret` at the lowest cost a client accepts (2**14): a test's own
    owner proves it in milliseconds, where the product's peers pay 0.3 s."""
    salt = secrets.token_bytes(password.SALT_BYTES)
    cost = password.MIN_LOG2_N
    return password.verifier_of(password.scrypt_hex(secret, salt, cost), cost, salt)


#: What answers a PasswordAsk: a challenge, a refusal, or a wait over the address's budget.
ASK_ANSWERS = messages.PasswordChallenge | messages.Refused | messages.Busy


def ask(name: str, msg_id: str) -> messages.PasswordAsk:
    return messages.PasswordAsk(f"{msg_id}-ask", name)


def registration(name: str, msg_id: str, proof: str = "", verifier: str = "") -> messages.Register:
    return messages.Register(msg_id, name, 9, "", proof, WIRE_VERSION, verifier)


def proof_for(
    sock: SecureSocket, server: Addr, name: str, secret: str, said: messages.PasswordChallenge
) -> str:
    """The proof of `secret` answering the challenge `said`, bound to the socket's channel."""
    public = sock.channel.static.public_key().public_bytes_raw()
    ident = password.identity(name, public, sock.keys[server])
    return password.prove(secret, ident, said.scrypt, said.salt, said.public)


def random_proof() -> str:
    """A proof "<A>$<M>" that answers no challenge."""
    a = hashlib.sha256(secrets.token_bytes(16)).hexdigest() * 8
    return f"{a}${secrets.token_hex(32)}"


def set_password(
    sock: SecureSocket, server: Addr, name: str, secret: str, wait: float = 10.0
) -> messages.Welcome:
    """`name` registered, new, with a cheap verifier of `secret` (`cheap_verifier`)."""
    said = sock.ask(ask(name, f"{name}-set"), server, messages.PasswordChallenge, wait)
    assert said.new, said
    register = registration(name, f"{name}-set", verifier=cheap_verifier(secret))
    return sock.ask(register, server, messages.Welcome, wait)


def login(
    sock: SecureSocket, server: Addr, name: str, secret: str, msg_id: str, wait: float = 10.0
) -> messages.Welcome | messages.Refused | messages.Busy:
    """`name` taken with `secret` (None: a guess), as a client proves it; the answer to the
    ask when it was refused or asked to wait, else to the Register."""
    said = sock.ask(ask(name, msg_id), server, ASK_ANSWERS, wait)  # type: ignore[arg-type]
    if isinstance(said, messages.Refused | messages.Busy):
        return said
    proof = proof_for(sock, server, name, secret, said) if said.public else ""
    answer = messages.Welcome | messages.Refused
    return sock.ask(registration(name, msg_id, proof), server, answer, wait)  # type: ignore[arg-type]


def guess(
    sock: SecureSocket, server: Addr, name: str, msg_id: str, wait: float = 10.0
) -> messages.Welcome | messages.Refused | messages.Busy:
    """An online guess at `name`'s password: a challenge asked, a random proof sent."""
    said = sock.ask(ask(name, msg_id), server, ASK_ANSWERS, wait)  # type: ignore[arg-type]
    if isinstance(said, messages.Refused | messages.Busy):
        return said
    answer = messages.Welcome | messages.Refused
    return sock.ask(registration(name, msg_id, random_proof()), server, answer, wait)  # type: ignore[arg-type]
