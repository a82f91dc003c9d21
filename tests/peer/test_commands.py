"""The command language (docs/GUIDE.md) as a table: typed line -> command."""

from __future__ import annotations

import pytest

from peer.core import commands as cmd
from peer.core.commands import (
    Command,
    Dereg,
    ForPart,
    ForServer,
    Help,
    JoinRoom,
    Mistake,
    Quit,
    Reg,
    RoomSay,
    SendAll,
    SendDirect,
    Who,
    parse,
)

#: Outside a room: every alias in the issue's table, and then some.
OUTSIDE: list[tuple[str, Command | None]] = [
    # every alias works bare outside a room, as its seed's slash form does
    ("dm bob hi", SendDirect("bob", "hi")),
    ("bm hi", SendAll("hi")),
    ("users", Who()),
    ("out", ForPart("membership.leave")),
    ("nick robert", ForPart("table_news.rename", "robert")),
    ("nickname robert", ForPart("table_news.rename", "robert")),
    ("quit", Quit("")),
    ("quit see you", Quit("see you")),
    # direct message
    ("send bob hi there", SendDirect("bob", "hi there")),
    ("/send bob hi there", SendDirect("bob", "hi there")),
    ("/dm bob hi there", SendDirect("bob", "hi there")),
    ("bob:hi there", SendDirect("bob", "hi there")),
    ("bob: hi there", SendDirect("bob", "hi there")),
    ("SEND bob hi", SendDirect("bob", "hi")),
    # the two ways mixed (found by trying it: "[No user named bob:.]")
    ("send bob: hi there", SendDirect("bob", "hi there")),
    ("send bob:hi there", SendDirect("bob", "hi there")),
    ("/dm bob:  indented", SendDirect("bob", " indented")),
    ("message bob: hi", SendDirect("bob", "hi")),
    ("message bob:", ForPart("commands.ask_message", "bob")),
    ("send bob see: this", SendDirect("bob", "see: this")),  # a colon in the text stays there
    ("/DM bob hi", SendDirect("bob", "hi")),
    ("message", ForPart("commands.ask_message")),
    ("/message", ForPart("commands.ask_message")),
    ("message bob", ForPart("commands.ask_message", "bob")),  # the text is asked for
    ("message bob hi there", SendDirect("bob", "hi there")),  # nothing to ask
    # the channel
    ("send_all hello all", SendAll("hello all")),
    ("/bm hello all", SendAll("hello all")),
    # who
    ("who", Who()),
    ("/who", Who()),
    ("/users", Who()),
    ("server:who", Who()),
    ("SERVER:WHO", Who()),
    ("server:who -l", Who(long=True)),  # found by trying it: "No user named server"
    ("  server:who -l", Who(long=True)),
    ("who -l", Who(long=True)),
    ("/who -l", Who(long=True)),
    ("/users -l", Who(long=True)),
    # rooms
    ("join teamchat", JoinRoom("teamchat")),
    ("/join teamchat", JoinRoom("teamchat")),
    ("/nicknames carol", ForPart("table_news.rename", "carol")),
    ("nicknames carol", ForPart("table_news.rename", "carol")),
    ("leave", ForPart("membership.leave")),
    ("/leave", ForPart("membership.leave")),
    ("/out", ForPart("membership.leave")),
    ("rooms", ForPart("commands.list_rooms")),
    ("/rooms", ForPart("commands.list_rooms")),
    # rename
    ("/nick robert", ForPart("table_news.rename", "robert")),
    ("/nickname robert", ForPart("table_news.rename", "robert")),
    # leave and come back
    ("dereg bob", Dereg("bob")),
    ("/dereg bob", Dereg("bob")),
    ("reg bob", Reg("bob")),
    ("/reg bob", Reg("bob")),
    # quit
    ("/quit", Quit()),
    ("/quit see you all", Quit("see you all")),
    ("server:exit", Quit()),
    ("server:exit see you", Quit("see you")),
    ("server:whom it may concern", SendDirect("server", "whom it may concern")),  # an old peer's
    ("exit", Quit()),
    ("/exit", Quit()),
    # help
    ("/help", Help()),
    ("help", Help()),
    ("/help dm", Help("dm")),
    ("/help /nick", Help("/nick")),
    # empty and blank lines are ignored
    ("", None),
    ("   ", None),
    ("\t \t", None),
    # text may hold anything: colons, unicode, quotes
    ("send bob a:b:c", SendDirect("bob", "a:b:c")),
    ("bob:a:b:c", SendDirect("bob", "a:b:c")),
    ("send bob http://example.org/x?y=1", SendDirect("bob", "http://example.org/x?y=1")),
    ("send bob héllo wörld 👋 漢字", SendDirect("bob", "héllo wörld 👋 漢字")),
    ("send bob \"quoted\" and 'single'", SendDirect("bob", "\"quoted\" and 'single'")),
    # a message's text keeps its leading spaces: only the one space before it separates
    ("/dm bob   spaced   out  ", SendDirect("bob", "  spaced   out")),
    ("  send  bob     indented()", SendDirect("bob", "    indented()")),
    ("send bob \t tabbed", SendDirect("bob", "\t tabbed")),
    ("bob:  two", SendDirect("bob", " two")),
    ("bob: one", SendDirect("bob", "one")),
    ("send_all    x = 1", SendAll("   x = 1")),
    ("send bob hi\r\n", SendDirect("bob", "hi")),
    ("send bob    ", Mistake("Usage: send <name> <text>")),
    ("send_all ümlaut: ok", SendAll("ümlaut: ok")),
    ("/quit bye: for now ✓", Quit("bye: for now ✓")),
]

#: Inside a room: plain text goes to the room, only / commands and bare `leave` are commands.
INSIDE: list[tuple[str, Command | None]] = [
    ("Hello team!", RoomSay("Hello team!")),
    ("leave", ForPart("membership.leave")),
    ("LEAVE", ForPart("membership.leave")),
    ("  leave  ", ForPart("membership.leave")),
    ("leave now please", RoomSay("leave now please")),
    ("/leave", ForPart("membership.leave")),
    ("/out", ForPart("membership.leave")),
    ("send x y", RoomSay("send x y")),
    ("send_all everyone", RoomSay("send_all everyone")),
    ("who", RoomSay("who")),
    ("exit", RoomSay("exit")),
    # addressed to the server, not to the room: not said, and the hint says what works
    ("server:exit", ForServer("/quit")),
    ("server:exit bye all", ForServer("/quit bye all")),
    ("server:who", ForServer("/who")),
    ("Server:Who -l", ForServer("/who -l")),
    (" server:who", RoomSay(" server:who")),  # a space first says it, as for a /
    ("server: is down again", RoomSay("server: is down again")),
    ("join other", RoomSay("join other")),
    ("rooms", RoomSay("rooms")),
    ("message", RoomSay("message")),
    ("dereg bob", RoomSay("dereg bob")),
    ("bob:hi", RoomSay("bob:hi")),
    ("help", RoomSay("help")),
    ("/dm bob psst", SendDirect("bob", "psst")),
    ("/send bob psst", SendDirect("bob", "psst")),
    ("/bm all of you", SendAll("all of you")),
    ("/who", Who()),
    ("/join other", JoinRoom("other")),
    ("/rooms", ForPart("commands.list_rooms")),
    ("/nick robert", ForPart("table_news.rename", "robert")),
    ("/dereg bob", Dereg("bob")),
    ("/quit bye", Quit("bye")),
    ("/help", Help()),
    ("", None),
    ("  ", None),
    ("ünïcödé: ✓ «quotes» 'and' \"more\"", RoomSay("ünïcödé: ✓ «quotes» 'and' \"more\"")),
    ("a:b:c", RoomSay("a:b:c")),
    ("    return x  ", RoomSay("    return x")),
    # pasted code: only a / then a letter, as the line's first characters, is a command
    ("    // say hello", RoomSay("    // say hello")),
    ("/* end */", RoomSay("/* end */")),
    ("//etc/hosts is odd", RoomSay("//etc/hosts is odd")),
    ("    /who is here", RoomSay("    /who is here")),
    ("/1 of 3", RoomSay("/1 of 3")),
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


@pytest.mark.parametrize(("line", "in_room", "start"), MISTAKES)
def test_mistakes_get_a_hint(line: str, in_room: bool, start: str) -> None:
    result = parse(line, in_room=in_room)
    assert isinstance(result, Mistake), result
    assert result.message.startswith(start), result.message
    assert "\n" not in result.message


def test_an_unknown_command_in_a_room_says_how_to_say_the_line() -> None:
    result = parse("/etc/hosts is broken", in_room=True)
    assert isinstance(result, Mistake)
    assert result.message.endswith("To say a line that starts with /, type a space first.")


def test_a_known_command_used_wrongly_in_a_room_gets_its_usage_alone() -> None:
    result = parse("/whois", in_room=True)
    assert isinstance(result, Mistake) and not result.unknown
    assert "type a space first" not in result.message


def test_a_long_unknown_line_is_clipped_in_the_hint() -> None:
    result = parse("x" * 500)
    assert isinstance(result, Mistake) and len(result.message) < 160


def test_help_lists_every_alias_of_the_issue() -> None:
    text = "\n".join(cmd.help_lines())
    aliases = (
        "send", "/send", "/dm", "<name>:<text>", "message", "send_all", "/bm", "who", "/who",
        "/users", "server:who", "-l", "join", "/join", "leave", "/leave", "/out", "rooms",
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
        "/send <name> <text>  (/send, /dm): " + "message <name> directly"
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
    "send": "bob hi", "dm": "bob hi", "send_all": "hi", "bm": "hi", "join": "r", "nick": "n",
    "nickname": "n", "nicknames": "n", "dereg": "me", "reg": "me", "server:who": "-l",
    "whois": "bob", "me": "waves",
}  # fmt: skip


def test_me_is_an_action_said_in_the_room() -> None:
    assert parse("/me waves at  all", in_room=True) == cmd.ForPart("membership.me", "waves at  all")
    assert parse("/me", in_room=True) == Mistake("Usage: /me <action>")


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
        assert not isinstance(result, Mistake | RoomSay | ForServer), (word, result)
    if in_room:
        assert not any(w.startswith("server:") or w in ("exit", "help") for w in shown), shown


def test_help_for_an_unknown_command() -> None:
    assert cmd.help_lines("nope") == ["[No command 'nope'. /help lists them all.]"]


def test_every_command_word_in_help_parses_to_its_command() -> None:
    """Each alias /help shows is understood outside a room (with arguments where needed)."""
    for spec in cmd.SPECS:
        for word in spec.words:
            if word.startswith(("<", "Ctrl-")):
                continue
            line = f"{word} {SAMPLES.get(word.lstrip('/'), '')}".strip()
            result = parse(line)
            assert result is not None and not isinstance(result, Mistake), (word, result)


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
