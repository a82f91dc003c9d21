"""An operator shows the operator key once: its own public key is authorised from then on,
and the shared key need travel no more."""

from __future__ import annotations

from pathlib import Path

from desk_harness import ALL_TOPICS, Desk

from registry.adapter.desk.files import DeskFiles
from registry.core.desk.limits import DEFAULTS
from registry.core.desk.state import DeskState
from wire.desk.messages import DeskOnDuty, DeskOperator, DeskRefused
from wire.version import WIRE_VERSION

ANN_KEY, EVE_KEY = "A" * 43, "E" * 43


def without_key(desk: Desk, conn: str, name: str) -> list[object]:
    return desk.send(conn, DeskOperator(desk.mid(), name, ALL_TOPICS, "", WIRE_VERSION))


def test_the_operator_key_shown_once_authorises_the_operators_own_key() -> None:
    desk = Desk()
    desk.queue.opened("o1", "10.0.0.5", ANN_KEY)
    desk.operator("o1", "ann")
    assert isinstance(desk.inbox["o1"][-1], DeskOnDuty)
    assert desk.queue.state.authorised == {ANN_KEY: "ann"}  # kept on disk from then on
    assert any("authorised from now on" in line for line in desk.logs)
    desk.drop("o1")
    # the next start of ann, from the same key, needs no operator key
    desk.queue.opened("o2", "10.0.0.5", ANN_KEY)
    without_key(desk, "o2", "ann")
    assert isinstance(desk.inbox["o2"][-1], DeskOnDuty)


def test_no_other_key_goes_on_duty_without_the_operator_key() -> None:
    desk = Desk(authorised={ANN_KEY: "ann"})
    desk.queue.opened("o1", "10.0.0.9", EVE_KEY)
    without_key(desk, "o1", "ann")  # ann's name, another key
    refused = desk.inbox["o1"][-1]
    assert isinstance(refused, DeskRefused) and "wrong operator key" in refused.reason


def test_a_connection_of_no_key_is_not_authorised_by_the_operator_key() -> None:
    # the registry's console and tests open no key: nothing to keep
    desk = Desk()
    desk.queue.opened("o1", "10.0.0.5")
    desk.operator("o1", "ann")
    assert isinstance(desk.inbox["o1"][-1], DeskOnDuty)
    assert desk.queue.state.authorised == {}


def test_a_key_authorised_for_one_name_goes_on_duty_under_no_other() -> None:
    desk = Desk(authorised={ANN_KEY: "ann"})
    desk.queue.opened("o1", "10.0.0.5", ANN_KEY)
    without_key(desk, "o1", "mallory")  # ann's key, another name: the operator key again
    refused = desk.inbox["o1"][-1]
    assert isinstance(refused, DeskRefused) and "wrong operator key" in refused.reason
    desk.queue.opened("o2", "10.0.0.5", ANN_KEY)
    without_key(desk, "o2", "ANN")  # its own name, however spelled
    assert isinstance(desk.inbox["o2"][-1], DeskOnDuty)


def test_a_revoked_key_goes_off_duty_and_shows_the_operator_key_again() -> None:
    desk = Desk(authorised={ANN_KEY: "ann", EVE_KEY: "eve"})
    desk.queue.opened("o1", "10.0.0.5", ANN_KEY)
    without_key(desk, "o1", "ann")
    assert isinstance(desk.inbox["o1"][-1], DeskOnDuty)
    assert desk.revoke("nobody") == []
    desk.revoke("Ann")
    assert desk.queue.state.authorised == {EVE_KEY: "eve"}
    assert "o1" in desk.closed  # taken off duty
    assert any("revoked" in line for line in desk.logs)
    desk.drop("o1")
    desk.queue.opened("o2", "10.0.0.5", ANN_KEY)
    without_key(desk, "o2", "ann")
    assert isinstance(desk.inbox["o2"][-1], DeskRefused)
    desk.queue.opened("o3", "10.0.0.5", ANN_KEY)
    desk.operator("o3", "ann")  # with the operator key: authorised again
    assert isinstance(desk.inbox["o3"][-1], DeskOnDuty)


def test_a_new_operator_key_revokes_every_key_the_old_one_authorised(tmp_path: Path) -> None:
    logs: list[str] = []
    files = DeskFiles(tmp_path, lambda: 0.0, logs.append, "old-desk-key")
    files.keep([], DeskState(str, str, "", {ANN_KEY: "ann"}, DEFAULTS))
    assert DeskFiles(tmp_path, lambda: 0.0, logs.append, "old-desk-key").authorised == {
        ANN_KEY: "ann"
    }
    changed = DeskFiles(tmp_path, lambda: 0.0, logs.append, "new-desk-key")
    assert changed.authorised == {}
    changed.load(DeskState(str, str, "", None, DEFAULTS), 0.0, [].append)
    assert any("operator key changed" in line for line in logs)
    # and it stays so when the old key comes back: nothing is kept of it
    assert DeskFiles(tmp_path, lambda: 0.0, logs.append, "old-desk-key").authorised == {}
