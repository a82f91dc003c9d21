"""Mailbox saves per second with durability ("saved" means fsynced on disk first).

storage   registry.adapter.store.FileStore.append_line in a loop (each durable on return), beside
          the disk's own ceilings measured in the same run: one write+fsync per message,
          and one fsync per 64 messages (group commit)
end-to-end  a real peer sends direct messages to an offline peer; the real registry (its
          own process) stores each and acks; counted when the sender shows
          "[Messages received by the server and saved]", many in flight

  python -m bench.mailbox [--count N] [--loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import tempfile
import time
from pathlib import Path

from bench.common import HOST, Table, loops_to_run, rate, ratio, run, scratch_folder
from bench.harness import BenchPeer, close_all, make_peers, start_registry
from peer.core.actions import Print
from registry.adapter.store import FileStore, mail_line
from wire.messages import StoredMessage

TARGET = 10_000.0
LINE = (
    b'{"id":"abcd1234-1","sender":"alice","text":"a message of a typical length, say forty",'
    b'"stamp":"2026-01-01 10:00:00","kind":"direct"}\n'
)


def disk_fsync_each(count: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        fd = os.open(Path(d) / "box", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        t0 = time.perf_counter()
        for _ in range(count):
            os.write(fd, LINE)
            os.fsync(fd)
        took = time.perf_counter() - t0
        os.close(fd)
    return count / took


def disk_group(count: int, group: int = 64) -> float:
    with tempfile.TemporaryDirectory() as d:
        fd = os.open(Path(d) / "box", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        t0 = time.perf_counter()
        for i in range(count):
            os.write(fd, LINE)
            if i % group == group - 1:
                os.fsync(fd)
        os.fsync(fd)
        took = time.perf_counter() - t0
        os.close(fd)
    return count / took


def storage_append(count: int, boxes: int = 1) -> float:
    with tempfile.TemporaryDirectory() as d:
        storage = FileStore(Path(d))
        messages = [
            StoredMessage(
                f"abcd1234-{i}",
                "alice",
                "a message of a typical length, say forty",
                "2026-01-01 10:00:00",
                "direct",
            )
            for i in range(count)
        ]
        t0 = time.perf_counter()
        for i, m in enumerate(messages):
            storage.append_line(f"bob{i % boxes}", mail_line(m))
        return count / (time.perf_counter() - t0)


async def _end_to_end(loop: str, count: int, senders: int, window: int) -> tuple[float, str]:
    """`senders` peers each keep `window` saves in flight to one offline peer. Several senders,
    because the registry's flood gate lets one address send 500 messages/s on average."""
    # one mailbox takes every message: its limit raised to hold them all
    with start_registry(loop, mailbox_limit=2 * count) as reg:
        server = (HOST, reg.ready["port"])
        root = Path(tempfile.mkdtemp(prefix="chatapp-bench-mail-"))
        bob = BenchPeer("bob", server, root)
        await bob.open()
        await bob.register()
        offline: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def went_offline(p: BenchPeer, line: Print) -> None:
            if line.text.startswith("[You are Offline") and not offline.done():
                offline.set_result(None)

        bob.listeners.append(went_offline)
        bob.line("dereg bob")
        await asyncio.wait_for(offline, 10)
        # each its own key: the registry lets one sender fill only a quarter of a mailbox
        alices = await make_peers(senders, server, prefix="alice", own_keys=True)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state = {"typed": 0, "saved": 0}

        def more(peer: BenchPeer) -> None:
            if state["typed"] < count:
                state["typed"] += 1
                peer.line(f"send bob stored message number {state['typed']}")

        def shown(peer: BenchPeer, line: Print) -> None:
            if line.text == "[Messages received by the server and saved]":
                state["saved"] += 1
                if state["saved"] >= count and not done.done():
                    done.set_result(None)
                more(peer)

        for alice in alices:
            alice.listeners.append(shown)
        t0, cpu0 = time.perf_counter(), (time.process_time(), cpu_of(reg.proc.pid))
        for alice in alices:
            for _ in range(window):
                more(alice)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done, 60)
        took = time.perf_counter() - t0
        peers_cpu = time.process_time() - cpu0[0]
        registry_cpu = cpu_of(reg.proc.pid) - cpu0[1]
        await close_all([*alices, bob])
        box = Path(reg.ready["data_dir"]) / "mail" / "bob.jsonl"
        lines = len(box.read_text().splitlines()) if box.exists() else 0
    each = 1e6 / max(state["saved"], 1)
    note = (
        f"{state['saved']:,} acked as saved, {lines:,} lines on disk; CPU per save: "
        f"sending peers {peers_cpu * each:.0f} us, registry {registry_cpu * each:.0f} us"
    )
    return state["saved"] / took, note


def cpu_of(pid: int) -> float:
    """Seconds of CPU (user and system) process `pid` has used: what a save costs each side,
    however busy the machine is with other work."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=40, help="peers saving at once")
    parser.add_argument("--window", type=int, default=8, help="saves in flight per sender")
    parser.add_argument("--loop", default="asyncio")
    args = parser.parse_args(argv)
    each = disk_fsync_each(min(args.count, 2000))
    group = disk_group(args.count * 4)
    table = Table(
        "Mailbox saves per second, durable (fsync before the ack)",
        [
            "what",
            "saves/s",
            "disk: fsync each (same run)",
            "disk: fsync per 64",
            "target",
            "ratio to target",
        ],
    )
    st = storage_append(min(args.count, 2000))
    table.add(
        "FileStore.append_line, one at a time",
        rate(st),
        rate(each),
        rate(group),
        rate(TARGET),
        ratio(st, TARGET),
    )
    for loop in loops_to_run(args.loop):
        e2e, note = run(
            functools.partial(_end_to_end, loop, args.count, args.senders, args.window), loop
        )
        table.add(
            f"end to end, {args.senders} senders x {args.window} in flight ({loop})",
            rate(e2e),
            rate(each),
            rate(group),
            rate(TARGET),
            ratio(e2e, TARGET),
        )
        table.note(f"{loop}: {note}")
    table.note(
        "fsync each = os.write + os.fsync per message on this disk: the ceiling without "
        "group commit. fsync per 64 = the ceiling with it."
    )
    table.print()


if __name__ == "__main__":
    main()
