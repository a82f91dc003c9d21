"""Coverage-guided fuzzing of the wire decoders with atheris (opt-in; not part of the suite).

    pip install atheris
    python tests/fuzz/atheris_decoders.py -atheris_runs=200000

Any exception other than DecodeError from messages_of (tests/datagrams.py), or a decoded
message that does not encode again to something that decodes to itself, is a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's root

with atheris.instrument_imports():
    from tests.datagrams import messages_of
    from wire.codec import DecodeError, decode, encode


def one_input(data: bytes) -> None:
    try:
        decoded = messages_of(data)
    except DecodeError:
        pass
    else:
        for message in decoded:
            assert decode(encode(message)) == message


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
