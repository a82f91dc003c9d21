"""ChatApp's command line, unchecked (`CommandLine`, from `parse`), and its help. An option
takes the next word whatever it looks like (`--crisis-notice "-call 112"`), as getopt does,
unlike argparse; a mode takes the words up to the next option, a NAME whatever it looks like
(`-o -dan`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from launcher.checks import (
    FORGET_AFTER,
    MAILBOX_MESSAGES,
    MAX_MAILBOX_LIMIT,
    MAX_NEW_NAMES,
    MIN_KEEPALIVE,
    NEW_NAMES,
    NEWCOMER_NAMES,
    TYPICAL_SESSION,
    UsageProblem,
    length_text,
)

#: Each mode's values, by its short spelling, as --help names them (a bracketed group may
#: be left out).
MODES = {
    "-s": "PORT",
    "-c": "NAME [SERVER-IP SERVER-PORT [CLIENT-PORT]]",
    "-d": "[SERVER-IP SERVER-PORT]",
    "-o": "NAME [SERVER-IP SERVER-PORT]",
}


def _slots(usage: str) -> list[str]:
    return usage.replace("[", " ").replace("]", " ").split()


@dataclass(frozen=True)
class Option:
    """One option: its spellings, the last naming the `CommandLine` field it fills; `metavar`
    names its value ("": a flag, true, or false spelled as `off`)."""

    spelled: str
    help: str
    metavar: str = ""
    off: str = ""

    @property
    def spellings(self) -> tuple[str, ...]:
        return tuple(self.spelled.split())

    @property
    def name(self) -> str:
        return self.spellings[-1].lstrip("-").replace("-", "_")


def _given(
    spelled: str, help: str, default: object = None, metavar: str = "", off: str = ""
) -> Any:
    return field(default=default, metadata={"option": Option(spelled, help, metavar, off)})


def _mode(spelled: str, help: str) -> Any:
    return _given(spelled, help, metavar=MODES[spelled.split()[0]])


@dataclass(frozen=True)
class CommandLine:
    """What the command line gave for each option, unchecked (None: no such mode; "" for a
    mode's value left out), in the order --help lists them."""

    server: str | None = _mode("-s --server", "Start a registry on PORT.")
    client: tuple[str, str, str, str] | None = _mode(
        "-c --client",
        "Start a peer called NAME listening on CLIENT-PORT (a free one if left out), with the "
        "registry at SERVER-IP SERVER-PORT (found on the network if left out).",
    )
    desk: tuple[str, str] | None = _mode("-d --desk", "Ask the help desk.")
    operator: tuple[str, str, str] | None = _mode(
        "-o --operator",
        "Serve at the help desk (with the operator key: $CHATAPP_DESK_KEY, or asked).",
    )
    data_dir: str | None = _given(
        "--data-dir",
        "Where to keep data (default: per-user; env CHATAPP_DATA_DIR overrides).",
        metavar="DIR",
    )
    bind: str = _given(
        "--bind", "Address to listen on (0.0.0.0: every interface).", "0.0.0.0", "ADDRESS"
    )
    keepalive: str = _given(
        "--keepalive",
        f"Seconds between a peer's keepalives (at least {MIN_KEEPALIVE:g}); a registry counts "
        "3 silent ones as gone, and a help-desk connection silent for 2 as gone.",
        "10",
        "SECONDS",
    )
    password: bool = _given("--password", "Peer: ask for a password that protects the name.", False)
    new_password: bool = _given(
        "--new-password",
        "Peer with --password, without a terminal: set the password if the registry says the "
        "name is new (a terminal asks instead).",
        False,
    )
    bell: bool = _given("--bell", "Peer: ring on messages to you.", False)
    downloads: str = _given(
        "--downloads", "Peer: where files received go (default: your Downloads folder).", "", "DIR"
    )
    accept_new_key: bool = _given(
        "--accept-new-key",
        "Peer and help desk: pin the key the registry answers with now, in place of the one "
        "pinned before (its owner made a new key; compare its fingerprint first).",
        False,
    )
    registry_key: str | None = _given(
        "--registry-key",
        "Peer and help desk: trust only the registry key of this join code (the fingerprint "
        "the registry prints at its start).",
        metavar="CODE",
    )
    trust_first_key: bool = _given(
        "--trust-first-key",
        "Peer and help desk, without a terminal: send a password or operator key to the first "
        "key that answers for the registry, unchecked.",
        False,
    )
    crisis_notice: str | None = _given(
        "--crisis-notice",
        "Registry: the text the help desk shows first to people who pick topic 1.",
        metavar="TEXT",
    )
    mailbox_limit: str = _given(
        "--mailbox-limit",
        "Registry: messages one mailbox keeps (and 2 KiB of text each), 1 to "
        f"{MAX_MAILBOX_LIMIT:,}.",
        str(MAILBOX_MESSAGES),
        "N",
    )
    new_names: str = _given(
        "--new-names",
        f"Registry: new names one IP address may register per hour, 1 to {MAX_NEW_NAMES:,}.",
        str(NEW_NAMES),
        "N",
    )
    forget_names_after: str = _given(
        "--forget-names-after",
        "Registry: forget a name (and its mailbox) its owner has not registered or been online "
        "with for this long (like 180d).",
        length_text(FORGET_AFTER),
        "LENGTH",
    )
    newcomer_names: str = _given(
        "--newcomer-names",
        "Registry: names kept offline whose owner never came back a day later; past that, "
        f"some go, of the address that registered the most first, 1 to {MAX_NEW_NAMES:,}.",
        str(NEWCOMER_NAMES),
        "N",
    )
    typical_session: str = _given(
        "--typical-session",
        "Registry: how long a help-desk session is taken to last in wait estimates until "
        "three have ended (like 10m or 600s).",
        length_text(TYPICAL_SESSION),
        "LENGTH",
    )
    cluster: str | None = _given(
        "--cluster",
        "Registry: share one service with the other registries of the service folder DIR "
        "(made by --new-service; docs/SCALING.md).",
        metavar="DIR",
    )
    advertise: str | None = _given(
        "--advertise",
        "Registry with --cluster: the address peers reach it at (default: --bind, or this "
        "machine's address).",
        metavar="ADDRESS",
    )
    new_service: str | None = _given(
        "--new-service",
        "Make the folder DIR of a new service of several registries on the NATS nodes of "
        "--nats, then stop (docs/SCALING.md).",
        metavar="DIR",
    )
    nats: str | None = _given(
        "--nats",
        "With --new-service: the NATS nodes' addresses, as HOST:PORT[,HOST:PORT...].",
        metavar="NODES",
    )
    nats_store: str | None = _given(
        "--nats-store",
        "With --new-service: where each node keeps its store (default: in DIR).",
        metavar="PATH",
    )
    no_discovery: bool = _given(
        "--no-discovery",
        "Registry: do not advertise it on the network (clients then need its address).",
        False,
    )
    desk_console: bool = _given(
        "--desk-console",
        "Registry: whether its console serves at the help desk (on a terminal).",
        True,
        off="--no-desk-console",
    )
    no_color: bool = _given("--no-color", "No colour.", False)
    plain: bool = _given(
        "--plain", "Peer, operator, registry: lines and a prompt, not the full screen.", False
    )
    verbose: bool = _given("-v --verbose", "Log every message.", False)
    version: bool = _given("--version", "Say which version this is, and its wire.", False)


#: Every option, in the order --help lists them.
OPTIONS = tuple(each.metadata["option"] for each in fields(CommandLine))
#: The spellings that ask for --help, wherever they are on the line.
HELP = ("-h", "--help")
#: Each spelling and the option it spells (with whether it is the option's `off`).
_SPELLED = {
    spelling: (option, spelling == option.off)
    for option in OPTIONS
    for spelling in (*option.spellings, *((option.off,) if option.off else ()))
}
#: Every spelling this command line knows: what a mode's NAME is not taken for.
SPELLINGS = frozenset((*_SPELLED, *HELP))


def _problem(text: str) -> UsageProblem:
    return UsageProblem(f"{text} (see --help)")


def parse(words: list[str]) -> CommandLine:
    """`words` (after the program's name, without --help) as a CommandLine, or UsageProblem."""
    given: dict[str, Any] = {}  # field: value, each of its field's type (OPTIONS)
    at = 0
    while at < len(words):
        word = words[at]
        option, off, attached = _spelled(word)
        at += 1
        if not option.metavar:  # a flag
            if attached is not None:
                raise _problem(f"{word.split('=')[0]} takes no value")
            given[option.name] = not off
            continue
        slots = _slots(option.metavar)
        if attached is not None:
            taken = [attached]
        elif option.spellings[0] in MODES:
            taken = _mode_values(word, option.metavar, words[at:])
        elif at < len(words):
            taken = [words[at]]
        else:
            raise _problem(f"{word} needs {option.metavar} (got none)")
        at += len(taken) if attached is None else 0
        filled = (*taken, *[""] * (len(slots) - len(taken)))
        given[option.name] = filled[0] if len(slots) == 1 else filled
    return CommandLine(**given)


def _mode_values(word: str, usage: str, rest: list[str]) -> list[str]:
    """The values at the start of `rest` of the mode spelled `word`, or UsageProblem."""
    slots, given = _slots(usage), []
    for slot, value in zip(slots, rest, strict=False):
        a_name = slot == "NAME" and value not in SPELLINGS
        if value.startswith("-") and not value.lstrip("-").isdigit() and not a_name:
            break
        given.append(value)
    counts = {len(_slots(usage[:at])) for at, c in enumerate(usage) if c == "["}
    if len(given) not in {*counts, len(slots)}:
        got = f"got {len(given)}: {' '.join(given)}" if given else "got none"
        raise UsageProblem(f"{word} needs {usage} ({got})")
    return given


def _spelled(word: str) -> tuple[Option, bool, str | None]:
    """The option `word` spells, whether as its `off`, and a value joined to it (or None)."""
    if word in _SPELLED:
        return (*_SPELLED[word], None)
    if word.startswith("--") and "=" in word:
        spelled, value = word.split("=", 1)
        if spelled in _SPELLED:
            return (*_SPELLED[spelled], value)
    elif word.startswith("-") and word[:2] in _SPELLED:
        option, off = _SPELLED[word[:2]]
        if len(_slots(option.metavar)) == 1:
            return option, off, word[2:]
    if word.startswith("-"):
        raise _problem(f"no such option: {word}")
    raise _problem(f"unexpected argument '{word}'")


def spelled_mode(word: str) -> str:
    option = _SPELLED[word][0] if word in _SPELLED else None
    return option.spellings[0] if option and option.spellings[0] in MODES else ""


def with_address(argv: list[str]) -> str:
    import shlex  # here: only a start that found no registry needs it

    for at, word in enumerate(argv):
        mode = spelled_mode(word)
        if mode:
            end = at + 1 + len(_slots(MODES[mode].split("[")[0]))
            return shlex.join(["ChatApp", *argv[:end], "SERVER-IP", "SERVER-PORT", *argv[end:]])
    return "ChatApp " + shlex.join(argv)


#: The width --help fills, and where an option's help starts.
_WIDTH, _HELP_AT = 80, 34


def help_text() -> str:
    """What `ChatApp --help` prints: every option, then EXAMPLES."""
    import textwrap  # here: --help alone needs it

    rows = ["Usage: ChatApp [OPTIONS]", "", "  ChatApp: a terminal chat for local networks."]
    rows += ["", "Options:"]
    default = CommandLine()
    for option in (*OPTIONS, Option(" ".join(HELP), "Show this message and exit.")):
        said = ", ".join(option.spellings) + (f" {option.metavar}" if option.metavar else "")
        if option.off:
            said += f" / {option.off}"
        text, value = option.help, getattr(default, option.name, None)
        if option.off:
            text += f"  [default: {option.spelled if value else option.off}]"
        elif isinstance(value, str) and value:
            text += f"  [default: {value}]"
        lines = textwrap.wrap(text, _WIDTH - _HELP_AT, break_on_hyphens=False)
        if len(said) + 4 > _HELP_AT:
            rows.append(f"  {said}")
        else:
            rows.append(f"  {said:<{_HELP_AT - 2}}{lines.pop(0)}")
        rows.extend(" " * _HELP_AT + line for line in lines)
    return "\n".join([*rows, "", EXAMPLES])


#: What --help says after the options.
EXAMPLES = (
    "Examples:\n"
    "  ChatApp -s 5000                          a registry on port 5000\n"
    "  ChatApp -c alice 127.0.0.1 5000 6001     alice, on port 6001, with that registry\n"
    "  ChatApp -d 127.0.0.1 5000                ask that registry's help desk for help\n"
    "  ChatApp -o ann 127.0.0.1 5000            serve at that help desk as ann\n"
    "\nChat commands (ChatApp -c): send <name> <text>, <name>:<text>, send_all <text>,\n"
    "who, whois <name>, join <room>, leave, rooms, /nick <new>, dereg, reg, /quit, /help.\n"
    "ChatApp -c --help explains them; -s, -d and -o --help say what each mode does."
)

_MODES = {
    "-s": (
        "ChatApp -s PORT: a registry, listening on PORT (UDP and TCP).",
        "  ChatApp -s 5000",
        # after the console's commands, from registry.adapter.console_commands
        "Ctrl-C or Ctrl-D on an empty line stops it too (it asks first while it serves anyone).\n"
        "On a terminal it also serves at the help desk.",
    ),
    "-c": (
        "ChatApp -c NAME SERVER-IP SERVER-PORT CLIENT-PORT: a peer called NAME, listening on\n"
        "CLIENT-PORT, registered with the registry at SERVER-IP:SERVER-PORT.",
        "  ChatApp -c alice 127.0.0.1 5000 6001\n"
        "  ChatApp -c bob 192.168.1.20 5000 6002 --password",
        "",  # the chat commands, from peer.core.commands
    ),
    "-d": (
        "ChatApp -d SERVER-IP SERVER-PORT: ask the registry's help desk for help (a name, a\n"
        "mobile number and a topic, then your turn in the waiting room).",
        "  ChatApp -d 127.0.0.1 5000",
        "Commands: .queue (your place and the wait), .end, .quit, .help; ..text sends a\n"
        "line that starts with a dot.",
    ),
    "-o": (
        "ChatApp -o NAME SERVER-IP SERVER-PORT: serve at the registry's help desk as NAME\n"
        "(the first time with the operator key: desk-key in the registry's data folder).",
        "  ChatApp -o ann 127.0.0.1 5000",
        "Commands: .room, .end, .serve 1,3 (or all, none), .first <place or name>, .help,\n"
        ".quit; ..text sends a line that starts with a dot; any other line goes to the person.",
    ),
}


def help_asked(words: list[str]) -> str:
    """What --help prints: the help of the mode `words` name (`ChatApp -c --help`), with the
    commands typed in it; else every option, and an example per mode."""
    mode = next((mode for mode in map(spelled_mode, words) if mode), "")
    if not mode:
        return help_text()
    what, example, commands = _MODES[mode]
    if mode == "-c":
        from peer.core.commands import help_lines  # the peer's own /help, as it shows it

        commands = "\n".join(help_lines())
    if mode == "-s":
        from registry.adapter.console_commands import HELP as CONSOLE  # its own help

        commands = "\n".join(("Its console takes:", *CONSOLE, commands))
    return f"{what}\n\nExample:\n{example}\n\n{commands}\n\nChatApp --help lists every option."
