"""What --help adds to the options: an example per mode, and the help of one mode
(`ChatApp -c --help`), with the commands typed in it."""

from __future__ import annotations

from launcher.command_line import HELP, spelled_mode

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
        "",  # the console's commands, from registry.adapter.console_commands
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
#: How a registry is stopped from its console besides `quit`.
_STOPPING = "Ctrl-C or Ctrl-D on an empty line stops it too (it asks first while it serves anyone)."


def asked_mode_help(argv: list[str]) -> str | None:
    """The help of the mode `argv` names when it asks for help too (`-c --help`), or None."""
    modes = [mode for mode in map(spelled_mode, argv) if mode]
    if not modes or not any(word in HELP for word in argv):
        return None
    mode = modes[0]
    what, example, commands = _MODES[mode]
    if mode == "-c":
        from peer.core.commands import help_lines  # the peer's own /help, as it shows it

        commands = "\n".join(help_lines())
    if mode == "-s":
        from registry.adapter.console_commands import HELP as CONSOLE  # its own help

        commands = "\n".join(
            (
                "Its console takes:",
                *CONSOLE,
                _STOPPING,
                "On a terminal it also serves at the help desk.",
            )
        )
    return f"{what}\n\nExample:\n{example}\n\n{commands}\n\nChatApp --help lists every option."
