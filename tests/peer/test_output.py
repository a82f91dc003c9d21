"""StdoutLines: a closed output stops the writing once, quietly, and is said once."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peer.adapter.output import StdoutLines


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    for fd in (read, write):
        with contextlib.suppress(OSError):  # closed by the test already
            os.close(fd)


@pytest.mark.timeout(10)
def test_a_closed_pipe_is_said_once_and_later_lines_are_dropped(pipe: tuple[int, int]) -> None:
    read, write = pipe
    stream = os.fdopen(os.dup(write), "w", encoding="utf-8")
    said: list[str] = []
    lines = StdoutLines(said.append, stream=stream)
    lines.write("first")
    assert os.read(read, 100) == b"first\n"
    os.close(read)  # the reader left (`| head -1`)
    for n in range(5):
        lines.write(f"line {n}")  # never raises
    assert lines.gone
    assert said == ["Broken pipe"]
    # the descriptor now leads to the null device: the interpreter's last flush is quiet
    stream.write("more\n")
    stream.flush()
    stream.close()


@pytest.mark.timeout(10)
def test_a_closed_stream_counts_as_gone(pipe: tuple[int, int]) -> None:
    _, write = pipe
    stream = os.fdopen(os.dup(write), "w", encoding="utf-8")
    stream.close()
    said: list[str] = []
    lines = StdoutLines(said.append, stream=stream)
    lines.write("x")
    lines.write("y")
    assert lines.gone and len(said) == 1


@pytest.mark.timeout(10)
def test_a_reader_leaving_is_seen_without_writing(pipe: tuple[int, int]) -> None:
    read, write = pipe
    stream = os.fdopen(os.dup(write), "w", encoding="utf-8")
    said: list[str] = []
    lines = StdoutLines(said.append, stream=stream)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gone = loop.create_future()
        lines.on_gone = lambda reason: (said.append(reason), gone.set_result(None))
        lines.watch_reader(loop)
        await asyncio.sleep(0)  # a pipe with its reader: nothing to see
        assert not lines.gone
        os.close(read)  # the reader left, and nothing is written
        await asyncio.wait_for(gone, 5)

    asyncio.run(main())
    assert lines.gone and said == ["Broken pipe"]
    stream.close()


@pytest.mark.timeout(10)
def test_an_output_that_is_no_pipe_is_not_watched(tmp_path: Path) -> None:
    with (tmp_path / "out").open("w", encoding="utf-8") as stream:
        lines = StdoutLines(stream=stream)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            lines.watch_reader(loop)  # a file: nothing to watch, and no error
            await asyncio.sleep(0)

        asyncio.run(main())
        assert not lines.gone


def _on_uvloop(run: Callable[[asyncio.AbstractEventLoop], None]) -> None:
    """`run(loop)` inside a running uvloop loop (skipped without uvloop, the `fast` extra)."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        run(asyncio.get_running_loop())
        await asyncio.sleep(0.05)  # a few passes of the loop over the watched descriptor

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


@pytest.mark.timeout(10)
def test_a_watched_pipe_stays_blocking_on_uvloop(pipe: tuple[int, int]) -> None:
    # Before: uvloop made it non-blocking, and a long line to a full pipe failed as if
    # the reader had left (a peer's mailbox, read by a slow script, cut short)
    _, write = pipe
    stream = os.fdopen(os.dup(write), "w", encoding="utf-8")
    lines = StdoutLines(stream=stream)
    _on_uvloop(lambda loop: lines.watch_reader(loop))
    assert os.get_blocking(stream.fileno())
    stream.close()


@pytest.mark.timeout(10)
def test_a_watched_pipe_whose_reader_left_is_let_go_on_uvloop(pipe: tuple[int, int]) -> None:
    # Before: its descriptor was pointed at the null device while uvloop still watched
    # it, and uvloop aborted the process
    read, write = pipe
    stream = os.fdopen(os.dup(write), "w", encoding="utf-8")
    said: list[str] = []
    lines = StdoutLines(said.append, stream=stream)

    def run(loop: asyncio.AbstractEventLoop) -> None:
        lines.watch_reader(loop)
        os.close(read)
        lines.write("to nobody")

    _on_uvloop(run)
    assert lines.gone and said == ["Broken pipe"]
    stream.close()
