"""The optional compiled build (docs/ARCHITECTURE.md, "The compiled build").

With CHATAPP_COMPILE=1 in the environment at install, mypyc compiles the modules of
COMPILED to C extensions, which Python imports instead of their sources. Without it,
this file adds nothing to pyproject.toml: the install is pure Python, the default and
the reference.
"""

import os
import tomllib

from setuptools import setup

#: The compiler, asked for only when compiling: pip installs it into the build's own
#: environment (`setup_requires` is how setup.py asks setuptools' backend for more).
MYPYC = "mypy>=2.4,<3"

#: The modules every message goes through: the codec, the secure channel's handshake and
#: data path, the peer's adapter and its core's parts on a message's way, the registry's
#: core and relay. Compiled together, so that calls between them are C calls. Left pure:
#: the endpoint (net/endpoint.py, net/datagram_in.py) and wire/reliable.py, for which the
#: tests and bench.direct stand in fakes and spies.
COMPILED = [
    "wire/codec.py",
    "wire/flood_gate.py",
    "wire/token_bucket.py",
    "net/noise.py",
    "net/secure.py",
    "net/sessions.py",
    "net/replay.py",
    "net/outgoing.py",
    "peer/core.py",
    "peer/node.py",
    "peer/direct.py",
    "peer/trust.py",
    "peer/commands.py",
    "peer/typed_input.py",
    "peer/table.py",
    "peer/settling.py",
    "peer/received.py",
    "peer/requests.py",
    "peer/mapped_log.py",
    "peer/sending_log.py",
    "peer/state.py",
    "peer/seen_ids.py",
    "peer/outbox.py",
    "peer/flood_gate.py",
    "peer/key_checks.py",
    "peer/inbox.py",
    "registry/core.py",
    "registry/relay.py",
    "registry/pusher.py",
]


def _dependencies() -> list[str]:
    """The program's own dependencies (pyproject.toml): mypyc type-checks the modules it
    compiles against them, as mypy does."""
    with open("pyproject.toml", "rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


if os.environ.get("CHATAPP_COMPILE") != "1":
    setup()
else:
    try:
        from mypyc.build import mypycify
    except ImportError:  # pip's first question to the backend: what the build needs
        setup(setup_requires=[MYPYC, *_dependencies()])
    else:
        setup(ext_modules=mypycify(COMPILED, opt_level="3"))
