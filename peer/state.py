"""Where ChatApp keeps its files and how it writes them durably, and the peer's own kept
state: its registration token, the ids of the messages it has shown, its outbox, and the
room it is in."""

from __future__ import annotations

import contextlib
import json
import mmap
import os
from pathlib import Path

from wire.codec import decode, encode
from wire.errors import DecodeError
from wire.messages import Message
from wire.names import name_key, name_problem

#: Environment variable that overrides every default data directory.
DATA_DIR_ENV = "CHATAPP_DATA_DIR"


def default_dir(kind: str) -> Path:
    """The per-user directory for `kind` ("registry" or "peer"), unless overridden.

    Order: $CHATAPP_DATA_DIR; else $XDG_DATA_HOME/chatapp/<kind> for the registry and
    $XDG_STATE_HOME/chatapp/<kind> for a peer; else the same under ~/.local/share or state.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if kind == "registry":
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "chatapp" / kind


#: Shown message ids kept between runs; older ones are forgotten when the file is compacted.
KEEP_SEEN = 20_000
#: Bytes the shown-ids file grows by (it is NUL-padded to a whole number of them).
SEEN_CHUNK = 64 * 1024


def _chunks(size: int) -> int:
    """`size` rounded up to whole SEEN_CHUNKs, and at least one."""
    return max(1, -(-size // SEEN_CHUNK)) * SEEN_CHUNK


def _complete_records(data: bytes) -> bytes:
    """The shown-ids file up to the end of its last complete record: without the NUL
    padding, and without a record cut short by a kill (one that lacks its newline; one cut
    short with its newline written has NULs where bytes are missing, and is skipped)."""
    return data[: data.rstrip(b"\0").rfind(b"\n") + 1]


class PeerStateFile:
    """What a peer keeps between runs: the token that proves it owns its name (DESIGN.md
    section 7), and the ids of the messages it has shown, so it never shows one twice."""

    def __init__(self, root: Path, name: str) -> None:
        self.path = root / "peers" / f"{name_key(name)}.json"
        self.seen_path = root / "peers" / f"{name_key(name)}.seen"
        self.outbox_path = root / "peers" / f"{name_key(name)}.outbox"
        self.room_path = root / "peers" / f"{name_key(name)}.room"
        self._seen_lines = 0
        self._seen_map: mmap.mmap | None = None
        self._seen_end = 0  # where the next shown record goes in the map
        #: What the loads found wrong with the files, one line each for the user.
        self.problems: list[str] = []

    def load_token(self) -> str:
        """The kept token, or "" when there is none or the file cannot be read (said in
        `problems`: the registry will then take the name only with its password)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ""
        except (OSError, ValueError) as exc:
            return self._token_problem(_why(exc))
        if self._renamed_to(data):
            return ""  # a name given up by a rename: no longer ours
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            return self._token_problem("it holds no token")
        return token

    def _token_problem(self, why: str) -> str:
        self.problems.append(
            f"Could not read your token file {self.path} ({why}); starting without it."
        )
        return ""

    def renamed_to(self) -> str:
        """The name this one was renamed to (see `save_renamed`), or ""."""
        try:
            return self._renamed_to(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return ""

    @staticmethod
    def _renamed_to(data: object) -> str:
        if not isinstance(data, dict) or "token" in data:
            return ""
        new = data.get("renamed_to")
        return new if isinstance(new, str) and new else ""

    def save_renamed(self, new_name: str) -> None:
        """In place of the token: the name was given up by a rename to `new_name`, so that a
        start under the old name can find the new one (see `follow_renames`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.path, json.dumps({"renamed_to": new_name}).encode())

    def save_token(self, token: str) -> None:
        """Keep `token`, readable only by this user, replacing the file atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.path, json.dumps({"token": token}).encode())

    def load_seen(self) -> list[tuple[str, str]]:
        """The (sender, id) pairs shown in earlier runs, oldest first; [] if none, or if the
        file cannot be read (said in `problems`)."""
        try:
            data = self.seen_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problems.append(
                f"Could not read {self.seen_path} ({_why(exc)}): a message shown before this "
                "start may be shown again."
            )
            return []
        pairs = []
        text = _complete_records(data).decode("utf-8", errors="replace")
        for line in text.splitlines()[-KEEP_SEEN:]:
            sender, tab, msg_id = line.partition("\t")
            if tab and "\0" not in line:
                pairs.append((sender, msg_id))
        self._seen_lines = len(pairs)
        return pairs

    def add_seen(self, shown: list[tuple[str, str]]) -> None:
        """Record shown messages, (sender, id) each, in one go. Raises OSError.

        The file is written through a shared memory map: what is stored in it is in the
        kernel's page cache at once, so a killed process keeps it just as it keeps a
        write(2), for a fraction of the cost (this runs before every direct message is
        acked). No fsync: this guards against process crashes, the common case. The file is
        NUL-padded to whole chunks; a record that a kill cut short was never acked, and is
        dropped when the file is next read (see `_complete_records`)."""
        data = "".join(f"{sender}\t{msg_id}\n" for sender, msg_id in shown).encode()
        start = self._seen_end
        end = start + len(data)
        if self._seen_map is None or end > len(self._seen_map):
            start = self._map_seen(len(data))
            end = start + len(data)
        assert self._seen_map is not None
        self._seen_map[start:end] = data
        self._seen_end = end
        self._seen_lines += len(shown)
        if self._seen_lines > 2 * KEEP_SEEN:
            self.close()
            kept = self.load_seen()
            replace_durably(self.seen_path, "".join(f"{s}\t{i}\n" for s, i in kept).encode())

    def _map_seen(self, room: int) -> int:
        """Map the shown-ids file, grown to hold `room` more bytes after its records;
        return where the next record goes."""
        if self._seen_map is not None:
            self._seen_map.resize(_chunks(self._seen_end + room))
            return self._seen_end
        self.seen_path.parent.mkdir(parents=True, exist_ok=True)
        # who talked to whom: readable by this user only, like the other state files (a
        # file from an earlier version, made 0644, is made private too)
        fd = os.open(self.seen_path, os.O_RDWR | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "r+b") as file:
            file.seek(0)
            old = file.read()
            end = len(_complete_records(old))
            if end < len(old):  # NUL padding, or a record cut short: cleared for new ones
                file.truncate(end)
            file.truncate(_chunks(end + room))  # grows it with NULs
            self._seen_map = mmap.mmap(file.fileno(), 0)
        self._seen_end = end
        return end

    def close(self) -> None:
        """Close the shown-ids file if it is open (after a rename, say)."""
        if self._seen_map is not None:
            self._seen_map.close()
            self._seen_map = None

    def load_outbox(self) -> list[Message]:
        """The messages an earlier run kept to send. Lines that are not messages (damage,
        or another version's) are moved to `<outbox>.unreadable` first, durably, and the
        outbox rewritten without them; that, and an outbox that cannot be read at all, is
        said in `problems`. Nothing kept is ever dropped in silence."""
        try:
            lines = self.outbox_path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problems.append(
                f"Could not read your outbox {self.outbox_path} ({_why(exc)}); what it holds "
                "was not sent."
            )
            return []
        messages: list[Message] = []
        good: list[bytes] = []
        bad: list[bytes] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                messages.append(decode(line))
                good.append(line + b"\n")
            except DecodeError:
                bad.append(line + b"\n")
        if bad:
            aside = self.outbox_path.with_name(self.outbox_path.name + ".unreadable")
            try:
                append_durably(aside, b"".join(bad))
                replace_durably(self.outbox_path, b"".join(good))
            except OSError as exc:
                self.problems.append(
                    f"Could not set aside what your outbox {self.outbox_path} holds that is not "
                    f"a message ({_why(exc)}); it stays there."
                )
                return messages
            some = "1 line" if len(bad) == 1 else f"{len(bad)} lines"
            self.problems.append(
                f"{some} of your outbox could not be read (damaged, or from another version "
                f"of ChatApp) and did not go out; kept in {aside}."
            )
        return messages

    def load_room(self) -> str:
        """The room the last run was in, or "" when none (or the file cannot be read or
        holds no room name, said in `problems`: the peer then starts in no room)."""
        try:
            room = self.room_path.read_text(encoding="utf-8").strip()
            if name_problem(room):
                raise ValueError(room)
        except FileNotFoundError:
            return ""
        except (OSError, ValueError) as exc:
            self.problems.append(
                f"Could not read {self.room_path} ({_why(exc)}); starting in no room."
            )
            return ""
        return room

    def save_room(self, room: str) -> None:
        """Keep `room` ("" for none) as the room to go back to at the next start. Raises
        OSError."""
        if not room:
            with contextlib.suppress(FileNotFoundError):
                self.room_path.unlink()
            return
        self.room_path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.room_path, room.encode())

    def save_outbox(self, messages: tuple[Message, ...]) -> None:
        """Replace the kept outbox atomically and durably (it holds unsent messages)."""
        if not messages:
            with contextlib.suppress(FileNotFoundError):
                self.outbox_path.unlink()
            return
        self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.outbox_path, b"".join(encode(m) + b"\n" for m in messages))


#: Renames followed at start, at most (a chain of renames; a loop cannot last longer).
MAX_RENAMES_FOLLOWED = 8


def follow_renames(root: Path, name: str) -> str:
    """The name to start as for `-c <name>`: `name`, or, when this user renamed it, the
    name it was renamed to (following further renames) whose token is kept here. A start
    under the old name by habit then takes back the new name and its mailbox, rather than
    register the old one afresh as a second, empty account."""
    current = name
    for _ in range(MAX_RENAMES_FOLLOWED):
        new = PeerStateFile(root, current).renamed_to()
        if not new or name_key(new) == name_key(name):
            break
        current = new
    if current != name and PeerStateFile(root, current).load_token():
        return current
    return name


def replace_durably(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, atomically and durably (the file, then the directory
    entry of the rename), readable by this user only: ChatApp's files hold tokens, messages
    and phone numbers. Raises OSError."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def append_durably(path: Path, data: bytes) -> None:
    """Append `data` to `path` (made readable by this user only when new) and fsync it.
    Raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the entries of directory `path` (files made, renamed or removed) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def os_reason(exc: BaseException) -> str:
    """Why a file or socket operation failed, for a line the user reads: the system's
    wording without its errno number ("Permission denied: /x/y", "Connection reset by
    peer")."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _why(exc: OSError | ValueError) -> str:
    """A short reason for a file that could not be read."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "it is not what ChatApp writes there"
