"""Where ChatApp keeps its files, and the peer's own kept state (its registration token)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wire.names import name_key

#: Environment variable that overrides every default data directory.
DATA_DIR_ENV = "CHATAPP_DATA_DIR"


def default_dir(kind: str) -> Path:
    """The per-user directory for `kind` ("registry" or "peer"), unless overridden.

    Order: $CHATAPP_DATA_DIR; else $XDG_DATA_HOME/chatapp/<kind> for the registry and
    $XDG_STATE_HOME/chatapp/<kind> for a peer; else the same under ~/.local/share or state.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if kind == "registry":
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "chatapp" / kind


class PeerStateFile:
    """The token that proves a peer owns its name, kept between runs (DESIGN.md section 7)."""

    def __init__(self, root: Path, name: str) -> None:
        self.path = root / "peers" / f"{name_key(name)}.json"

    def load_token(self) -> str:
        """The kept token, or "" when there is none or the file is unreadable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        token = data.get("token") if isinstance(data, dict) else None
        return token if isinstance(token, str) else ""

    def save_token(self, token: str) -> None:
        """Keep `token`, readable only by this user, replacing the file atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"token": token}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
