"""The help desk end to end, with real processes on loopback: a standalone desk
(tests/desk/standalone_desk.py), people (`ChatApp -d`) and an operator (`ChatApp -o`), all in
line mode through pipes."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_procs import WAIT, CuttableProxy, DeskWorld, kept, now_at, place, to_new_person

from peer.core.desk.link import RETRY_MAX
from wire.desk.render import YOUR_TURN, ahead_of_you
from wire.desk.text import ENDED, YOU_LEFT

CRISIS = "CRISIS-NOTICE call 112 if you are in danger"
PHONES = {
    "Alice": "+44 7700 900123",
    "Bob": "0151-2345-6789",
    "Carol": "07911 123456",
    "Dan": "+1 202 555 0147",
    "Eve": "+49 151 2345 6701",
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DeskWorld]:
    desk = DeskWorld(tmp_path, "--crisis-notice", CRISIS)
    try:
        yield desk
    finally:
        desk.close()


def digit_runs(text: str) -> list[str]:
    """Every run of digits in `text`, separators (space, dash, dot, brackets) removed."""
    return [re.sub(r"\D", "", m) for m in re.findall(r"\+?\d[\d \-.()]*\d", text)]


def test_a_day_at_the_help_desk(world: DeskWorld) -> None:
    # Three people before any operator: positions 1, 2, 3, and told nobody is on duty.
    alice = world.person("Alice", PHONES["Alice"], 1)
    # first contact, before anything else: the registry's key is said as it is pinned
    alice.expect(r"^>>> \[The registry at .* first met, has the key fingerprint [\d ]+;")
    alice.expect(r"Topic \(1-6\):")
    first_desk_line = alice.expect(r"^>>> (!!!|\[)").string
    assert CRISIS in first_desk_line, "the crisis notice comes before any queue text"
    alice.expect(r"No operator is on duty")
    alice.expect(rf"{place(1)}, you are next")

    bob = world.person("Bob", PHONES["Bob"], 2)
    bob.expect(place(2))
    carol = world.person("Carol", PHONES["Carol"], 3, f"behind in maths; call {PHONES['Carol']}")
    carol.expect(r"Description:")
    carol.expect(place(3))
    assert not any(CRISIS in line for line in bob.seen + carol.seen)

    carol.send(".queue")
    carol.expect(rf"\[{ahead_of_you(2)};.* estimated wait: unknown")

    # An operator comes: Alice is served; Bob is next; Carol moves to 2.
    ann = world.operator("ann")
    ann.expect(r"On duty as ann, serving all topics; 3 waiting")
    ann.expect(r"Now serving Alice, phone \+447700900123, topic 1 Depression")
    alice.expect(f"{YOUR_TURN} ann")
    bob.expect(r"An operator for your topic is on duty now")
    bob.expect(rf"{place(1)}: you are next")
    carol.expect(place(2))

    to_new_person(ann, "Alice", "hello Alice")
    alice.expect(r"^>>> ann: hello Alice$")
    assert not any("hello Alice" in line for line in bob.everything + carol.everything)
    alice.send(f"hi, my number is {PHONES['Alice']}")
    ann.expect(r"^>>> Alice: hi, my number is \+44 7700 900123$")

    # .end: both sides are told and the next person is promoted.
    ann.send(".end")
    alice.expect(ENDED.format("ann"))
    alice.expect(CRISIS)  # shown again on leaving
    assert alice.wait() == 0
    ann.expect(r"Session with Alice ended")
    ann.expect(r"Now serving Bob")
    bob.expect(f"{YOUR_TURN} ann")
    carol.expect(rf"{place(1)}: you are next")

    # The active person's connection dies: the operator is told and Carol is promoted.
    bob.kill()
    ann.expect(r"Bob's connection was lost")
    ann.expect(r"Now serving Carol, phone \+?07911123456, topic 3 Weak in Academics")
    ann.expect(r"Description: behind in maths")
    carol.expect(YOUR_TURN)
    to_new_person(ann, "Carol", "hello Carol")
    carol.expect(r"^>>> ann: hello Carol$")
    # Bob keeps a place at the front: restarted, he takes it back (and then leaves).
    bob2 = world.person("Bob", PHONES["Bob"], None)
    bob2.expect(r"You had a place in the waiting room a moment ago")
    bob2.expect(rf"{kept(1)}, you are next")
    bob2.send(".quit")
    bob2.expect(YOU_LEFT)
    assert bob2.wait() == 0

    # Two more wait; Dan is killed while waiting and restarted: he gets his place back.
    dan = world.person("Dan", PHONES["Dan"], 4)
    dan.expect(rf"{place(1)}, you are next")
    eve = world.person("Eve", PHONES["Eve"], 5)
    eve.expect(place(2))
    dan.kill()
    ann.send(".room")
    ann.expect(r"Waiting room: 2 people")
    room_dan = ann.expect(r"1\. Dan .*4 Suggestion for Abroad Studies").string
    assert "*********47" in room_dan and "place held" in room_dan
    room_eve = ann.expect(r"2\. Eve .*5 Financial Suggestions").string
    assert "place held" not in room_eve

    dan2 = world.person("Dan", PHONES["Dan"], None)
    dan2.expect(r"You had a place in the waiting room a moment ago")
    dan2.expect(rf"{kept(1)}, you are next")
    eve.send(".queue")
    eve.expect(rf"\[{ahead_of_you(1)}")
    assert not any(re.search(now_at(r"\d+"), line) for line in eve.seen)

    ann.send(".end")
    carol.expect(ENDED.format("ann"))
    assert carol.wait() == 0
    ann.expect(r"Now serving Dan")
    dan2.expect(YOUR_TURN)

    eve.send(".quit")
    eve.expect(YOU_LEFT)
    assert eve.wait() == 0
    dan2.send("thanks, bye", ".end")
    ann.expect(r"Dan: thanks, bye")
    ann.expect(ENDED.format("Dan"))
    dan2.expect(ENDED.format("You"))
    assert dan2.wait() == 0
    ann.send(".quit")
    ann.expect(r"You are off duty")
    assert ann.wait() == 0
    world.server.stop()

    # Records: a transcript per session with topic, times and wait; no full phone anywhere.
    transcripts = sorted((world.data_dir / "desk-transcripts").glob("*.txt"))
    assert len(transcripts) == 4
    alice_record = next(p.read_text() for p in transcripts if "Person: Alice" in p.read_text())
    for field in ("Topic: 1 Depression", "Waited: ", "Started: ", "Ended: ", "Operator: ann"):
        assert field in alice_record
    assert "Alice: hi, my number is **********23" in alice_record
    written = [p.read_text() for p in world.data_dir.rglob("*") if p.is_file()]
    written.append("\n".join(world.server.everything))
    assert any("desk.log" in str(p) for p in world.data_dir.rglob("*"))
    for text in written:
        runs = digit_runs(text)
        for name, phone in PHONES.items():
            national = re.sub(r"\D", "", phone)[-9:]
            assert not any(national in run for run in runs), f"{name}'s number was written"


def test_someone_in_danger_while_waiting_is_told_to_the_operator(world: DeskWorld) -> None:
    ann = world.operator("ann")
    ann.expect(r"On duty as ann, serving all topics; 0 waiting")
    dan = world.person("Dan", PHONES["Dan"], 2)
    ann.expect(r"Now serving Dan")
    to_new_person(ann, "Dan", "hello Dan")
    dan.expect(r"ann: hello Dan")
    eve = world.person("Eve", PHONES["Eve"], 5)
    eve.expect(place(1))
    maria = world.person("Maria", PHONES["Carol"], 3, "maths")
    maria.expect(place(2))

    # words of crisis typed while waiting: the notice at once, and the operator is told
    maria.send("nobody answers, I want to kill myself")
    maria.expect(r"the help desk is told that you may need help urgently")
    maria.expect(CRISIS)  # the desk's own notice
    maria.expect(r"The operators on duty have been told")
    # one notice, the registry's: not the client's built-in one as well
    assert not any("!!!" in line and CRISIS not in line for line in maria.everything)
    ann.expect(
        r"!!! Maria, number 2 in the waiting room \(3 Weak in Academics\), may be in "
        r"danger: they wrote of it while waiting\. \.first Maria puts them at the front"
    )
    ann.send(".room")
    row = ann.expect(r"2\. Maria ").string
    assert row.startswith(">>> !!!") and "may be in danger: they wrote of it while waiting" in row

    # the operator's judgement: Maria next, before Eve
    ann.send(".first 2")
    ann.expect(r"Maria is now number 1 in the waiting room")
    maria.expect(r"An operator has moved you to the front of the line")
    maria.expect(now_at(1))
    eve.expect(now_at(2))
    ann.send(".end")
    ann.expect(r"Now serving Maria, phone \+?07911123456, topic 3 Weak in Academics")
    ann.expect(r"!!! They may be in danger: they wrote of it while waiting")
    ann.expect(r"Description: maths")
    ann.expect(r"!!! They wrote while waiting: nobody answers, I want to kill myself")
    maria.expect(YOUR_TURN)
    assert not any("kill myself" in line for line in eve.everything + dan.everything)

    # in the session, such words stand out for the operator; the person reads no more
    maria.send("thanks. honestly I feel suicidal")
    ann.expect(r"^>>> !!! Maria: thanks\. honestly I feel suicidal")
    maria.send("bye")
    ann.expect(r"^>>> Maria: bye")
    assert sum("The operators on duty have been told" in line for line in maria.everything) == 1


def test_the_menu_gives_three_tries_then_closes(world: DeskWorld) -> None:
    person = world.person("Fay", "12-34", None, "+1 555 0100 999", "7", "x", "0")
    person.expect(r"7 to 15 digits")
    person.expect(r"'7' is not a topic: type a number from 1 to 6. 2 tries left")
    person.expect(r"'x' is not a topic.*1 try left")
    person.expect(r"'0' is not a topic")
    person.expect(r"No valid topic after 3 tries, so the help desk client closes")
    assert person.wait() == 1
    assert not any("Traceback" in line for line in person.everything)


def test_a_full_desk_refuses_with_the_reason(tmp_path: Path) -> None:
    desk = DeskWorld(tmp_path, "--max-waiting", "1")
    try:
        first = desk.person("Alice", PHONES["Alice"], 2)
        first.expect(place(1))
        second = desk.person("Bob", PHONES["Bob"], 2)
        second.expect(r"The waiting room is full \(1 people\).*estimated wait is")
        assert second.wait() == 1
    finally:
        desk.close()


def test_no_desk_to_reach(tmp_path: Path) -> None:
    desk = DeskWorld(tmp_path)
    port = desk.port
    desk.server.stop()
    try:
        person = desk.person("Alice", PHONES["Alice"], 1)
        # why, as the system says it: not "no answer" for a connection refused
        person.expect(rf"Cannot reach the help desk at 127\.0\.0\.1:{port} \(Connection refused\)")
        person.expect(r"!!! If you are in danger")
        assert person.wait() == 1
    finally:
        desk.close()


def test_no_desk_to_reach_is_said_before_the_form(tmp_path: Path) -> None:
    desk = DeskWorld(tmp_path)
    port = desk.port
    desk.server.stop()
    try:
        person = desk.start(desk.chatapp("-d", "127.0.0.1", str(port)), "Alice")
        # an input that ends at once (< /dev/null) is no reason to say bye first
        bob_dir = str(desk.tmp / "state" / "Bob")
        ended = desk.start(
            desk.chatapp("-d", "127.0.0.1", str(port)), "Bob", CHATAPP_DATA_DIR=bob_dir
        )
        assert ended.popen.stdin is not None
        ended.popen.stdin.close()
        person.expect(rf"Cannot reach the help desk at 127\.0\.0\.1:{port}")  # nothing typed
        person.expect(r"Start ChatApp -d again once the help desk is running")
        person.expect(r"!!! If you are in danger")
        assert person.wait() == 1
        ended.expect(rf"Cannot reach the help desk at 127\.0\.0\.1:{port}")
        assert ended.wait() == 1
        assert not any("Bye" in line for line in ended.everything)
    finally:
        desk.close()


def test_a_dropped_connection_reconnects_by_itself_and_keeps_the_place(
    world: DeskWorld,
) -> None:
    proxy = CuttableProxy(world.port)
    try:
        alice = world.start(world.chatapp("-d", "127.0.0.1", str(proxy.port)), "Alice")
        alice.send("Alice", PHONES["Alice"], "2")
        alice.expect(rf"{place(1)}, you are next")
        bob = world.person("Bob", PHONES["Bob"], 2)
        bob.expect(place(2))
        proxy.cut()
        alice.expect(r"connection to the help desk was lost .*reconnecting.*kept for 120 s")
        alice.expect(r"Connected again")
        alice.expect(rf"{kept(1)}, you are next")
        bob.send(".queue")
        bob.expect(rf"\[{ahead_of_you(1)}")
        assert not any(re.search(now_at(r"\d+"), line) for line in bob.seen)
        alice.send(".quit")
        alice.expect(YOU_LEFT)
        assert alice.wait() == 0
    finally:
        proxy.close()


def test_a_connection_dropped_while_served_reconnects_to_a_place_at_the_front(
    world: DeskWorld,
) -> None:
    proxy = CuttableProxy(world.port)
    try:
        ann = world.operator("ann")
        ann.expect(r"On duty as ann")
        alice = world.start(world.chatapp("-d", "127.0.0.1", str(proxy.port)), "Alice")
        alice.send("Alice", PHONES["Alice"], "2")
        alice.expect(f"{YOUR_TURN} ann")
        ann.expect(r"Now serving Alice")
        bob = world.person("Bob", PHONES["Bob"], 2)
        bob.expect(rf"{place(1)}, you are next")
        proxy.cut()
        alice.expect(r"connection to the help desk was lost .*keep a place at the front for 120 s")
        ann.expect(r"Alice's connection was lost .*keep a place at the front")
        ann.expect(r"Now serving Bob")  # the operator is not kept waiting
        to_new_person(ann, "Bob", "hello Bob")
        bob.expect(r"ann: hello Bob")
        alice.expect(r"Connected again")
        alice.expect(rf"{kept(1)}, you are next")
        ann.send(".end")
        ann.expect(r"Now serving Alice")
        alice.expect(f"{YOUR_TURN} ann")
        alice.send(".end")
        alice.expect(ENDED.format("You"))
        assert alice.wait() == 0
    finally:
        proxy.close()


def test_an_operator_whose_connection_drops_comes_back_on_duty_by_itself(
    world: DeskWorld,
) -> None:
    proxy = CuttableProxy(world.port)
    try:
        ann = world.operator("ann", proxy.port)
        ann.expect(r"On duty as ann, serving all topics")
        ann.send(".serve 2,3")
        ann.expect(r"serving topics 2 .*, 3 ")
        alice = world.person("Alice", PHONES["Alice"], 2)
        alice.expect(f"{YOUR_TURN} ann")
        ann.expect(r"Now serving Alice")
        proxy.cut()
        ann.expect(
            r"connection to the help desk was lost .*session with Alice was cut short\. If the "
            r"help desk stopped, Alice is kept for you .*; if not, Alice is back at the front of "
            r"the waiting room, for the next free operator"
        )
        alice.expect(r"ann's connection was lost; you are back at the front of the waiting room")
        ann.send("typed while away")
        ann.expect(r"Not sent: reconnecting to the help desk")
        # back on duty for the same topics, and given the person who waits first
        ann.expect(r"On duty as ann, serving topics 2 .*, 3 ")
        ann.expect(r"Now serving Alice")
        alice.expect(f"{YOUR_TURN} ann")
        to_new_person(ann, "Alice", "welcome back")
        alice.expect(r"ann: welcome back")
        ann.send(".quit")
        assert ann.wait() == 0
    finally:
        proxy.close()


def test_a_registry_that_crashed_keeps_everyones_place(world: DeskWorld) -> None:
    """The promise made as a connection breaks ("your place is kept") holds when the
    registry itself went down: the places are on disk, held for their tokens."""
    alice = world.person("Alice", PHONES["Alice"], 2)
    alice.expect(rf"{place(1)}, you are next")
    bob = world.person("Bob", PHONES["Bob"], 2)
    bob.expect(place(2))
    world.crash_and_restart()
    said = "desk: 2 places kept from before the registry stopped"
    assert any(said in line for line in world.server.seen)  # said as it starts
    for person in (alice, bob):
        person.expect(r"connection to the help desk was lost .*Your place is kept for 120 s")
    alice.expect(rf"{kept(1)}, you are next")
    bob.expect(kept(2))
    ann = world.operator("ann")
    ann.expect(r"On duty as ann")
    ann.expect(r"Now serving Alice")
    alice.expect(f"{YOUR_TURN} ann")
    assert not any("could not be kept" in line for line in alice.everything + bob.everything)


def test_a_stopped_operator_is_noticed_and_comes_back_when_it_runs_again(tmp_path: Path) -> None:
    """SIGSTOP keeps the operator's connection open; the heartbeat (shortened here to 1 s:
    lost after 2 s of silence) notices, and its person goes to the idle operator."""
    world = DeskWorld(tmp_path, "--heartbeat", "1")
    try:
        ann = world.operator("ann")
        ann.expect(r"On duty as ann")
        dan = world.person("Dan", PHONES["Dan"], 2)
        dan.expect(f"{YOUR_TURN} ann")
        ann.expect(r"Now serving Dan")
        bob = world.operator("bob")
        bob.expect(r"On duty as bob")
        ann.popen.send_signal(signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            dan.expect(r"ann's connection was lost; you are back at the front", timeout=6.0)
            assert time.monotonic() - stopped < 6.0
            dan.expect(f"{YOUR_TURN} bob")
            bob.expect(r"Now serving Dan")
        finally:
            ann.popen.send_signal(signal.SIGCONT)
        # running again: it is told why, and goes through the reconnection
        ann.expect(r"No sign of life from your client for \d+ s, so the help desk took")
        ann.expect(r"connection to the help desk was lost .*Reconnecting")
        ann.expect(r"On duty as ann")
        ann.send(".quit")
        assert ann.wait() == 0
    finally:
        world.close()


@pytest.mark.slow
def test_a_place_given_up_while_the_registry_was_down_soon_stops_counting(
    tmp_path: Path,
) -> None:
    """Found by trying it: a person who gave up while the registry was down (`.quit` there
    reaches nobody) kept a place counted ahead of every newcomer for the whole grace
    period after the restart. A place nobody takes back within the reconnect window
    (shortened here) is given up; a client still running is back well within it. The
    window is twice the client's longest wait between tries: at RETRY_MAX alone, a client
    whose next try came at its end missed it on a loaded machine."""
    window = 2 * RETRY_MAX
    world = DeskWorld(tmp_path, "--reclaim-window", f"{window:g}")
    try:
        alice = world.person("Alice", PHONES["Alice"], 2)
        alice.expect(rf"{place(1)}, you are next")
        bob = world.person("Bob", PHONES["Bob"], 2)
        bob.expect(place(2))
        world.server.kill()
        bob.expect(r"connection to the help desk was lost")
        bob.send(".quit")  # one more try, to give the place up: nobody answers
        bob.expect(r"You left the help desk\. It could not be told now, and gives your place up")
        assert bob.wait() == 0
        world.restart()
        restarted = time.monotonic()
        alice.expect(kept(1))
        carol = world.person("Carol", PHONES["Carol"], 2)
        first = carol.expect(place(r"(\d)")).group(1)
        if first == "3":  # Bob's place, kept on disk, is ahead...
            carol.expect(place(2), timeout=window + WAIT)  # ...until the window is over
        else:  # a loaded machine: carol came in after the window (and so after Bob's place)
            assert first == "2" and time.monotonic() - restarted > window, first
        world.server.expect(r"Bob \(phone \**89\) did not come back in time")
        assert not any("number 2" in line for line in alice.everything)
    finally:
        world.close()


def test_after_a_crash_each_conversation_resumes_with_its_operator(world: DeskWorld) -> None:
    ann = world.operator("ann")
    ann.expect(r"On duty as ann")
    dan = world.person("Dan", PHONES["Dan"], 2)
    dan.expect(f"{YOUR_TURN} ann")
    bob = world.operator("bob")
    bob.expect(r"On duty as bob")
    eve = world.person("Eve", PHONES["Eve"], 2)
    eve.expect(f"{YOUR_TURN} bob")
    world.crash_and_restart()
    dan.expect(r"The help desk was restarted; your conversation with ann resumes\.")
    dan.expect(f"{YOUR_TURN} ann")
    eve.expect(r"The help desk was restarted; your conversation with bob resumes\.")
    eve.expect(f"{YOUR_TURN} bob")
    # what the operator read as the connection was lost is what happened
    ann.expect(r"session with Dan was cut short\. If the help desk stopped, Dan is kept for you")
    ann.expect(r"The help desk was restarted; your conversation with Dan resumes\.")
    ann.expect(r"Now serving Dan")
    bob.expect(r"The help desk was restarted; your conversation with Eve resumes\.")
    bob.expect(r"Now serving Eve")
    to_new_person(ann, "Dan", "where were we")
    dan.expect(r"ann: where were we")


def test_a_piped_operator_takes_nobody_until_its_input_says_serve(world: DeskWorld) -> None:
    alice = world.person("Alice", PHONES["Alice"], 2)
    alice.expect(rf"{place(1)}, you are next")
    script = world.start(
        world.chatapp("-o", "ann", "127.0.0.1", str(world.port), trusting=True), "ann"
    )
    script.send(".room")
    script.expect(r"Your input is not a terminal, so you take nobody until it says")
    script.expect(
        r"On duty as ann, serving no topics; 0 waiting for you, 1 in the waiting room in all"
    )
    script.expect(r"1\. Alice ")  # the answer to .room: nobody was handed over before it
    assert script.popen.stdin is not None
    script.popen.stdin.close()  # the end of the script
    script.expect(r"You are off duty")
    assert script.wait() == 0
    assert not any("Now serving" in line for line in script.everything)
    alice.send(".queue")
    alice.expect(ahead_of_you(0))
    assert not any(YOUR_TURN in line for line in alice.everything)


def test_one_desk_client_per_data_directory_and_one_operator_per_name(world: DeskWorld) -> None:
    """Two `ChatApp -d` on one data directory shared the held-place files, and each could
    take back the other's place; two operators of one name took turns at the desk. The
    second start is refused with one line naming the first, which goes on."""
    shared = str(world.tmp / "state" / "shared")
    args = world.chatapp("-d", "127.0.0.1", str(world.port))
    first = world.start(args, "first", CHATAPP_DATA_DIR=shared)
    first.send("Alice", PHONES["Alice"], "2")
    first.expect(place(1))
    second = world.start(args, "second", CHATAPP_DATA_DIR=shared)
    second.expect(
        r"^>>> \[Another help desk client is already running with the data directory "
        rf"{re.escape(shared)} \(pid {first.popen.pid}\); the two would share the places they "
        r"hold\. Quit it first, or give this one a directory of its own with --data-dir\.\]$"
    )
    assert second.wait() == 1
    assert not any("Traceback" in line for line in second.everything)

    ann = world.operator("ann")
    ann.expect(r"Now serving Alice")
    first.expect(f"{YOUR_TURN} ann")
    ann2 = world.operator("ANN")  # names are one ignoring case
    ann2.expect(r"^>>> \[An operator client for ANN is already running with the data directory ")
    assert ann2.wait() == 1
    bo = world.operator("bo")  # another name goes on duty
    bo.expect(r"On duty as bo")
    to_new_person(ann, "Alice", "still here")
    first.expect(r"^>>> ann: still here$")  # the first ones were left alone

    first.send(".quit")
    assert first.wait() == 0
    again = world.start(args, "again", CHATAPP_DATA_DIR=shared)  # the lock went with it
    again.send("Alice", PHONES["Alice"], "2")
    again.expect(rf"{place(1)}|{YOUR_TURN}")


@pytest.mark.parametrize("how", ["killed", "quit"])
def test_a_resumed_desk_hands_nobody_to_an_operator_that_left_while_it_was_stopped(
    world: DeskWorld, how: str
) -> None:
    """Found by trying it: a desk stopped with SIGSTOP while an operator and the person it
    served left (killed, or `.quit` on both sides) read both once it ran again, one at a
    time; the first (the person's) freed the operator, and Carol, waiting, was handed to an
    operator just as gone, whose end (or `.quit`) had not been read yet. What was read
    together is dealt with together (docs/DESK.md, "Connections that end together")."""
    ann = world.operator("ann")
    ann.expect(r"On duty as ann")
    dan = world.person("Dan", PHONES["Dan"], 2)
    dan.expect(f"{YOUR_TURN} ann")
    ann.expect(r"Now serving Dan")
    carol = world.person("Carol", PHONES["Carol"], 2)
    carol.expect(rf"{place(1)}, you are next")
    world.server.popen.send_signal(signal.SIGSTOP)
    try:
        if how == "killed":
            dan.kill()  # the person's end first: it is the first the desk reads
            ann.kill()
        else:
            dan.send(".quit")
            ann.send(".quit")
            dan.wait()  # each gives up waiting for the answer (LEAVE_TIMEOUT), and exits
            ann.wait()
    finally:
        world.server.popen.send_signal(signal.SIGCONT)
    world.server.expect(r"operator ann (connection lost|went off duty)")
    # told once, and true: figures from halfway through the batch would still count ann
    carol.expect(r"No operator for your topic is on duty any more; you keep your place")
    if how == "killed":  # Dan's place is held at the front, as for any connection lost
        carol.expect(rf"{now_at(2)} \(estimated wait: unknown until an")
    carol.send(".queue")
    carol.expect(rf"\[{ahead_of_you(1 if how == 'killed' else 0)}")
    assert not any("ann serves Carol" in line for line in world.server.everything)
    assert not any("your turn" in line for line in carol.everything)


def test_a_busy_operator_is_not_told_of_someone_another_operator_took(world: DeskWorld) -> None:
    ann = world.operator("ann")
    ann.expect(r"On duty as ann, serving all topics")
    zed = world.person("Zed", "+1 999 888 7777", 2)
    ann.expect(r"Now serving Zed")
    zed.expect(f"{YOUR_TURN} ann")
    bea = world.operator("bea")
    bea.expect(r"On duty as bea, serving all topics; 0 waiting")
    lee = world.person("Lee Chan", "+1 555 000 0300", 6)
    bea.expect(r"Now serving Lee Chan")
    lee.expect(f"{YOUR_TURN} bea")
    ann.send(".room")
    ann.expect(r"The waiting room is empty")  # ann's output up to now has been read
    assert not any("Lee Chan" in line for line in ann.everything)
