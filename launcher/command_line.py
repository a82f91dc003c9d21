"""ChatApp's command line: how each option is spelled and what --help says of it (typer
reads them from `CommandLine`'s fields), and what a command line gave for each, unchecked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from launcher.checks import length_text, mode_usage
from launcher.defaults import (
    FORGET_AFTER,
    MAILBOX_MESSAGES,
    MAX_MAILBOX_LIMIT,
    MAX_NEW_NAMES,
    MIN_KEEPALIVE,
    NEW_NAMES,
    NEWCOMER_NAMES,
    TYPICAL_SESSION,
)


@dataclass(frozen=True)
class CommandLine:
    """ChatApp's options: how each is spelled and what --help says of it (typer reads them
    from here; a mode's values are named as launcher.checks.MODE_VALUES names them), and
    what the command line gave for each, unchecked (None: no such mode)."""

    server: Annotated[
        str | None,
        typer.Option("-s", "--server", metavar=mode_usage("-s"), help="Start a registry on PORT."),
    ] = None
    client: Annotated[
        tuple[str, str, str, str] | None,
        typer.Option(
            "-c",
            "--client",
            metavar=mode_usage("-c"),
            help="Start a peer called NAME listening on CLIENT-PORT (a free one if left out), "
            "with the registry at SERVER-IP SERVER-PORT (found on the network if left out).",
        ),
    ] = None
    desk: Annotated[
        tuple[str, str] | None,
        typer.Option("-d", "--desk", metavar=mode_usage("-d"), help="Ask the help desk."),
    ] = None
    operator: Annotated[
        tuple[str, str, str] | None,
        typer.Option(
            "-o",
            "--operator",
            metavar=mode_usage("-o"),
            help="Serve at the help desk (with the operator key: $CHATAPP_DESK_KEY, or asked).",
        ),
    ] = None
    data_dir_text: Annotated[
        str | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Where to keep data (default: per-user; env CHATAPP_DATA_DIR overrides).",
        ),
    ] = None
    bind: Annotated[
        str,
        typer.Option(
            "--bind", metavar="ADDRESS", help="Address to listen on (default: every interface)."
        ),
    ] = "0.0.0.0"
    keepalive_text: Annotated[
        str,
        typer.Option(
            "--keepalive",
            metavar="SECONDS",
            help=f"Seconds between a peer's keepalives (at least {MIN_KEEPALIVE:g}); a registry "
            "counts 3 silent ones as gone, and a help-desk connection silent for 2 as gone.",
        ),
    ] = "10"
    password: Annotated[
        bool, typer.Option("--password", help="Peer: ask for a password that protects the name.")
    ] = False
    bell: Annotated[bool, typer.Option("--bell", help="Peer: ring on messages to you.")] = False
    downloads: Annotated[
        str,
        typer.Option(
            "--downloads",
            metavar="DIR",
            help="Peer: where files received go (default: your Downloads folder).",
        ),
    ] = ""
    accept_new_key: Annotated[
        bool,
        typer.Option(
            "--accept-new-key",
            help="Peer and help desk: pin the key the registry answers with now, in place of "
            "the one pinned before (its owner made a new key; compare its fingerprint first).",
        ),
    ] = False
    registry_key: Annotated[
        str | None,
        typer.Option(
            "--registry-key",
            metavar="CODE",
            help="Peer and help desk: trust only the registry key of this join code (the "
            "fingerprint the registry prints at its start).",
        ),
    ] = None
    trust_first_key: Annotated[
        bool,
        typer.Option(
            "--trust-first-key",
            help="Peer and help desk, without a terminal: send a password or operator key to "
            "the first key that answers for the registry, unchecked.",
        ),
    ] = False
    crisis_notice: Annotated[
        str | None,
        typer.Option(
            "--crisis-notice",
            metavar="TEXT",
            help="Registry: the text the help desk shows first to people who pick topic 1.",
        ),
    ] = None
    mailbox_limit_text: Annotated[
        str,
        typer.Option(
            "--mailbox-limit",
            metavar="N",
            help=f"Registry: messages one mailbox keeps (and 2 KiB of text each), 1 to "
            f"{MAX_MAILBOX_LIMIT:,}.",
        ),
    ] = str(MAILBOX_MESSAGES)
    new_names_text: Annotated[
        str,
        typer.Option(
            "--new-names",
            metavar="N",
            help=f"Registry: new names one IP address may register per hour, 1 to "
            f"{MAX_NEW_NAMES:,}.",
        ),
    ] = str(NEW_NAMES)
    forget_after_text: Annotated[
        str,
        typer.Option(
            "--forget-names-after",
            metavar="LENGTH",
            help="Registry: forget a name (and its mailbox) its owner has not registered or "
            f"been online with for this long (like 180d; default {length_text(FORGET_AFTER)}).",
        ),
    ] = length_text(FORGET_AFTER)
    newcomer_names_text: Annotated[
        str,
        typer.Option(
            "--newcomer-names",
            metavar="N",
            help="Registry: names kept offline whose owner never came back a day later; past "
            "that, some go, of the address that registered the most first, 1 to "
            f"{MAX_NEW_NAMES:,}.",
        ),
    ] = str(NEWCOMER_NAMES)
    typical_session_text: Annotated[
        str,
        typer.Option(
            "--typical-session",
            metavar="LENGTH",
            help="Registry: how long a help-desk session is taken to last in wait estimates "
            f"until three have ended (like 10m or 600s; default {length_text(TYPICAL_SESSION)}).",
        ),
    ] = length_text(TYPICAL_SESSION)
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="NATS-URLS",
            help="Registry: share one service with the other registries on these NATS "
            "servers (nats://host:4222[,nats://...]; docs/SCALING.md).",
        ),
    ] = None
    advertise: Annotated[
        str | None,
        typer.Option(
            "--advertise",
            metavar="ADDRESS",
            help="Registry with --cluster: the address peers reach it at (default: --bind, "
            "or this machine's address).",
        ),
    ] = None
    no_discovery: Annotated[
        bool,
        typer.Option(
            "--no-discovery",
            help="Registry: do not advertise it on the network (clients then need its address).",
        ),
    ] = False
    desk_console: Annotated[
        bool,
        typer.Option(
            "--desk-console/--no-desk-console",
            help="Registry: whether its console serves at the help desk (on a terminal).",
        ),
    ] = True
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour.")] = False
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log every message.")] = False
    version: Annotated[
        bool, typer.Option("--version", help="Say which version this is, and its wire.")
    ] = False
