"""registry/adapter/desk/console_topics.py: what the registry's console serves, kept across a
restart; a file the registry could not have written means every topic, said in one line."""

from __future__ import annotations

from pathlib import Path

from registry.adapter.desk.console_topics import CONSOLE_TOPICS_FILE, ConsoleTopics
from wire.desk.text import ALL_TOPICS


def test_kept_topics_round_trip_and_every_topic_is_no_file(tmp_path: Path) -> None:
    kept = ConsoleTopics(tmp_path)
    assert kept.load() == (ALL_TOPICS, "")
    assert kept.save((3, 1)) == ""
    assert kept.load() == ((1, 3), "")
    assert kept.save(ALL_TOPICS) == ""
    assert not (tmp_path / CONSOLE_TOPICS_FILE).exists()


def test_a_damaged_file_means_every_topic_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / CONSOLE_TOPICS_FILE
    for damage, why in (
        ('{"topics": [NaN]}', "it is not JSON"),
        ('{"topics": [1, Infinity]}', "it is not JSON"),
        ("[" * 100_000, "it is not JSON"),
        ('{"topics": [1.0]}', "it holds no list of topics"),
        ('{"topics": [true]}', "it holds no list of topics"),
    ):
        path.write_text(damage)
        assert ConsoleTopics(tmp_path).load() == (
            ALL_TOPICS,
            f"desk: could not read {path} ({why}); the console serves every topic",
        )
