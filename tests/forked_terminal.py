"""pexpect's `spawn`, its Python processes forked from the worker's fork server
(tests/fork_server.py) where they can be, as `fork_server.popen` starts piped ones: each is
still a process of its own on a pseudo-terminal of its own, its controlling terminal, in a
session of its own, as pexpect starts one; it only spares the 0.1-0.15 s of CPU a fresh
interpreter spends loading the program. Any other start (another program, an option
pexpect's own start would carry out, such as no echo) is pexpect's."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
from typing import Any

import pexpect
import ptyprocess

from tests import fork_server


class Spawn(pexpect.spawn):
    """`pexpect.spawn`, forked where `fork_server.servable` says it can be."""

    def _spawnpty(self, args: list[str | bytes], **kwargs: Any) -> ptyprocess.PtyProcess:
        argv = [arg.decode() if isinstance(arg, bytes) else arg for arg in args]
        env, cwd = kwargs.get("env"), kwargs.get("cwd")
        plain = kwargs.get("preexec_fn") is None and kwargs.get("echo", True)
        server = (
            fork_server.server_for(argv, env) if plain and fork_server.servable(argv, cwd) else None
        )
        if server is None:
            return super()._spawnpty(args, **kwargs)
        ours, theirs = pty.openpty()
        try:
            rows, columns = kwargs.get("dimensions") or (24, 80)
            fcntl.ioctl(theirs, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            pid = server.start(argv[1:], os.environ if env is None else env, [theirs] * 3, True)
        except fork_server.ServerGone:
            os.close(ours)
            fork_server.gone(argv, env)
            return super()._spawnpty(args, **kwargs)
        finally:
            os.close(theirs)
        process = ptyprocess.PtyProcess(pid, ours)
        process.argv, process.env, process.launch_dir = args, env, cwd
        return process
