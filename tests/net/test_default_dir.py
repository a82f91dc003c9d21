"""The per-user folders: the platform's (platformdirs), with today's Linux ones kept."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from disk.files import default_dir


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CHATAPP_DATA_DIR", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_the_platforms_folders_are_used(home: Path) -> None:
    data = Path(platformdirs.user_data_dir("chatapp", appauthor=False))
    state = Path(platformdirs.user_state_dir("chatapp", appauthor=False))
    assert default_dir("registry") == data / "registry"
    assert default_dir("peer") == state / "peer" and default_dir("desk") == state / "desk"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's paths")
def test_on_linux_they_are_todays_paths(home: Path) -> None:
    assert default_dir("registry") == home / ".local" / "share" / "chatapp" / "registry"
    assert default_dir("peer") == home / ".local" / "state" / "chatapp" / "peer"


def test_a_folder_an_earlier_chatapp_made_is_kept(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = home / "Library" / "Application Support" / "chatapp"
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: str(elsewhere))
    monkeypatch.setattr(platformdirs, "user_state_dir", lambda *a, **k: str(elsewhere))
    earlier = home / ".local" / "share" / "chatapp" / "registry"
    earlier.mkdir(parents=True)
    assert default_dir("registry") == earlier  # its names, keys and mail stay in use
    assert default_dir("peer") == elsewhere / "peer"  # none before: the platform's


def test_the_environment_overrides(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATAPP_DATA_DIR", str(home / "mine"))
    assert default_dir("peer") == home / "mine"
