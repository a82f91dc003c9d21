"""The registry found by itself, for real: registries advertise themselves by multicast DNS
and clients given no address find them, inside a network namespace of the test's own whose
loopback carries multicast (no multicast ever leaves on a real interface: the namespace
has no other). Skipped, with the reason, where namespaces are not permitted; they are as
root, so these run in CI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.core.direct import RECEIVED_BY
from wire.keys import join_code

from .harness import CHATAPP, REPO, WELCOME, ChatEnv, ChatProc, free_port, in_namespace

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]

#: The address registries in the namespace are found at (they listen on every interface,
#: and the namespace has loopback alone).
HERE = "127.0.0.1"


def _ip(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=10, check=False)


@pytest.fixture
def namespace(chat: ChatEnv) -> Iterator[str]:
    """A network namespace whose loopback is up and carries multicast (the route for
    224.0.0.0/4 on it), with every ChatApp command of `chat` run inside it."""
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2 (ip): apt-get install iproute2")
    name = f"{os.environ.get('CHATAPP_NETNS_PREFIX', 'chatapp')}mdns{os.getpid()}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {made.stderr.strip()}")
    try:
        for argv in (
            ("link", "set", "lo", "up"),
            ("link", "set", "lo", "multicast", "on"),
            ("route", "add", "224.0.0.0/4", "dev", "lo"),
        ):
            done = _ip("netns", "exec", name, "ip", *argv)
            if done.returncode != 0:
                pytest.skip(f"cannot set up multicast in a namespace: {done.stderr.strip()}")
        chat.prefix = in_namespace(name)
        yield name
    finally:
        _ip("netns", "del", name)


def registry(chat: ChatEnv, label: str, *options: str, said: str = "") -> tuple[ChatProc, int]:
    """A registry listening on every interface of the namespace, as a user starts one,
    once it said `said` (if given) and that it is advertised (unless `options` turn that
    off); its port."""
    port = free_port()
    proc = chat.spawn(
        "-s", str(port), "--data-dir", str(chat.root / label), "--no-desk-console",
        "--keepalive", "0.5", *options, label=label,
    )  # fmt: skip
    proc.expect(rf"listening on 0\.0\.0\.0:{port}\b", 15)
    if said:
        proc.expect(said, 20)
    if "--no-discovery" not in options:
        proc.expect("advertised on this network", 15)
    return proc, port


def registries(chat: ChatEnv, *labels: str) -> list[tuple[ChatProc, int]]:
    """Registries started at once (their records probed side by side), once each says it
    is advertised; each with its port."""
    started = []
    for label in labels:
        port = free_port()
        argv = ["-s", str(port), "--data-dir", str(chat.root / label), "--no-desk-console"]
        started.append((chat.spawn(*argv, label=label), port))
    for proc, _ in started:
        proc.expect("advertised on this network", 15)
    return started


def client(chat: ChatEnv, *args: str, label: str) -> ChatProc:
    """A client started with `args` and its own data folder (no address: it looks)."""
    return chat.spawn(*args, "--data-dir", str(chat.root / label), label=label)


def test_a_peer_or_desk_client_given_no_address_finds_the_registry(
    chat: ChatEnv, namespace: str
) -> None:
    _, port = registry(chat, "registry")
    # alice and the help desk's client look at once, each on its own
    alice = client(chat, "-c", "alice", label="alice")
    person = client(chat, "-d", label="person")
    alice.expect_line(f"[Found the registry at {HERE}:{port}.]", 10)
    alice.expect_line(WELCOME)
    chosen = alice.expect(
        r"^>>> \[Listening on port (\d+), a free one \(a CLIENT-PORT chooses it\)\.\]$"
    )
    assert 1024 <= int(chosen.group(1)) <= 65535
    bob = client(chat, "-c", "bob", label="bob")  # once alice is in the table
    bob.expect_line(f"[Found the registry at {HERE}:{port}.]", 10)
    bob.expect_line(WELCOME)
    bob.send("send alice hello-found")  # at the free port alice registered: it is hers
    bob.expect_line(RECEIVED_BY.format("alice"))
    alice.expect(r"^>>> bob: .*hello-found$")
    person.expect_line(f"[Found the registry at {HERE}:{port}.]", 10)
    person.expect(r"[Nn]ame", 10)  # the desk asks who is there: it reached the registry


def test_two_registries_are_listed_and_a_script_is_told_to_give_an_address(
    chat: ChatEnv, namespace: str
) -> None:
    (one, port1), (two, port2) = registries(chat, "one", "two")
    peer = client(chat, "-c", "carol", "--bell", label="carol")
    said = peer.expect(r"^>>> \[Found 2 registries: (.*)\. Give the address of one: (.*)\]$", 10)
    listed = said.group(1)
    assert f"{HERE}:{port1} (key " in listed and f"{HERE}:{port2} (key " in listed
    assert said.group(2).startswith("ChatApp -c carol SERVER-IP SERVER-PORT --bell --data-dir ")
    assert peer.wait_exit(10) == 1
    for proc in (one, two):
        proc.expect_not(r"carol", within=0.5)  # nothing was sent to either


def test_none_found_says_in_one_line_the_command_to_use_instead(
    chat: ChatEnv, namespace: str
) -> None:
    registry(chat, "quiet", "--no-discovery")  # running, but not advertised
    started = time.monotonic()
    peer = client(chat, "-c", "dave", label="dave")
    desk = client(chat, "-d", label="desk")  # looking meanwhile
    hint = peer.expect(
        r"^>>> \[No registry answered on this network within 3 seconds; "
        r"give its address instead: (.*)\]$",
        10,
    )
    assert hint.group(1).startswith("ChatApp -c dave SERVER-IP SERVER-PORT --data-dir ")
    assert peer.wait_exit(10) == 1
    assert len([item for item in peer.collect(2) if item.strip()]) == 1  # that line alone
    assert time.monotonic() - started < 8
    desk.expect(r"^>>> \[No registry answered .*: ChatApp -d SERVER-IP SERVER-PORT --data-dir ", 10)
    assert desk.wait_exit(10) == 1


def test_a_record_advertising_another_key_is_left_out_and_nothing_is_sent(
    chat: ChatEnv, namespace: str
) -> None:
    # anyone on the LAN can advertise: here a record that points at the real registry with
    # another key's code (as one posing as it would, to be trusted by its record)
    real, port = registry(chat, "registry", "--no-discovery")
    forged = join_code(os.urandom(32))
    liar = _advertiser(namespace, port, forged)
    try:
        victim = client(chat, "-c", "erin", "--trust-first-key", label="erin")
        hint = victim.expect(
            r"^>>> \[No registry on this network proved the key it advertised \(1 checked\); "
            r"give its address instead: (.*)\]$",
            10,
        )
        assert hint.group(1).startswith("ChatApp -c erin SERVER-IP SERVER-PORT --trust-first-key")
        assert victim.wait_exit(10) == 1
        assert forged.replace("-", " ") not in "\n".join(victim.collect(2))
        real.expect_not(r"erin", within=0.5)
    finally:
        liar.terminate()
        liar.wait(10)


def test_at_a_terminal_several_registries_are_numbered_and_one_is_chosen(
    chat: ChatEnv, namespace: str
) -> None:
    pexpect = pytest.importorskip("pexpect")
    first, second = sorted(port for _, port in registries(chat, "one", "two"))
    env = dict(chat.env, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    argv = [*chat.prefix[1:], sys.executable, str(CHATAPP), "-c", "tina"]
    argv += ["--data-dir", str(chat.root / "tina"), "--plain"]
    child = pexpect.spawn("ip", argv, env=env, encoding="utf-8", timeout=10, cwd=str(REPO))
    try:
        child.expect(r"Found 2 registries on this network:")
        child.expect(rf"1\) {HERE}:{first} +key fingerprint [\d ]+")
        child.expect(rf"2\) {HERE}:{second} +key fingerprint [\d ]+")
        child.expect(re.escape("Which one? [1-2, or Enter for none] "))
        child.sendline("2")
        child.expect(re.escape(f"[Using the registry at {HERE}:{second}.]"))
        # the record's key is only proposed: the person is asked, as at any first contact
        child.expect(rf"The registry at {HERE}:{second}, found on the network, has the key")
        child.expect(re.escape("Trust it? [y/N] "))
        child.sendline("y")
        child.expect(re.escape(WELCOME))
        child.expect("tina>")
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_the_registries_of_a_service_are_found_as_one(
    chat: ChatEnv, namespace: str, tmp_path: Path
) -> None:
    nats = _nats_in(namespace, tmp_path / "nats")
    try:
        ports = []
        # the first decides for the service; the second relays to it (said as it listens)
        for label, said in (("one", "decides for the service now"), ("two", "")):
            ports.append(registry(chat, label, "--cluster", str(nats[1]), said=said)[1])
        peer = client(chat, "-c", "fay", label="fay")
        at = f"{HERE}:{min(ports)}"
        peer.expect_line(f"[Found the registry at {at} (one of 2 of its service).]", 10)
        peer.expect_line(WELCOME, 15)
        peer.send("who")
        peer.expect(r"^>>>   fay +online")
    finally:
        nats[0].terminate()
        nats[0].wait(10)


def test_among_many_spoofed_records_only_the_registry_that_proves_its_key_is_used(
    chat: ChatEnv, namespace: str
) -> None:
    # 40 records from two addresses beside the real registry's own: made-up keys, the real
    # code at addresses where it is not (one answering with its key, as a copy can, but
    # never finishing a handshake), a forged code at the real address, and hostile ones
    proc, port = registry(chat, "registry")
    real = next(m.group(1) for line in proc.transcript if (m := re.search(KEY_OPTION, line)))
    spoofs: list[subprocess.Popen[str]] = []
    try:
        made_up = _spoofers(namespace, port, real, spoofs)
        started = time.monotonic()
        peer = client(chat, "-c", "gail", label="gail")
        # one given a made-up code heard the records too, and checked its one address
        fooled = client(chat, "-c", "hana", "--registry-key", made_up, label="hana")
        peer.expect_line(f"[Found the registry at {HERE}:{port}.]", 10)
        assert time.monotonic() - started < 8  # as when none is found
        peer.expect_line(WELCOME)
        assert not any("key" in line or "registries" in line for line in peer.transcript)
        # (its record checked and failed; or, on a loaded machine, not yet heard: either way
        # the made-up code is not taken)
        fooled.expect(
            r"^>>> \[No registry on this network (proved the key it advertised \(1 "
            r"|advertises that join code)"
        )
    finally:
        for spoof in spoofs:
            spoof.terminate()
            spoof.wait(10)


#: The registry's start line with its join code.
KEY_OPTION = r"--registry-key ([\d-]+)"


def _spoofers(namespace: str, port: int, real: str, procs: list[subprocess.Popen[str]]) -> str:
    """Two processes (put in `procs`) advertising 40 records in all, from 127.0.0.1 and
    127.0.0.2, around the registry at `port` whose join code is `real`; the second also
    answers for its key at 127.0.0.2 (a copy), once all are on the network. The made-up
    code of one record at one address."""
    done = _ip("netns", "exec", namespace, "ip", "addr", "add", "127.0.0.2/8", "dev", "lo")
    assert done.returncode == 0, done.stderr
    made_up = [join_code(os.urandom(32)) for _ in range(30)]
    free = [free_port() for _ in range(12)]
    copy = free.pop()

    def code(text: str) -> dict[str, str]:
        return {"code": text}

    first = [[f"ChatApp registry fake{i}", [HERE], free[i], code(made_up[i])] for i in range(10)]
    first += [[f"Copy {i}", [f"10.77.0.{i + 1}"], port, code(real)] for i in range(4)]
    first += [
        ["Copy here", [HERE], free[10], code(real)],  # nothing listens there
        ["Copy anywhere", ["0.0.0.0"], port, code(real)],
        ["Broadcast", ["255.255.255.255"], port, code(made_up[10])],
        ["Multicast", ["224.0.0.251"], port, code(made_up[11])],
        ["Port one", [HERE], 1, code(made_up[12])],
        ["Forged", [HERE], port, code(made_up[13])],  # the real address, another key
    ]
    second = [
        ["Copy with its key", ["127.0.0.2"], copy, code(real)],
        ["Its key, another code", ["127.0.0.2"], copy, code(made_up[14])],
        ["ChatApp registry fake0", ["127.0.0.2"], free[0], code(made_up[15])],  # a name taken
        ["ChatApp registry fake1", [HERE], port, code(made_up[16])],
        ["Huge", ["127.0.0.2"], copy, {f"k{i}": "x" * 200 for i in range(6)} | code("9" * 250)],
        ["Several addresses", ["10.78.0.1", "127.0.0.2", HERE], copy, code(made_up[17])],
        ["No code", ["127.0.0.2"], copy, {}],
        ["Junk code", ["127.0.0.2"], copy, code("junk")],
        ["Spaced", ["10.78.0.2"], port, code(real.replace("-", " "))],
    ]
    second += [[f"Other {i}", [f"10.78.1.{i}"], 7000 + i, code(made_up[18 + i])] for i in range(11)]
    assert len(first) + len(second) == 40
    _spoofer(namespace, HERE, first, procs)
    _spoofer(namespace, "127.0.0.2", second, procs, ["127.0.0.2", copy, port])
    return made_up[0]


def _spoofer(
    namespace: str,
    source: str,
    records: list[list[object]],
    procs: list[subprocess.Popen[str]],
    mimic: list[object] | None = None,
) -> None:
    """tests/e2e/mdns_spoofer.py in `namespace` (put in `procs`), once its records are on
    the network."""
    argv = [sys.executable, "-m", "tests.e2e.mdns_spoofer", source, json.dumps(records)]
    argv += [json.dumps(mimic)] if mimic else []
    proc = subprocess.Popen(
        [*in_namespace(namespace), *argv], cwd=str(REPO), stdout=subprocess.PIPE, text=True
    )
    procs.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "up"


def _advertiser(namespace: str, port: int, code: str) -> subprocess.Popen[str]:
    """A process in `namespace` advertising a registry record at `port` with `code`, once
    its record is on the network."""
    script = (
        "import asyncio, sys\n"
        "from net.discovery import Advertisement\n"
        "def say(problem):\n"
        "    print('up', problem, flush=True)\n"
        "async def main():\n"
        f"    Advertisement('0.0.0.0', {port}, {code!r}, say)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen(
        [*in_namespace(namespace), sys.executable, "-c", script],
        cwd=str(REPO), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "up None"
    return proc


def _nats_in(namespace: str, folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """The one NATS node of a new service inside `namespace`, once it is ready; the
    service's folder."""
    from tests.nats_servers import new_service, server_binary

    service = new_service(folder)
    log = folder / "server.log"
    argv = [server_binary(), "-c", str(service / "nats-server-1.conf")]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*in_namespace(namespace), *argv], stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 15
    while "Server is ready" not in log.read_text(errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return proc, service
