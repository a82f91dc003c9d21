"""The launcher names the mode whose values are missing, even when an option follows it
(click would take that option as one of the values and blame something else)."""

from __future__ import annotations

import pytest

import ChatApp


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["-c", "henry", "127.0.0.1", "5000", "--bind", "127.0.0.1"],
            "-c needs NAME SERVER-IP SERVER-PORT CLIENT-PORT (got 3: henry 127.0.0.1 5000)",
        ),
        (
            ["--client", "henry", "127.0.0.1", "5000", "--verbose"],
            "--client needs NAME SERVER-IP SERVER-PORT CLIENT-PORT (got 3: henry 127.0.0.1 5000)",
        ),
        (["-s", "--verbose"], "-s needs PORT (got none)"),
        (["-d", "127.0.0.1", "-v"], "-d needs SERVER-IP SERVER-PORT (got 1: 127.0.0.1)"),
        (["-o", "ann", "127.0.0.1"], "-o needs NAME SERVER-IP SERVER-PORT (got 2: ann 127.0.0.1)"),
    ],
)
def test_missing_values_of_a_mode_are_named(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ChatApp.main(argv) == 2
    assert capsys.readouterr().err == f"ChatApp: error: {said}\n"


def test_a_negative_number_is_a_value_to_check_not_an_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ChatApp.main(["-c", "bob", "127.0.0.1", "-5", "6000"]) == 2
    assert "server-port must be between" in capsys.readouterr().err
