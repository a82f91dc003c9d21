"""A service of three registries on the simulated network (tests/simulation.py): the
promises of tests/test_simulation_properties.py hold when registries that relay die and
come back and the lead dies and another takes over, and the peers of a registry gone move
to another of the service without anyone seeing them go offline (docs/SCALING.md)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from tests.simulation import SimNet
from tests.test_simulation_properties import (
    ON_THE_SIMULATED_CLOCK,
    Op,
    check,
    ops,
    play,
)

REGISTRIES = 3
service_ops = st.one_of(
    ops, st.builds(Op, st.sampled_from(["kill_front", "start_front"]), st.integers(0, 3))
)


@st.composite
def service_scenarios(draw: st.DrawFn) -> tuple[int, int, float, float, list[Op]]:
    return (
        draw(st.integers(0, 2**32)),
        draw(st.integers(2, 4)),
        draw(st.sampled_from([0.0, 0.05, 0.1, 0.2])),
        draw(st.sampled_from([0.0, 0.1, 0.3])),
        draw(st.lists(service_ops, min_size=3, max_size=24)),
    )


@ON_THE_SIMULATED_CLOCK
@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(service_scenarios())
def test_a_service_keeps_the_promises_of_one_registry(
    scenario: tuple[int, int, float, float, list[Op]],
) -> None:
    check(*play(*scenario, registries=REGISTRIES))


def test_a_post_kept_through_the_lead_s_death_is_relayed_by_the_next() -> None:
    """bob's post waits out the lead's death; the next lead tells bob twice that it is back
    (a second time with the registries left) and bob acks both at once: the post is relayed,
    and kept for ann, who had left meanwhile without a word reaching any registry."""
    plan = [
        Op("send", 0, 0, 0.13671875),
        Op("kill_registry"),
        Op("kill_registry"),  # (the lead is down: none to kill)
        Op("dereg", 0),
        Op("wait", pause=1.130859375),
        Op("send_all", 1, 0, 0.232421875),
        Op("wait", pause=3.16015625),
        Op("send_all", 0, 0, 0.443359375),  # (ann has exited)
    ]
    check(*play(0, 2, 0.0, 0.0, plan, registries=REGISTRIES))


def test_a_line_acked_while_held_for_an_earlier_one_is_shown_after_a_restart() -> None:
    """bob's m6 reaches ann before his m5 (lost on the way): ann acks it and holds it for
    m5, then quits; m5 ends in her mailbox. Started again, ann shows m5 from the mailbox and
    then m6, held across the restart in her file of shown ids."""
    plan = [
        Op("send_all", 0, 0, 0.75),
        Op("kill_registry"),
        Op("send", 0, 0, 0.0),
        Op("quit", 0),
        Op("send_all", 0, 0, 0.25),
        Op("send", 1, 0, 0.0),
        Op("send", 1, 0, 0.0),
    ]
    net, author, members = play(0, 3, 0.05, 0.0, plan, registries=REGISTRIES)
    check(net, author, members)
    assert [line for line in net.screen("ann") if "m5" in line or "m6" in line] == [
        "bob: 2023-11-14 22:13:26 m5",
        "bob: m6",
    ]


def moved(old: tuple[str, int], new: tuple[str, int]) -> str:
    return f"[Registry {old[0]}:{old[1]} is not answering; now using {new[0]}:{new[1]}.]"


def went_offline(net: SimNet) -> list[str]:
    return [line for h in net.hosts.values() for line in h.screen if "went offline" in line]


def burst(net: SimNet, first: int) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each peer sends the next a direct line and the channel one, under way at once: the
    texts numbered from `first` (m<number>, as `check` reads them)."""
    names = list(net.hosts)
    author: dict[str, str] = {}
    members: dict[str, frozenset[str]] = {}
    for i, name in enumerate(names):
        direct, post = f"m{first + 2 * i}", f"m{first + 2 * i + 1}"
        author[direct] = author[post] = name
        members[post] = frozenset(names) - {name}
        net.type(name, f"send {names[(i + 1) % len(names)]} {direct}")
        net.type(name, f"send_all {post}")
    return author, members


def service_of_four(loss: float) -> SimNet:
    """ann and dee through the lead's registry, bob through the second, cy the third."""
    net = SimNet(seed=7, loss=loss, keepalive=1.0, registries=REGISTRIES)
    for i, name in enumerate(("ann", "bob", "cy", "dee")):
        net.add_peer(name, 6001 + i)
    for _ in range(40):  # registered within 20 s of simulated time, whatever the loss
        net.run(0.5)
        if all(h.core is not None and h.core.state.life.registered for h in net.hosts.values()):
            return net
    raise AssertionError("not everyone registered")


def test_the_peers_of_a_registry_killed_in_a_burst_move_once_and_lose_nothing() -> None:
    net = service_of_four(loss=0.1)
    lead, relay, _ = net.fronts
    author, members = burst(net, 0)
    net.run(0.01)
    net.kill_front(relay)
    net.run(5)
    more, more_members = burst(net, 100)
    net.run(20)
    assert net.count("bob", moved(relay, lead)) == 1
    assert [line for line in net.screen("bob") if "is not answering" in line] == [
        moved(relay, lead)
    ]
    for name in ("ann", "cy", "dee"):
        assert not [line for line in net.screen(name) if "is not answering" in line]
    assert went_offline(net) == []
    check(net, author | more, members | more_members)


def test_when_the_lead_dies_another_takes_over_and_its_peers_move_once() -> None:
    net = service_of_four(loss=0.05)
    lead, relay, _ = net.fronts
    author, members = burst(net, 0)
    net.run(0.01)
    net.kill_registry()
    net.run(2)  # the lease passes to another (docs/SCALING.md)
    net.start_registry()
    assert net.lead == relay
    net.run(5)
    more, more_members = burst(net, 100)
    net.run(20)
    for name in ("ann", "dee"):
        said = [line for line in net.screen(name) if "is not answering" in line]
        assert len(said) == 1 and said[0].startswith(f"[Registry {lead[0]}:{lead[1]} "), said
    assert went_offline(net) == []
    check(net, author | more, members | more_members)
