"""The settings of one registry, made once from its command line (ChatApp.py)."""

from __future__ import annotations

from msgspec import Struct

from registry.core.desk.limits import TYPICAL_SESSION
from registry.core.dispatch import FORGET_AFTER, NEWCOMER_NAMES
from registry.core.flood import NEW_NAMES
from registry.core.post_office import MAILBOX_MESSAGES


class RegistrySettings(Struct, frozen=True):
    """Each as its command line option says; `log_on_screen`: `.log off` may hide the log;
    `advertise`: where peers reach a registry of a service ("": its first address)."""

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
    screen: bool = False
    colour: bool = True
    advertise: str = ""
