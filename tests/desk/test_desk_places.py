"""registry/adapter/desk/files.py: the waiting room kept on disk across a registry that stopped."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from msgspec.structs import replace

from registry.adapter.desk.files import PLACES_FILE, load_places, save_places
from registry.adapter.store import FileStore
from registry.core.credentials import token_matches
from registry.core.desk.actions import KeptPlace
from wire.desk.text import MAX_SAID_LINES

#: The fields every kept place has, in the order they are written.
FIELDS = ("token", "name", "phone", "topic", "description", "address", "joined_at")

PLACES = (
    KeptPlace(
        "t1", "王小明", "+447700900123", 1, "", "10.0.0.7", 100.0, "ann", back=True, served=12.5
    ),
    KeptPlace(
        "t2",
        "Bob",
        "01512345678",
        3,
        "maths, chapter 2",
        "",
        130.5,
        "bo",
        serving_since=150.0,
        crisis="waiting",
        said=("I want to die", "please, I am suicidal"),
    ),
)


def places_in(root: Path, offset: float = 0.0) -> tuple[list[KeptPlace], str]:
    """The places kept in `root`, as a run sees them whose time of day is its clock's plus
    `offset`."""
    return load_places(FileStore(root), offset)


def test_places_round_trip_across_clocks_and_the_file_is_private(tmp_path: Path) -> None:
    save_places(FileStore(tmp_path), PLACES, 1_700_000_000.0 - 200.0)
    path = tmp_path / PLACES_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # phone numbers in it
    # the next run: its monotonic clock starts again, an hour of the day later
    loaded, problem = places_in(tmp_path, 1_700_003_600.0 - 5.0)
    assert problem == ""

    def timeless(place: KeptPlace) -> KeptPlace:
        return replace(place, joined=0, serving_since=place.serving_since and 0, token="")

    assert [timeless(p) for p in loaded] == [timeless(p) for p in PLACES]
    # each token kept as its hash alone: the file gives nobody a place
    assert all(token_matches(p.token, q.token) for p, q in zip(PLACES, loaded, strict=True))
    kept = [entry["token"] for entry in json.loads(path.read_text())["places"]]
    assert all(token.startswith("sha256:") for token in kept) and len(kept) == len(PLACES)
    # waited 100 s before the stop, and the hour since: 3700 s
    assert 5.0 - loaded[0].joined == 3700.0
    assert 5.0 - loaded[1].joined == 3669.5
    assert loaded[0].serving_since is None
    assert 5.0 - (loaded[1].serving_since or 0) == 3650.0  # in a session for 50 s, and the hour


def test_no_places_is_no_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    assert load_places(store, 0.0) == ([], "")
    save_places(store, PLACES, 0.0)
    save_places(store, (), 0.0)
    assert not (tmp_path / PLACES_FILE).exists()
    save_places(store, (), 0.0)  # none kept already
    assert load_places(store, 0.0) == ([], "")


def test_a_damaged_file_is_set_aside_and_said(tmp_path: Path) -> None:
    path = tmp_path / PLACES_FILE
    for damage in (
        "{not json",
        json.dumps({"places": [{"token": "t"}]}),
        json.dumps({"places": "x"}),
        json.dumps([1]),
    ):
        path.write_text(damage)
        places, problem = places_in(tmp_path)
        assert places == []
        assert problem.startswith(f"desk: the kept waiting room {path} is damaged; moved to")
        assert (tmp_path / (PLACES_FILE + ".unreadable")).read_text() == damage
        assert not path.exists()


def test_a_file_kept_before_operators_were_kept_still_reads(tmp_path: Path) -> None:
    entry = {"token": "t", "name": "Bob", "phone": "01512345678", "topic": 3}
    entry |= {"description": "", "address": "", "joined_at": 10.0}
    (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [entry]}))
    [place], problem = places_in(tmp_path)
    assert problem == "" and place.operator == ""
    entry["operator"] = 7  # not a name
    (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [entry]}))
    assert places_in(tmp_path)[1].startswith("desk: the kept waiting room")


def test_a_file_that_cannot_be_read_is_said_and_left(tmp_path: Path) -> None:
    (tmp_path / PLACES_FILE).mkdir()
    places, problem = places_in(tmp_path)
    assert places == [] and "Is a directory" in problem
    assert (tmp_path / PLACES_FILE).is_dir()


def test_a_time_that_is_no_number_or_a_bad_topic_is_damage_said_in_one_line(
    tmp_path: Path,
) -> None:
    # found by trying it: Python's json reads NaN and Infinity, and a place joined at NaN
    # broke the order of the waiting room and every estimate
    path = tmp_path / PLACES_FILE
    good = json.loads(
        json.dumps(dict(zip(FIELDS, ("t", "Al", "+447700900123", 2, "", "", 5.0), strict=True)))
    )
    for joined_at, why in (
        ("NaN", "JSON is malformed: invalid character"),
        ("Infinity", "JSON is malformed: invalid character"),
        ("-Infinity", "JSON is malformed: invalid character"),
        ("1e999", "Number out of range - at `$.places[1].joined_at`"),
        ("1" + "0" * 400, "Number out of range - at `$.places[1].joined_at`"),
        ("true", "Expected `float`, got `bool` - at `$.places[1].joined_at`"),
        ('"5"', "Expected `float`, got `str` - at `$.places[1].joined_at`"),
    ):
        text = json.dumps({"places": [good, {**good, "token": "u", "joined_at": 0}]})
        path.write_text(text.replace('"joined_at": 0', f'"joined_at": {joined_at}'))
        places, problem = places_in(tmp_path)
        assert places == []
        assert problem.startswith(
            f"desk: the kept waiting room {path} is damaged; moved to "
            f"{PLACES_FILE}.unreadable, no place held ({why}"
        )
        assert "\n" not in problem and not path.exists()
    for field, value, why in (
        ("topic", 9, "place 1: topic 9 is not a topic"),
        ("topic", True, "Expected `int`, got `bool` - at `$.places[0].topic`"),
        ("phone", "call me", "place 1: the phone is not a number"),
    ):
        path.write_text(json.dumps({"places": [{**good, field: value}]}))
        assert places_in(tmp_path)[1].endswith(f"no place held ({why})")
    path.write_text("[" * 100_000)
    assert places_in(tmp_path)[1].endswith("no place held (Expected `object`, got `array`)")


def test_a_file_from_before_back_and_served_were_kept_is_read(tmp_path: Path) -> None:
    entry = dict(zip(FIELDS, ("t", "Al", "+447700900123", 2, "", "", 5.0), strict=True))
    (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [entry]}))
    places, problem = places_in(tmp_path)
    assert problem == ""
    assert places == [KeptPlace("t", "Al", "+447700900123", 2, "", "", 5.0, "", False, 0.0)]
    for field, value, why in (
        ("back", 1, "Expected `bool`, got `int` - at `$.places[0].back`"),
        ("served", -1, "Expected `float` >= 0.0 - at `$.places[0].served`"),
        ("served", "NaN", "Expected `float`, got `str` - at `$.places[0].served`"),
        ("later", 1, "Object contains unknown field `later` - at `$.places[0]`"),
    ):
        (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [{**entry, field: value}]}))
        assert places_in(tmp_path)[1].endswith(f"no place held ({why})")


def test_a_damaged_session_start_or_mark_is_damage(tmp_path: Path) -> None:
    entry = {"token": "t", "name": "Bob", "phone": "01512345678", "topic": 3}
    entry |= {"description": "", "address": "", "joined_at": 10.0}
    for key, value, why in (
        ("serving_at", "soon", "Expected `float | null`, got `str` - at `$.places[0].serving_at`"),
        ("crisis", "bored", "place 1: crisis is not a reason"),
        ("said", 3, "Expected `array`, got `int` - at `$.places[0].said`"),
        ("said", "I want to die", "Expected `array`, got `str` - at `$.places[0].said`"),
        ("said", ["ok", 3], "Expected `str`, got `int` - at `$.places[0].said[1]`"),
    ):
        (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [entry | {key: value}]}))
        places, problem = places_in(tmp_path)
        assert places == [] and problem.endswith(f"({why})")
    (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [entry | {"serving_at": None}]}))
    [place], problem = places_in(tmp_path)
    assert problem == "" and place.serving_since is None and place.crisis == ""
    # more lines than are kept: the earliest, within the bound
    many = [f"line {n}" for n in range(MAX_SAID_LINES + 5)]
    (tmp_path / PLACES_FILE).write_text(json.dumps({"places": [entry | {"said": many}]}))
    [place], problem = places_in(tmp_path)
    assert place.said == tuple(many[:MAX_SAID_LINES])
