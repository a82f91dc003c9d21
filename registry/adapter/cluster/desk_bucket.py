"""The help desk's shelf for a service: its records in bucket CHATAPP_DESK, written only while
this registry decides (its `fence`); and the service's operator key, from its folder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from nats.js.kv import KeyValue

from disk.files import os_reason, replace_durably
from disk.operator_key import key_path, read_key
from registry.adapter.cluster.store import ERRORS, entries
from registry.adapter.desk.shelf import aside
from registry.adapter.store import StorageError

DESK_BUCKET = "CHATAPP_DESK"


def service_desk_key(key: str, data_dir: Path) -> str:
    """Write the service's operator key into `data_dir`, for the desk and operators here; a
    line for the log when the registry's own key was another, else "". Raises OSError."""
    path = key_path(data_dir)
    if key == (local := read_key(path)):
        return ""
    replace_durably(path, (key + "\n").encode())
    return f"the help desk's operator key in {path} is the service's now" if local else ""


class BucketShelf:
    shared = True

    def __init__(
        self,
        kv: KeyValue,
        records: dict[str, bytes],
        log: Callable[[str], None],
        fence: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._kv = kv
        self._records = records
        self._log = log
        self._fence = fence
        self._due: dict[str, bytes | None] = {}  # to write (None: to delete), by name
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def load(
        cls,
        kv: KeyValue,
        log: Callable[[str], None],
        fence: Callable[[], Awaitable[None]] | None = None,
    ) -> BucketShelf:
        found = await entries(kv)
        return cls(kv, {name: value for name, (_, value) in found.items()}, log, fence)

    def where(self, name: str) -> str:
        return f"{DESK_BUCKET}/{name}"

    def read(self, name: str) -> bytes:
        data = self._records.get(name)
        if not data:
            raise FileNotFoundError(self.where(name))
        return data

    def write(self, name: str, data: bytes) -> None:
        self._records[name] = self._due[name] = data
        self._start()

    def remove(self, name: str) -> None:
        if self._records.pop(name, None) is not None or name in self._due:
            self._due[name] = None
            self._start()

    def set_aside(self, name: str) -> str:
        data = self._records.get(name)
        if data is not None:
            self.write(aside(name), data)
            self.remove(name)
        return self.where(aside(name))

    @property
    def pending(self) -> bool:
        return bool(self._due) or self._task is not None

    async def flushed(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        """Write what is due, a batch at a time, while this registry decides; what fails is
        logged (the record's next change writes it whole again)."""
        try:
            while self._due:
                due, self._due = self._due, {}
                try:
                    if self._fence is not None:
                        await self._fence()
                    await asyncio.gather(
                        *(
                            self._kv.delete(name) if data is None else self._kv.put(name, data)
                            for name, data in due.items()
                        )
                    )
                except StorageError:  # (the fence's: the lead lost)
                    self._log("desk: another registry of the service runs the help desk now")
                except ERRORS as exc:
                    self._log(
                        f"desk: JetStream did not keep {', '.join(due)} ({os_reason(exc)}); "
                        "should this registry stop, what they hold would be lost"
                    )
        finally:
            self._task = None
