"""The parts of one peer core, gathered for the two that dispatch to the others: what is
received (peer.received) and what is typed (peer.typed_input). Built by PeerCore."""

from __future__ import annotations

from msgspec import Struct

from peer.answers import Answers
from peer.asking import Asking
from peer.direct import DirectChats
from peer.give_ups import GiveUps
from peer.inbox import Inbox
from peer.leaving import Leaving
from peer.refusals import Refusals
from peer.registration import Registration
from peer.registry_link import RegistryLink
from peer.renames import Renames
from peer.room_membership import Membership
from peer.shared import Shared
from peer.table_news import TableNews
from peer.typed_commands import Commands


class Parts(Struct, frozen=True, eq=False):
    """Every part of one peer core, and the state they share."""

    shared: Shared
    link: RegistryLink
    inbox: Inbox
    direct: DirectChats
    membership: Membership
    renames: Renames
    table_news: TableNews
    registration: Registration
    leaving: Leaving
    refusals: Refusals
    answers: Answers
    give_ups: GiveUps
    asking: Asking
    commands: Commands
