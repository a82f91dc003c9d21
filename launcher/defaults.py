"""The numbers the command line is held to, and the registry's defaults that --help shows.
It imports nothing: `ChatApp --help` reads these without loading the registry, whose
modules bring in the whole wire codec (a third of a second on a busy machine)."""

from __future__ import annotations

#: The ports a user may choose: below 1024 needs root, above 65535 does not exist.
PORT_RANGE = (1024, 65535)
#: The shortest keepalive period (seconds): shorter, a peer's keepalives and the registry's
#: sweeps would take a busy machine's time for nothing.
MIN_KEEPALIVE = 0.05
#: The largest --mailbox-limit and --new-names: beyond these a limit is no limit.
MAX_MAILBOX_LIMIT = 1_000_000
MAX_NEW_NAMES = 1_000_000_000

# The registry's defaults, copied: the registry's modules named beside each are where they
# are decided and explained. tests/test_launcher_start.py keeps each copy equal to its source.

#: registry.core.quotas.MAILBOX_MESSAGES: messages one mailbox keeps.
MAILBOX_MESSAGES = 1000
#: registry.core.flood.NEW_NAMES: new names one IP address may register per hour.
NEW_NAMES = 50
#: registry.core.forgetting.FORGET_AFTER: seconds a name may go unused before it is forgotten.
FORGET_AFTER = 180 * 24 * 3600.0
#: registry.core.forgetting.FORGET_AFTER_RANGE: the shortest and longest it may be given.
FORGET_AFTER_RANGE = (1.0, 100 * 365 * 24 * 3600.0)
#: registry.core.forgetting.NEWCOMER_NAMES: names kept whose owner never came back.
NEWCOMER_NAMES = 1000
#: registry.core.desk.limits.TYPICAL_SESSION: seconds a help-desk session is taken to last.
TYPICAL_SESSION = 600.0
#: registry.core.desk.limits.TYPICAL_SESSION_RANGE: the shortest and longest it may be given.
TYPICAL_SESSION_RANGE = (10.0, 4 * 3600.0)
