"""One contract for the registry's two stores: the data directory (FileStore) and NATS
JetStream (JetStreamStore, against a real nats-server). What is committed survives a new
registry reading it; what is not committed may be lost, and nothing else is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from registry.adapter.cluster.service_folder import open_folder
from registry.adapter.desk.files import HISTORY_FILE, PLACES_FILE, DeskFiles, load_places
from registry.adapter.store import DeskRecord, FileStore, Store
from registry.core.actions import (
    DropMail,
    KeepHistory,
    KeepOwner,
    MoveMail,
    SaveTable,
    StoreMail,
)
from registry.core.rooms import ROOM_HISTORY, Room
from registry.core.table import Record, Table, owner_of
from tests.nats_servers import NatsServer, nats_cluster
from wire.messages import RoomMessage, StoredMessage

pytestmark = pytest.mark.timeout(60)


def stored(i: int, sender: str = "alice") -> StoredMessage:
    return StoredMessage(f"s-{i}", sender, f"text {i}", "2026-01-01 10:00:00", "direct")


def table_of(*names: str, version: int = 7, key: str = "k1") -> Table:
    table = Table(version=version)
    for i, name in enumerate(names):
        table.records[name.casefold()] = Record(name, "127.0.0.1", 6000 + i, True, "tok", key=key)
    return table


Opener = Callable[[], Any]


@pytest.fixture(params=["files", "jetstream"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store on the same backend each time it is called, as a registry starting
    again (or another registry of the service) would."""
    if request.param == "files":

        @asynccontextmanager
        async def files() -> AsyncIterator[Store]:
            yield FileStore(tmp_path, lambda line: None)

        yield files
        return
    with nats_cluster(tmp_path / "nats") as servers:

        @asynccontextmanager
        async def jetstream() -> AsyncIterator[Store]:
            async with opened(servers[0]) as store:
                yield store

        yield jetstream


@asynccontextmanager
async def opened(server: NatsServer) -> AsyncIterator[Any]:
    from registry.adapter.cluster.connect import connect
    from registry.adapter.cluster.store import JetStreamStore

    nc, js = await connect(open_folder(server.service), lambda line: None)
    try:
        yield await JetStreamStore.open(js)
    finally:
        await nc.close()


@asynccontextmanager
async def opened_with_rows(server: NatsServer) -> AsyncIterator[tuple[Any, Any]]:
    """A store on `server` made from the service's buckets, and the bucket of its table: a
    test replaces that bucket's writes, to count them or to have them fail."""
    from registry.adapter.cluster.connect import connect
    from registry.adapter.cluster.store import DESK, MAIL, OWNERS, ROOMS, TABLE, JetStreamStore

    nc, js = await connect(open_folder(server.service), lambda line: None)
    try:
        await JetStreamStore.open(js)  # (makes the buckets)
        buckets = {name: await js.key_value(name) for name in (TABLE, OWNERS, ROOMS, MAIL, DESK)}
        yield JetStreamStore(buckets), buckets[TABLE]
    finally:
        await nc.close()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def committed(store: Any, table: Table) -> None:
    """Commit `table` until a commit is done: on a loaded machine JetStream may answer a
    write after its timeout, and a failed commit keeps everything for the next (see
    `test_a_commit_while_nats_is_down_fails_and_keeps_everything_for_the_next`)."""
    from registry.adapter.store import StorageError

    while True:
        try:
            await store.commit(table)
            return
        except StorageError:
            continue


def test_a_new_store_is_empty(opener: Opener) -> None:
    async def scenario() -> None:
        async with opener() as store:
            kept = await _load(store)
            assert kept.table.records == {} and kept.mail == {} and dict(kept.owners) == {}
            assert dict(kept.histories) == {}

    run(scenario())


async def _load(store: Store) -> Any:
    loaded = store.load(0.0)
    return await loaded if asyncio.iscoroutine(loaded) else loaded


def test_the_desks_records_are_read_at_once_kept_once_committed_and_set_aside(
    opener: Opener,
) -> None:
    async def scenario() -> None:
        async with opener() as store:
            await _load(store)
            with pytest.raises(FileNotFoundError):
                store.desk_record(HISTORY_FILE)
            store.carry_out(DeskRecord(HISTORY_FILE, b"one"))
            store.carry_out(DeskRecord(HISTORY_FILE, b"two"))
            store.carry_out(DeskRecord(PLACES_FILE, b"no places"))
            assert store.desk_record(HISTORY_FILE) == b"two"  # at once, before the commit
            await committed(store, Table())
        async with opener() as store:
            await _load(store)
            assert store.desk_record(HISTORY_FILE) == b"two"
            places, problem = load_places(store, 0.0)  # damaged: set aside
            assert places == [] and f"moved to {PLACES_FILE}.unreadable" in problem
            store.carry_out(DeskRecord(HISTORY_FILE, None))
            await committed(store, Table())
        async with opener() as store:
            await _load(store)
            for name in (PLACES_FILE, HISTORY_FILE):
                with pytest.raises(FileNotFoundError):
                    store.desk_record(name)
            assert store.desk_record(f"{PLACES_FILE}.unreadable") == b"no places"

    run(scenario())


def test_the_desks_operators_and_history_come_back_from_the_store(
    opener: Opener, tmp_path: Path
) -> None:
    from registry.core.desk.limits import DEFAULTS
    from registry.core.desk.state import DeskState

    key = "Y" * 43

    async def scenario() -> None:
        async with opener() as store:
            await _load(store)
            files = DeskFiles(tmp_path / "a", lambda: 0.0, print, "desk-key", store)
            state = DeskState(str, str, "", {key: "ann"}, DEFAULTS)
            state.estimator.record(2, 300.0)
            files.keep([], state)
            await committed(store, Table())
        async with opener() as store:
            await _load(store)
            # (another registry's data folder: only transcripts are kept there)
            files = DeskFiles(tmp_path / "b", lambda: 0.0, print, "desk-key", store)
            assert files.authorised == {key: "ann"}
            restored = DeskState(str, str, "", None, DEFAULTS)
            files.load(restored, 0.0, [].append)
            assert restored.waiting == []
            assert restored.estimator.history() == state.estimator.history()

    run(scenario())


def test_mail_committed_is_kept_in_order_and_drops_and_moves_hold(opener: Opener) -> None:
    async def scenario() -> None:
        async with opener() as store:
            for i in range(50):
                store.carry_out(StoreMail("bob", stored(i)))
            store.carry_out(StoreMail("carol", stored(99, "dave")))
            assert store.dirty
            await store.commit(Table())
            assert not store.dirty
            store.carry_out(DropMail("bob", ("s-0", "s-1")))
            store.carry_out(StoreMail("robert", stored(200)))
            store.carry_out(MoveMail("bob", "robert"))
            store.carry_out(MoveMail("carol", "carol"))  # (Carol renamed herself carol)
            await store.commit(Table())
        async with opener() as again:
            kept = await _load(again)
            assert kept.mail == {
                "robert": [stored(200), *(stored(i) for i in range(2, 50))],
                "carol": [stored(99, "dave")],
            }

    run(scenario())


def test_a_notice_without_a_sender_is_kept_and_dropped_as_any_message(opener: Opener) -> None:
    notice = StoredMessage("n-1", "", "bob was renamed", "2026-01-01 10:00:00", "notice")

    async def scenario() -> None:
        async with opener() as store:
            store.carry_out(StoreMail("bob", notice))
            store.carry_out(StoreMail("bob", stored(1)))
            await store.commit(Table())
        async with opener() as again:
            assert (await _load(again)).mail == {"bob": [notice, stored(1)]}
            again.carry_out(DropMail("bob", ("n-1",)))
            await again.commit(Table())
        async with opener() as third:
            assert (await _load(third)).mail == {"bob": [stored(1)]}

    run(scenario())


def test_owners_histories_and_the_table_are_kept(opener: Opener) -> None:
    line = RoomMessage("m-1", "alice", "teamchat", "hi", "2026-01-01 10:00:00", True)
    # with the secret of its mailbox tickets, kept in its row and beside its mailbox
    owner = owner_of(Record("Bob", "127.0.0.1", 6001, False, "tok", key="k2", tickets="f" * 32))
    table = table_of("Alice", "Bob")
    table.records["bob"].tickets = owner.tickets

    async def scenario() -> None:
        async with opener() as store:
            store.carry_out(KeepOwner("bob", owner))
            store.carry_out(KeepHistory("teamchat", (line,)))
            store.carry_out(KeepHistory("gone", (line,)))
            store.carry_out(KeepHistory("gone", ()))
            store.carry_out(SaveTable())
            await store.commit(table)
        async with opener() as again:
            kept = await _load(again)
            assert dict(kept.owners) == {"bob": owner}
            assert kept.table.records["bob"].tickets == "f" * 32
            assert {room: list(h) for room, h in kept.histories.items()} == {"teamchat": [line]}
            assert kept.table.version == 7
            assert kept.table.entries() == table_of("Alice", "Bob").entries()
            # a row released is gone for the next registry too
            again.carry_out(SaveTable())
            smaller = table_of("Alice", version=8)
            await again.commit(smaller)
        async with opener() as third:
            assert (await _load(third)).table.entries() == smaller.entries()

    run(scenario())


def test_an_away_mark_is_kept_while_its_name_is_online(opener: Opener) -> None:
    table = table_of("Alice", "Bob")
    table.records["alice"].away = "lunch"
    table.records["bob"].away, table.records["bob"].online = "gone home", False  # offline: back

    async def scenario() -> None:
        async with opener() as store:
            store.carry_out(SaveTable())
            await store.commit(table)
        async with opener() as again:
            kept = (await _load(again)).table.records
            assert (kept["alice"].away, kept["bob"].away) == ("lunch", "")

    run(scenario())


def test_two_registries_never_give_one_name_to_two_keys(tmp_path: Path) -> None:
    # Both read the table while the name was free, and both register it at once: JetStream
    # takes one row only (compare-and-set), and the other learns it no longer decides.
    from registry.adapter.store import StorageError

    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened(servers[0]) as one, opened(servers[0]) as two:
                await one.load(0.0)
                await two.load(0.0)
                one.carry_out(SaveTable())
                two.carry_out(SaveTable())
                outcomes = await asyncio.gather(
                    one.commit(table_of("Carol", key="key-one")),
                    two.commit(table_of("Carol", key="key-two")),
                    return_exceptions=True,
                )
                failed = [o for o in outcomes if isinstance(o, BaseException)]
                assert len(failed) == 1 and isinstance(failed[0], StorageError)
                assert "decides for the service" in str(failed[0])
            async with opened(servers[0]) as third:
                rows = (await third.load(0.0)).table.records
                won = "key-two" if isinstance(outcomes[0], BaseException) else "key-one"
                assert rows["carol"].key == won

    run(scenario())


def test_a_row_stored_whose_ack_was_lost_is_taken_as_written(tmp_path: Path) -> None:
    # Under load, JetStream may store a row and its answer come too late: the commit fails,
    # and the next must not take the row it finds for another registry's (which left the
    # registry unable to store anything, and answering nobody, for good).
    from registry.adapter.store import StorageError

    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened_with_rows(servers[0]) as (store, bucket):
                await store.load(0.0)

                async def lost(write: str, table: Table, then: Table) -> None:
                    """`write` stores `table` unanswered; the next commit, of `then`, works."""
                    real = getattr(bucket, write)

                    async def stored_but_unanswered(*args: Any, **kw: Any) -> Any:
                        await real(*args, **kw)
                        raise TimeoutError

                    setattr(bucket, write, stored_but_unanswered)
                    store.carry_out(SaveTable())
                    with pytest.raises(StorageError):
                        await store.commit(table)
                    setattr(bucket, write, real)
                    await store.commit(then)  # (a SaveTable failed is kept for the next)
                    assert not store.dirty

                carol, moved = table_of("Carol"), table_of("Carol", version=8)
                moved.records["carol"].port = 6001
                await lost("create", carol, carol)
                await lost("update", moved, Table(version=9))  # (then deleted)
                await lost("create", carol, carol)
                await lost("delete", Table(version=10), table_of("Carol", version=11))  # (back)
                await lost("delete", Table(version=12), Table(version=12))
            async with opened(servers[0]) as again:
                assert (await again.load(0.0)).table.records == {}

    run(scenario())


def test_the_rows_a_save_names_are_kept_and_former_names_follow(opener: Opener) -> None:
    # A SaveTable that names rows: those rows and the version are kept (a named row gone
    # from the table is deleted); a former name someone else took leaves its holder's row
    # though only the newcomer was named.
    async def scenario() -> None:
        async with opener() as store:
            first = table_of("Alice", "Bob", "Carol")
            first.note_rename("ann", "alice")  # Alice was Ann
            store.carry_out(SaveTable())
            await store.commit(first)
            then = table_of("Alice", "Carol", "Ann", version=9)
            then.records["carol"].port = 7000
            then.former = dict(first.former)
            then.name_taken("ann")  # a newcomer took Ann
            store.carry_out(SaveTable(("bob", "carol")))
            store.carry_out(SaveTable(("ann",)))
            await store.commit(then)
        async with opener() as again:
            kept = (await _load(again)).table
            assert kept.version == 9
            assert sorted(kept.entries()) == sorted(then.entries())
            assert kept.former == {}

    run(scenario())


def test_the_rows_not_yet_pushed_are_kept_so_the_versions_continue(opener: Opener) -> None:
    # A registry (or a new lead) that reads back what was pushed continues the table's
    # versions: its peers need no whole table (registry/core/dispatch.py, RESTART_JUMP).
    async def scenario() -> None:
        table = table_of("Alice", "Bob")
        table.unpushed["bob"] = table.records["bob"].entry()
        async with opener() as store:
            await _load(store)
            store.carry_out(SaveTable())
            await committed(store, table)
        async with opener() as again:
            kept = (await _load(again)).table
            assert kept.continues and kept.version == 7
            assert list(kept.unpushed.values()) == [table.records["bob"].entry()]

    run(scenario())


def test_a_commit_cut_short_before_its_last_write_does_not_continue(tmp_path: Path) -> None:
    # The rows not yet pushed are written last: a row written after them (a commit of
    # which only some writes landed) means what was pushed is not known.
    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened_with_rows(servers[0]) as (store, bucket):
                await store.load(0.0)
                store.carry_out(SaveTable())
                await committed(store, table_of("Alice", "Bob"))
                assert (await store.load(0.0)).table.continues
                await bucket.put(f"row.{b'carol'.hex()}", b'{"name": "Carol"}')
                await bucket.delete(f"row.{b'carol'.hex()}")
                assert not (await store.load(0.0)).table.continues

    run(scenario())


def test_a_bucket_of_an_earlier_version_continues_when_its_version_was_written_last(
    tmp_path: Path,
) -> None:
    # An earlier version wrote no `unpushed`, and each commit's `version` after its rows: a
    # bucket whose last write is its version holds whole commits, and its versions go on.
    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened_with_rows(servers[0]) as (store, bucket):
                await store.load(0.0)
                store.carry_out(SaveTable())
                await committed(store, table_of("Alice", "Bob"))
                await bucket.purge("unpushed")  # (as if never written)
                await bucket.put("version", b"7")
                kept = (await store.load(0.0)).table
                assert kept.continues and kept.version == 7 and not kept.unpushed
                await bucket.put(f"row.{b'carol'.hex()}", b'{"name": "Carol"}')
                await bucket.delete(f"row.{b'carol'.hex()}")
                assert not (await store.load(0.0)).table.continues

    run(scenario())


def test_a_commit_writes_only_the_rows_named(tmp_path: Path) -> None:
    # The work of a commit follows what changed, not the table's size: in a join storm,
    # writing (and encoding) every row at every commit was O(N) each, O(N^2) in all.
    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened_with_rows(servers[0]) as (store, bucket):
                await store.load(0.0)
                table = table_of(*(f"p{i}" for i in range(200)))
                store.carry_out(SaveTable())
                await store.commit(table)
                writes = []
                real = bucket.update

                async def counted(key: str, *args: Any, **kw: Any) -> Any:
                    writes.append(key)
                    return await real(key, *args, **kw)

                bucket.update = counted
                table.records["p7"].port = 7777
                table.records["p8"].port = 7778  # changed, not named: not looked at
                table.version += 1
                store.carry_out(SaveTable(("p7", "p9")))  # (p9 named, unchanged)
                await store.commit(table)
                assert writes == [f"row.{b'p7'.hex()}"]

    run(scenario())


def test_a_big_commit_waits_for_few_answers_at_once(tmp_path: Path) -> None:
    # A join storm's commit of hundreds of rows: sent all at once, the last answers came
    # after JetStream's timeout, and the commit failed again and again.
    from registry.adapter.cluster.store import IN_FLIGHT

    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened_with_rows(servers[0]) as (store, bucket):
                await store.load(0.0)
                most, now = [0], [0]
                real = bucket.create

                async def counted(*args: Any, **kw: Any) -> Any:
                    now[0] += 1
                    most[0] = max(most[0], now[0])
                    try:
                        return await real(*args, **kw)
                    finally:
                        now[0] -= 1

                bucket.create = counted
                store.carry_out(SaveTable())
                await committed(store, table_of(*(f"p{i}" for i in range(3 * IN_FLIGHT))))
                assert most[0] == IN_FLIGHT
            async with opened(servers[0]) as again:
                assert len((await again.load(0.0)).table.records) == 3 * IN_FLIGHT

    run(scenario())


def test_a_commit_begins_no_write_after_one_failed_and_the_next_writes_all(
    tmp_path: Path,
) -> None:
    # Each write JetStream leaves unanswered takes its whole timeout: a storm's commit of
    # hundreds of rows, every one begun after the first failed, kept the registry's answers
    # withheld for a minute and more.
    from registry.adapter.cluster.store import IN_FLIGHT
    from registry.adapter.store import StorageError

    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened_with_rows(servers[0]) as (store, bucket):
                await store.load(0.0)
                begun = [0]
                real = bucket.create

                async def unanswered(*args: Any, **kw: Any) -> Any:
                    begun[0] += 1
                    await asyncio.sleep(0.01)
                    raise TimeoutError

                bucket.create = unanswered
                table = table_of(*(f"p{i}" for i in range(3 * IN_FLIGHT)))
                store.carry_out(SaveTable(tuple(table.records)))
                with pytest.raises(StorageError):
                    await store.commit(table)
                assert begun[0] == IN_FLIGHT  # the first at once; none after they failed
                bucket.create = real
                await committed(store, table)
            async with opened(servers[0]) as again:
                assert len((await again.load(0.0)).table.records) == 3 * IN_FLIGHT

    run(scenario())


def test_a_commit_while_nats_is_down_fails_and_keeps_everything_for_the_next(
    tmp_path: Path,
) -> None:
    from registry.adapter.store import StorageError

    async def scenario() -> None:
        with nats_cluster(tmp_path) as servers:
            async with opened(servers[0]) as store:
                await store.load(0.0)
                store.carry_out(StoreMail("bob", stored(1)))
                await store.commit(Table())
                servers[0].stop()
                store.carry_out(StoreMail("bob", stored(2)))
                store.carry_out(SaveTable())
                with pytest.raises(StorageError):
                    await store.commit(table_of("Bob"))
                assert store.dirty
                servers[0].start()
                servers[0].wait_listening(asyncio.get_running_loop().time() + 30)
                for _ in range(100):  # the client reconnects by itself
                    try:
                        await store.commit(table_of("Bob"))
                        break
                    except StorageError:
                        await asyncio.sleep(0.1)
                assert not store.dirty
            async with opened(servers[0]) as again:
                kept = await again.load(0.0)
                assert kept.mail == {"bob": [stored(1), stored(2)]}
                assert kept.table.entries() == table_of("Bob").entries()

    run(scenario())


def test_a_name_forgotten_goes_with_its_mail_and_the_stamps_are_kept(opener: Opener) -> None:
    """The registry forgets a name unused too long (registry/core/dispatch.py) through the
    same actions as a release: each store drops its row and its mail."""
    from registry.adapter.store import STORE_ACTIONS
    from registry.core.dispatch import RegistryCore

    now = 1_700_000_000.0
    table = Table(version=3)
    table.records["ann"] = Record(
        "ann", "127.0.0.1", 6001, False, "t", made=now - 300, used=now - 200
    )
    table.records["bob"] = Record(
        "bob", "127.0.0.1", 6002, False, "t", made=now - 300, used=now - 5
    )

    async def scenario() -> None:
        async with opener() as store:
            store.carry_out(StoreMail("ann", stored(1)))
            store.carry_out(StoreMail("bob", stored(2)))
            store.carry_out(SaveTable())
            await store.commit(table)
        async with opener() as again:
            kept = await _load(again)
            core = RegistryCore(
                session="r",
                new_token=lambda: "0" * 32,
                table=kept.table,
                mail=kept.mail,
                forget_after=100.0,
            )
            for action in core.start(now):
                if isinstance(action, STORE_ACTIONS):
                    again.carry_out(action)
            await again.commit(core.table)
        async with opener() as third:
            kept = await _load(third)
            assert list(kept.table.records) == ["bob"]
            assert (kept.table.records["bob"].made, kept.table.records["bob"].used) == (
                now - 300,
                now - 5,
            )
            assert kept.mail == {"bob": [stored(2)]}

    run(scenario())


def test_mail_of_a_commit_tried_again_keeps_the_order_saved_once_each(tmp_path: Path) -> None:
    """JetStream: one publish of a commit's run goes unanswered while later ones land (the
    stream's leader moved, a timeout); the commit is made again whole. Loaded, each message
    is there once, in the order saved, and delivered, no copy comes back."""
    import nats.errors

    from registry.adapter.cluster.connect import connect
    from registry.adapter.cluster.store import JetStreamStore
    from registry.adapter.store import StorageError

    async def scenario(server: NatsServer) -> None:
        nc, js = await connect(open_folder(server.service), lambda line: None)
        publish, lost, landed = js.publish, [], asyncio.Event()
        others: list[Any] = []

        async def losing_the_first(subject: str, payload: bytes = b"", **kw: Any) -> Any:
            if b'"s-0"' in payload and not lost:
                lost.append(subject)
                await landed.wait()  # unanswered while the others land
                raise nats.errors.TimeoutError
            ack = await publish(subject, payload, **kw)
            others.append(ack)
            if len(others) == 4:
                landed.set()
            return ack

        js.publish = losing_the_first  # type: ignore[method-assign]
        try:
            store = await JetStreamStore.open(js)
            for i in range(5):
                store.carry_out(StoreMail("bob", stored(i)))
            with pytest.raises(StorageError):
                await store.commit(Table())
            await committed(store, Table())
        finally:
            await nc.close()
        async with opened(server) as again:
            kept = await _load(again)
            assert kept.mail == {"bob": [stored(i) for i in range(5)]}
            again.carry_out(DropMail("bob", tuple(f"s-{i}" for i in range(5))))
            await committed(again, Table())
        async with opened(server) as third:
            assert (await _load(third)).mail == {}

    with nats_cluster(tmp_path / "nats") as servers:
        run(scenario(servers[0]))


def test_a_message_stored_whose_ack_was_lost_is_stored_once_and_delivered_gone(
    tmp_path: Path,
) -> None:
    """JetStream: a mail save is stored but its acknowledgement lost; the commit made again
    publishes it again. JetStream keeps one copy only (the message's key), so
    the message delivered leaves nothing behind for a later lead to load again."""
    import nats.errors

    from registry.adapter.cluster.connect import connect
    from registry.adapter.cluster.store import JetStreamStore
    from registry.adapter.store import StorageError

    async def scenario(server: NatsServer) -> None:
        nc, js = await connect(open_folder(server.service), lambda line: None)
        publish, lost = js.publish, []

        async def stored_but_unanswered(subject: str, payload: bytes = b"", **kw: Any) -> Any:
            ack = await publish(subject, payload, **kw)
            if not lost:
                lost.append(ack)
                raise nats.errors.TimeoutError
            return ack

        js.publish = stored_but_unanswered  # type: ignore[method-assign]
        try:
            store = await JetStreamStore.open(js)
            store.carry_out(StoreMail("bob", stored(0)))
            with pytest.raises(StorageError):
                await store.commit(Table())
            await committed(store, Table())
            store.carry_out(DropMail("bob", ("s-0",)))  # delivered
            await committed(store, Table())
        finally:
            await nc.close()
        async with opened(server) as again:
            assert (await _load(again)).mail == {}

    with nats_cluster(tmp_path / "nats") as servers:
        run(scenario(servers[0]))


def test_a_rooms_topic_is_kept_with_its_history_past_its_last_lines(opener: Opener) -> None:
    room = Room("lobby")
    room.topic = RoomMessage("t-1", "x", "lobby", "Friday", "2026-01-01 10:00:00", True, topic=True)

    async def scenario() -> None:
        async with opener() as store:
            store.carry_out(KeepHistory("lobby", room.kept(topic_new=True)))
            for i in range(3 * ROOM_HISTORY):  # as the core keeps each line said after it
                room.keep(RoomMessage(f"m-{i}", "x", "lobby", "hi", "2026-01-01 10:00:00", True))
                store.carry_out(KeepHistory("lobby", room.kept()))
            await committed(store, table_of("x"))
        async with opener() as again:
            back = Room("lobby")
            back.read_back((await _load(again)).histories["lobby"])
            assert back.topic == room.topic and back.history == room.history

    run(scenario())
