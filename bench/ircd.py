"""ngircd, the C IRC server a user might pick instead, as the baseline of the relay benchmarks.

`Ngircd` starts the Debian package's daemon in the foreground (`-n`) with its own generated
configuration: 127.0.0.1 only, a free port, its own pid file, no DNS or ident look-ups, no
connection limits, and flood penalties off (`MaxPenaltyTime = 0`); with `tls`, a second port
for TLS too, with a throwaway self-signed certificate. It runs as the current user and is
stopped by its pid when the benchmark ends. The clients are asyncio IRC clients (NICK/USER,
JOIN #bench, PRIVMSG #bench) over TCP or TLS, all in this process, just as the ChatApp peers
they are compared with are.

If ngircd is not installed, `unavailable()` says why and the tables say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import HOST, free_port, pin_to_cpu

CHANNEL = b"#bench"


def unavailable() -> str:
    """Why ngircd cannot be run here, or "" when it can."""
    exe = shutil.which("ngircd") or (
        "/usr/sbin/ngircd" if Path("/usr/sbin/ngircd").exists() else ""
    )
    if not exe:
        return "ngircd not installed (apt-get install ngircd)"
    return ""


def _exe() -> str:
    return shutil.which("ngircd") or "/usr/sbin/ngircd"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key, written to `folder`: (cert, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Ngircd:
    """A private ngircd on 127.0.0.1, for the length of a `with` block; with `tls`, also a
    TLS port (`tls_port`), whose certificate `client_context()` trusts."""

    def __init__(self, cpu: int | None = None, tls: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="chatapp-bench-ngircd-"))
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._cpu = cpu  # the CPU to keep it on, if any

    def _tls_section(self) -> str:
        if not self.tls_port:
            return ""
        cert, key = self_signed(self.dir)
        return f"[SSL]\nCertFile = {cert}\nKeyFile = {key}\nPorts = {self.tls_port}\n"

    def client_context(self) -> ssl.SSLContext:
        """A client's TLS context that trusts this server's certificate (and only it)."""
        return ssl.create_default_context(cafile=str(self.dir / "cert.pem"))

    def __enter__(self) -> Ngircd:
        conf = self.dir / "ngircd.conf"
        conf.write_text(
            "[Global]\n"
            "Name = bench.irc.local\n"
            "Info = ChatApp benchmark baseline\n"
            f"Listen = {HOST}\n"
            f"Ports = {self.port}\n"
            f"PidFile = {self.dir / 'ngircd.pid'}\n"
            "MotdPhrase = bench\n"
            f"ServerUID = {os.getuid()}\n"
            f"ServerGID = {os.getgid()}\n"
            "AdminInfo1 = bench\nAdminInfo2 = bench\nAdminEMail = bench@localhost\n"
            "[Limits]\n"
            "MaxConnections = 0\n"
            "MaxConnectionsIP = 0\n"
            "MaxJoins = 0\n"
            "MaxPenaltyTime = 0\n"
            "PingTimeout = 600\n"
            "PongTimeout = 600\n"
            "[Options]\n"
            "DNS = no\n"
            "Ident = no\n"
            "PAM = no\n" + self._tls_section()
        )
        self.proc = subprocess.Popen(
            [_exe(), "-n", "-f", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if self._cpu is not None:
            pin_to_cpu(self.proc.pid, self._cpu)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(_listening(port) for port in (self.port, self.tls_port) if port):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"ngircd exited with {self.proc.returncode}")
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("ngircd did not start listening")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


class IrcClient(asyncio.Protocol):
    """A minimal IRC client: registers, joins #bench, counts what it is told."""

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self.welcomed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members: set[bytes] = set()
        self.privmsgs = 0
        self.on_privmsg: Callable[[IrcClient], None] = lambda client: None
        self.on_member: Callable[[IrcClient], None] = lambda client: None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def send(self, *lines: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"".join(line + b"\r\n" for line in lines))

    def data_received(self, data: bytes) -> None:
        lines = (self._buffer + data).split(b"\r\n")
        self._buffer = lines.pop()
        for line in lines:
            parts = line.split(b" ", 3)
            if len(parts) < 2:
                continue
            if parts[0] == b"PING":
                self.send(b"PONG " + parts[1])
                continue
            command = parts[1]
            if command == b"PRIVMSG":
                self.privmsgs += 1
                self.on_privmsg(self)
            elif command == b"JOIN":
                self.members.add(parts[0][1:].split(b"!", 1)[0])
                self.on_member(self)
            elif command == b"353" and len(parts) == 4:  # NAMES: "me = #bench :a b @c"
                names = parts[3].split(b":", 1)[-1].split()
                self.members.update(n.lstrip(b"@+") for n in names)
                self.on_member(self)
            elif command == b"366" and not self.joined.done():
                self.joined.set_result(None)
            elif command == b"001" and not self.welcomed.done():
                self.welcomed.set_result(None)


async def connect(port: int, nick: str, tls: ssl.SSLContext | None = None) -> IrcClient:
    """A client connected to `port`, over TLS with `tls`."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: IrcClient(nick), HOST, port, ssl=tls)
    return client


async def register_and_join(port: int, nick: str, tls: ssl.SSLContext | None = None) -> IrcClient:
    client = await connect(port, nick, tls)
    client.send(b"NICK " + nick.encode(), b"USER " + nick.encode() + b" 0 * :bench")
    await client.welcomed
    client.send(b"JOIN " + CHANNEL)
    await client.joined
    return client


async def clients(
    port: int, count: int, prefix: str = "u", tls: ssl.SSLContext | None = None
) -> list[IrcClient]:
    """`count` clients registered and joined, 25 at a time (the set-up, not measured); over
    TLS with `tls`."""
    out: list[IrcClient] = []
    for i in range(0, count, 25):
        out += await asyncio.gather(
            *(register_and_join(port, f"{prefix}{j}", tls) for j in range(i, min(count, i + 25)))
        )
    return out


def close(all_clients: list[IrcClient]) -> None:
    for client in all_clients:
        if client.transport is not None:
            with contextlib.suppress(Exception):
                client.send(b"QUIT :bye")
            client.transport.close()


# -- the workloads -------------------------------------------------------------------------


#: Seconds between two rounds of a broadcast benchmark, ngircd's and the registry's alike.
ROUND_GAP = 0.005


def last_arrival(receivers: list[IrcClient], count: int) -> tuple[asyncio.Future[float], list[int]]:
    """Count the PRIVMSGs `receivers` get from now on: (a future set to perf_counter() at
    the `count`th, [how many are still to come])."""
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    left = [count]

    def got(client: IrcClient) -> None:
        left[0] -= 1
        if left[0] == 0 and not done.done():
            done.set_result(time.perf_counter())

    for c in receivers:
        c.on_privmsg = got
    return done, left


class Broadcaster:
    """`members` + 1 clients joined to #bench on ngircd: one of them broadcasts, one round
    at a time, to the others."""

    def __init__(self) -> None:
        self._everyone: list[IrcClient] = []

    async def open(self, port: int, members: int) -> None:
        self._everyone = await clients(port, members + 1)

    async def round(self) -> float:
        """Seconds from one PRIVMSG to #bench until every other member has it."""
        sender, others = self._everyone[0], self._everyone[1:]
        done, _ = last_arrival(others, len(others))
        t0 = time.perf_counter()
        sender.send(b"PRIVMSG #bench :hello everyone, this is a broadcast")
        return await asyncio.wait_for(done, 10.0) - t0

    def close(self) -> None:
        close(self._everyone)


async def broadcast(port: int, members: int, rounds: int) -> list[float]:
    """Times from one PRIVMSG to #bench until all `members` others have it."""
    rig = Broadcaster()
    await rig.open(port, members)
    times: list[float] = []
    try:
        for _ in range(rounds):
            times.append(await rig.round())
            await asyncio.sleep(ROUND_GAP)
    finally:
        rig.close()
    return times


async def burst(port: int, members: int, messages: int) -> tuple[float, int]:
    """`messages` PRIVMSGs written at once; (deliveries per second, clients dropped)."""
    everyone = await clients(port, members + 1, prefix="b")
    sender, others = everyone[0], everyone[1:]
    done, left = last_arrival(others, members * messages)
    t0 = time.perf_counter()
    sender.send(*(b"PRIVMSG #bench :burst message number %d" % i for i in range(messages)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(done), 30.0)
    took = (done.result() if done.done() else time.perf_counter()) - t0
    delivered = members * messages - left[0]
    lost = sum(1 for c in others if c.lost)
    close(everyone)
    return delivered / took, lost


async def join_storm(port: int, count: int) -> tuple[float, float, int]:
    """`count` clients connect, register and join at once: (seconds until all have joined,
    seconds until every client knows every member, clients complete)."""
    loop = asyncio.get_running_loop()
    complete: asyncio.Future[float] = loop.create_future()
    done_clients: set[str] = set()

    def member(client: IrcClient) -> None:
        if len(client.members) >= count and client.nick not in done_clients:
            done_clients.add(client.nick)
            if len(done_clients) == count and not complete.done():
                complete.set_result(time.perf_counter())

    # At most 64 TCP handshakes at once: ngircd listens with a short backlog, and a SYN it
    # drops is retried by the kernel only after 1 s, 3 s, 7 s... which would time the
    # kernel's back-off rather than the server.
    connecting = asyncio.Semaphore(64)

    async def one(i: int) -> IrcClient:
        async with connecting:
            client = await connect(port, f"j{i}")
        client.on_member = member
        nick = client.nick.encode()
        client.send(b"NICK " + nick, b"USER " + nick + b" 0 * :bench")
        await client.welcomed
        client.send(b"JOIN " + CHANNEL)
        await client.joined
        return client

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(one(i)) for i in range(count)]
    joined_at = float("nan")
    finished: list[IrcClient] = []
    try:
        finished = await asyncio.wait_for(asyncio.gather(*tasks), 60.0)
        joined_at = time.perf_counter() - t0
        complete_at = await asyncio.wait_for(complete, 60.0) - t0
    except TimeoutError:
        complete_at = float("nan")
    finally:
        for t in tasks:
            t.cancel()
        close(finished)
    return joined_at, complete_at, len(done_clients)
