"""Why a request was refused, as a code the receiver acts on (the reason beside it is for
showing, never deciding), and the reasons of the refusals a program acts on."""

from __future__ import annotations

from enum import StrEnum


class RefusalCode(StrEnum):
    """The `code` of a `Refused` or `DeskRefused`: what the refusal means to a program."""

    #: Nothing for the receiver to do but show the reason.
    OTHER = "other"
    #: The request came from another version of ChatApp (its fields are not ours).
    VERSION = "version"
    #: Another start of the peer holds the name now: this one stops sending as it.
    REPLACED = "replaced"
    #: Another start took the name over and has since gone offline: starting again takes
    #: the name back.
    REPLACED_GONE = "replaced-gone"
    #: The registry knows no name the request was made as: its console released it, or it
    #: was lost with the registry's data.
    NAME_UNKNOWN = "name-unknown"
    #: The name is someone else's: a registration without its password, or with a wrong one
    #: (the peer says how a password is given).
    NOT_OWNER = "not-owner"
    #: The registry counts the requester offline (it gave up on it, silent too long).
    OFFLINE = "offline"
    #: An operator came on duty with a wrong operator key.
    OPERATOR_KEY = "operator-key"
    #: An operator of that name is on duty already (perhaps this one, on a connection the
    #: desk has not yet seen end).
    ALREADY_ON_DUTY = "already-on-duty"


#: The reason of the Refused that answers a room request from a peer counted offline.
OFFLINE_REFUSAL = "You are offline."

#: How the reason begins that answers a start of a peer replaced by another start
#: (`replaced_refusal`).
REPLACED_REFUSAL = "Another start of ChatApp now holds the name"
#: How it begins when that other start has gone offline since (see `replaced_refusal`).
REPLACED_GONE_REFUSAL = "Another start of ChatApp took the name"


def replaced_refusal(
    name: str, where: str, *, online: bool, deregistered: bool
) -> tuple[RefusalCode, str]:
    """The code and reason of the Refused that tells a start it was replaced by the start
    of `name` at `where`, which holds it (`online`), or went offline (`deregistered` or
    silent)."""
    if online:
        return RefusalCode.REPLACED, f"{REPLACED_REFUSAL} {name}, at {where}."
    why = "it deregistered" if deregistered else "it stopped answering"
    reason = f"{REPLACED_GONE_REFUSAL} {name} over, at {where}, and has since gone offline ({why})."
    return RefusalCode.REPLACED_GONE, reason


def unknown_name(name: str) -> str:
    """The reason of the Refused that answers a request made for (or to) `name`, a name
    the registry does not know."""
    return f"No one is called {name}."
