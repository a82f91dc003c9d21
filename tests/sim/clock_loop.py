"""An asyncio event loop on virtual time, for whole nodes on a simulated network.

Its selector is the simulated network's (tests/sim/fake_net.py): when no socket of that
network is readable, waiting `timeout` seconds moves the clock on by `timeout` at once, to
the next timer. Work handed to a thread (`run_in_executor`, `asyncio.to_thread`) is done
inline, so nothing runs beside the loop and a seed replays the same run.

The adapters read `time.monotonic` and `time.time` themselves (asyncio's loop.time is
time.monotonic too): `VirtualClock.installed` stands the virtual clock in for both, in
the product's modules, while the world runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import selectors
import socket
import sys
import time
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

#: The monotonic clock's first reading; the wall clock reads WALL later than it.
START = 1000.0
WALL = 1_700_000_000.0
#: The packages whose references to the clocks are stood in for.
PRODUCT = ("net", "peer", "registry", "secure", "wire", "disk", "terminal")
#: Passes of the loop at one instant after which the clock moves on by SPIN_STEP: a timer
#: due when the clock reads past a float sum (due - now rounds to 0, now - then < interval)
#: re-arms at once until it does, as real time always moves.
SPIN = 10_000
SPIN_STEP = 1e-6
_REAL = {time.monotonic: "monotonic", time.time: "time", time.time_ns: "time_ns"}


#: Where the product holds a real clock: (holder, key, the clock), holder[key] being it.
Site = tuple[Any, Any, Any]


class VirtualClock:
    """Virtual seconds: `now` moves only when the loop waits."""

    def __init__(self) -> None:
        self.now = START
        self._stand_in = {real: getattr(self, name) for real, name in _REAL.items()}

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + WALL

    def time_ns(self) -> int:
        return int((self.now + WALL) * 1e9)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Within it, the product's modules read this clock for time.monotonic, time.time and
        time.time_ns: module globals, function defaults and `time`'s own functions."""
        sites, stand_in = _SITES.current(), self._stand_in
        try:
            for holder, key, real in sites:
                holder[key] = stand_in[real]
            yield
        finally:
            for holder, key, real in reversed(sites):
                holder[key] = real


class _Sites:
    """Where the product holds a real clock. Each module is scanned once, when it is first
    seen in sys.modules (the worlds of a test run share the scans: one is 30 ms)."""

    def __init__(self) -> None:
        self._modules = 0  # len(sys.modules) at the last look
        self._scanned: dict[str, tuple[types.ModuleType, list[Site]]] = {}
        self._sites: list[Site] = []

    def current(self) -> list[Site]:
        if len(sys.modules) != self._modules:
            self._modules = len(sys.modules)
            self._sites = [(vars(time), name, real) for real, name in _REAL.items()]
            for name, module in list(sys.modules.items()):
                if module is None or name.split(".")[0] not in PRODUCT:
                    continue
                if self._scanned.get(name, (None,))[0] is not module:
                    self._scanned[name] = (module, _module_sites(name, module))
                self._sites.extend(self._scanned[name][1])
        return self._sites


def _module_sites(name: str, module: types.ModuleType) -> list[Site]:
    sites: list[Site] = []
    for attr, value in list(vars(module).items()):
        if any(value is real for real in _REAL):
            sites.append((vars(module), attr, value))
        elif isinstance(value, type) and value.__module__ == name:
            for member in vars(value).values():
                sites.extend(_default_sites(getattr(member, "__func__", member)))
        else:
            sites.extend(_default_sites(value))
    return sites


def _default_sites(function: Any) -> list[Site]:
    if not isinstance(function, types.FunctionType):
        return []
    found: list[Site] = []
    kwdefaults = function.__kwdefaults__ or {}
    for key, value in kwdefaults.items():
        if any(value is real for real in _REAL):
            found.append((kwdefaults, key, value))
    if function.__defaults__ and any(v is real for v in function.__defaults__ for real in _REAL):
        defaults = list(function.__defaults__)
        for i, value in enumerate(defaults):
            if any(value is real for real in _REAL):
                found.append((_Defaults(function), i, value))
    return found


class _Defaults:
    """A function's positional defaults, settable one at a time."""

    def __init__(self, function: types.FunctionType) -> None:
        self._function = function

    def __setitem__(self, i: int, value: Any) -> None:
        defaults = list(self._function.__defaults__ or ())
        defaults[i] = value
        self._function.__defaults__ = tuple(defaults)


_SITES = _Sites()


class Network(Protocol):
    """What the loop asks of the simulated network."""

    #: The fds of its sockets with something to read.
    readable: set[int]

    def ready(self, fd: int) -> int:
        """The selector events (EVENT_READ, EVENT_WRITE) on which `fd` is ready; 0 for none."""
        ...

    def new_socket(self, kind: socket.SocketKind) -> Any: ...

    async def connect(
        self, protocol: asyncio.Protocol, addr: tuple[str, int], local: tuple[str, int] | None
    ) -> asyncio.Transport: ...

    def accepted(self, sock: Any, protocol: asyncio.Protocol) -> asyncio.Transport: ...


class _Selector(selectors.BaseSelector):
    """The network's sockets, and time passing when none is ready."""

    def __init__(self, clock: VirtualClock, network: Network) -> None:
        self._clock, self._network = clock, network
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._writing: set[int] = set()  # the fds waiting to write (the network's are ready)
        self._still = 0  # passes of the loop since the clock last moved

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        if events & selectors.EVENT_WRITE:
            self._writing.add(fd)
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        self._writing.discard(fd)
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        readable, writing = self._network.readable, self._writing
        ready: list[tuple[selectors.SelectorKey, int]] = []
        if readable or writing:  # in the order the fds were registered, as the seeds were made
            ready = [
                (key, events)
                for fd, key in self._keys.items()
                if (fd in readable or fd in writing)
                and (events := self._network.ready(fd) & key.events)
            ]
        if not ready and timeout is not None and timeout > 0:
            self._clock.now += timeout
            self._still = 0
        elif (still := self._still + 1) < SPIN:
            self._still = still
        else:  # a callback that re-arms itself until the clock moves: it moves, as CPU time
            self._clock.now += SPIN_STEP
            self._still = 0
        return ready

    def close(self) -> None:
        self._keys.clear()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return types.MappingProxyType(self._keys)


class ClockLoop(asyncio.SelectorEventLoop):
    """The event loop of a simulated world: virtual time, the simulated network's sockets
    (`new_socket`, `create_connection`), threads' work done inline, no signals."""

    def __init__(self, clock: VirtualClock, network: Network) -> None:
        super().__init__(_Selector(clock, network))
        self._clock = clock
        self._network = network

    def time(self) -> float:
        return self._clock.now

    def new_socket(self, kind: socket.SocketKind) -> Any:
        return self._network.new_socket(kind)

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(func(*args))
        except BaseException as exc:  # handed to whoever awaits it, as a thread's would be
            future.set_exception(exc)
        return asyncio.wrap_future(future, loop=self)

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        pass  # a simulated process is sent no signals

    async def create_connection(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: str | None = None,
        port: int | None = None,
        *,
        sock: Any = None,
        local_addr: tuple[str, int] | None = None,
        **_: Any,
    ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        protocol = protocol_factory()
        assert isinstance(protocol, asyncio.Protocol)
        if sock is not None:
            return self._network.accepted(sock, protocol), protocol
        assert host is not None and port is not None
        transport = await self._network.connect(protocol, (host, port), local_addr)
        return transport, protocol
