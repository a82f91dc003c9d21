"""Which registry of a service each peer's address came through, as the registry that
decides keeps it (registry/adapter/cluster/link.py): a peer gone is forgotten."""

from __future__ import annotations

import pytest

from registry.adapter.cluster.link import Elsewhere

pytestmark = pytest.mark.timeout(10)

BOB, CAROL = ("127.0.0.2", 7002), ("127.0.0.3", 7003)


def test_an_address_silent_for_two_turns_is_forgotten_one_heard_is_kept() -> None:
    routes = Elsewhere(lambda via, out: None)
    routes.heard_via(BOB, "r1")
    routes.heard_via(CAROL, "r1")
    routes.forget_silent()
    assert (routes.via(BOB), routes.via(CAROL)) == ("r1", "r1")  # one turn: still kept
    routes.heard_via(CAROL, "r2")  # (carol moved, and runs)
    routes.forget_silent()
    assert (BOB in routes, routes.via(BOB), routes.via(CAROL)) == (False, None, "r2")


def test_a_registry_gone_leaves_its_peers_to_this_one() -> None:
    routes = Elsewhere(lambda via, out: None)
    routes.heard_via(BOB, "r1")
    routes.forget_silent()
    routes.heard_via(BOB, "r1")
    routes.heard_via(CAROL, "r1")
    routes.forget_silent()
    routes.heard_via(CAROL, "r2")
    routes.forget("r1")
    assert (routes.via(BOB), routes.via(CAROL)) == (None, "r2")
    assert BOB not in routes and CAROL in routes
