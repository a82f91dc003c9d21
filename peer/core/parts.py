"""The parts of one peer core, gathered for the two that dispatch to the others: what is
received (peer.core.received) and what is typed (TypedInput, peer.core.dispatch). Built by
PeerCore."""

from __future__ import annotations

from dataclasses import dataclass

from peer.core.direct import DirectChats
from peer.core.inbox import Inbox
from peer.core.leaving import Leaving
from peer.core.registration import Registering
from peer.core.registry_link import RegistryLink
from peer.core.request_ends import RequestEnds
from peer.core.room_membership import Membership
from peer.core.shared import Shared
from peer.core.table_news import TableNews
from peer.core.typed_commands import Commands


@dataclass(frozen=True, eq=False)
class Parts:
    """Every part of one peer core, and the state they share."""

    shared: Shared
    link: RegistryLink
    inbox: Inbox
    direct: DirectChats
    membership: Membership
    table_news: TableNews
    registration: Registering
    leaving: Leaving
    ends: RequestEnds
    commands: Commands
