"""The file commands as typed: `/file <name> <path>`, `/accept [n]`, `/reject [n]`,
`/files`, `/cancel [n]`. A number may be left out when one transfer alone fits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peer.core.actions import Print
from peer.core.commands import FILE_USAGES
from peer.core.files.transfer import EmitFile, ReadFile, Transfer, TransferPhase
from wire.messages import NoteState

if TYPE_CHECKING:
    from peer.core.files.transfers import FileTransfers


def typed_command(core: FileTransfers, verb: str, args: str, now: float, emit: EmitFile) -> None:
    args = args.strip()
    if verb == "file":
        to, _, path = args.partition(" ")
        if not to or not path.strip():
            emit(Print(f"[Usage: {FILE_USAGES['file']}]", "error"))
        elif core.offer_to(to, emit) is not None:
            emit(ReadFile(to, path.strip()))
        return
    if verb == "files":
        list_transfers(core, emit)
        return
    if (transfer := _chosen(core, verb, args, emit)) is None:
        return
    if verb == "accept":
        core.accept(transfer, now, emit)
    else:
        state = NoteState.REJECTED if verb == "reject" else NoteState.CANCELLED
        core.end(transfer, state, "", now, emit)


def _fits(verb: str, transfer: Transfer) -> bool:
    """Whether `verb` applies to `transfer`: an answer to an offer received, or a cancel."""
    if verb == "cancel":
        return True
    return not transfer.sending and transfer.phase is TransferPhase.OFFERED


def _chosen(core: FileTransfers, verb: str, args: str, emit: EmitFile) -> Transfer | None:
    """The transfer `args` names for `verb`, or the only one it fits; else None, said."""
    fitting = [t for t in core.transfers.values() if _fits(verb, t)]
    what = "offer to answer" if verb != "cancel" else "transfer"
    if not args:
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            emit(Print(f"[No {what}. /files lists transfers.]", "error"))
        else:
            numbers, usage = ", ".join(str(t.number) for t in fitting), FILE_USAGES[verb]
            emit(Print(f"[Which one? {numbers}. Type {usage.split()[0]} <number>.]", "error"))
        return None
    if not args.isdecimal() or int(args) not in core.transfers:
        # one ended is still listed by /files: said as ended, not as unknown
        ended = next((e for e in core.ended if str(e.number) == args), None)
        why = f"Transfer {args} has ended ({ended.how})" if ended else f"No transfer {args[:20]!r}"
        emit(Print(f"[{why}. /files lists them.]", "error"))
        return None
    transfer = core.transfers[int(args)]
    if not _fits(verb, transfer):
        emit(Print(f"[{transfer.number} is not an offer to you waiting for an answer.]", "error"))
        return None
    return transfer


def list_transfers(core: FileTransfers, emit: EmitFile) -> None:
    """`/files`: every transfer under way, then those ended lately."""
    if not core.transfers and not core.ended:
        emit(Print("[No transfers. /file <name> <path> offers a file.]", "system"))
        return
    for transfer in core.transfers.values():
        emit(Print(f"  {transfer.number}  {transfer.about()}  {_state(transfer)}", "info"))
    for ended in core.ended:
        emit(Print(f"  {ended.number}  {ended.about}  {ended.how}", "info"))


def _state(transfer: Transfer) -> str:
    if transfer.phase is TransferPhase.OFFERED:
        return "waiting for your answer" if not transfer.sending else "offered, no answer yet"
    if transfer.sending and transfer.verified >= transfer.size:
        return f"sent, waiting for {transfer.peer} to check it"
    return transfer.done_part()
