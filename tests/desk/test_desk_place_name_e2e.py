"""A real `ChatApp -d` names its held-place file by a keyed hash: listing its folder and
trying every phone number finds nothing without the client's secret."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from desk_procs import DeskWorld, place

from wire.desk.phone import phone_key


@pytest.mark.timeout(60)
def test_the_place_file_name_reveals_nothing_without_the_secret(world: DeskWorld) -> None:
    phone = "+44 7700 900123"
    alice = world.person("Alice", phone, 5)
    alice.expect(place(1))
    folder = world.tmp / "state" / "Alice" / "desk"
    names = [p.name for p in folder.glob("*.json")]
    assert len(names) == 1
    label = f"127.0.0.1:{world.port}|{phone_key(phone)}"
    # what found the number before: a plain hash of each candidate number
    assert hashlib.sha256(label.encode()).hexdigest()[:32] not in names[0]
    secret = bytes.fromhex((folder / "place-secret").read_text())
    assert (folder / "place-secret").stat().st_mode & 0o077 == 0
    keyed = hmac.new(secret, label.encode(), hashlib.sha256).hexdigest()[:32]
    assert names[0] == f"place-{keyed}.json"
