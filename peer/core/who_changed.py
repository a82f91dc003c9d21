"""What changed in the table between two looks at it, in words: who came online, who went
offline, who was renamed. Pure: rows in, lines out.

A row gone and a row new at the same address, or with the same key, is a rename. Many
changes of one kind at once are folded into one line (`FOLD_OVER`), naming the first
`NAMES_SHOWN` of them (`who` lists everyone).
"""

from __future__ import annotations

from collections.abc import Iterable

from wire.messages import Entry
from wire.names import name_key

#: More changes of one kind than this at once are said in one line.
FOLD_OVER = 3
#: The names a folded line shows; the rest are counted.
NAMES_SHOWN = 8

#: A look at the table: each row by its name's key.
Rows = dict[str, Entry]


def rows_of(entries: Iterable[Entry]) -> Rows:
    """The table's rows, as `changes` compares them."""
    return {name_key(e.name): e for e in entries}


def changes(before: Rows, after: Rows, me: str) -> list[str]:
    """The lines that say what changed from `before` to `after`, leaving out `me` (our own
    changes are said by what caused them)."""
    renames = _renames(before, after)
    renamed_old = {name_key(old) for old, _ in renames}
    renamed_new = {name_key(new) for _, new in renames}
    skip = name_key(me)
    came = [
        e.name
        for k, e in after.items()
        if e.online and k != skip and k not in renamed_new and not _was_online(before, k)
    ]
    went = [
        e.name
        for k, e in before.items()
        if e.online and k != skip and k not in renamed_old and not _is_online(after, k)
    ]
    renames = [(old, new) for old, new in renames if skip not in (name_key(old), name_key(new))]
    return [
        *_said(came, "{} is online", "{} people came online: {}"),
        *_said(went, "{} went offline", "{} people went offline: {}"),
        *_said(
            [f"{old} is now known as {new}" for old, new in renames],
            "{}",
            "{} people changed their names: {}",
        ),
    ]


def _renames(before: Rows, after: Rows) -> list[tuple[str, str]]:
    """(old name, new name) for each row gone from `before` whose address or key a row new
    in `after` has."""
    new = [e for k, e in after.items() if k not in before]
    found = []
    for key, old in before.items():
        if key in after:
            continue
        twin = next((e for e in new if _same_owner(old, e)), None)
        if twin is not None:
            found.append((old.name, twin.name))
            new.remove(twin)
    return found


def _same_owner(old: Entry, new: Entry) -> bool:
    return (old.key != "" and old.key == new.key) or (old.ip, old.port) == (new.ip, new.port)


def _was_online(rows: Rows, key: str) -> bool:
    return key in rows and rows[key].online


_is_online = _was_online


def _said(items: list[str], one: str, many: str) -> list[str]:
    """Each of `items` in a line of its own (`one`), or all in one line (`many`)."""
    if len(items) <= FOLD_OVER:
        return [f"[{one.format(item)}]" for item in items]
    shown = ", ".join(items[:NAMES_SHOWN])
    if len(items) > NAMES_SHOWN:
        shown += f" and {len(items) - NAMES_SHOWN} more"
    return [f"[{many.format(len(items), shown)}]"]
