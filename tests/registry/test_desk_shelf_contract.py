"""One contract for the help desk's two shelves (registry/adapter/desk/shelf.py): the data folder
(FolderShelf) and the service's JetStream bucket (BucketShelf, against a real
nats-server). What is written and flushed is read back by a desk that starts after it,
at this registry or another of the service; what is removed is gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from registry.adapter.desk.files import PLACES_FILE, DeskFiles
from registry.adapter.desk.shelf import FolderShelf, Shelf
from tests.nats_servers import nats_cluster, service_folder

pytestmark = pytest.mark.timeout(60)

Opener = Callable[[], AbstractAsyncContextManager[Shelf]]


@pytest.fixture(params=["files", "jetstream"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the shelf anew each time, as a desk starting again (or at another registry
    of the service) would."""
    if request.param == "files":

        @asynccontextmanager
        async def files() -> AsyncIterator[Shelf]:
            yield FolderShelf(tmp_path)

        yield files
        return
    with nats_cluster(tmp_path / "nats") as servers:

        @asynccontextmanager
        async def bucket() -> AsyncIterator[Shelf]:
            from registry.adapter.cluster.connect import connect
            from registry.adapter.cluster.desk_bucket import DESK_BUCKET, BucketShelf
            from registry.adapter.cluster.store import bucket

            nc, js = await connect(service_folder(servers), lambda line: None)
            try:
                yield await BucketShelf.load(await bucket(js, DESK_BUCKET), lambda line: None)
            finally:
                await nc.close()

        yield bucket


def test_what_is_written_is_read_by_the_next_and_what_is_removed_is_gone(opener: Opener) -> None:
    async def scenario() -> None:
        async with opener() as shelf:
            with pytest.raises(FileNotFoundError):
                shelf.read("desk-history.json")
            shelf.write("desk-history.json", b"one")
            shelf.write("desk-history.json", b"two")
            shelf.write(PLACES_FILE, b"places")
            assert shelf.read("desk-history.json") == b"two"  # at once, before flushed
            await shelf.flushed()
            assert not shelf.pending
        async with opener() as shelf:
            assert shelf.read("desk-history.json") == b"two"
            shelf.remove(PLACES_FILE)
            aside = shelf.set_aside("desk-history.json")
            assert aside.endswith("desk-history.json.unreadable")
            await shelf.flushed()
        async with opener() as shelf:
            for name in (PLACES_FILE, "desk-history.json"):
                with pytest.raises(FileNotFoundError):
                    shelf.read(name)
            assert shelf.read("desk-history.json.unreadable") == b"two"

    asyncio.run(scenario())


def test_the_desks_operators_and_history_come_back_from_the_shelf(
    opener: Opener, tmp_path: Path
) -> None:
    from registry.core.desk.limits import DEFAULTS
    from registry.core.desk.state import DeskState

    key = "Y" * 43

    async def scenario() -> None:
        async with opener() as shelf:
            files = DeskFiles(tmp_path / "a", lambda: 0.0, print, "desk-key", shelf)
            state = DeskState(str, str, "", {key: "ann"}, DEFAULTS)
            state.estimator.record(2, 300.0)
            files.keep([], state)
            await shelf.flushed()
        async with opener() as shelf:
            # (another registry's data folder: only transcripts are kept there)
            files = DeskFiles(tmp_path / "b", lambda: 0.0, print, "desk-key", shelf)
            assert files.authorised == {key: "ann"}
            restored = DeskState(str, str, "", None, DEFAULTS)
            files.load(restored, 0.0, [].append)
            assert restored.waiting == []
            assert restored.estimator.history() == state.estimator.history()

    asyncio.run(scenario())
