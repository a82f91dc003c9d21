"""Helper processes the benchmarks start: `python -m bench.procs KIND [options]`.

Each prints one JSON line when ready (with the port it bound), then answers one JSON line for
each command line on its stdin ("report", "reset"), and exits when stdin closes or after
common.MAX_LIFE seconds. Everything binds 127.0.0.1.

Kinds:
  echo      UDP echo server (--mode protocol | drain | blocking), or with --mode bare
            bench/bare_direct.py's receiving peer (shown records and acks)
  sink      UDP datagram counter (--mode protocol | drain | blocking | endpoint)
  registry  a real RegistryServer (the `ChatApp -s` adapter) in a temporary data directory
  peer      a real PeerNode (the `ChatApp -c` adapter) that registers and then just answers;
            "send_all N GAP TEXT" types N lines `send_all TEXT i`, GAP seconds apart
  irc       an IRC client of ngircd at --port (plain TCP) in #bench: "N GAP TEXT" sends N
            lines, GAP seconds apart
  crowd     --peers real PeerNodes (bench/storm.py): bound and the registry's key pinned when
            ready; "go" registers them all at once, "since" marks a moment, "report" says how
            many have a complete table, heard the registry since the mark, or gave up
  relay     bench/bare_relay.py's bare UDP relay; "members PORT,PORT,..." sets its members
  ping      a raw asyncio UDP round-trip client of the echo at --port: each command line N
            runs N round trips (and a tenth more to warm up) and answers their times; with
            --mode bare, bench/bare_direct.py's Chat-to-Ack exchanges with an echo --mode bare
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import HOST, MAX_LIFE, SCRATCH_ENV, free_port, new_loop, scratch_folder, udp_drops
from registry.core.post_office import MAILBOX_MESSAGES
from registry.core.table_feed import COALESCE

#: Datagrams read per wake-up by the "drain" receivers.
DRAIN_BATCH = 256
RECV_SIZE = 2048


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def watch_stdin(on_command: Callable[[str], object], on_end: Callable[[], object]) -> None:
    """Feed stdin lines to `on_command` on a thread; `on_end` at EOF or after MAX_LIFE."""

    def reader() -> None:
        for line in sys.stdin:
            on_command(line.strip())
        on_end()

    threading.Thread(target=reader, daemon=True).start()
    threading.Timer(MAX_LIFE, on_end).start()


def udp_socket(rcvbuf: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((HOST, 0))
    return sock


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    def hit(self) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.last = now
        self.count += 1

    def report(self, port: int) -> dict[str, Any]:
        span = self.last - self.first
        out = {"count": self.count, "span": span, "drops": udp_drops(port)}
        self.count = 0
        return out


# -- raw UDP: echo and sink ----------------------------------------------------------------


def blocking(kind: str, rcvbuf: int) -> None:
    sock = udp_socket(rcvbuf)
    port = sock.getsockname()[1]
    counter = Counter()
    say({"port": port})

    def on_command(cmd: str) -> None:
        say(counter.report(port))

    watch_stdin(on_command, lambda: os._exit(0))
    while True:
        data, addr = sock.recvfrom(RECV_SIZE)
        if kind == "echo":
            sock.sendto(data, addr)
        else:
            counter.hit()


async def evented(kind: str, mode: str, rcvbuf: int) -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    counter = Counter()
    sock = udp_socket(rcvbuf)
    port = sock.getsockname()[1]
    sock.setblocking(False)

    said: dict[str, object] = {}
    if mode == "bare":  # echo only: bench/bare_direct.py's receiving peer
        from bench.bare_direct import BareReceiver

        await loop.create_datagram_endpoint(BareReceiver, sock=sock)
    elif mode == "secure":  # echo only: the secure channel's bare round trip
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from bench.secure_echo import SecureEcho, echo_key

        static = X25519PrivateKey.generate()
        said["key"] = echo_key(static)
        await loop.create_datagram_endpoint(lambda: SecureEcho(static), sock=sock)
    elif mode == "endpoint":
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from net.endpoint import Endpoint
        from secure.channel import SecureChannel

        sock.close()
        # the secure channel: what is counted is what opens (a sender must seal to this key)
        endpoint = Endpoint(
            lambda m, a, k: counter.hit(),
            channel=SecureChannel(X25519PrivateKey.generate()),
            session="sink",
        )
        port = (await endpoint.open(HOST, 0))[1]
    elif mode == "protocol":

        class Proto(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.t: asyncio.DatagramTransport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if kind == "echo":
                    self.t.sendto(data, addr)
                else:
                    counter.hit()

        await loop.create_datagram_endpoint(Proto, sock=sock)
    else:  # drain: one reader callback reads every datagram waiting, up to a batch

        def readable() -> None:
            for _ in range(DRAIN_BATCH):
                try:
                    data, addr = sock.recvfrom(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    return
                if kind == "echo":
                    with contextlib.suppress(BlockingIOError):
                        sock.sendto(data, addr)
                else:
                    counter.hit()

        loop.add_reader(sock.fileno(), readable)

    def on_command(cmd: str) -> None:
        loop.call_soon_threadsafe(lambda: say(counter.report(port)))

    watch_stdin(on_command, lambda: loop.call_soon_threadsafe(done.set))
    say({"port": port, **said})
    await done.wait()


async def ping(port: int, mode: str, key: str) -> None:
    from bench import secure_echo
    from bench.bare_direct import round_trips
    from bench.udp_raw import _rtt_evented

    by_mode: dict[str, Callable[[int, int], Awaitable[list[float]]]] = {
        "bare": round_trips,
        "secure": lambda at, count: secure_echo.round_trips(at, key, count),
    }
    measured = by_mode.get(mode, _rtt_evented)

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    async def measure(count: int) -> None:
        say({"times": await measured(port, count)})

    def start(count: int) -> None:
        task = loop.create_task(measure(count))
        running.add(task)
        task.add_done_callback(running.discard)

    def on_command(cmd: str) -> None:
        loop.call_soon_threadsafe(start, int(cmd))

    watch_stdin(on_command, lambda: loop.call_soon_threadsafe(done.set))
    say({"port": port})
    await done.wait()


def irc_sender(port: int, nick: str) -> None:
    """A blocking IRC client in #bench: each command "N GAP TEXT" sends N PRIVMSGs, GAP
    seconds apart."""
    with socket.create_connection((HOST, port)) as sock:
        sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :bench\r\nJOIN #bench\r\n".encode())
        got = b""
        while b" 366 " not in got:  # the end of #bench's names: joined
            data = sock.recv(65536)
            if not data:
                raise RuntimeError("ngircd closed the connection")
            got += data
        sock.setblocking(False)  # (what ngircd says from now on is drained and ignored)

        def on_command(cmd: str) -> None:
            count, gap, text = cmd.split(" ", 2)
            for i in range(int(count)):
                with contextlib.suppress(BlockingIOError):
                    while sock.recv(65536):
                        pass
                sock.setblocking(True)
                sock.sendall(b"PRIVMSG #bench :%s %d\r\n" % (text.encode(), i))
                sock.setblocking(False)
                time.sleep(float(gap))
            say({"sent": int(count)})

        ended = threading.Event()
        say({"port": port})
        watch_stdin(on_command, ended.set)
        ended.wait()


async def bare_relay(rcvbuf: int) -> None:
    from bench.bare_relay import BareRelay

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    sock = udp_socket(rcvbuf)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    relay = BareRelay(sock)
    relay.serve()

    def answer(cmd: str) -> None:
        word, _, rest = cmd.partition(" ")
        if word == "members":
            relay.members = [(HOST, int(p)) for p in rest.split(",") if p]
        owed = sum(len(owing) for _, owing, _ in relay.owed.values())
        say(
            {
                "members": len(relay.members),
                "relayed": relay.relayed,
                "resent": relay.resent,
                "owed": owed,
                "drops": udp_drops(port),
            }
        )

    watch_stdin(
        lambda cmd: loop.call_soon_threadsafe(answer, cmd),
        lambda: loop.call_soon_threadsafe(done.set),
    )
    say({"port": port})
    await done.wait()
    relay.close()


# -- the real registry and a real peer -----------------------------------------------------


async def registry(args: argparse.Namespace) -> None:
    import net.endpoint
    from registry.adapter.server import RegistryServer
    from registry.adapter.settings import RegistrySettings
    from wire.keys import join_code

    if args.rcvbuf:
        net.endpoint.RECEIVE_BUFFER = args.rcvbuf
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="chatapp-bench-reg-"))
    port = args.port or free_port()
    server = RegistryServer(
        data_dir=data_dir,
        listen=(HOST, port),
        out=log_to(os.environ.get("BENCH_REGISTRY_LOG", "")),
        settings=RegistrySettings(
            keepalive=args.keepalive,
            mailbox_limit=args.mailbox_limit,
            new_names=10**9,  # every benchmark peer registers from 127.0.0.1
        ),
    )
    counter = Counter()
    if args.count:
        # only where a bench reports the count: it is a call and a loop on every datagram
        handle = server.endpoint._on_message
        handle_batch = server.endpoint._on_batch
        assert handle_batch is not None

        def counted(message: Any, addr: Any, key: bytes) -> None:
            counter.hit()
            handle(message, addr, key)

        def counted_batch(messages: Any, addr: Any, key: bytes) -> None:
            for _ in messages:
                counter.hit()
            handle_batch(messages, addr, key)

        server.endpoint._on_message = counted
        server.endpoint._on_batch = counted_batch
    # what it read, by kind (BENCH_KINDS=<file>: written with the profile, see bench/storm.py)
    kinds: collections.Counter[str] = collections.Counter()
    if os.environ.get("BENCH_KINDS"):
        one, batch = server.endpoint._on_message, server.endpoint._on_batch
        assert batch is not None

        def kind_one(message: Any, addr: Any, key: bytes) -> None:
            kinds[type(message).__name__] += 1
            one(message, addr, key)

        def kind_batch(messages: Any, addr: Any, key: bytes) -> None:
            kinds.update(type(m).__name__ for m in messages)
            batch(messages, addr, key)

        server.endpoint._on_message, server.endpoint._on_batch = kind_one, kind_batch
    addr = await server.start()
    profiler = None
    if args.profile:
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.0005, async_mode="disabled")
        # BENCH_PROFILE_ON_ASK: from the command `profile` on (say, once the members have
        # joined), so that the profile is of the relay alone
        if not os.environ.get("BENCH_PROFILE_ON_ASK"):
            profiler.start()

    def on_command(cmd: str) -> None:
        def answer() -> None:
            if cmd == "profile" and os.environ.get("BENCH_KINDS"):
                Path(os.environ["BENCH_KINDS"]).write_text(
                    json.dumps({"kinds": kinds, "dropped": dict(server.endpoint.channel.dropped)})
                )
            if cmd == "profile" and profiler is not None:
                if profiler.is_running:
                    # where its CPU went so far: a storm's registry is killed, not stopped
                    profiler.stop()
                    Path(args.profile).write_text(profiler.output_text(unicode=False, color=False))
                profiler.start()
            report = counter.report(addr[1])
            report["online"] = len(server.core.table.online())
            report["pending"] = server.core.pending_pushes()
            # nothing in flight and no coalesced table change waiting to be pushed: one held
            # wakes the core within COALESCE (the server's clock is the monotonic one)
            wake = server.core.next_wake()
            held = wake is not None and wake <= time.monotonic() + COALESCE
            report["idle"] = not report["pending"] and not held
            report["bad"] = server.endpoint.bad_datagrams
            say(report)

        loop.call_soon_threadsafe(answer)

    watch_stdin(on_command, lambda: loop.call_soon_threadsafe(done.set))
    code = join_code(server.endpoint.channel.public)  # for crowds: no first-contact wait
    say({"port": addr[1], "data_dir": str(data_dir), "code": code})
    await done.wait()
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=False, color=False))
    await server.close()


def log_to(path: str) -> Callable[[str], None]:
    """Where a helper's lines go: nowhere, or appended to the file at `path` with the
    time (BENCH_REGISTRY_LOG and BENCH_CROWD_LOG: to see what a registry, or the peers of
    a crowd, did during a benchmark)."""
    if not path:
        return lambda line: None
    log = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    def write(line: str) -> None:
        log.write(f"{time.monotonic():.3f} {line}\n")

    return write


async def peer_node(args: argparse.Namespace) -> None:
    from bench.harness import BenchPeer

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    host, _, port = args.server.partition(":")
    data_dir = Path(tempfile.mkdtemp(prefix="chatapp-bench-peer-"))
    peer = BenchPeer(args.name, (host, int(port)), data_dir)
    await peer.open()
    await peer.register()
    gc.freeze()  # as PeerNode.run does once started
    if args.unprotected:
        from bench.unprotected import unprotect

        unprotect(peer.node)
    profiler = None
    if args.profile:
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()

    def type_lines(cmd: str) -> None:
        # "send_all N GAP TEXT": N lines `send_all TEXT 0` ..., GAP seconds apart
        _, count, gap, text = cmd.split(" ", 3)
        for i in range(int(count)):
            loop.call_later(i * float(gap), peer.line, f"send_all {text} {i}")
        loop.call_later(int(count) * float(gap), lambda: say({"shown": peer.shown}))

    def on_command(cmd: str) -> None:
        if cmd.startswith("send_all "):
            loop.call_soon_threadsafe(type_lines, cmd)
        else:
            loop.call_soon_threadsafe(lambda: say({"shown": peer.shown}))

    watch_stdin(on_command, lambda: loop.call_soon_threadsafe(done.set))
    say({"port": peer.port})
    await done.wait()
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=False, color=False))
    await peer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "kind", choices=["echo", "sink", "registry", "peer", "crowd", "ping", "relay", "irc"]
    )
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--mode", default="protocol")
    parser.add_argument("--rcvbuf", type=int, default=0)
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="", help="ping --mode secure: the echo's key (hex)")
    parser.add_argument("--keepalive", type=float, default=10.0)
    parser.add_argument("--name", default="bob", help="peer: its name; crowd: names' prefix")
    parser.add_argument("--peers", type=int, default=0, help="crowd: how many peers")
    parser.add_argument("--total", type=int, default=0, help="crowd: peers in the whole storm")
    parser.add_argument("--offset", type=int, default=0, help="crowd: peers in crowds before")
    parser.add_argument("--server", default="")
    parser.add_argument("--registry-key", default="", help="crowd: the registry's join code")
    parser.add_argument("--profile", default="")
    parser.add_argument(
        "--unprotected", action="store_true", help="peer: no secure channel to other peers"
    )
    parser.add_argument("--count", action="store_true", help="registry: count what it handles")
    parser.add_argument(
        "--mailbox-limit", type=int, default=MAILBOX_MESSAGES, help="registry: per mailbox"
    )
    args = parser.parse_args()
    # what it makes (a data folder) goes in the run's scratch folder, or in its own, removed
    # as it ends (os._exit below skips atexit)
    own_scratch = not os.environ.get(SCRATCH_ENV)
    scratch = scratch_folder()
    if args.kind == "irc":
        irc_sender(args.port, args.name)
        os._exit(0)  # (the MAX_LIFE timer thread)
    if args.kind in ("echo", "sink") and args.mode == "blocking":
        blocking(args.kind, args.rcvbuf)
        return
    with asyncio.Runner(loop_factory=lambda: new_loop(args.loop)) as runner:
        if args.kind == "registry":
            runner.run(registry(args))
        elif args.kind == "peer":
            runner.run(peer_node(args))
        elif args.kind == "crowd":
            from bench.crowd import crowd  # (its peers' imports only where used)

            runner.run(crowd(args))
        elif args.kind == "ping":
            runner.run(ping(args.port, args.mode, args.key))
        elif args.kind == "relay":
            runner.run(bare_relay(args.rcvbuf or 4 << 20))
        else:
            runner.run(evented(args.kind, args.mode, args.rcvbuf))
    if own_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    os._exit(0)  # do not wait for the MAX_LIFE timer thread


if __name__ == "__main__":
    main()
