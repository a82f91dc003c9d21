"""The peer's command language (docs/GUIDE.md): one typed line in, one command out.

Outside a room the bare words work as well as `/` commands. In a room plain text goes to
the room; only a `/` then a letter, first on the line, and the bare word `leave` are
commands (an indented `// comment` is text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from msgspec import Struct

from wire.limits import MAX_NAME
from wire.names import name_problem


class SendDirect(Struct, frozen=True):
    to: str
    text: str


class SendAll(Struct, frozen=True):
    text: str


class Who(Struct, frozen=True):
    long: bool = False


class JoinRoom(Struct, frozen=True):
    room: str


class RoomSay(Struct, frozen=True):
    text: str


class Dereg(Struct, frozen=True):
    name: str


class Reg(Struct, frozen=True):
    name: str


class Quit(Struct, frozen=True):
    farewell: str = ""


class Help(Struct, frozen=True):
    topic: str = ""


class ForServer(Struct, frozen=True):
    """`server:who` or `server:exit` typed in a room: addressed to the server, not to the
    people there, so it is not said; `instead` is the command that does it in a room."""

    instead: str


class FileCommand(Struct, frozen=True):
    """`/file`, `/accept`, `/reject`, `/files` or `/cancel` (`verb`) with what follows it,
    read by the file transfers (peer/core/files/typed.py)."""

    verb: str
    args: str


class ForPart(Struct, frozen=True):
    """A command a part takes whole: its `handler` ("part.method") is given `text` (what
    follows its word, stripped; `message`'s recipient)."""

    handler: str
    text: str = ""


class Mistake(Struct, frozen=True):
    """Not a command, or a command used wrongly: `message` tells the user what to type.
    `unknown`: a / then a word that names no command."""

    message: str
    unknown: bool = False


Command = (
    SendDirect
    | SendAll
    | Who
    | JoinRoom
    | RoomSay
    | Dereg
    | Reg
    | Quit
    | Help
    | ForServer
    | FileCommand
    | ForPart
    | Mistake
)


def help_lines(topic: str = "", *, in_room: bool = False) -> list[str]:
    """The /help text: every command, or only the one named by `topic`. In a room each
    is shown as it works there, with its / (a bare word there is said to the room)."""
    if topic:
        if (spec := _BY_WORD.get(topic.strip().lstrip("/").lower())) is None:
            return [f"[No command {topic!r}. /help lists them all.]"]
        if not (words := _words(spec, in_room)):
            return [f"[{spec.syntax} works outside a room only; here it is said to the room.]"]
        return [f"{_syntax(spec, in_room)}  ({', '.join(words)}): {spec.does}"]
    specs = [s for s in SPECS if _words(s, in_room)]
    width = max(len(_syntax(s, in_room)) for s in specs)
    return [
        "Commands (a leading / always works; bare words work outside a room):",
        *(f"  {_syntax(s, in_room).ljust(width)}  {s.does}" + _aliases(s, in_room) for s in specs),
        IN_A_ROOM,
    ]


def _words(spec: Spec, in_room: bool) -> list[str]:
    """The words that give `spec`, as typed where the user is. In a room that is only what
    works there, exactly as shown: each word with its / (a bare one is said to the room),
    bare `leave`, and the keys; not `<name>:<text>`, `server:who` or `server:exit`."""
    if not in_room:
        return list(spec.words)
    words: list[str] = []
    for word in spec.words:
        if word.startswith(("/", "Ctrl-")) or word == "leave":
            words.append(word)
        if word.isidentifier():  # a bare command word: it works with its /
            words.append("/" + word)
    return list(dict.fromkeys(words))


def _syntax(spec: Spec, in_room: bool) -> str:
    """How `spec` is typed: in a room, with its /."""
    if not in_room or spec.syntax[0] == "/":
        return spec.syntax
    return "/" + spec.syntax


def _aliases(spec: Spec, in_room: bool) -> str:
    first = _syntax(spec, in_room).split()[0]
    others = [w for w in _words(spec, in_room) if w != first]
    return f"  [also {', '.join(others)}]" if others else ""


def typed(command: str, *, in_room: bool) -> str:
    """`command` (its words, say "who" or "reg alice") as the user types it where they
    are: with its / in a room, where a bare word would be said to the room."""
    return f"/{command}" if in_room else command


def parse(line: str, *, in_room: bool = False) -> Command | None:
    """Parse one typed line; None for a blank one. A message's text keeps its leading
    spaces but the one after its command and name; trailing spaces are dropped."""
    line = line.rstrip()
    text = line.lstrip()
    if not text:
        return None
    if in_room:
        return _parse_in_room(line, text)
    slash = "/" if text.startswith("/") else ""
    # `said`: the rest as typed, for a message's text (no command word holds a colon:
    # `server:who` and `bob:hi` are read below)
    word, _, said = text[len(slash) :].partition(" ")
    word = word.lower()
    spell = SPELLS.get(word)
    if spell is not None:
        return spell(word, said, said.strip(), slash)
    if not slash:
        return _no_command_word(text)
    if not word:
        return Mistake("A lone / is no command. /help lists the commands.")
    return Mistake(f"Unknown command /{word[:40]}. /help lists the commands.", unknown=True)


def _parse_in_room(line: str, text: str) -> Command | None:
    """`line` typed in a room (`text`: stripped): said to the room, unless a / command."""
    # Only a / then a letter, at the very start, makes a command here: pasted code
    # keeps its indented `// comment` lines, `/* ... */` and `/1`, as said.
    if line.startswith("/") and (line[1:2].isalpha() or not line[1:].strip()):
        command = parse(line)
        if isinstance(command, Mistake) and command.unknown:
            return Mistake(
                command.message + " To say a line that starts with /, type a space first.",
                unknown=True,
            )
        return command
    if text.lower() == "leave":
        return _LEAVE
    server = _server_command(line)
    if server is not None:
        word, _, rest = server.partition(" ")
        return ForServer(" ".join(("/quit" if word == "exit" else "/who", rest)).rstrip())
    return RoomSay(line)


def _no_command_word(typed: str) -> Command:
    """`typed` (stripped) outside a room, which starts with no command word: `server:who`,
    `server:exit`, `name:text`, or a mistake."""
    server = _server_command(typed)
    if server is not None:
        word, _, rest = server.partition(" ")
        if word == "exit":
            return Quit(rest.strip())
        return _who("server:who", rest, rest.strip(), "")
    name, colon, rest = typed.partition(":")
    if colon and name_problem(name) is None:
        if not rest.strip():
            return Mistake(f"Nothing to send to {name}. Type {name}:<text>.")
        return SendDirect(name, rest.removeprefix(" "))
    clipped = repr(typed if len(typed) <= 40 else typed[:39] + "…")
    return Mistake(
        f"Not a command: {clipped}. To message someone: send <name> <text>; /help lists all."
    )


def _server_command(line: str) -> str | None:
    """For a line that is `server:who` or `server:exit` (any case), then maybe more after a
    space: the word ("who" or "exit") and what follows it; else None."""
    head, colon, rest = line.partition(":")
    if not colon or head.lower() != "server":
        return None
    word, space, more = rest.partition(" ")
    if word.lower() not in ("who", "exit"):
        return None
    return word.lower() + space + more


def spelled_as_command(text: str) -> bool:
    """Whether `text`, said in a room, is also a whole command outside one (`join other`,
    `who`): the user may have meant it as one, and is told how commands go in a room."""
    word, _, said = text.strip().partition(" ")
    spell = SPELLS.get(word.lower())
    return spell is not None and not isinstance(
        spell(word.lower(), said, said.strip(), ""), Mistake
    )


#: The reading of a command word (without its /): from the word (lower case), what follows
#: it as typed (`said`) and stripped (`rest`), and the / it was typed with ("" when bare, for
#: usages).
Read = Callable[[str, str, str, str], Command]


def _send(word: str, said: str, rest: str, slash: str) -> Command:
    """`send`, `dm` or `message`: a name, then the text (`message` asks for what is
    missing). The name ends at the first space, or at a colon after a valid name: `send
    bob: hi` mixes the two ways of messaging, and no name holds a colon: it means bob."""
    to, space, body = said.lstrip(" ").partition(" ")
    if ":" in to and name_problem(name := to.partition(":")[0]) is None:
        to, body = name, (to[len(name) + 1 :] + space + body).removeprefix(" ")
    if body.strip():
        return SendDirect(to, body)
    if word == "message":
        return ForPart("commands.ask_message", to)
    return Mistake(f"Usage: {slash}{word} <name> <text>")


def _who(word: str, said: str, rest: str, slash: str) -> Command:
    if rest not in ("", "-l"):
        return Mistake(f"Usage: {slash}{word} [-l]")
    return Who(long=rest == "-l")


def _word(make: Callable[[str], Command], usage: str) -> Read:
    """The reading of a command that takes one word, `usage` said without it."""

    def read(word: str, said: str, rest: str, slash: str) -> Command:
        if not rest or " " in rest:
            return Mistake(f"Usage: {slash}{word} {usage}")
        return make(rest)

    return read


def _text(make: Callable[[str], Command], usage: str) -> Read:
    """The reading of a command that takes text, as typed, `usage` said without it."""

    def read(word: str, said: str, rest: str, slash: str) -> Command:
        return make(said) if rest else Mistake(f"Usage: {slash}{word} {usage}")

    return read


def _bare(command: Command) -> Read:
    """The reading of a command that takes nothing: a word more is a slip, not to be guessed at."""

    def read(word: str, said: str, rest: str, slash: str) -> Command:
        return Mistake(f"Usage: {slash}{word} (it takes nothing more)") if rest else command

    return read


#: What a room name may hold (the name rules: wire/names.py), said with join's usage.
ROOM_RULE = (
    f"a room name is one word of 1 to {MAX_NAME} letters, digits, '_', '-' and '.', "
    "not starting with '.'"
)
_send_all = _text(SendAll, "<text>")
_whois = _word(lambda name: ForPart("commands.whois", name), "<name>")
_join = _word(JoinRoom, f"<room> ({ROOM_RULE})")
_LEAVE = ForPart("membership.leave")
_leave = _bare(_LEAVE)
_rooms = _bare(ForPart("commands.list_rooms"))
_me = _text(lambda said: ForPart("membership.me", said.lstrip()), "<action>")
_nick = _word(lambda new: ForPart("table_news.rename", new), "<new name>")
_dereg = _word(Dereg, "<your name>")
_reg = _word(Reg, "<your name>")


def _file(word: str, said: str, rest: str, slash: str) -> Command:
    return FileCommand("file" if word == "sendfile" else word, rest)


def _for(handler: str) -> Read:
    """The reading of a command a part takes whole (ForPart)."""

    def read(word: str, said: str, rest: str, slash: str) -> Command:
        return ForPart(handler, rest)

    return read


_topic, _shrug = _for("membership.topic"), _for("membership.shrug")
_away, _back = _for("commands.away_from"), _for("commands.back")


def _quit(word: str, said: str, rest: str, slash: str) -> Command:
    return Quit(rest)


def _help(word: str, said: str, rest: str, slash: str) -> Command:
    return Help(rest)


class Spec(Struct, frozen=True):
    """One command for /help: its words, syntax and what it does."""

    words: tuple[str, ...]
    syntax: str
    does: str
    #: None: no word of its own (`<name>:<text>`).
    read: Read | None = None


SPECS: tuple[Spec, ...] = (
    Spec(("send", "/send", "/dm"), "send <name> <text>", "message <name> directly", _send),
    Spec(("<name>:<text>",), "<name>:<text>", "the same, shorter"),
    Spec(
        ("message", "/message"),
        "message [<name>]",
        "asks for what is missing: the recipient, then the text",
        _send,
    ),
    Spec(("send_all", "/bm"), "send_all <text>", "message everyone on the channel", _send_all),
    Spec(
        ("who", "/who", "/users", "server:who"),
        "who [-l]",
        "every name, online or not; -l adds addresses",
        _who,
    ),
    Spec(
        ("whois", "/whois"),
        "whois <name>",
        "the fingerprint of <name>'s key, and yours, to compare aloud",
        _whois,
    ),
    Spec(("join", "/join"), "join <room>", "enter a room (made if new), leaving any other", _join),
    Spec(("leave", "/leave", "/out"), "leave", "leave the room you are in", _leave),
    Spec(("/me",), "/me <action>", "say an action in your room: * you <action>", _me),
    Spec(("/shrug",), "/shrug [text]", "say [text] ¯\\_(ツ)_/¯ in your room", _shrug),
    Spec(("rooms", "/rooms"), "rooms", "every room with its member count and topic", _rooms),
    Spec(("/topic",), "/topic [text]", "set your room's topic, or show it", _topic),
    Spec(("/nick", "/nickname", "/nicknames"), "/nick <new>", "change your name", _nick),
    Spec(("/away",), "/away [text]", "marked away in who until you type again", _away),
    Spec(("/back",), "/back", "no longer away", _back),
    Spec(("file", "/file", "sendfile"), "file <name> <path>", "offer a file to <name>", _file),
    Spec(("accept", "/accept"), "accept [number]", "take a file offered to you", _file),
    Spec(("reject", "/reject"), "reject [number]", "turn a file offered to you down", _file),
    Spec(("files", "/files"), "files", "every transfer and how far it is", _file),
    Spec(("cancel", "/cancel"), "cancel [number]", "stop a transfer, both sides", _file),
    Spec(
        ("dereg", "/dereg"),
        "dereg <your name>",
        "go offline; messages wait at the registry",
        _dereg,
    ),
    Spec(("reg", "/reg"), "reg <your name>", "come back online and get waiting messages", _reg),
    Spec(
        ("/quit", "server:exit", "exit", "Ctrl-D", "Ctrl-C"),
        "/quit [farewell]",
        "leave ChatApp, telling everyone",
        _quit,
    ),
    Spec(("/help", "help"), "/help [command]", "this list, or one command", _help),
)

#: The last line of /help: what changes inside a room.
IN_A_ROOM = "In a room, plain text goes to the room; commands need their / (only leave works bare)."

#: Each command word (without its /) and its reading: every word a command is typed with.
SPELLS: Final = {
    w.lstrip("/"): spec.read for spec in SPECS for w in spec.words if w.lstrip("/").isidentifier()
}
_BY_WORD = {word.lstrip("/").lower(): spec for spec in SPECS for word in spec.words}
#: Each file command's usage, by its verb (peer/core/files/typed.py).
FILE_USAGES = {s.words[0]: "/" + s.syntax for s in SPECS if s.read is _file}
