"""Which version of the wire a build of ChatApp speaks (docs/PROTOCOL.md, "Versions"):
a fingerprint of every message and record type's name and fields, and `REVISION`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from types import ModuleType

from wire import codec, messages
from wire.base import WireMessage
from wire.desk import messages as desk

#: Raise by one when a field's meaning changes but its name and type do not.
REVISION = 4
# 2: a desk estimate's `est_kind` says `typical` or `measured` (it was `range`, or
# `history` for none yet): an older client would not say which an estimate is.
# 3: a file's bytes are data records of the secure stream, no longer FileChunk messages.
# 4: the secure channel and stream speak Noise_IK_25519_AESGCM_SHA256 (were ChaChaPoly).


def fingerprint(modules: Iterable[ModuleType], revision: int = REVISION) -> str:
    """Eight hex digits naming the shape (names, fields and field types) of every message
    and record defined in `modules`, with `revision`, whatever the order of definition."""
    shapes = []
    for module in modules:
        for name, obj in vars(module).items():
            if not isinstance(obj, type) or obj.__module__ != module.__name__:
                continue
            if issubclass(obj, WireMessage) or (issubclass(obj, tuple) and hasattr(obj, "_fields")):
                # each annotation as written (a NamedTuple keeps it as a ForwardRef)
                hints = _annotations(obj).items()
                fields = ",".join(f"{f}:{getattr(t, '__forward_arg__', t)}" for f, t in hints)
                shapes.append(f"{name}({fields})")
    text = f"{revision};" + ";".join(sorted(shapes))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _annotations(cls: type) -> dict[str, object]:
    """The fields `cls` annotates, in the order written, after those it inherits (`id`...)."""
    hints: dict[str, object] = {}
    for klass in cls.__mro__:
        own = vars(klass).get("__annotations__", {})
        hints = {**{f: t for f, t in own.items() if f not in hints}, **hints}
    return hints


#: The modules that define the wire's messages and records: every type of wire.messages.Message
#: is defined in one of them (tests/wire/test_version.py checks it).
MODULES = (messages, desk)

WIRE_VERSION = fingerprint(MODULES)

_FINGERPRINT = re.compile("[0-9a-f]{8}")


def wire_refusal(theirs: str, what: str) -> str:
    """The reason given to `what` ("peer", "desk client", ...) whose opening message says it
    speaks wire `theirs`, not ours: what its user is shown."""
    if _FINGERPRINT.fullmatch(theirs):  # anything else could be made to drive a terminal
        which = f"wire {theirs}, this registry wire {WIRE_VERSION}"
    else:
        which = f"another wire than this registry (wire {WIRE_VERSION})"
    return (
        f"ChatApp versions differ: your {what} speaks {which}. "
        "Use the same version of ChatApp on every machine."
    )


def build_name() -> str:
    """The build running: "compiled" (the codec is mypyc's) or "pure"."""
    return "pure" if codec.__file__.endswith(".py") else "compiled"
