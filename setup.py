"""The optional compiled build (docs/ARCHITECTURE.md, "The compiled build").

With CHATAPP_COMPILE=1 in the environment at install, mypyc compiles the modules of
COMPILED to C extensions, which Python imports instead of their sources. Without it,
this file adds nothing to pyproject.toml: the install is pure Python, the default and
the reference.

What compiled code asks of the code and its tests:
- A compiled class takes no undeclared attribute nor a value of another type; no test may
  subclass it. Tests faking part of a compiled module are marked `needs_pure`
  (tests/conftest.py).
- A stand-in for the secure channel goes in the endpoint's `DatagramChannel`
  (net/outgoing.py; bench/unprotected.py), in both builds; a benchmark watches a
  peer through the endpoint's `on_sent` and channel, never by replacing a method.
- Module constants on a message's path are `Final`: C values when compiled.
- Code on a message's path is written plainly, for both builds. Where bench/ or
  tests/test_walk.py shows that a plainer way costs, the line written for speed says so,
  always as `# (hot path: what it does instead)`, and nowhere else is speed a reason. The
  usual one: a tuple handed on unchanged (an address, a Dest) is typed Any, so that compiled
  code keeps the one object rather than making it again at each use (`Any, kept boxed`).
- A compiled coroutine keeps an attribute's type narrowed before an `await` after it: read
  it through a property (`GroupCommit.commit`). No compiled class subclasses `OrderedDict`.
- A TypedDict read at run time is written as a call, or a compiled class loses its
  `total=False` (`CoreOptions` in registry/core/dispatch.py).
"""

import os
import tomllib

from setuptools import setup

#: The compiler, asked for only when compiling: pip installs it into the build's own
#: environment (`setup_requires` is how setup.py asks setuptools' backend for more).
MYPYC = "mypy>=2.4,<3"

#: The modules every message goes through: the codec, the retries, the secure channel's
#: handshake and data path, the endpoint's sending and receiving, the peer's adapter and its
#: core's parts on a message's way (with the state they share, so that reading it is a C
#: field, not a dict lookup), the timer that wakes the core, the registry's server and what
#: it meets for each datagram: core, relay, pushes, liveness, table views, answers, checks of
#: names and tokens, group commit and files, log, flood budgets. Compiled together, so that
#: calls between them are C calls. Nothing else a direct message or a channel line meets runs
#: interpreted but the event loop and the peer's console (tests/test_walk.py checks it).
COMPILED = [
    "wire/codec.py",
    "wire/reliable.py",
    "wire/names.py",
    "wire/keys.py",
    "wire/token_bucket.py",
    "secure/noise.py",
    "secure/channel.py",
    "secure/sessions.py",
    "net/outgoing.py",
    "net/endpoint.py",
    "net/wake.py",
    "peer/core/dispatch.py",
    "peer/core/shared.py",
    "peer/core/lifecycle.py",
    "peer/core/room_return.py",
    "peer/core/typed_commands.py",
    "peer/adapter/node.py",
    "peer/core/direct.py",
    "peer/core/commands.py",
    "peer/core/table.py",
    "peer/core/settling.py",
    "peer/core/received.py",
    "peer/core/requests.py",
    "peer/core/request_kinds.py",
    "peer/core/request_ends.py",
    "peer/adapter/state.py",
    "peer/adapter/key_checks.py",
    "peer/core/inbox.py",
    "peer/core/leaving.py",
    "peer/core/registry_link.py",
    "peer/core/retry_wait.py",
    "registry/core/dispatch.py",
    "registry/core/posts.py",
    "registry/core/pushes.py",
    "registry/core/liveness.py",
    "registry/core/flood.py",
    "registry/core/table_feed.py",
    "registry/core/requests.py",
    "registry/core/authority.py",
    "registry/core/credentials.py",
    "registry/core/restart_news.py",
    "registry/adapter/commit.py",
    "registry/adapter/store.py",
    "registry/adapter/registry_console.py",
    "registry/core/table_watch.py",
    "registry/adapter/server.py",
]


def _dependencies() -> list[str]:
    """The program's own dependencies (pyproject.toml): mypyc type-checks the modules it
    compiles against them, as mypy does."""
    with open("pyproject.toml", "rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def _build() -> None:
    """What setuptools' backend asks for, pure or compiled."""
    if os.environ.get("CHATAPP_COMPILE") != "1":
        setup()
        return
    try:
        from mypyc.build import mypycify
    except ImportError:  # pip's first question to the backend: what the build needs
        setup(setup_requires=[MYPYC, *_dependencies()])
    else:
        setup(ext_modules=mypycify(COMPILED, opt_level="3"))


# The editable install puts this checkout on the venv's path, so `import setup` finds
# this file: only a run as a script (setuptools' backend runs it so) builds anything.
if __name__ == "__main__":
    _build()
