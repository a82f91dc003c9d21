"""The command language (docs/GUIDE.md) as a table: typed line -> command; and every
command a user can type has its handler: each handler a line is read as names a method of a
part of the core, and each file command word reads as a verb with a usage (`sendfile` is
`file`)."""

from __future__ import annotations

import pytest

from peer.core import commands as cmd
from peer.core.commands import Command, parse
from peer.core.dispatch import PeerCore
from tests.peer.honest import REGISTRY_KEY
from tests.peer.parts_kit import ME, SERVER


def c(handler: str, *args: str) -> Command:
    """The command carried out by `handler` with `args`."""
    return Command(handler, args)


#: Outside a room: every alias in the issue's table, and then some.
OUTSIDE: list[tuple[str, Command | None]] = [
    # every alias works bare outside a room, as its seed's slash form does
    ("dm bob hi", c("direct.send", "bob", "hi")),
    ("bm hi", c("commands.send_all", "hi")),
    ("users", c("commands.who", "")),
    ("out", c("membership.leave")),
    ("nick robert", c("table_news.rename", "robert")),
    ("nickname robert", c("table_news.rename", "robert")),
    ("quit", c("leaving.quit", "")),
    ("quit see you", c("leaving.quit", "see you")),
    # direct message
    ("send bob hi there", c("direct.send", "bob", "hi there")),
    ("/send bob hi there", c("direct.send", "bob", "hi there")),
    ("/dm bob hi there", c("direct.send", "bob", "hi there")),
    ("/msg bob hi there", c("direct.send", "bob", "hi there")),
    ("bob:hi there", c("direct.send", "bob", "hi there")),
    ("bob: hi there", c("direct.send", "bob", "hi there")),
    ("SEND bob hi", c("direct.send", "bob", "hi")),
    # the two ways mixed (found by trying it: "[No user named bob:.]")
    ("send bob: hi there", c("direct.send", "bob", "hi there")),
    ("send bob:hi there", c("direct.send", "bob", "hi there")),
    ("/dm bob:  indented", c("direct.send", "bob", " indented")),
    ("message bob: hi", c("direct.send", "bob", "hi")),
    ("message bob:", c("commands.ask_message", "bob")),
    ("send bob see: this", c("direct.send", "bob", "see: this")),  # a colon in the text stays there
    ("/DM bob hi", c("direct.send", "bob", "hi")),
    ("message", c("commands.ask_message", "")),
    ("/message", c("commands.ask_message", "")),
    ("message bob", c("commands.ask_message", "bob")),  # the text is asked for
    ("message bob hi there", c("direct.send", "bob", "hi there")),  # nothing to ask
    # the channel
    ("send_all hello all", c("commands.send_all", "hello all")),
    ("/bm hello all", c("commands.send_all", "hello all")),
    # who
    ("who", c("commands.who", "")),
    ("/who", c("commands.who", "")),
    ("/users", c("commands.who", "")),
    ("server:who", c("commands.who", "")),
    ("SERVER:WHO", c("commands.who", "")),
    ("server:who -l", c("commands.who", "-l")),  # found by trying it: "No user named server"
    ("  server:who -l", c("commands.who", "-l")),
    ("who -l", c("commands.who", "-l")),
    ("/who -l", c("commands.who", "-l")),
    ("/users -l", c("commands.who", "-l")),
    # rooms
    ("join teamchat", c("membership.join", "teamchat")),
    ("/join teamchat", c("membership.join", "teamchat")),
    ("/nicknames carol", c("table_news.rename", "carol")),
    ("nicknames carol", c("table_news.rename", "carol")),
    ("leave", c("membership.leave")),
    ("/leave", c("membership.leave")),
    ("/out", c("membership.leave")),
    ("rooms", c("commands.list_rooms")),
    ("/rooms", c("commands.list_rooms")),
    # rename
    ("/nick robert", c("table_news.rename", "robert")),
    ("/nickname robert", c("table_news.rename", "robert")),
    # leave and come back
    ("dereg bob", c("commands.dereg", "bob")),
    ("/dereg bob", c("commands.dereg", "bob")),
    ("reg bob", c("commands.reg", "bob")),
    ("/reg bob", c("commands.reg", "bob")),
    # quit
    ("/quit", c("leaving.quit", "")),
    ("/quit see you all", c("leaving.quit", "see you all")),
    ("server:exit", c("leaving.quit", "")),
    ("server:exit see you", c("leaving.quit", "see you")),
    (
        "server:whom it may concern",
        c("direct.send", "server", "whom it may concern"),
    ),  # an old peer's
    ("exit", c("leaving.quit", "")),
    ("/exit", c("leaving.quit", "")),
    # help
    ("/help", c("commands.help", "")),
    ("help", c("commands.help", "")),
    ("/help dm", c("commands.help", "dm")),
    ("/help /nick", c("commands.help", "/nick")),
    # empty and blank lines are ignored
    ("", None),
    ("   ", None),
    ("\t \t", None),
    # text may hold anything: colons, unicode, quotes
    ("send bob a:b:c", c("direct.send", "bob", "a:b:c")),
    ("bob:a:b:c", c("direct.send", "bob", "a:b:c")),
    ("send bob http://example.org/x?y=1", c("direct.send", "bob", "http://example.org/x?y=1")),
    ("send bob héllo wörld 👋 漢字", c("direct.send", "bob", "héllo wörld 👋 漢字")),
    ("send bob \"quoted\" and 'single'", c("direct.send", "bob", "\"quoted\" and 'single'")),
    # a message's text keeps its leading spaces: only the one space before it separates
    ("/dm bob   spaced   out  ", c("direct.send", "bob", "  spaced   out")),
    ("  send  bob     indented()", c("direct.send", "bob", "    indented()")),
    ("send bob \t tabbed", c("direct.send", "bob", "\t tabbed")),
    ("bob:  two", c("direct.send", "bob", " two")),
    ("bob: one", c("direct.send", "bob", "one")),
    ("send_all    x = 1", c("commands.send_all", "   x = 1")),
    ("send bob hi\r\n", c("direct.send", "bob", "hi")),
    ("send bob    ", cmd.mistake("Usage: send <name> <text>")),
    ("send_all ümlaut: ok", c("commands.send_all", "ümlaut: ok")),
    ("/quit bye: for now ✓", c("leaving.quit", "bye: for now ✓")),
]

#: Inside a room: plain text goes to the room, only / commands and bare `leave` are commands.
INSIDE: list[tuple[str, Command | None]] = [
    ("Hello team!", c("membership.say", "Hello team!")),
    ("leave", c("membership.leave")),
    ("LEAVE", c("membership.leave")),
    ("  leave  ", c("membership.leave")),
    ("leave now please", c("membership.say", "leave now please")),
    ("/leave", c("membership.leave")),
    ("/part", c("membership.leave")),
    ("/out", c("membership.leave")),
    ("send x y", c("membership.say", "send x y")),
    ("send_all everyone", c("membership.say", "send_all everyone")),
    ("who", c("membership.say", "who")),
    ("exit", c("membership.say", "exit")),
    # addressed to the server, not to the room: not said, and the hint says what works
    ("server:exit", c("commands.for_server", "/quit")),
    ("server:exit bye all", c("commands.for_server", "/quit bye all")),
    ("server:who", c("commands.for_server", "/who")),
    ("Server:Who -l", c("commands.for_server", "/who -l")),
    (" server:who", c("membership.say", " server:who")),  # a space first says it, as for a /
    ("server: is down again", c("membership.say", "server: is down again")),
    ("join other", c("membership.say", "join other")),
    ("rooms", c("membership.say", "rooms")),
    ("message", c("membership.say", "message")),
    ("dereg bob", c("membership.say", "dereg bob")),
    ("bob:hi", c("membership.say", "bob:hi")),
    ("help", c("membership.say", "help")),
    ("/dm bob psst", c("direct.send", "bob", "psst")),
    ("/send bob psst", c("direct.send", "bob", "psst")),
    ("/bm all of you", c("commands.send_all", "all of you")),
    ("/who", c("commands.who", "")),
    ("/join other", c("membership.join", "other")),
    ("/rooms", c("commands.list_rooms")),
    ("/nick robert", c("table_news.rename", "robert")),
    ("/dereg bob", c("commands.dereg", "bob")),
    ("/quit bye", c("leaving.quit", "bye")),
    ("/help", c("commands.help", "")),
    ("", None),
    ("  ", None),
    (
        "ünïcödé: ✓ «quotes» 'and' \"more\"",
        c("membership.say", "ünïcödé: ✓ «quotes» 'and' \"more\""),
    ),
    ("a:b:c", c("membership.say", "a:b:c")),
    ("    return x  ", c("membership.say", "    return x")),
    # pasted code: only a / then a letter, as the line's first characters, is a command
    ("    // say hello", c("membership.say", "    // say hello")),
    ("/* end */", c("membership.say", "/* end */")),
    ("//etc/hosts is odd", c("membership.say", "//etc/hosts is odd")),
    ("    /who is here", c("membership.say", "    /who is here")),
    ("/1 of 3", c("membership.say", "/1 of 3")),
]


@pytest.mark.parametrize(("line", "expected"), OUTSIDE)
def test_outside_a_room(line: str, expected: Command | None) -> None:
    assert parse(line) == expected
    assert parse(line, in_room=False) == expected


@pytest.mark.parametrize(("line", "expected"), INSIDE)
def test_inside_a_room(line: str, expected: Command | None) -> None:
    assert parse(line, in_room=True) == expected


#: Lines that are no command, or a command used wrongly: a one-line hint, never silence.
MISTAKES: list[tuple[str, bool, str]] = [
    ("hello there", False, "Not a command: 'hello there'."),
    ("nick", False, "Usage: nick <new name>"),
    ("bøb:hi", False, "Not a command"),  # not a valid name before the colon
    ("bob:", False, "Nothing to send to bob."),
    ("bob:   ", False, "Nothing to send to bob."),
    ("/frobnicate", False, "Unknown command /frobnicate."),
    ("/frobnicate", True, "Unknown command /frobnicate."),
    ("/", False, "A lone / is no command."),
    ("/", True, "A lone / is no command."),
    ("send", False, "Usage: send <name> <text>"),
    ("send bob", False, "Usage: send <name> <text>"),
    ("send bob:", False, "Usage: send <name> <text>"),
    ("/dm bob", True, "Usage: /dm <name> <text>"),
    ("send_all", False, "Usage: send_all <text>"),
    ("/bm", True, "Usage: /bm <text>"),
    ("join", False, "Usage: join <room>"),
    ("join two words", False, "Usage: join <room>"),
    ("join bad room name!", False, "Usage: join <room> (a room name is one word of 1 to 32 "),
    ("/nicknames", True, "Usage: /nicknames <new name>"),
    ("/join", True, "Usage: /join <room>"),
    ("/dereg", True, "Usage: /dereg <your name>"),
    ("/reg a b", True, "Usage: /reg <your name>"),
    ("/nick", True, "Usage: /nick <new name>"),
    ("/nickname a b", True, "Usage: /nickname <new name>"),
    ("dereg", False, "Usage: dereg <your name>"),
    ("reg", False, "Usage: reg <your name>"),
    ("who everyone", False, "Usage: who [-l]"),
    ("server:who everyone", False, "Usage: server:who [-l]"),
    ("/users x", True, "Usage: /users [-l]"),
    ("rooms all", False, "Usage: rooms (it takes nothing more)"),
    ("/leave now", True, "Usage: /leave (it takes nothing more)"),
    ("leave now", False, "Usage: leave (it takes nothing more)"),
]


def _mistake(result: Command | None) -> str:
    """What `result`, a mistake, tells the user."""
    assert result is not None and result.handler == cmd.MISTAKE, result
    return result.args[0]


@pytest.mark.parametrize(("line", "in_room", "start"), MISTAKES)
def test_mistakes_get_a_hint(line: str, in_room: bool, start: str) -> None:
    message = _mistake(parse(line, in_room=in_room))
    assert message.startswith(start), message
    assert "\n" not in message


def test_an_unknown_command_in_a_room_says_how_to_say_the_line() -> None:
    message = _mistake(parse("/etc/hosts is broken", in_room=True))
    assert message.endswith("To say a line that starts with /, type a space first.")


def test_a_known_command_used_wrongly_in_a_room_gets_its_usage_alone() -> None:
    assert _mistake(parse("/whois", in_room=True)) == "Usage: /whois <name>"


def test_a_long_unknown_line_is_clipped_in_the_hint() -> None:
    assert len(_mistake(parse("x" * 500))) < 160


def test_help_lists_every_alias_of_the_issue() -> None:
    text = "\n".join(cmd.help_lines())
    aliases = (
        "send", "/send", "/dm", "<name>:<text>", "message", "send_all", "/bm", "who", "/who",
        "/users", "server:who", "-l", "join", "/join", "leave", "/leave", "/part", "/out", "rooms",
        "/rooms", "/nick", "/nickname", "dereg", "reg", "/quit", "server:exit", "exit",
        "Ctrl-D", "Ctrl-C", "/help",
    )  # fmt: skip
    for alias in aliases:
        assert alias in text, alias
    assert cmd.help_lines()[-1] == cmd.IN_A_ROOM


@pytest.mark.parametrize(
    ("topic", "start"),
    [
        ("dm", "send <name> <text>"),
        ("/dm", "send <name> <text>"),
        ("msg", "send <name> <text>"),
        ("server:who", "who [-l]"),
        ("nickname", "/nick <new>"),
        ("out", "leave"),
        ("exit", "/quit [farewell]"),
        ("JOIN", "join <room>"),
        ("help", "/help [command]"),
    ],
)
def test_help_for_one_command(topic: str, start: str) -> None:
    (line,) = cmd.help_lines(topic)
    assert line.startswith(start)


def test_help_in_a_room_shows_each_command_as_it_works_there() -> None:
    # found by trying it: /help in a room showed `send <name> <text>`, said to the room there
    lines = cmd.help_lines(in_room=True)
    for syntax in ("/send <name> <text>", "/who [-l]", "/join <room>", "/leave", "/quit"):
        assert any(line.startswith(f"  {syntax}") for line in lines), syntax
    assert not any(line.startswith(("  send ", "  who ", "  join ", "  <name>")) for line in lines)
    assert cmd.help_lines("dm", in_room=True) == [
        "/send <name> <text>  (/send, /msg, /dm): " + "message <name> directly"
    ]
    assert cmd.help_lines("<name>:<text>", in_room=True) == [
        "[<name>:<text> works outside a room only; here it is said to the room.]"
    ]


def _shown_words(line: str) -> list[str]:
    """The commands and aliases a line of /help shows: its first word, and those in
    `[also ...]` (or, for /help <command>, in its parentheses)."""
    head = line.split("  [also ")
    words = [head[0].split()[0]]
    if len(head) > 1:
        words += head[1].rstrip("]").split(", ")
    return words


#: What follows each command word that needs more, for the tests that try every word /help shows.
SAMPLES = {
    "send": "bob hi", "dm": "bob hi", "msg": "bob hi", "send_all": "hi", "bm": "hi", "join": "r",
    "nick": "n", "nickname": "n", "nicknames": "n", "dereg": "me", "reg": "me", "server:who": "-l",
    "whois": "bob", "me": "waves",
}  # fmt: skip


def test_me_is_an_action_said_in_the_room() -> None:
    assert parse("/me waves at  all", in_room=True) == c("membership.me", "waves at  all")
    assert parse("/me", in_room=True) == cmd.mistake("Usage: /me <action>")


@pytest.mark.parametrize("in_room", [False, True], ids=["outside", "in-a-room"])
def test_every_word_help_shows_works_where_it_is_shown(in_room: bool) -> None:
    """Found by trying it: /help in a room listed `[also server:exit, exit, ...]` and
    `/leave [also /leave, /out]`, and server:exit was then said to the room."""
    lines = cmd.help_lines(in_room=in_room)[1:-1]
    shown = [word for line in lines for word in _shown_words(line)]
    for line in lines:
        first = line.split()[0]
        assert _shown_words(line).count(first) == 1, line  # not repeated as its own alias
    for word in shown:
        if word.startswith(("<", "Ctrl-")):
            assert not in_room or word.startswith("Ctrl-"), word
            continue
        typed = f"{word} {SAMPLES.get(word.lstrip('/'), '')}".strip()
        result = parse(typed, in_room=in_room)
        assert result is not None, word
        assert result.handler not in (cmd.MISTAKE, cmd.SAY, cmd.FOR_SERVER), (word, result)
    if in_room:
        assert not any(w.startswith("server:") or w in ("exit", "help") for w in shown), shown


def test_help_for_an_unknown_command() -> None:
    assert cmd.help_lines("nope") == ["[No command 'nope'. /help lists them all.]"]


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("join other", True),
        ("who", True),
        ("send bob hi", True),
        ("exit", True),
        ("join", False),  # a usage mistake outside a room too: plain talk
        ("joining later", False),
        ("hello there", False),
        ("bob:hi", False),  # a message, not a command
    ],
)
def test_a_room_line_spelled_as_a_command(text: str, spelled: bool) -> None:
    assert cmd.spelled_as_command(text) is spelled


def test_every_handler_names_a_method_of_a_part() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    handlers = {spec.handler for spec in cmd.SPECS} | {cmd.SAY, cmd.FOR_SERVER, cmd.MISTAKE}
    for handler in handlers | {cmd.LEAVE}:
        part, method = handler.split(".")
        assert callable(getattr(getattr(core.parts, part), method)), handler


def test_every_file_command_word_reads_as_a_verb_with_a_usage() -> None:
    verbs = set()
    for word in cmd.SPELLS:
        parsed = cmd.parse(f"/{word} 1")
        if parsed is not None and parsed.handler == "commands.for_files":
            verbs.add(parsed.args[0])
    assert verbs == set(cmd.FILE_USAGES)
