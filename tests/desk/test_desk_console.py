"""The registry's console as an operator at the desk (DeskConsole): it serves like
any operator, holds back what was typed for the session before as `ChatApp -o` does, and a bare
registry command once; it keeps what it serves."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from disk.operator_key import key_path, read_key
from registry.adapter.desk.service import CONSOLE, CONSOLE_TOPICS_FILE, DeskConsole, DeskService
from registry.core.desk.actions import DeskSend
from registry.core.desk.queue import DeskQueue
from registry.core.desk.sessions import NOBODY_WAITING
from tests.desk.desk_service_harness import Connect, ConsoleScreen, join, joined, run
from tests.desk.listed import emitted
from wire.desk.messages import (
    DeskEnded,
    DeskLeave,
    DeskLine,
    DeskOnDuty,
    DeskOperator,
    DeskQueued,
    DeskServed,
)
from wire.version import WIRE_VERSION


def bare_desk(
    queue: DeskQueue,
    new_id: Callable[[], str],
    log: Callable[[str], None],
    hold_handovers: Callable[[], None],
    apply: Callable[..., None],
) -> Any:
    """What DeskConsole uses of a DeskService, over a bare `queue` whose clock reads 0 and
    whose operator key is "key"; `apply` carries out a queue's entry."""
    return SimpleNamespace(
        queue=queue,
        operator_key="key",
        now=lambda: 0.0,
        new_id=new_id,
        log=log,
        hold_handovers=hold_handovers,
        apply=apply,
    )


def test_the_console_is_an_operator(tmp_path: Path) -> None:
    screen = ConsoleScreen()
    printed = screen.printed

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(screen.show)
        assert printed[-1] == "desk: [On duty as admin, serving all topics; 0 waiting.]"
        alice = await connect()
        alice.send(join("Alice"))
        served = await alice.next(DeskServed)
        assert served.operator == "admin"  # type: ignore[attr-defined]
        assert any("Now serving Alice, phone +447700900123" in line for line in printed)
        assert desk.console.serves and desk.console.wants("hello")
        desk.console.typed("hello Alice")
        assert (await alice.next(DeskLine)).text == "hello Alice"  # type: ignore[attr-defined]
        alice.send(DeskLine("l1", "", "thank you", served.session))  # type: ignore[attr-defined]
        await screen.until("desk: Alice: thank you")
        bob = await joined(connect, join("Bob", "+1 202 555 0147"), DeskQueued)
        desk.console.typed(".room")
        assert any("1. Bob" in line and "*********47" in line for line in printed)
        desk.console.typed(".quit")
        assert "stays on duty" in printed[-1]
        desk.console.typed(".end")
        assert "ended the session" in (await alice.next(DeskEnded)).reason  # type: ignore[attr-defined]
        assert await alice.closed()
        await bob.next(DeskServed)
        desk.console.typed(".serve 9")
        assert "Usage" in printed[-1]
        assert not desk.console.wants("who") or desk.console.serves
        printed.clear()
        desk.console.typed(".help")
        assert printed[0] == "desk: Help-desk operator commands:"
        assert any(line.startswith("desk:   .room ") for line in printed)

    run(tmp_path, scenario, crisis_notice="  ")
    assert not any("Traceback" in line for line in printed)


def test_a_console_line_begun_before_the_session_changed_is_not_sent_on(tmp_path: Path) -> None:
    # a line begun for Gus and finished after Ann was handed over is held back, as
    # `ChatApp -o` holds it; one begun once the notice named Ann is hers, however soon
    now = [1000.0]
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(printed.append)
        gus = await joined(connect, join("Gus"), DeskServed)
        desk.console.typed("hello Gus")  # begun as it came, after the notice: not held
        assert (await gus.next(DeskLine)).text == "hello Gus"  # type: ignore[attr-defined]
        ann = await joined(connect, join("Ann", "+1 202 555 0147"), DeskQueued)
        begun_for_gus = now[0]
        now[0] += 1
        gus.send(DeskLeave("g2"))
        await ann.next(DeskServed)  # Ann's session begins the moment Gus leaves
        now[0] += 2
        assert desk.console.wants("ok Gus, see above", begun_for_gus)
        desk.console.typed("ok Gus, see above", begun_for_gus)
        assert printed[-1] == (
            "desk: [Not sent: this line was read before Ann was handed over to you; type it "
            "again to send it to Ann. The line was: ok Gus, see above]"
        )
        desk.console.typed(".room", begun_for_gus)  # commands are not held back
        assert "Not sent" not in printed[-1]
        desk.console.typed("hello Ann")  # begun after the notice named Ann: hers
        assert (await ann.next(DeskLine)).text == "hello Ann"  # type: ignore[attr-defined]
        begun_for_ann = now[0]
        now[0] += 1
        desk.console.typed(".end")
        now[0] += 30  # however long it took to finish
        assert desk.console.wants("quit smoking, it helps", begun_for_ann)  # Ann's: the desk's
        desk.console.typed("quit smoking, it helps", begun_for_ann)
        said = (
            "desk: [Not sent: you are not serving anyone now. The line was: quit smoking, it helps]"
        )
        assert printed[-1] == said
        assert not desk.console.wants("who")  # begun now: the registry's again

    run(tmp_path, scenario, clock=lambda: now[0])


def test_a_registry_command_begun_before_a_person_came_is_held_back(tmp_path: Path) -> None:
    # the console, serving nobody, began `release bob` for the registry; Eve was handed
    # over before it was finished: it must not reach her as text, and goes back into the
    # prompt, where Enter sends it to her after all
    now = [1000.0]
    printed: list[str] = []
    prompt: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(printed.append, prompt.append)
        begun = now[0]
        now[0] += 1
        eve = await joined(connect, join("Eve"), DeskServed)
        now[0] += 2
        desk.console.typed("release bob", begun)
        assert printed[-1] == (
            "desk: [Not sent: you began this line before Eve was handed over to you. It is "
            "back in the prompt: Enter sends it to Eve, or clear it.]"
        )
        assert prompt == ["release bob"]
        desk.console.typed("release bob")  # Enter: it was for Eve after all
        assert (await eve.next(DeskLine)).text == "release bob"  # type: ignore[attr-defined]

    run(tmp_path, scenario, clock=lambda: now[0])


def test_a_bare_registry_command_while_serving_is_held_back_once(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(printed.append)
        eve = await joined(connect, join("Eve"), DeskServed)
        desk.console.typed("who")
        assert printed[-1] == (
            "desk: [Not sent: who is a registry command, and /who runs it; typed again, it "
            "goes to Eve as text.]"
        )
        desk.console.typed("who")
        assert (await eve.next(DeskLine)).text == "who"  # type: ignore[attr-defined]

    run(tmp_path, scenario)


def test_an_end_begun_before_the_next_person_came_is_not_carried_out(tmp_path: Path) -> None:
    now = [1000.0]
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(printed.append)
        ann = await joined(connect, join("Ann", "+1 202 555 0147"), DeskServed)
        bob = await joined(connect, join("Bob", "+1 202 555 0148"), DeskQueued)
        begun = now[0]
        now[0] += 1
        ann.send(DeskLeave("a2"))
        await bob.next(DeskServed)
        now[0] += 1
        desk.console.typed(".end", begun)
        assert printed[-1] == (
            "desk: [.end not carried out: it was typed before Bob was handed over to you. .end "
            "again ends the session with Bob.]"
        )
        assert desk.console.serves
        desk.console.typed("hello Bob")  # begun after the notice named Bob: his
        assert (await bob.next(DeskLine)).text == "hello Bob"  # type: ignore[attr-defined]

    run(tmp_path, scenario, clock=lambda: now[0])


def test_the_console_goes_off_duty_when_its_input_ends(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(printed.append)
        dan = await joined(connect, join("Dan"), DeskQueued)  # at 0: served at once
        await dan.next(DeskServed)
        desk.console.ended()  # Ctrl-D: nobody can answer Dan there any more
        ended = await dan.next(DeskEnded)
        assert ended.requeued  # type: ignore[attr-defined]
        assert (await dan.next(DeskQueued)).position == 1  # type: ignore[attr-defined]
        off = "desk: [You are off duty; Dan is back at the front of the waiting room.]"
        assert printed[-1] == off
        zed = await connect()
        zed.send(join("Zed", "+1 202 555 0147"))
        assert (await zed.next(DeskQueued)).position == 2  # type: ignore[attr-defined]
        desk.console.typed(".serve all")  # no console any more: nothing happens
        assert printed[-1] == off

    run(tmp_path, scenario)


def test_the_consoles_end_hands_nobody_over_before_what_is_already_there_is_read(
    tmp_path: Path,
) -> None:
    """The console's `.end` holds hand-overs as any operator's does (docs/DESK.md,
    "Connections that end together"): Carol, next in line, typed `.quit` at that moment,
    and was handed to the console before her `.quit` was read, for a session that never
    was (her full number shown, a transcript written)."""
    screen = ConsoleScreen()
    printed = screen.printed

    async def scenario(desk: DeskService, connect: Connect, logs: list[str]) -> None:
        desk.console.set_output(screen.show)
        dan = await joined(connect, join("Dan"), DeskServed)
        carol = await joined(connect, join("Carol", "+1 202 555 0147"), DeskQueued)
        carol.send(DeskLeave("c2"))
        carol.readable_at_desk()
        desk.console.typed(".end")
        assert not any("Now serving Carol" in line for line in printed)
        assert "left the waiting room" in (await carol.next(DeskEnded)).reason  # type: ignore[attr-defined]
        assert "ended the session" in (await dan.next(DeskEnded)).reason  # type: ignore[attr-defined]
        await screen.until(f"desk: [{NOBODY_WAITING}]")  # said at the release
        assert not any("Now serving Carol" in line for line in printed)
        assert not any("admin serves Carol" in line for line in logs)
        assert not desk.console.serves

    run(tmp_path, scenario)


def test_a_serve_hands_nobody_over_before_what_is_already_there_is_read(
    tmp_path: Path,
) -> None:
    """`.serve` may hand someone over (a topic nobody served before), so it holds
    hand-overs as an end does: Carol, the only one waiting, typed `.quit` just as the
    console chose to serve everyone, and was not handed to it for a session that never
    was."""
    screen = ConsoleScreen()
    printed = screen.printed

    async def scenario(desk: DeskService, connect: Connect, logs: list[str]) -> None:
        desk.console.set_output(screen.show)
        desk.console.typed(".serve none")
        carol = await connect()
        carol.send(join("Carol", "+1 202 555 0147"))
        assert (await carol.next(DeskQueued)).position == 1  # type: ignore[attr-defined]
        carol.send(DeskLeave("c2"))
        carol.readable_at_desk()
        desk.console.typed(".serve all")
        assert not any("Now serving Carol" in line for line in printed)
        assert "left the waiting room" in (await carol.next(DeskEnded)).reason  # type: ignore[attr-defined]
        # served once the hold is released: by then, Carol is gone
        _ann = await joined(connect, join("Ann"), DeskServed)  # held: dropped, it closes
        assert not any("Carol" in line for line in printed)
        assert not any("admin serves Carol" in line for line in logs)

    run(tmp_path, scenario)


def test_the_console_going_off_duty_hands_its_person_to_nobody_gone(tmp_path: Path) -> None:
    """The console's input ending (a `DeskLeave`) holds hand-overs too: Dan, put back at
    the front, is not handed to ann, whose `.quit` is there to read."""

    async def scenario(desk: DeskService, connect: Connect, logs: list[str]) -> None:
        desk.console.set_output(lambda line: None)
        dan = await joined(connect, join("Dan"), DeskQueued)  # at 0: served at once
        await dan.next(DeskServed)
        ann = await connect()
        key = read_key(key_path(tmp_path))
        ann.send(DeskOperator("o1", "ann", (1, 2, 3, 4, 5, 6), key, WIRE_VERSION))
        await ann.next(DeskOnDuty)
        ann.send(DeskLeave("o2"))
        ann.readable_at_desk()
        desk.console.ended()
        assert (await dan.next(DeskEnded)).requeued  # type: ignore[attr-defined]
        queued = await dan.next(DeskQueued)
        assert queued.position == 1 and queued.operators == 0  # type: ignore[attr-defined]
        assert await ann.closed()
        assert not any("ann serves Dan" in line for line in logs)

    run(tmp_path, scenario)


def test_what_the_console_serves_is_kept_across_a_restart(tmp_path: Path) -> None:
    def on_duty(desk: DeskService) -> list[str]:
        printed: list[str] = []
        desk.console.set_output(printed.append)
        return printed

    async def paused(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed = on_duty(desk)
        desk.console.typed(".serve none")  # the admin walks away
        assert "serving no topics" in printed[-2]
        desk.console.typed(".serve")  # alone: shows what the console serves
        assert "no topics" in printed[-1]

    async def restarted(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed = on_duty(desk)
        assert printed == [
            "desk: [On duty as admin, serving no topics; 0 waiting.]",
            "desk: [You take nobody until you choose topics: .serve all or .serve 1,3.]",
            "desk: [Serving what .serve chose before the registry restarted; .serve all "
            "takes every topic.]",
        ]
        # not handed to a console nobody watches
        alice = await joined(connect, join("Alice"), DeskQueued)
        desk.console.typed(".serve 2")
        await alice.next(DeskServed)

    async def serving_topic_2(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed = on_duty(desk)
        assert printed[0].startswith("desk: [On duty as admin, serving topics 2 ")
        desk.console.typed(".serve all")

    async def serving_all(desk: DeskService, connect: Connect, _: list[str]) -> None:
        assert on_duty(desk) == ["desk: [On duty as admin, serving all topics; 0 waiting.]"]

    for life in (paused, restarted, serving_topic_2):
        run(tmp_path, life)
    assert not (tmp_path / "desk-console.json").exists()  # every topic: the default again
    run(tmp_path, serving_all)


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ('{"topics": [9]}', "it holds no list of topics"),
        ('{"topics": [1.0]}', "it holds no list of topics"),
        ('{"topics": [true]}', "it holds no list of topics"),
        ("[" * 100_000, "it holds no list of topics"),
        ('{"topics": [NaN]}', "it is not JSON"),
        ('{"topics": [1, Infinity]}', "it is not JSON"),
    ],
)
def test_an_unreadable_console_topics_file_means_every_topic_and_is_logged(
    tmp_path: Path, damage: str, why: str
) -> None:
    path = tmp_path / CONSOLE_TOPICS_FILE
    path.write_text(damage)
    queue = DeskQueue(make_id=lambda: "r", make_token=lambda: "token", operator_key="key")
    logs: list[str] = []
    printed: list[str] = []

    def carry_out(entry: Callable[..., None], *args: object) -> None:
        for action in emitted(entry, *args, 0.0):
            if isinstance(action, DeskSend) and action.conn == CONSOLE:
                console.show(action.message)

    desk = bare_desk(queue, lambda: "c", logs.append, lambda: None, carry_out)
    console = DeskConsole(desk, tmp_path)
    console.set_output(printed.append)
    assert printed == ["desk: [On duty as admin, serving all topics; 0 waiting.]"]
    assert logs == [f"desk: could not read {path} ({why}); the console serves every topic"]


def test_the_console_needs_only_a_queue_to_serve_at(tmp_path: Path) -> None:
    """DeskConsole over a bare DeskQueue, carrying out nothing but what the desk sends it:
    the console goes on duty, runs commands, holds hand-overs before a `.serve`, and keeps
    what it serves."""
    ids = itertools.count(1)
    queue = DeskQueue(
        make_id=lambda: f"r-{next(ids)}", make_token=lambda: "token", operator_key="key"
    )
    held: list[str] = []

    def carry_out(entry: Callable[..., None], *args: object) -> None:
        for action in emitted(entry, *args, 0.0):
            if isinstance(action, DeskSend) and action.conn == CONSOLE:
                console.show(action.message)

    desk = bare_desk(
        queue,
        new_id=lambda: f"c-{next(ids)}",
        log=held.append,
        hold_handovers=lambda: held.append("held"),
        apply=carry_out,
    )
    console = DeskConsole(desk, tmp_path)
    printed: list[str] = []
    console.set_output(printed.append)
    assert console.on_duty and queue.state.conns.get(CONSOLE) is not None and not console.serves
    assert printed == ["desk: [On duty as admin, serving all topics; 0 waiting.]"]
    assert console.wants(".room") and not console.wants("hello")
    console.typed(".serve 1,3")
    assert held == ["held"]  # a .serve may hand someone over
    assert [o.topics for o in queue.state.operators.values()] == [frozenset({1, 3})]
    assert json.loads((tmp_path / CONSOLE_TOPICS_FILE).read_text()) == {"topics": [1, 3]}
    console.ended()
    assert not console.on_duty and queue.state.conns.get(CONSOLE) is None
