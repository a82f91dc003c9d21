"""AskedFirst: Ctrl-C or Ctrl-D on the empty line asks before leaving when leaving would
lose something; y, or the same key again, leaves; any other answer stays."""

from __future__ import annotations

from terminal.asked_first import AskedFirst


def asked(question: str) -> tuple[AskedFirst, list[str]]:
    done: list[str] = []
    ask = AskedFirst(lambda: question, lambda: done.append("left"), done.append)
    return ask, done


def test_nothing_to_lose_leaves_at_once() -> None:
    ask, done = asked("")
    assert not ask.key() and not ask.asked
    assert not ask.answer("y") and done == []  # no question: a line is a line


def test_the_key_asks_and_the_key_again_leaves() -> None:
    ask, _done = asked("Quit? 1 message waits in your outbox. [y/N] ")
    assert ask.key() and ask.asked == "Quit? 1 message waits in your outbox. [y/N] "
    assert not ask.key() and not ask.asked


def test_yes_leaves_and_any_other_answer_stays() -> None:
    ask, done = asked("Quit? [y/N] ")
    for answer, then in (("Y", "left"), ("yes ", "left"), ("", ""), ("n", "n"), ("hi", "hi")):
        done.clear()
        assert ask.key()
        assert ask.answer(answer) and not ask.asked
        assert done == [then]  # left, or stayed given the answer
    assert not ask.answer("y")  # asked no more
