"""The requests the registry answered Busy, or left silent for a round: when each goes
again, and for how long the registry's silence is waited out (peer.core.requests)."""

from __future__ import annotations

import math

from peer.core.actions import Action
from peer.core.request_kinds import RequestRecord, Stage
from peer.core.requests import Requests
from peer.core.retry_wait import (
    BUSY_PATIENCE,
    SILENT_WAIT_FIRST,
    SILENT_WAIT_LAST,
    SilentRounds,
    silent_wait,
)
from peer.core.settling import Settling
from wire.messages import RoomsRequest

SERVER = ("127.0.0.1", 9000)
T0 = 1000.0


def sent_one(timeout: float = 0.5) -> tuple[Requests, list[Action]]:
    requests = Requests(SERVER, Settling(), timeout=timeout, attempts=1)
    out: list[Action] = []
    requests.send(RoomsRequest("a-1"), T0, out.append)
    return requests, out


def silent_round(requests: Requests, now: float) -> RequestRecord:
    """The round of `a-1` over unheard at `now`: the request, given up."""
    again, failed = requests.due(now)
    assert again == [] and [r.message.id for r in failed] == ["a-1"]
    return failed[0]


def test_a_request_told_to_wait_goes_again_when_its_wait_is_over() -> None:
    requests, _ = sent_one()
    request, first = requests.busy("a-1", 2.0, T0)
    assert first and request is not None and request.stage is Stage.BUSY_WAIT
    assert requests.next_wake() == T0 + 2
    assert list(requests.busy_over(T0 + 1.9)) == []
    assert list(requests.busy_over(T0 + 2)) == [request] and request.stage is Stage.SENT
    assert requests.messages() == [request.message] and requests.registers() == []


def test_the_first_busy_counts_until_patience_runs_out() -> None:
    requests, _ = sent_one()
    assert requests.busy("b-1", 1.0, T0) == (None, False)  # not waited for
    requests.busy("a-1", 1.0, T0)
    request, first = requests.busy("a-1", 30.0, T0 + 29)  # a second Busy, as it waits
    assert not first and request is not None and request.busy_since == T0
    # until then its silence is no sign the registry is gone: it is tried again
    assert list(requests.busy_over(T0 + 59)) == [request]
    again, failed = requests.due(T0 + 100)
    assert again == [request] and failed == []
    # past it, it is given up, and its first Busy no longer counts
    again, failed = requests.due(T0 + BUSY_PATIENCE + 10)
    assert again == [] and failed == [request] and request.busy_since is None


def test_a_busy_after_the_patience_gives_the_request_up() -> None:
    requests, _ = sent_one()
    request, _ = requests.busy("a-1", 1.0, T0)
    assert request is not None and requests.busy_over(T0 + 1) == [request]
    again, first = requests.busy("a-1", 1.0, T0 + BUSY_PATIENCE - 0.1)  # waits again
    assert again is request and not first and request.stage is Stage.BUSY_WAIT
    assert requests.busy_over(T0 + BUSY_PATIENCE + 0.9) == [request]
    given_up, first = requests.busy("a-1", 1.0, T0 + BUSY_PATIENCE + 1)
    assert given_up is request and not first and request.stage is Stage.GIVEN_UP
    assert request.busy_since is None and requests.registers() == requests.messages() == []


def test_silent_waits_double_up_to_the_last_each_between_half_and_all_of_it() -> None:
    for msg_id in ("a-1", "b-1", "c-7"):
        for waits in range(8):
            full = min(SILENT_WAIT_FIRST * 2**waits, SILENT_WAIT_LAST)
            assert full / 2 <= silent_wait(msg_id, waits) <= full
    # peers started together spread their next tries
    assert len({round(silent_wait(f"p{i}-1", 3), 3) for i in range(50)}) > 40


def test_a_request_silent_for_its_rounds_waits_ever_longer_until_its_patience_is_over() -> None:
    requests, _ = sent_one()
    now, dues = T0 + 2.5, []
    request = silent_round(requests, now)
    rounds = SilentRounds("127.0.0.1:9000", 60.0, T0, key="a-1")
    while (after := rounds.after_round(now)) is not None:
        due = requests.wait(request, after[0]).due
        assert requests.next_wake() == due and list(requests.busy_over(due)) == [request]
        dues.append(due - now)
        now = due + 2.5  # its next round, as silent
        assert silent_round(requests, now) is request
    assert now - T0 >= 60.0 and len(dues) >= 4
    assert dues == sorted(dues) and dues[-1] <= SILENT_WAIT_LAST


def test_a_request_answered_while_it_waits_is_taken_and_its_wait_forgotten() -> None:
    requests, _ = sent_one()
    request = silent_round(requests, T0 + 2.5)
    requests.wait(request, T0 + 3.5)
    assert requests.answer_came("a-1") is request and requests.next_wake() is None
    assert requests.answer_came("a-1") is None and request.due == math.inf
