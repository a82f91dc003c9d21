"""The process's open-file limit, raised to what the system allows.

Each TCP connection a node serves is a file descriptor. The soft limit a shell gives a
process (often 1,024) is far below the hard one the system allows it to raise itself to;
left there, a thousand connections take every descriptor, and a registry can neither
accept a new peer nor write its table.
"""

from __future__ import annotations

#: The soft limit asked for when the hard one is unlimited (Linux refuses more than its
#: fs.nr_open, by default 1,048,576).
UNLIMITED_WANTED = 1 << 20


def raise_open_file_limit() -> int | None:
    """Raise the soft open-file limit to the hard one, where the system allows; return
    the soft limit in force afterwards (None where it cannot be read: no `resource`)."""
    try:
        import resource
    except ImportError:  # not on this system (Windows)
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None
    wanted = UNLIMITED_WANTED if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (OSError, ValueError):
            pass  # kept as it was: the limit is what the slots are counted against
    return int(soft)
