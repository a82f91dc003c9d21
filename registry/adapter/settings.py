"""The settings of one registry, made once from its command line (ChatApp.py)."""

from __future__ import annotations

from msgspec import Struct

from registry.core.desk.limits import TYPICAL_SESSION
from registry.core.flood import NEW_NAMES
from registry.core.forgetting import FORGET_AFTER, NEWCOMER_NAMES
from registry.core.quotas import MAILBOX_MESSAGES


class RegistrySettings(Struct, frozen=True):
    """The settings of one registry: whether it logs each datagram (`verbose`); the
    `keepalive` period (seconds) its peers, and the desk's connections, are watched on;
    `crisis_notice` replaces the desk's default text for topic 1; with `console_operator`
    the console serves at the help desk; a mailbox holds at most `mailbox_limit`
    messages; one IP address registers at most `new_names` new names an hour; a name
    unused for `forget_after` seconds is forgotten, and at most `newcomer_names` names of
    owners that never came back are kept offline (registry/core/forgetting.py); the desk's
    wait estimates take a session to last `typical_session` seconds until enough have
    been measured. With `prompt` (standard input and output a terminal) the console is a
    prompt (terminal.prompt), and every line is printed above it. `log_on_screen` says that
    the log goes to a screen, which `.log off` may hide it from; a log that goes to a
    file or a pipe is never hidden. With `discovery` it is advertised on the network
    (registry/adapter/run.py, `advertise`)."""

    verbose: bool = False
    keepalive: float = 10.0
    crisis_notice: str | None = None
    console_operator: bool = False
    mailbox_limit: int = MAILBOX_MESSAGES
    new_names: int = NEW_NAMES
    forget_after: float = FORGET_AFTER
    newcomer_names: int = NEWCOMER_NAMES
    typical_session: float = TYPICAL_SESSION
    prompt: bool = False
    log_on_screen: bool = False
    discovery: bool = True
