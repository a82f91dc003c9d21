"""ChatApp's launcher: read the command line (launcher/), then start the mode it asks for.
A mistake on the command line gives one line on stderr, status 2."""

# ruff: noqa: E402  (the imports wait for the guard below)
from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_loading(signum: int, frame: object) -> None:
    """Ctrl-C while Python loads the program: leave at once (a KeyboardInterrupt would print a
    traceback from an import, or crash a C extension loading)."""
    os._exit(130)


#: The handler the guard replaced, while the guard is installed (empty: it is not).
_REPLACED: list[Any] = []


def _guard_loading() -> None:
    try:
        if not _REPLACED:
            _REPLACED.append(signal.signal(signal.SIGINT, _interrupted_while_loading))
    except ValueError:  # not the main thread
        pass


def _loaded() -> None:
    """The program is loaded: the handler replaced back."""
    if _REPLACED:
        before = _REPLACED.pop()
        signal.signal(signal.SIGINT, signal.default_int_handler if before is None else before)


_guard_loading()

import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from launcher.checks import (
    FORGET_AFTER_RANGE,
    MAX_MAILBOX_LIMIT,
    MAX_NEW_NAMES,
    MIN_KEEPALIVE,
    TYPICAL_SESSION_RANGE,
    UsageProblem,
    check_crisis_notice,
    check_data_dir,
    check_downloads,
    check_ip,
    check_join_code,
    check_length,
    check_name,
    check_port,
    check_seconds,
    check_whole,
)
from launcher.command_line import HELP, CommandLine, help_asked, parse, with_address
from launcher.finding import NoRegistry, registry_at, say

if TYPE_CHECKING:
    from peer.adapter.key_contact import ContactRule
    from peer.adapter.start import PeerSettings


class Settings(NamedTuple):
    """The values every mode takes from the command line, checked; `limits`, a registry's
    (fields of RegistrySettings)."""

    keepalive: float
    data_dir: Path | None
    bind: str
    registry_code: str | None
    limits: dict[str, Any]


def _start(line: CommandLine) -> int:
    modes: dict[Callable[[Any, CommandLine, Settings], int], object] = {  # start: its values
        _start_registry: line.server,
        _start_peer: line.client,
        _start_desk: line.desk,
        _start_operator: line.operator,
    }
    given = [(start, values) for start, values in modes.items() if values is not None]
    if line.new_service is not None and not given:
        return _new_service(line.new_service, line)
    if (line.nats or line.nats_store) is not None and line.new_service is None:
        raise UsageProblem("--nats and --nats-store go with --new-service (see --help)")
    if len(given) != 1 or line.new_service is not None:
        raise UsageProblem("give exactly one of -s, -c, -d, -o or --new-service (see --help)")
    start, values = given[0]
    return start(values, line, _checked_settings(line))


def _checked_settings(line: CommandLine) -> Settings:
    data_dir = check_data_dir(line.data_dir, os.environ.get("CHATAPP_DATA_DIR"))
    keepalive = check_seconds(line.keepalive, "--keepalive", MIN_KEEPALIVE)
    limits = {  # checked in this order: a user is told of the first mistake
        "mailbox_limit": check_whole(line.mailbox_limit, "--mailbox-limit", 1, MAX_MAILBOX_LIMIT),
        "new_names": check_whole(line.new_names, "--new-names", 1, MAX_NEW_NAMES),
        "forget_after": check_length(
            line.forget_names_after, "--forget-names-after", *FORGET_AFTER_RANGE
        ),
        "newcomer_names": check_whole(line.newcomer_names, "--newcomer-names", 1, MAX_NEW_NAMES),
        "typical_session": check_length(
            line.typical_session, "--typical-session", *TYPICAL_SESSION_RANGE
        ),
    }
    return Settings(
        keepalive=keepalive,
        data_dir=data_dir,
        limits=limits,
        bind=check_ip(line.bind, "--bind") if line.bind != "0.0.0.0" else line.bind,
        registry_code=check_join_code(line.registry_key) if line.registry_key else None,
    )


def _start_registry(port_text: str, line: CommandLine, settings: Settings) -> int:
    port = check_port(port_text, "port")
    if line.crisis_notice is not None:
        check_crisis_notice(line.crisis_notice)
    from disk.files import default_dir
    from registry.adapter.run import run_registry
    from registry.adapter.settings import RegistrySettings

    folder, advertise = None, ""
    if line.cluster is not None:
        from net.discovery import advertised_addresses
        from registry.adapter.cluster.service_folder import is_folder, open_folder
        from registry.adapter.store import StorageError

        if not is_folder(line.cluster):
            raise UsageProblem(
                "--cluster takes the service's folder, made by ChatApp --new-service DIR --nats "
                "HOST:PORT: with NATS URLs alone, anyone who reaches NATS could read and act for "
                "the service (docs/SCALING.md)"
            )
        advertise = check_ip(line.advertise, "--advertise") if line.advertise else ""
        try:
            folder = open_folder(Path(line.cluster))
        except StorageError as exc:
            print(f"ChatApp: error: {exc}", file=sys.stderr)
            return 1
        advertise = advertise or advertised_addresses(settings.bind)[0]
    uncoloured = line.no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb"
    own = RegistrySettings(
        **settings.limits,
        verbose=line.verbose,
        keepalive=settings.keepalive,
        crisis_notice=line.crisis_notice,
        console_operator=line.desk_console,
        discovery=not line.no_discovery,
        screen=not line.plain,
        colour=not uncoloured,
        advertise=advertise,
    )
    data_dir = settings.data_dir or default_dir("registry")
    listen, out = (settings.bind, port), _registry_output()
    return _run(
        run_registry(listen=listen, data_dir=data_dir, out=out, settings=own, folder=folder)
    )


def _new_service(folder: str, line: CommandLine) -> int:
    from registry.adapter.cluster.service_folder import make_service, parse_nodes

    if not line.nats:
        raise UsageProblem("--new-service needs --nats HOST:PORT[,HOST:PORT...] (see --help)")
    if not folder:
        raise UsageProblem("--new-service needs a folder's path")
    try:
        nodes = parse_nodes(line.nats)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    store = Path(line.nats_store) if line.nats_store else None
    try:
        said = make_service(Path(folder), nodes, store)
    except FileExistsError:
        print(
            f"ChatApp: error: {folder} exists; a service folder is never overwritten "
            "(give a new path)",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        from disk.files import os_reason

        print(f"ChatApp: error: cannot make {folder}: {os_reason(exc)}", file=sys.stderr)
        return 1
    print("\n".join(said))
    return 0


def _start_peer(values: tuple[str, str, str, str], line: CommandLine, settings: Settings) -> int:
    name_text, ip_text, server_port_text, port_text = values
    name = check_name(name_text, peer=True)
    server, trust = _registry((ip_text, server_port_text), line, settings, tty=False)
    port = check_port(port_text, "client-port") if port_text else 0  # 0: a free one
    if said := check_downloads(line.downloads):
        print(said, file=sys.stderr)
    from disk.files import default_dir
    from peer.adapter.node import run_peer
    from peer.adapter.start import PeerSettings

    data_dir = settings.data_dir or default_dir("peer")
    secret = read_password(name) if line.password else ""

    peer = PeerSettings(
        port=port,
        bind=settings.bind,
        keepalive=settings.keepalive,
        password=secret,
        new_password=line.new_password,
        verbose=line.verbose,
        trust=trust,
        downloads=line.downloads,
        colour=not line.no_color,
        bell=line.bell,
        ask_again=bool(secret) and sys.stdin.isatty(),
    )
    return asked_again(
        name,
        peer,
        lambda peer: run_peer(
            name=name, server=server, data_dir=data_dir, settings=peer, plain=line.plain
        ),
    )


#: Times a password is asked at most, as sudo asks: a wrong one, or a new name's not set.
PASSWORD_TRIES = 3


def asked_again(
    name: str, peer: PeerSettings, run: Callable[[PeerSettings], Coroutine[Any, Any, int]]
) -> int:
    """Run the peer; a password refused is asked again, each try a start of its own, up to
    PASSWORD_TRIES in all."""
    from msgspec.structs import replace

    from peer.adapter.start import PASSWORD_AGAIN

    for tries in range(PASSWORD_TRIES - 1, 0, -1):
        if (status := _run(run(peer))) != PASSWORD_AGAIN:
            return status
        print(f"[Try again ({tries} {'try' if tries == 1 else 'tries'} left).]", flush=True)
        # Ctrl-C ends the question: a prompt that ended restored the loop's own handler
        # (prompt_toolkit's), which outlives the loop and would let getpass ignore it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        secret = read_password(name)
        peer = replace(peer, password=secret, ask_again=tries > 1)
    return _run(run(peer))


def _start_desk(values: tuple[str, str], line: CommandLine, settings: Settings) -> int:
    tty = sys.stdin.isatty()
    desk, trust = _registry(values, line, settings, tty)
    from peer.adapter.desk.start import run_desk_client

    root = _desk_state_dir(settings)
    return _run(run_desk_client(desk, stdin_is_tty=tty, state_dir=root, trust=trust))


def _start_operator(values: tuple[str, str, str], line: CommandLine, settings: Settings) -> int:
    name, tty = check_name(values[0]), sys.stdin.isatty()
    desk, trust = _registry(values[1:], line, settings, tty)
    from msgspec.structs import replace

    from peer.adapter.desk.start import NO_KEY, find_operator_key, operator_authorised, run_operator

    root = _desk_state_dir(settings)
    # authorised once by the operator key, our own key is enough from then on
    authorised = operator_authorised(root, name, *desk)
    _loaded()  # it may ask for the operator key
    key = "" if authorised else find_operator_key(tty, settings.data_dir)
    if key is None:
        raise UsageProblem(NO_KEY)
    trust = replace(trust, secret="the operator key" if key else "")
    # on a terminal the full screen (peer/adapter/desk/terminal.py), unless --plain
    full = tty and sys.stdout.isatty() and not line.plain
    run = run_operator(
        name, desk, key=key, stdin_is_tty=tty, state_dir=root, trust=trust, full_screen=full
    )
    return _run(run)


def _desk_state_dir(settings: Settings) -> Path:
    from disk.files import default_dir
    from peer.adapter.desk.start import take_earlier_key

    if settings.data_dir is not None:
        return settings.data_dir
    root = default_dir("desk")
    take_earlier_key(root)  # the per-user folder, which no registry shares
    return root


def _registry(
    at: tuple[str, str], line: CommandLine, settings: Settings, tty: bool
) -> tuple[tuple[str, int], ContactRule]:
    """The registry at the SERVER-IP and SERVER-PORT of `at` (else found on the network), and
    how a client trusts its key (asking on a `tty`, else sending no secret unchecked)."""
    where, advertised = registry_at(*at, settings.bind, settings.registry_code)
    from peer.adapter.key_contact import ContactRule
    from terminal.prompt import ask_yes_no

    return where, ContactRule(
        code=settings.registry_code,
        trust_first=line.trust_first_key,
        accept_new=line.accept_new_key,
        advertised=advertised,
        confirm=ask_yes_no if tty else None,
    )


def read_password(name: str) -> str:
    """The password for `name`: asked on the terminal when standard input is one; else the
    first line of standard input, a script's (getpass would ask the terminal). A new name's
    is asked again once the registry says it is new (peer/adapter/key_checks.py).
    UsageProblem if empty."""
    import getpass  # here: a peer with --password alone needs it

    _loaded()  # a Ctrl-C at the question: the terminal's echo is put back on the way out
    ask = getpass.getpass if sys.stdin.isatty() else _password_from_input
    with warnings.catch_warnings():
        # without a terminal, getpass says so; Python's warning is not for the user
        warnings.simplefilter("ignore", getpass.GetPassWarning)
        try:
            secret = ask(f"Password for {name}: ")
        except EOFError:
            secret = ""
    if not secret:
        raise UsageProblem("--password needs a password: an empty one protects nothing")
    return secret


def _password_from_input(prompt: str) -> str:
    print("Warning: Password input may be echoed.", file=sys.stderr)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    sys.stderr.write("\n")  # what follows begins a line of its own
    if not line:
        raise EOFError
    return line.removesuffix("\n")


def version_line() -> str:
    import importlib.metadata  # here: 20 ms of every start, for --version alone

    from wire.version import WIRE_VERSION, build_name

    try:
        release = importlib.metadata.version("chatapp")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
        release = "(not installed)"
    return f"ChatApp {release}, wire {WIRE_VERSION}, {build_name()} build"


def _registry_output() -> Callable[[str], None]:
    """Standard output, until it is closed (`| head`); then the registry says so once."""
    from peer.adapter.output import StdoutLines, say_on_stderr

    def gone(reason: str) -> None:
        say_on_stderr(
            f"ChatApp: standard output is closed ({reason}); the registry goes on serving "
            "without printing its log."
        )

    return StdoutLines(gone).write


def _run(coro: Coroutine[Any, Any, int]) -> int:
    from launcher.event_loop import run_guarded  # here: asyncio is a third of --help's time

    _loaded()
    return run_guarded(coro)


#: The commands that install ChatApp from a checkout (the README's).
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e ."


def missing_dependency(missing: ModuleNotFoundError) -> str:
    return (
        f"ChatApp: error: {missing.name or 'a library it needs'} is not installed for this "
        f"Python. From the ChatApp folder, install ChatApp and what it needs with:\n  {INSTALL}\n"
        "then start it as .venv/bin/ChatApp (for example .venv/bin/ChatApp -s 5000)."
    )


def main(argv: list[str] | None = None) -> int:
    _guard_loading()  # imported (the installed command): its mode's loading guarded too
    words = sys.argv[1:] if argv is None else argv
    try:
        if any(word in HELP for word in words):
            # (flushed here: a reader gone is then a BrokenPipeError below, buffered or not)
            print(help_asked(words), flush=True)
            return 0
        line = parse(words)
        if line.version:
            print(version_line())
            return 0
        return _start(line)
    except UsageProblem as exc:
        print(f"ChatApp: error: {exc}", file=sys.stderr)
        return 2
    except NoRegistry as none:
        say(none.line(with_address(words)))
        return 1
    except KeyboardInterrupt:
        # Python's reports at exit of what was left half made are not said
        warnings.simplefilter("ignore")
        sys.unraisablehook = lambda unraisable: None
        return 130
    except BrokenPipeError:  # `ChatApp --help | head`: what is left unread goes nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ModuleNotFoundError as missing:  # a mode's own dependency, imported as it starts
        print(missing_dependency(missing), file=sys.stderr)
        return 1
    finally:
        _loaded()


if __name__ == "__main__":
    sys.exit(main())
else:
    _loaded()  # imported: the importer's own handler back until `main` is called
