"""What operators are told of the waiting room is true when it arrives: a notice names only
people still waiting once the desk has handed over everyone it could.

The adapter holds hand-overs for a few turns of its event loop whenever a message that may
hand someone over is read (a join included: `registry.core.desk.queue.HANDS_OVER`), so these
tests hold and release the core as it does.
"""

from __future__ import annotations

from desk_harness import Desk

from registry.core.desk.limits import RESTART_SETTLE
from wire.desk.messages import DeskNotice, DeskServed, DeskSession

LEE = "+1 555 000 0300"


def notices(desk: Desk, conn: str) -> list[str]:
    return [m.text for m in desk.of(conn, DeskNotice)]


def ann_busy_bea_free() -> Desk:
    """Two operators serving every topic: ann busy with Zed, bea free."""
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("z", "Zed", phone="+1 999 888 7777")
    desk.operator("bea", "bea")
    assert desk.last("ann", DeskSession).name == "Zed"
    assert not desk.of("bea", DeskSession)
    return desk


def join_as_the_desk_reads_it(desk: Desk, conn: str, name: str, **options: object) -> None:
    """A join carried out as the adapter does: hand-overs held, then released."""
    desk.queue.state.holding = True
    desk.join(conn, name, **options)  # type: ignore[arg-type]
    desk.apply(desk.queue.end_hold(desk.now))


def test_a_busy_operator_is_not_told_of_someone_a_free_one_takes() -> None:
    desk = ann_busy_bea_free()
    join_as_the_desk_reads_it(desk, "lee", "Lee Chan", phone=LEE, topic=6)
    assert desk.last("bea", DeskSession).name == "Lee Chan"
    assert desk.of("lee", DeskServed)
    assert not [text for text in notices(desk, "ann") if "Lee Chan" in text]


def test_a_busy_operator_is_told_of_someone_still_waiting_once_nobody_could_take_them() -> None:
    desk = ann_busy_bea_free()
    join_as_the_desk_reads_it(desk, "amy", "Amy", phone="+1 555 000 0301")
    assert desk.last("bea", DeskSession).name == "Amy"
    join_as_the_desk_reads_it(desk, "lee", "Lee Chan", phone=LEE, topic=6)
    said = "Lee Chan is waiting (6 Other); 1 waiting in all."
    assert notices(desk, "ann") == [said]
    assert notices(desk, "bea") == [said]


def test_nobody_is_told_of_a_newcomer_who_leaves_before_the_hand_overs() -> None:
    desk = ann_busy_bea_free()
    desk.serve("bea", (1,))  # bea takes nobody of topic 6
    desk.queue.state.holding = True
    desk.join("lee", "Lee Chan", phone=LEE, topic=6)
    desk.leave("lee")
    desk.apply(desk.queue.end_hold(desk.now))
    assert not [text for text in notices(desk, "ann") if "Lee Chan" in text]


def test_words_of_danger_in_a_description_alert_nobody_when_a_free_operator_takes_them() -> None:
    desk = ann_busy_bea_free()
    join_as_the_desk_reads_it(desk, "d", "Dora", topic=2, description="I want to die")
    session = desk.last("bea", DeskSession)
    assert session.name == "Dora" and session.crisis
    assert not [text for text in notices(desk, "ann") if "Dora" in text]


def test_words_of_danger_in_a_description_alert_the_busy_when_nobody_is_free() -> None:
    desk = ann_busy_bea_free()
    join_as_the_desk_reads_it(desk, "amy", "Amy", phone="+1 555 000 0301")
    join_as_the_desk_reads_it(desk, "d", "Dora", topic=2, description="I want to die")
    for operator in ("ann", "bea"):
        assert any(
            "Dora" in text and "may be in danger" in text for text in notices(desk, operator)
        )


def test_an_operator_coming_on_duty_is_not_alerted_of_the_person_it_is_given() -> None:
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("z", "Zed", phone="+1 999 888 7777")
    desk.join("d", "Dora", topic=2, description="I want to die")  # waits: ann is busy
    desk.queue.state.holding = True  # as the adapter does on reading a DeskOperator
    desk.operator("bea", "bea")
    desk.apply(desk.queue.end_hold(desk.now))
    assert desk.last("bea", DeskSession).name == "Dora"
    assert not [text for text in notices(desk, "bea") if "Dora" in text]


def test_an_operator_coming_on_duty_is_alerted_of_those_in_danger_it_is_not_given() -> None:
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("z", "Zed", phone="+1 999 888 7777")
    desk.join("a", "Amy", phone="+1 555 000 0301")
    desk.join("d", "Dora", topic=2, description="I want to die")
    desk.queue.state.holding = True
    desk.operator("bea", "bea")
    desk.apply(desk.queue.end_hold(desk.now))
    assert desk.last("bea", DeskSession).name == "Amy"  # the first in line
    assert any("Dora" in text and "may be in danger" in text for text in notices(desk, "bea"))


def test_just_after_a_restart_an_alert_waits_for_the_hand_overs_too() -> None:
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("z", "Zed", phone="+1 999 888 7777")
    kept = desk.kept
    assert kept  # Zed's place, kept for ann
    again = Desk()
    again.restore(list(kept), again.now)
    again.operator("ann", "ann")  # kept for Zed: takes nobody else
    again.operator("bea", "bea")
    again.join("d", "Dora", topic=2, description="I want to die")
    assert not again.of("bea", DeskSession)  # nobody is handed over while the desk settles
    again.advance(RESTART_SETTLE)
    assert again.last("bea", DeskSession).name == "Dora"
    for operator in ("ann", "bea"):
        assert not [text for text in notices(again, operator) if "Dora" in text]
