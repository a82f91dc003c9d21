"""LeaseKeeper on a real nats-server (tests/nats_servers.py): a registry whose event loop is
busy keeps the lead, and another takes it soon after the one holding it stops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from registry.adapter.cluster.keeper import LEASE, RENEW, LeaseKeeper
from registry.adapter.cluster.store import ERRORS
from tests.blackhole import Blackhole
from tests.nats_servers import nats_cluster, service_folder

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")


async def _until(condition: object, limit: float) -> float:
    """Seconds until `condition()` holds, checked every 50 ms; fails after `limit`."""
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - start < limit, "not within the limit"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def _answered(ask: Callable[[], Awaitable[T]], limit: float = 15.0) -> T:
    """`ask()`'s answer, asked again while NATS times out (as a loaded machine makes it:
    the registry's own asks pass over such a silence, ClusterRegistry._members)."""
    start = time.monotonic()
    while True:
        try:
            return await ask()
        except ERRORS:
            assert time.monotonic() - start < limit, "NATS never answered"
            await asyncio.sleep(RENEW)  # (an error at once, a connection closed, say: no spin)


@pytest.mark.slow
def test_a_busy_registry_keeps_the_lead_and_another_takes_it_once_it_stops(
    tmp_path: Path,
) -> None:
    with nats_cluster(tmp_path / "nats") as servers:
        urls = service_folder(servers)

        async def scenario() -> None:
            first = LeaseKeeper(urls, "first", "127.0.0.1:5001")
            second = LeaseKeeper(urls, "second", "127.0.0.1:5002")
            await first.start()
            await second.start()
            assert first.held and not second.held
            assert second.leader == "127.0.0.1:5001"
            # the first registry's own loop stuck for longer than the lease: its thread
            # renews the lead all the same
            time.sleep(LEASE + 2 * RENEW)
            await asyncio.sleep(2 * RENEW)
            assert first.held and not second.held
            assert sorted((await second.members()).values()) == [
                "127.0.0.1:5001",
                "127.0.0.1:5002",
            ]
            await first.stop()  # as a kill: the lease is not handed over, it runs out
            took = await _until(lambda: second.held, LEASE + 3 * RENEW)
            assert second.news.is_set() and second.leader == "127.0.0.1:5002"
            assert took <= LEASE + 2 * RENEW
            await second.stop()

        asyncio.run(scenario())


def test_a_lead_cut_off_from_nats_lets_go_of_it_as_its_lease_runs_out(tmp_path: Path) -> None:
    # NATS out of the lead's reach alone (a link that drops everything): its renewals go
    # unanswered, and the lead runs out in NATS, where another takes it. The lead lets go
    # of it as it runs out (not once NATS answers again): never are two holding it.
    with nats_cluster(tmp_path / "nats") as servers, Blackhole(servers[0].port) as link:

        async def scenario() -> None:
            first = LeaseKeeper(service_folder(servers, link.url), "first", "127.0.0.1:5001")
            second = LeaseKeeper(service_folder(servers), "second", "127.0.0.1:5002")
            await first.start()
            await second.start()
            assert first.held and not second.held
            first.news.clear()
            link.cut()
            cut = time.monotonic()
            let_go = took = 0.0
            while not took:
                assert not (first.held and second.held), "two hold the lead"
                now = time.monotonic() - cut
                let_go = let_go or (now if not first.held else 0.0)
                took = now if second.held else 0.0
                assert now < LEASE + 1, "the lead was not taken within LEASE + 1 s"
                await asyncio.sleep(0.01)
            print(f"let go of {let_go:.2f} s, taken {took:.2f} s after the cut")
            assert 0 < let_go <= LEASE + 0.05 and first.news.is_set()
            assert first.leader is None  # (who holds it: not known until NATS answers)
            link.mend()
            await _until(lambda: first.leader == "127.0.0.1:5002", 10)
            assert not first.held and second.held
            await first.stop()
            await second.stop()

        asyncio.run(scenario())


def test_a_check_just_after_a_renewal_asks_nats_nothing(tmp_path: Path) -> None:
    # Every commit of the registry that decides checks that it still does: a renewal sent
    # within FRESH seconds answers that, without a round trip that held every answer.
    from registry.adapter.cluster.keeper import FRESH

    with nats_cluster(tmp_path / "nats") as servers:

        async def scenario() -> None:
            ahead = [0.0]  # (seconds the keeper's clock is put on)

            def clock() -> float:
                return time.monotonic() + ahead[0]

            keeper = LeaseKeeper(service_folder(servers), "first", "127.0.0.1:5001", clock)
            await keeper.start()
            asked: list[object] = []
            real = keeper.call

            async def counted(work: Any) -> Any:
                asked.append(work)
                return await real(work)

            keeper.call = counted  # type: ignore[method-assign]
            await _until(lambda: clock() - keeper.renewed < FRESH / 2, 2 * RENEW)
            await keeper.check()
            assert asked == []
            ahead[0] += FRESH  # (as if its thread had not renewed it since)
            await keeper.check()
            assert len(asked) == 1
            await keeper.stop()

        asyncio.run(scenario())


def test_a_lead_that_ran_out_while_nobody_took_it_goes_on_in_its_term(tmp_path: Path) -> None:
    # NATS away longer than the lease: the lead key is gone when it answers again. Taken
    # again with nobody having held it meanwhile, the lead is the same term (a commit that
    # waited meanwhile goes through: nobody else wrote); held by another meanwhile, it is a
    # new one.
    import nats
    import nats.js.errors

    from registry.adapter.cluster.keeper import LEAD_BUCKET
    from registry.adapter.store import StorageError

    with nats_cluster(tmp_path / "nats") as servers:

        async def scenario() -> None:
            keeper = LeaseKeeper(service_folder(servers), "first", "127.0.0.1:5001")
            await keeper.start()
            term = keeper.term
            nc = await nats.connect(servers[0].url, tls=service_folder(servers).tls())
            js = nc.jetstream()
            kv = await js.key_value(LEAD_BUCKET)

            async def held_by(who: str, after: int = 0) -> int:
                """The revision of the lead once `who` holds it at a revision after `after`."""
                for _ in range(400):
                    with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                        entry = await kv.get("lead")
                        revision = entry.revision or 0
                        if json.loads(entry.value or b"{}")["id"] == who and revision > after:
                            return revision
                    await asyncio.sleep(0.05)
                raise AssertionError(f"{who} did not take the lead")

            await held_by("first", after=await held_by("first"))  # (renewed once)
            await kv.delete("lead")  # (as it runs out)
            taken = await held_by("first")
            await held_by("first", after=taken)  # (renewed: the look that took it is over)
            assert keeper.held and keeper.term == term
            other = LeaseKeeper(None, "second", "127.0.0.1:5002")
            await other.attach(js)  # (driven here, not kept by a thread)
            for _ in range(100):  # another takes it as the first's runs out
                await kv.delete("lead")
                if await other.take():
                    break
            else:
                raise AssertionError("the other did not take the lead")
            await kv.delete("lead")  # (the other's runs out too)
            await _until(lambda: keeper.held and keeper.term not in (0, term), 20 * RENEW)
            await keeper.stop()
            # a commit's check finds the lead run out: it takes it again in its term, and
            # goes on (no commit refused as superseded); held by another meanwhile, it stops
            mine = LeaseKeeper(None, "third", "127.0.0.1:5003")
            await mine.attach(js)
            while not await mine.take():
                await kv.delete("lead")
            await kv.delete("lead")
            await mine.check_lead()  # (taken again in its term: no error)
            await kv.delete("lead")
            assert await other.take()
            await kv.delete("lead")
            with pytest.raises(StorageError, match="another registry of the service decides"):
                await mine.check_lead()
            await nc.close()

        asyncio.run(scenario())
