"""The peer's command language (docs/GUIDE.md): one typed line in, one command out, read
by the table of commands (SPECS), one row a command.

Outside a room the bare words work as well as `/` commands. In a room plain text goes to
the room; only a `/` then a letter, first on the line, and the bare word `leave` are
commands (an indented `// comment` is text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from msgspec import Struct

from wire.limits import MAX_NAME
from wire.names import name_problem


class Command(Struct, frozen=True):
    """A line read: the method of a part that carries it out, "part.method" (a name of
    peer.core.received.Parts, then its method), given `args`, then `now` and the actions."""

    handler: str
    args: tuple[str, ...] = ()


#: The handlers of what no row of SPECS reads: a line said to the room, `server:who` or
#: `server:exit` typed in a room (given the command that does it there), and a mistake
#: (given what to tell the user).
SAY, FOR_SERVER, MISTAKE = "membership.say", "commands.for_server", "commands.mistake"


def mistake(message: str) -> Command:
    """Not a command, or a command used wrongly: `message` tells the user what to type."""
    return Command(MISTAKE, (message,))


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


def parse(line: str, *, in_room: bool = False) -> Command | None:
    """Parse one typed line; None for a blank one. A message's text keeps its leading
    spaces but the one after its command and name; trailing spaces are dropped."""
    line = line.rstrip()
    text = line.lstrip()
    if not text:
        return None
    # In a room only a / then a letter, at the very start, makes a command: pasted code
    # keeps its indented `// comment` lines, `/* ... */` and `/1`, as said.
    if in_room and not (line.startswith("/") and (line[1:2].isalpha() or not line[1:].strip())):
        return _said_in_room(line, text)
    slash = "/" if text.startswith("/") else ""
    # `said`: the rest as typed, for a message's text (no command word holds a colon:
    # `server:who` and `bob:hi` are read below)
    word, _, said = text[len(slash) :].partition(" ")
    word = word.lower()
    if (spec := SPELLS.get(word)) is not None:
        command = spec.read(spec, said, said.strip())
        return _usage(spec, word, slash) if command is None else command
    if not slash:
        return _no_command_word(text)
    if not word:
        return mistake("A lone / is no command. /help lists the commands.")
    unknown = f"Unknown command /{word[:40]}. /help lists the commands."
    if in_room:  # a line to say may start with / too
        unknown += " To say a line that starts with /, type a space first."
    return mistake(unknown)


def _usage(spec: Spec, word: str, slash: str) -> Command:
    """The mistake of what follows `word` (typed with `slash`) when it does not fit `spec`."""
    usage = spec.usage or spec.syntax.partition(" ")[2] or "(it takes nothing more)"
    return mistake(f"Usage: {slash}{word} {usage}")


def _said_in_room(line: str, text: str) -> Command:
    """`line` typed in a room (`text`: stripped), no / command: said to the room, unless it
    is bare `leave`, or `server:who` or `server:exit`, which are not said."""
    if text.lower() == "leave":
        return Command(LEAVE)
    if (server := _server_command(line)) is not None:
        word, rest = server
        return Command(FOR_SERVER, (f"{'/quit' if word == 'exit' else '/who'} {rest}".rstrip(),))
    return Command(SAY, (line,))


def _no_command_word(typed: str) -> Command:
    """`typed` (stripped) outside a room, which starts with no command word: `server:who`,
    `server:exit`, `name:text`, or a mistake."""
    if (server := _server_command(typed)) is not None:
        word, rest = server
        spec = SPELLS["exit" if word == "exit" else "who"]
        command = spec.read(spec, rest, rest.strip())
        return _usage(spec, f"server:{word}", "") if command is None else command
    name, colon, rest = typed.partition(":")
    if colon and name_problem(name) is None:
        if not rest.strip():
            return mistake(f"Nothing to send to {name}. Type {name}:<text>.")
        return Command(SEND, (name, rest.removeprefix(" ")))
    clipped = repr(typed if len(typed) <= 40 else typed[:39] + "…")
    return mistake(
        f"Not a command: {clipped}. To message someone: send <name> <text>; /help lists all."
    )


def _server_command(line: str) -> tuple[str, str] | None:
    """For a line that is `server:who` or `server:exit` (any case), then maybe more after a
    space: the word ("who" or "exit") and what follows it; else None."""
    head, colon, rest = line.partition(":")
    word, _, more = rest.partition(" ")
    if colon and head.lower() == "server" and word.lower() in ("who", "exit"):
        return word.lower(), more
    return None


def spelled_as_command(text: str) -> bool:
    """Whether `text`, said in a room, is also a whole command outside one (`join other`,
    `who`): the user may have meant it as one, and is told how commands go in a room."""
    word, _, said = text.strip().partition(" ")
    spec = SPELLS.get(word.lower())
    return spec is not None and spec.read(spec, said, said.strip()) is not None


#: How a row reads what follows its word, as typed (`said`) and stripped (`rest`): its
#: command, or None when that does not fit (its usage is said).
Read = Callable[["Spec", str, str], Command | None]


def _send(spec: Spec, said: str, rest: str) -> Command | None:
    """A name, then the text; a row of another handler (`message`) is given what is there
    of the name when the text is missing, to ask for the rest. The name ends at the first
    space, or at a colon after a valid name: `send bob: hi` mixes the two ways of
    messaging, and no name holds a colon: it means bob."""
    to, space, body = said.lstrip(" ").partition(" ")
    if ":" in to and name_problem(name := to.partition(":")[0]) is None:
        to, body = name, (to[len(name) + 1 :] + space + body).removeprefix(" ")
    if body.strip():
        return Command(SEND, (to, body))
    return None if spec.handler == SEND else Command(spec.handler, (to,))


def _who(spec: Spec, said: str, rest: str) -> Command | None:
    return Command(spec.handler, (rest,)) if rest in ("", "-l") else None


def _word(spec: Spec, said: str, rest: str) -> Command | None:
    """One word."""
    return Command(spec.handler, (rest,)) if rest and " " not in rest else None


def _said(spec: Spec, said: str, rest: str) -> Command | None:
    """Some text, as typed."""
    return Command(spec.handler, (said,)) if rest else None


def _bare(spec: Spec, said: str, rest: str) -> Command | None:
    """Nothing: a word more is a slip, not to be guessed at."""
    return None if rest else Command(spec.handler)


def _rest(spec: Spec, said: str, rest: str) -> Command | None:
    """Whatever follows, maybe nothing."""
    return Command(spec.handler, (rest,))


def _file(spec: Spec, said: str, rest: str) -> Command | None:
    """A file command: its verb (its first word), then what follows, for the transfers."""
    return Command(spec.handler, (spec.words[0], rest))


class Spec(Struct, frozen=True):
    """One command: its words, its syntax and what it does (for /help), the handler that
    carries it out, and how what follows its word is read; `usage`, said after the word
    when that does not fit, is the syntax's unless given."""

    words: tuple[str, ...]
    syntax: str
    does: str
    handler: str
    read: Read
    usage: str = ""


#: What a room name may hold (the name rules: wire/names.py), said with join's usage.
ROOM_RULE = (
    f"a room name is one word of 1 to {MAX_NAME} letters, digits, '_', '-' and '.', "
    "not starting with '.'"
)
#: The handlers a line read outside the table is given too: a direct message, leaving a room.
SEND, LEAVE = "direct.send", "membership.leave"
#: The handlers of /away and /back, which a line typed while away looks for.
AWAY, BACK = "commands.away_from", "commands.back"
_ASK, _FILES = "commands.ask_message", "commands.for_files"

SPECS: tuple[Spec, ...] = (
    Spec(
        ("send", "/send", "/msg", "/dm"),
        "send <name> <text>",
        "message <name> directly",
        SEND,
        _send,
    ),
    Spec(("<name>:<text>",), "<name>:<text>", "the same, shorter", SEND, _send),
    Spec(
        ("message", "/message", "/query"),
        "message [<name>]",
        "asks for what is missing: the recipient, then the text",
        _ASK,
        _send,
    ),
    Spec(
        ("send_all", "/bm"),
        "send_all <text>",
        "message everyone on the channel",
        "commands.send_all",
        _said,
    ),
    Spec(
        ("who", "/who", "/users", "server:who"),
        "who [-l]",
        "every name, online or not; -l adds addresses",
        "commands.who",
        _who,
    ),
    Spec(
        ("whois", "/whois"),
        "whois <name>",
        "the fingerprint of <name>'s key, and yours, to compare aloud",
        "commands.whois",
        _word,
    ),
    Spec(
        ("join", "/join"),
        "join <room>",
        "enter a room (made if new), leaving any other",
        "membership.join",
        _word,
        f"<room> ({ROOM_RULE})",
    ),
    Spec(("leave", "/leave", "/part", "/out"), "leave", "leave the room you are in", LEAVE, _bare),
    Spec(
        ("/me",),
        "/me <action>",
        "say an action in your room: * you <action>",
        "membership.me",
        _said,
    ),
    Spec(
        ("/shrug",),
        "/shrug [text]",
        "say [text] ¯\\_(ツ)_/¯ in your room",
        "membership.shrug",
        _rest,
    ),
    Spec(
        ("rooms", "/rooms"),
        "rooms",
        "every room with its member count and topic",
        "commands.list_rooms",
        _bare,
    ),
    Spec(
        ("/topic",),
        "/topic [text]",
        "set your room's topic, or show it",
        "membership.topic",
        _rest,
    ),
    Spec(
        ("/nick", "/nickname", "/nicknames"),
        "/nick <new>",
        "change your name",
        "table_news.rename",
        _word,
        "<new name>",
    ),
    Spec(
        ("/away",),
        "/away [text]",
        "marked away in who until you type again",
        AWAY,
        _rest,
    ),
    Spec(("/back",), "/back", "no longer away", BACK, _rest),
    Spec(
        ("file", "/file", "sendfile"), "file <name> <path>", "offer a file to <name>", _FILES, _file
    ),
    Spec(("accept", "/accept"), "accept [number]", "take a file offered to you", _FILES, _file),
    Spec(
        ("reject", "/reject"), "reject [number]", "turn a file offered to you down", _FILES, _file
    ),
    Spec(("files", "/files"), "files", "every transfer and how far it is", _FILES, _file),
    Spec(("cancel", "/cancel"), "cancel [number]", "stop a transfer, both sides", _FILES, _file),
    Spec(
        ("dereg", "/dereg"),
        "dereg <your name>",
        "go offline; messages wait at the registry",
        "commands.dereg",
        _word,
    ),
    Spec(
        ("reg", "/reg"),
        "reg <your name>",
        "come back online and get waiting messages",
        "commands.reg",
        _word,
    ),
    Spec(
        ("/quit", "server:exit", "exit", "Ctrl-D", "Ctrl-C"),
        "/quit [farewell]",
        "leave ChatApp, telling everyone",
        "leaving.quit",
        _rest,
    ),
    Spec(("/help", "help"), "/help [command]", "this list, or one command", "commands.help", _rest),
)

#: The last line of /help: what changes inside a room.
IN_A_ROOM = "In a room, plain text goes to the room; commands need their / (only leave works bare)."

#: Each command word (without its /) and its row: every word a command is typed with.
SPELLS: Final = {
    w.lstrip("/"): spec for spec in SPECS for w in spec.words if w.lstrip("/").isidentifier()
}
_BY_WORD = {word.lstrip("/").lower(): spec for spec in SPECS for word in spec.words}
#: Each file command's usage, by its verb (peer/core/files/typed.py).
FILE_USAGES = {s.words[0]: "/" + s.syntax for s in SPECS if s.read is _file}
