"""The file transfers of a running peer, loaded when first needed: a file typed, offered or
asked for, or transfers an earlier run kept. Most peers never send a file, and the
transfers' modules are a tenth of a peer's start (peer/adapter/files/service.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.served_stream import Handed
from peer.core.actions import Print
from wire.messages import Entry, Message

if TYPE_CHECKING:
    from peer.adapter.files.service import FileService
    from wire.file_messages import FileNote, FileOffer, FileSeen

Addr = tuple[str, int]
#: The message types whose connection the endpoint hands to `serve` (Endpoint's handoff).
HANDED = frozenset({"FileWant"})


class FileHost(NamedTuple):
    """What the file transfers use of their peer."""

    entry: Callable[[str], Entry | None]
    own: Callable[[], str]
    send: Callable[[Addr, bytes, Message], None]
    show: Callable[[Print], None]


class FilesOnDemand:
    """The FileService of the peer with the key `static`, made the first time one is needed
    (see FileService; `downloads`: --downloads)."""

    def __init__(
        self,
        static: X25519PrivateKey,
        host: FileHost,
        *,
        folder: Callable[[], Path],
        downloads: str,
    ) -> None:
        self._static = static
        self._host = host
        self._folder = folder
        self._downloads = downloads
        self._service: FileService | None = None
        self.handoff = (HANDED, self.serve)

    def _made(self) -> FileService:
        if self._service is None:
            from peer.adapter.files.service import FileService, downloads_folder

            downloads = downloads_folder(self._downloads)
            self._service = FileService(
                self._static, self._host, folder=self._folder, downloads=downloads
            )
        return self._service

    def start(self) -> None:
        """Take up the transfers an earlier run kept, if it kept any."""
        if self._folder().is_dir():
            self._made().start()

    def settle(self) -> None:
        """Wait for the record being written, if any: a rename moves the folder next."""
        if self._service is not None:
            self._service.settle()

    def typed(self, verb: str, args: str) -> None:
        self._made().typed(verb, args)

    def received(self, message: FileOffer | FileNote | FileSeen, key: bytes) -> None:
        """A file datagram whose key the table binds to `message.sender`."""
        self._made().received(message, key)

    async def serve(self, handed: Handed) -> None:
        """A connection whose first message is a FileWant (FileService.serve)."""
        await self._made().serve(handed)

    def progress(self) -> list[tuple[int, str, int, int]]:
        """Each transfer under way: its number, what it is, bytes done and its size."""
        if self._service is None:
            return []
        under_way = self._service.core.transfers.values()
        return [(t.number, t.about(), t.verified, t.size) for t in under_way]

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
