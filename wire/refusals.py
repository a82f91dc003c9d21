"""Why a request was refused, as a code the receiver acts on: the human reason beside it
is for showing, never for deciding (rewording it changes nothing but what people read)."""

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
    #: The registry counts the requester offline (it gave up on it, silent too long).
    OFFLINE = "offline"
    #: An operator came on duty with a wrong operator key.
    OPERATOR_KEY = "operator-key"
    #: An operator of that name is on duty already (perhaps this one, on a connection the
    #: desk has not yet seen end).
    ALREADY_ON_DUTY = "already-on-duty"
