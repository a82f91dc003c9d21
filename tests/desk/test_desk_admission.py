"""Nobody can lock the help desk: whatever one computer does (joins under any number of keys,
for any topic, dropping its connections so that its places are held), a person in danger
from elsewhere always gets in, and a held place goes back only to its token."""

from __future__ import annotations

from desk_harness import Desk
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core.desk.limits import DeskSettings, room_is_full
from registry.core.desk.persons import holder, source_refusal
from registry.core.desk.state import Person
from tests.hypothesis_profiles import examples
from wire.desk.messages import DeskQueued, DeskRefused

#: What the attacker does, once per step: join (under which key, for which topic, saying
#: words of crisis or not), then drop the connection or keep it.
attack = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 6), st.booleans(), st.booleans()),
    min_size=50,
    max_size=120,
)


@settings(max_examples=examples(25), deadline=None)
@given(
    steps=attack,
    topic=st.integers(1, 6),
    words=st.booleans(),
    source=st.sampled_from(["127.0.0.1", "192.168.1.66"]),  # loopback is no exception
)
def test_whatever_one_computer_does_a_person_in_danger_gets_in(
    steps: list[tuple[int, int, bool, bool]], topic: int, words: bool, source: str
) -> None:
    desk = Desk()
    desk.operator("op", "ann")
    desk.join("z", "Zed", phone="+1 999 888 7777")  # the operator is busy
    for index, (key, their_topic, crisis, drop) in enumerate(steps):
        conn = f"x{index}"
        desk.queue.opened(conn, source, f"key-{key}")
        description = "I want to kill myself" if crisis else ""
        desk.join(
            conn,
            f"X{index}",
            phone=f"+44 7700 9{index:05d}",
            topic=their_topic,
            description=description,
        )
        if drop and conn not in desk.closed:
            desk.drop(conn)
    if topic != 1 and not words:
        topic = 1  # someone who may be in danger: topic 1, or words of crisis
    desk.queue.opened("v", "192.168.1.9", "victim-key")
    desk.join(
        "v",
        "Vera",
        phone="+44 7700 955555",
        topic=topic,
        description="I can't go on, I want to die" if words else "",
    )
    assert not desk.of("v", DeskRefused)
    assert desk.last("v", DeskQueued)


def person(key: str = "", address: str = "", crisis: str = "", token: str = "t") -> Person:
    return Person(
        token, "P", "+447700900123", 2, "", 0.0, None, address=address, key=key, crisis=crisis
    )


LIMITS = DeskSettings(max_per_key=2, max_per_address=3, max_waiting=5, danger_room=2)


def test_the_address_counts_people_in_danger_apart() -> None:
    people = [person(key=f"k{i}", address="10.0.0.1") for i in range(3)]
    assert source_refusal(people, key="k9", address="10.0.0.1", in_danger=False, limits=LIMITS)
    assert not source_refusal(people, key="k9", address="10.0.0.1", in_danger=True, limits=LIMITS)
    people += [person(key=f"d{i}", address="10.0.0.1", crisis="topic") for i in range(3)]
    refusal = source_refusal(people, key="k9", address="10.0.0.1", in_danger=True, limits=LIMITS)
    assert refusal is not None and "places of people who may be in danger" in refusal[0]


def test_the_room_for_people_in_danger_is_beyond_the_room() -> None:
    assert room_is_full(5, in_danger=False, limits=LIMITS)
    assert not room_is_full(6, in_danger=True, limits=LIMITS)
    assert room_is_full(7, in_danger=True, limits=LIMITS)


def test_a_token_is_found_only_whole() -> None:
    alice = person(token="s3cret-token")
    tokens = [person(token="other"), alice]
    assert holder(tokens, "s3cret-token") is alice
    for wrong in ("", "s3cret-toke", "s3cret-tokenx", "S3cret-token", "s3cret-tokén"):
        assert holder(tokens, wrong) is None
