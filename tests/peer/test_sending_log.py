"""The sending log: what a peer sent and has not seen delivered, kept through a kill."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from peer.adapter import state
from peer.adapter.start import load_outbox, sent_earlier
from peer.adapter.state import PeerStateFile
from peer.core.actions import Sending
from wire.codec import encode
from wire.messages import ChannelPost, Chat, Message, RoomPost, SaveMessage

CHATS = [Chat(f"s-{i}", "alice", "bob", f"hello {i}") for i in range(1, 6)]


class Kept:
    """A log and the record it follows, as the core keeps it (Settling.unsettled)."""

    def __init__(self, path: Path) -> None:
        self.unsettled: dict[str, Message] = {}
        self.at(path)

    def at(self, path: Path) -> None:
        """The log at `path`, <root>/peers/<name>.sending, the record kept."""
        self.state = PeerStateFile(path.parent.parent, path.stem)
        self.log, self.path = self.state.sending, path

    def sent(self, *messages: Message, durable: bool = False) -> None:
        self.unsettled.update((m.id, m) for m in messages)
        self.state.write_sending(
            [Sending(m) if durable else m for m in messages], self.unsettled.values()
        )

    def settled(self, *ids: str) -> None:
        for msg_id in ids:
            self.unsettled.pop(msg_id, None)
        self.state.write_sending(list(ids), self.unsettled.values())


def earlier(path: Path) -> tuple[list[Message], list[bytes]]:
    """What the log at `path` gives a restarted peer."""
    return sent_earlier(PeerStateFile(path.parent.parent, path.stem))


def test_what_is_settled_is_not_there_after_a_restart(tmp_path: Path) -> None:
    kept = Kept(tmp_path / "peers" / "a.sending")
    kept.sent(*CHATS[:3])
    kept.settled("s-2")
    kept.log.close()
    assert earlier(kept.path) == ([CHATS[0], CHATS[2]], [])


def test_the_log_is_emptied_whenever_nothing_is_open(tmp_path: Path) -> None:
    kept = Kept(tmp_path / "peers" / "a.sending")
    for chat in CHATS:  # one at a time, as a person types
        kept.sent(chat)
        kept.settled(chat.id)
    assert kept.path.read_bytes().strip(b"\0") == b""
    assert earlier(kept.path) == ([], [])


def test_every_kind_the_core_keeps_round_trips(tmp_path: Path) -> None:
    kept = Kept(tmp_path / "peers" / "a.sending")
    post = ChannelPost("s-7", "alice", "tok", "to all\nwith a newline")
    said = RoomPost("s-8", "alice", "tok", "lobby", "in the room \u2028 é")
    kept.sent(CHATS[0], post, said)
    assert earlier(kept.path) == ([CHATS[0], post, said], [])


def test_a_log_that_grows_while_messages_stay_open_is_compacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "COMPACT_AT", 2000)
    kept = Kept(tmp_path / "peers" / "a.sending")
    kept.sent(CHATS[0])  # open the whole time: the log is never empty
    for i in range(200):
        chat = Chat(f"t-{i}", "alice", "bob", "x" * 40)
        kept.sent(chat)
        kept.settled(chat.id)
    assert len(kept.path.read_bytes().rstrip(b"\0")) < 4000  # 200 records would be 20 KB
    assert earlier(kept.path) == ([CHATS[0]], [])


def test_a_start_rewrites_the_log_with_only_what_is_open(tmp_path: Path) -> None:
    posts = [ChannelPost(f"p-{i}", "alice", "tok", f"to all {i}") for i in (1, 2)]
    kept = Kept(tmp_path / "peers" / "a.sending")
    kept.sent(*posts)
    kept.settled("p-1")
    kept.log.close()
    again = Kept(kept.path)
    again.unsettled = {m.id: m for m in load_outbox(again.state, "tok")}
    assert list(again.unsettled.values()) == [posts[1]]
    assert kept.path.read_bytes() == b"+" + encode(posts[1]) + b"\n"  # only the open one
    again.sent(CHATS[2])
    assert earlier(kept.path) == ([posts[1], CHATS[2]], [])


def test_records_moved_with_the_file_stay_open(tmp_path: Path) -> None:
    # a rename moves the file; the log at the new path still settles what was open
    kept = Kept(tmp_path / "peers" / "a.sending")
    kept.sent(*CHATS[:2])
    kept.log.close()
    os.replace(kept.path, tmp_path / "peers" / "b.sending")
    kept.at(tmp_path / "peers" / "b.sending")
    kept.settled("s-1")  # before anything else is sent under the new name
    kept.sent(CHATS[2])
    assert earlier(kept.path) == ([CHATS[1], CHATS[2]], [])
    kept.settled("s-2", "s-3")
    assert kept.path.read_bytes().strip(b"\0") == b""  # nothing open: cleared


def test_a_log_moved_by_a_rename_is_cleared_by_its_first_settle(tmp_path: Path) -> None:
    kept = Kept(tmp_path / "peers" / "a.sending")
    kept.sent(CHATS[0])
    kept.log.close()
    os.replace(kept.path, tmp_path / "peers" / "b.sending")
    kept.at(tmp_path / "peers" / "b.sending")
    kept.settled("s-1")  # nothing was written to it under the new name yet
    assert earlier(kept.path) == ([], [])


def test_a_record_that_is_not_a_message_is_given_back_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "peers" / "a.sending"
    path.parent.mkdir()
    good = b"+" + encode(CHATS[0]) + b"\n"
    path.write_bytes(good + b'+{"t": "Nonsense"}\n?what\n-s-9\n' + bytes(10))
    messages, unreadable = earlier(path)
    assert messages == [CHATS[0]]
    assert unreadable == [b'+{"t": "Nonsense"}\n', b"?what\n"]


def test_what_was_sent_survives_a_killed_process(tmp_path: Path) -> None:
    # no close, no flush, no exit handlers: what was kept is the kernel's already
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from peer.adapter.state import PeerStateFile\n"
        "from wire.messages import Chat\n"
        "log = PeerStateFile(Path(sys.argv[1]), 'a')\n"
        "chats = [Chat(f's-{i}', 'alice', 'bob', f'hello {i}') for i in (1, 2)]\n"
        "log.write_sending(chats, chats)\n"
        "log.write_sending(['s-1'], chats[1:])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "peers" / "a.sending"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=root, timeout=30)
    assert done.returncode == -signal.SIGKILL
    assert earlier(path) == ([CHATS[1]], [])


def test_a_message_kept_durably_takes_the_place_of_its_first_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(state, "fsync_dir", synced.append)
    kept = Kept(tmp_path / "peers" / "a.sending")
    kept.sent(*CHATS[:2])
    assert synced == []  # a kill keeps them already: no write to disk
    save = SaveMessage("s-1", "alice", "tok", "bob", "hello 1")
    kept.sent(save, durable=True)
    assert synced == [tmp_path / "peers"]
    assert earlier(kept.path) == ([save, CHATS[1]], [])
