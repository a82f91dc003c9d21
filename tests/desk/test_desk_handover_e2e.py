"""A hand-over and a place taken back, end to end with real processes on loopback: what is
typed after a notice reaches who it names, and what was typed for the form never does."""

from __future__ import annotations

import pytest
from desk_procs import DeskWorld, place

from wire.desk.render import WELCOME_BACK, YOUR_TURN


@pytest.mark.timeout(60)
def test_a_piped_reply_after_the_hand_over_and_a_join_reaches_the_person(world: DeskWorld) -> None:
    # found by trying it: a piped operator handed Ann saw her first line, with someone
    # joining the waiting room meanwhile, replied at once, and was told the reply "came as
    # Ann Able was handed over to you"
    olga = world.operator("olga")
    olga.expect(r"On duty as olga, serving all topics")
    tom = world.start(
        world.chatapp("-d", "127.0.0.1", str(world.port)),
        "Tom Baker",
        CHATAPP_DATA_DIR=str(world.tmp / "state" / "tom"),
    )
    tom.send("Tom Baker", "07911 123456")
    tom.expect(r"Topic \(1-6\):")
    ann = world.person("Ann Able", "+44 7700 900123", 6)
    olga.expect(r"Now serving Ann Able")
    ann.expect(YOUR_TURN)
    tom.send("6")  # joins the waiting room just after the hand-over
    ann.send("hello operator")
    # both shown, in whichever order they came
    either = r"Tom Baker is waiting|Ann Able: hello operator"
    assert {olga.expect(either).group(0) for _ in range(2)} == {
        "Tom Baker is waiting",
        "Ann Able: hello operator",
    }
    olga.send("hello Ann", ".help")  # at once: the desk's answer to .help comes after
    olga.expect(r"Help-desk operator commands:")
    ann.expect(r"^>>> olga: hello Ann$")
    assert not any("Not sent" in line for line in olga.everything)


@pytest.mark.timeout(60)
def test_a_place_taken_back_says_its_topic_is_kept_and_a_topic_typed_is_not_chat(
    world: DeskWorld,
) -> None:
    # found by trying it: Tom took his place back, was not asked the topic, and the "5"
    # he typed for it reached the operator as `Tom Baker: 5`
    tom = world.person("Tom Baker", "07911 123456", 5)
    tom.expect(place(1))
    tom.kill()  # his client stops; his place is held
    olga = world.operator("olga")
    olga.expect(r"On duty as olga")
    again = world.person("Tom Baker", "07911 123456", 5)  # the 5 piped ahead, as typed
    again.expect(r"taking it back, with its topic, so the topic is not asked again")
    # The pipe's "5" is read by a thread: when it is read late (a loaded host), after the
    # form said it asks nothing more, it is refused as chat before service instead.
    again.expect(r"Not sent: “5” was typed for the form|not being served yet, so the line was not")
    kept = again.expect(rf"{WELCOME_BACK}|{YOUR_TURN}").string
    assert "Your topic is kept too: 5 Financial Suggestions" in kept
    again.expect(YOUR_TURN)
    again.send("hello")
    olga.expect(r"^>>> Tom Baker: hello$")
    assert not any("Tom Baker: 5" in line for line in olga.everything)
