"""Real processes on a network that loses 20% of UDP datagrams (issue 5).

Opt-in (--run-netns): the registry and peers run inside a network namespace of their own
whose loopback drops a random fifth of UDP datagrams (an nftables `numgen random` rule).
Every message must still arrive exactly once. Skipped, with the reason, where namespaces or
nftables are not available.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from .harness import STAMP, ChatEnv

pytestmark = [pytest.mark.netns, pytest.mark.timeout(240)]

LOSS_PERCENT = 20
RULES = f"""
table inet chatapp_loss {{
  chain input {{
    type filter hook input priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < {LOSS_PERCENT} drop
  }}
}}
"""


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)


@pytest.fixture
def lossy_namespace() -> Iterator[str]:
    if shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("needs iproute2 (ip) and nftables (nft): apt-get install iproute2 nftables")
    name = f"chatapp{os.getpid()}"
    made = _run("ip", "netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {made.stderr.strip()}")
    try:
        _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        rules = subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"],
            input=RULES, capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if rules.returncode != 0:
            pytest.skip(f"nftables rules are not permitted here: {rules.stderr.strip()}")
        yield name
    finally:
        _run("ip", "netns", "del", name)


def test_every_message_arrives_exactly_once_with_20_percent_loss(
    chat: ChatEnv, lossy_namespace: str
) -> None:
    chat.prefix = ["ip", "netns", "exec", lossy_namespace]
    chat.start_registry(timeout=30)
    peers = chat.start_peers("x", "y", "z")
    texts: dict[str, list[str]] = {p.name: [] for p in peers}
    for round_ in range(5):
        for sender in peers:
            for receiver in peers:
                text = f"lossy-{sender.name}{receiver.name}{round_}"
                texts[receiver.name].append(text)
                sender.send(f"send {receiver.name} {text}")
    for receiver in peers:
        pattern = re.compile(rf"^>>> \w+: (?:{STAMP} )?(lossy-\w+)$")
        got: list[str] = []
        while len(got) < len(texts[receiver.name]):
            got.append(receiver.expect(pattern, timeout=60).group(1))
        assert sorted(got) == sorted(texts[receiver.name])
    # nothing is shown twice afterwards either
    for receiver in peers:
        marker = f"lossy-end-{receiver.name}"
        peers[0].send(f"send {receiver.name} {marker}")
        match = receiver.expect(rf"^>>> \w+: (?:{STAMP} )?(lossy-\S+)$", timeout=60)
        assert match.group(1) == marker
