"""Only operators with the registry's operator key go on duty at the help desk: the person
being served is shown to their operator with the full phone number."""

from __future__ import annotations

import re

import pytest

from .harness import HOST, ChatEnv, ChatProc


def _operator(chat: ChatEnv, **env: str) -> ChatProc:
    """`ChatApp -o ann` against the env's registry, with `env` added to its environment."""
    assert chat.registry_port is not None
    saved = dict(chat.env)
    chat.env.update(env)
    try:
        return chat.spawn(
            "-o", "ann", HOST, str(chat.registry_port), *chat.trusting(), label="operator"
        )
    finally:
        chat.env.clear()
        chat.env.update(saved)


@pytest.mark.timeout(30)
def test_the_key_lets_an_operator_on_duty_and_a_wrong_one_does_not(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    key_file = chat.registry_dir / "desk-key"
    registry.expect(rf"need the key in {re.escape(str(key_file))}$")
    assert key_file.stat().st_mode & 0o077 == 0  # the registry's owner alone reads it
    key = key_file.read_text().strip()
    assert len(key) >= 20

    intruder = _operator(chat, CHATAPP_DESK_KEY="guessed")
    intruder.expect(r"wrong operator key")
    assert intruder.wait_exit(10) == 1
    registry.expect(r"desk: refused an operator calling itself 'ann': wrong key")

    ann = _operator(chat, CHATAPP_DESK_KEY=key)
    ann.expect(r"\[On duty as ann, serving no topics; 0 waiting\.\]")  # piped: see DESK.md
    registry.expect(r"desk: operator ann on duty")


@pytest.mark.timeout(30)
def test_an_operator_on_the_registrys_machine_finds_the_key(chat: ChatEnv) -> None:
    """Run by the registry's user with its default data directory, `-o` needs nothing."""
    chat.start_registry()
    ann = _operator(chat, CHATAPP_DATA_DIR=str(chat.registry_dir))
    ann.expect(r"\[On duty as ann, serving no topics; 0 waiting\.\]")  # piped: see DESK.md
    assert ann.count("Traceback") == 0


@pytest.mark.timeout(30)
def test_a_wrong_key_is_said_even_when_input_ends_at_once(chat: ChatEnv) -> None:
    # a script whose input is empty: going off duty must not hide the refusal
    chat.start_registry()
    intruder = _operator(chat, CHATAPP_DESK_KEY="guessed")
    intruder.close_stdin()
    intruder.expect(r"wrong operator key")
    assert intruder.wait_exit(10) == 1
    assert intruder.count(r"You are off duty") == 0


@pytest.mark.timeout(30)
def test_an_operator_finds_the_key_in_the_data_dir_it_is_given(chat: ChatEnv) -> None:
    chat.start_registry()
    assert chat.registry_port is not None
    ann = chat.spawn(
        "-o", "ann", HOST, str(chat.registry_port), "--data-dir", str(chat.registry_dir),
        *chat.trusting(), label="operator",
    )  # fmt: skip
    ann.expect(r"\[On duty as ann, serving no topics; 0 waiting\.\]")  # piped: see DESK.md


@pytest.mark.timeout(40)
def test_an_operator_shows_the_key_once_and_then_needs_it_no_more(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    key = (chat.registry_dir / "desk-key").read_text().strip()
    ann = _operator(chat, CHATAPP_DESK_KEY=key)
    ann.expect(r"On duty as ann")
    registry.expect(r"desk: the key of operator 'ann' is authorised from now on")
    ann.close_stdin()
    assert ann.wait_exit(10) == 0
    assert "ann" in (chat.registry_dir / "desk-operators.json").read_text()
    again = _operator(chat)  # no key given, none on this machine: its own key is enough
    again.expect(r"On duty as ann")
    # another client (its own data folder, so its own key) still needs the operator key
    stranger = _operator(chat, CHATAPP_DATA_DIR=str(chat.root / "elsewhere"))
    stranger.expect(r"operator key")
    assert stranger.wait_exit(10) != 0


@pytest.mark.timeout(60)
def test_an_operator_key_is_bound_to_its_name_listed_and_revoked_on_the_console(
    chat: ChatEnv,
) -> None:
    registry = chat.start_registry(options=["--no-desk-console"])
    key = (chat.registry_dir / "desk-key").read_text().strip()
    ann = _operator(chat, CHATAPP_DESK_KEY=key)
    ann.expect(r"On duty as ann")
    registry.expect(r"desk: the key of operator 'ann' is authorised from now on")
    # ann's own key, under another name, without the operator key: refused
    assert chat.registry_port is not None
    mallory = chat.spawn("-o", "mallory", HOST, str(chat.registry_port), label="mallory")
    mallory.expect(r"wrong operator key|operator key")
    assert mallory.wait_exit(10) != 0
    registry.send("operators")
    registry.expect(r"^  ann +key [\d ]+$")
    registry.send("revoke ann")
    registry.expect(r"revoked: ann shows the operator key again")
    ann.expect(r"off duty|lost|closed|operator key", timeout=15)  # taken off duty
    registry.send("operators")
    registry.expect(r"no operator keys authorised")


@pytest.mark.timeout(60)
def test_a_new_desk_key_revokes_the_operators_the_old_one_authorised(chat: ChatEnv) -> None:
    registry = chat.start_registry(options=["--no-desk-console"])
    key_file = chat.registry_dir / "desk-key"
    ann = _operator(chat, CHATAPP_DESK_KEY=key_file.read_text().strip())
    ann.expect(r"On duty as ann")
    ann.close_stdin()
    assert ann.wait_exit(10) == 0
    registry.kill()
    key_file.write_text("a-brand-new-operator-key\n")  # whoever runs it changed the key
    registry = chat.start_registry(options=["--no-desk-console"])
    registry.expect(r"operator key changed")
    again = _operator(chat)  # its own key is no longer enough
    again.expect(r"operator key")
    assert again.wait_exit(10) != 0
