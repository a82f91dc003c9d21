"""Every line-based file of the registry and the peer keeps any text whole: a message holding
U+2028, U+2029, U+0085 or any other character some line splitter takes for a line break
(str.splitlines breaks at eight of them) is read back as written, never cut into pieces
moved aside as "not a message"."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from peer.adapter.start import load_outbox, sent_earlier
from peer.adapter.state import PeerStateFile
from peer.core.actions import Sending, Shown
from registry.adapter.store import FileStore, mail_line
from tests.hypothesis_profiles import examples
from wire.messages import ChannelPost, Chat, SaveMessage, StoredMessage

#: Characters that str.splitlines() breaks at, besides "\n" and "\r".
LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

#: Any text a message can hold (no lone surrogates: they cannot be encoded), with the line
#: breaks made frequent.
texts = st.text(
    st.one_of(
        st.sampled_from(LINE_BREAKS + "\n\r\t\0\\"),
        st.characters(exclude_categories=["Cs"]),
    ),
    max_size=40,
)
ids = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64)


@settings(max_examples=examples(60))
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=4))
@example([("line\u2028separator", "next\x85line"), ("para\u2029graph", "")])
def test_registry_mailboxes_keep_any_text(pairs: list[tuple[str, str]]) -> None:
    messages = [
        StoredMessage(f"id-{i}", "alice", text, stamp, "direct")
        for i, (text, stamp) in enumerate(pairs)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = FileStore(Path(tmp))
        for message in messages:
            store.append_line("bob", mail_line(message))
        again = FileStore(Path(tmp))
        assert again.load_mail() == {"bob": messages}
        assert not list(Path(tmp).glob("mail/*.unreadable"))
        again.drop("bob", ("id-0",))  # a rewrite keeps the rest whole too
        again.move("bob", "robert")
        assert FileStore(Path(tmp)).load_mail().get("robert", []) == messages[1:]
        assert not list(Path(tmp).glob("mail/*.unreadable"))
        # and the file is one line per message to every reader, splitlines included
        box = Path(tmp) / "mail" / "robert.jsonl"
        if len(messages) > 1:
            assert len(box.read_text(encoding="utf-8").splitlines()) == len(messages) - 1


def test_a_mailbox_written_with_raw_line_separators_is_still_read_whole(tmp_path: Path) -> None:
    """Files written before the escaping: raw U+2028 inside a JSON string is valid JSON."""
    (tmp_path / "mail").mkdir()
    text = "one\u2028two\x85three"
    line = f'{{"id": "a", "sender": "x", "text": "{text}", "stamp": "s", "kind": "direct"}}'
    (tmp_path / "mail" / "bob.jsonl").write_text(line + "\n", encoding="utf-8")
    store = FileStore(tmp_path)
    assert store.load_mail() == {
        "bob": [StoredMessage("a", "x", "one\u2028two\x85three", "s", "direct")]
    }
    assert not list(tmp_path.glob("mail/*.unreadable"))


@settings(max_examples=examples(60))
@given(st.lists(texts, min_size=1, max_size=4))
def test_the_peers_outbox_keeps_any_text(bodies: list[str]) -> None:
    messages = tuple(
        m
        for i, text in enumerate(bodies)
        for m in (
            SaveMessage(f"s-{i}", "alice", "tok", "bob", text),
            ChannelPost(f"c-{i}", "alice", "tok", text),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        kept = PeerStateFile(Path(tmp), "alice")
        kept.write_sending([Sending(m) for m in messages], messages)  # held
        kept.close()
        again = PeerStateFile(Path(tmp), "alice")
        assert tuple(load_outbox(again, "tok")) == messages
        assert again.problems == []


@settings(max_examples=examples(60))
@given(st.lists(texts, min_size=1, max_size=4))
def test_the_peers_sending_log_keeps_any_text(bodies: list[str]) -> None:
    messages = [Chat(f"m-{i}", "alice", "bob", text) for i, text in enumerate(bodies)]
    with tempfile.TemporaryDirectory() as tmp:
        kept = PeerStateFile(Path(tmp), "alice")
        kept.write_sending(list(messages), messages)
        kept.close()
        assert sent_earlier(PeerStateFile(Path(tmp), "alice")) == (messages, [])


@settings(max_examples=examples(60))
@given(st.lists(st.tuples(ids, ids), min_size=1, max_size=5))
@example([("bob", "a\tb\nc"), ("bob", "x\\ny"), ("carol", "\0")])
@example([("bob", "m-1"), ("carol", "m\r2"), ("dave", "m-3")])
def test_the_peers_shown_ids_keep_any_sender_and_id(shown: list[tuple[str, str]]) -> None:
    """A hostile sender or id (a tab, a newline, a NUL, a backslash) is kept whole, so the
    message is not shown again after a restart: alone, or among a datagram's others."""
    with tempfile.TemporaryDirectory() as tmp:
        kept = PeerStateFile(Path(tmp), "alice")
        kept.add_shown(Shown((shown[0],)))
        kept.add_shown(Shown(tuple(shown[1:])))
        kept.close()
        assert PeerStateFile(Path(tmp), "alice").load_seen() == shown
