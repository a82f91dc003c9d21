"""What the full screen shows, without a terminal: its windows (each with its lines, its
scrollback, its unread count and whether a line named you), which one is shown, and the
transfers' progress with their speed. Pure: methods take lines and events, and `now`."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from wcwidth import wcwidth

#: Parts of a line as prompt_toolkit takes them: (style, text) pairs.
Parts = list[tuple[str, str]]

#: Lines a window keeps for scrolling back; older ones go.
SCROLLBACK = 2000
#: Seconds of progress a transfer's speed is averaged over.
SPEED_SPAN = 3.0


@dataclass(eq=False)
class ChatWindow:
    """One conversation: `key` tells it from the others, `title` and `style` name it."""

    key: str
    title: str
    style: str = ""
    lines: deque[Parts] = field(default_factory=lambda: deque(maxlen=SCROLLBACK))
    #: Lines come since it was last shown, and whether one of them named you.
    unread: int = 0
    mentioned: bool = False
    #: Lines scrolled back from the newest (0: the newest are shown).
    back: int = 0


class ScreenModel:
    """The windows, in the order they opened; the first is always there (`first`)."""

    def __init__(self, first: ChatWindow) -> None:
        self.windows = [first]
        self.current = 0

    @property
    def shown(self) -> ChatWindow:
        return self.windows[self.current]

    def window(self, key: str, title: str, style: str = "") -> ChatWindow:
        """The window `key`, opened (last) if it is not open yet."""
        for each in self.windows:
            if each.key == key:
                return each
        opened = ChatWindow(key, title, style)
        self.windows.append(opened)
        return opened

    def rekey(self, key: str, new_key: str, title: str, style: str = "") -> None:
        """The window `key` is the window `new_key` now (someone was renamed), titled anew,
        unless there is none or `new_key` has one of its own already."""
        if any(each.key == new_key for each in self.windows):
            return
        for each in self.windows:
            if each.key == key:
                each.key, each.title, each.style = new_key, title, style

    def add(
        self, window: ChatWindow, parts: Parts, *, unread: bool = True, mention: bool = False
    ) -> None:
        """A line in `window`, `unread` there unless it is shown, and naming you if `mention`;
        a window scrolled back stays where it is."""
        window.lines.append(parts)
        if window.back:
            window.back = min(window.back + 1, len(window.lines) - 1)
        if unread and window is not self.shown:
            window.unread += 1
            window.mentioned = window.mentioned or mention

    def switch(self, number: int) -> bool:
        """Show window `number` (from 1); False if there is none, and nothing changes."""
        if not 1 <= number <= len(self.windows):
            return False
        self.current = number - 1
        shown = self.shown
        shown.unread, shown.mentioned = 0, False
        return True

    def switch_to(self, window: ChatWindow) -> None:
        self.switch(self.windows.index(window) + 1)

    def close(self) -> bool:
        """Close the shown window and show the one before it; False for the first, which is
        always there. A closed window's next line opens it anew, last."""
        if self.current == 0:
            return False
        del self.windows[self.current]
        self.switch(self.current)  # (the one before: numbered as the closed one was indexed)
        return True

    def step(self, by: int) -> None:
        """Show the next window (`by` 1) or the one before (-1), round the ends."""
        self.switch((self.current + by) % len(self.windows) + 1)

    def scroll(self, rows: int) -> None:
        """Scroll the shown window back by `rows` (forward when negative)."""
        shown = self.shown
        shown.back = max(0, min(shown.back + rows, len(shown.lines) - 1))

    def visible(self, height: int) -> list[Parts]:
        """The lines of the shown window that end at its scroll position, `height` at most."""
        lines = self.shown.lines
        end = len(lines) - self.shown.back
        return [lines[i] for i in range(max(0, end - height), end)]


def wrapped(parts: Parts, width: int) -> list[Parts]:
    """`parts` as rows of `width` cells at most, as a reader expects: a row breaks after its
    last space that fits (the space goes), and only a word longer than a row is cut."""
    cells = [(style, char) for style, text in parts for char in text]
    rows: list[Parts] = []
    start = 0
    while start < len(cells) or not rows:
        end, used = start, 0
        while end < len(cells) and cells[end][1] != "\n":
            used += max(0, wcwidth(cells[end][1]))
            if used > width and end > start:
                break
            end += 1
        after = end  # where the next row starts
        if end < len(cells) and cells[end][1] == "\n":
            after = end + 1
        elif end < len(cells):
            space = max((i for i in range(start, end + 1) if cells[i][1] == " "), default=start)
            if space > start:
                end, after = space, space + 1
        rows.append(_parts(cells[start:end]))
        start = after
    return rows


def _parts(cells: list[tuple[str, str]]) -> Parts:
    """Cells joined back into parts, one a run of cells of one style."""
    parts: Parts = []
    for style, char in cells:
        if parts and parts[-1][0] == style:
            parts[-1] = (style, parts[-1][1] + char)
        else:
            parts.append((style, char))
    return parts


@dataclass
class Progress:
    """One transfer as the status bar shows it."""

    label: str
    done: int
    size: int
    #: Bytes a second (0: not known yet), and seconds left (inf: not known).
    speed: float = 0.0
    left: float = math.inf

    @property
    def fraction(self) -> float:
        return 1.0 if self.size <= 0 else min(1.0, self.done / self.size)


class Speeds:
    """Each transfer's speed from the bytes it had done when looked at, over SPEED_SPAN s."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def progress(self, key: str, label: str, done: int, size: int, now: float) -> Progress:
        seen = self._seen.setdefault(key, deque())
        if seen and done < seen[-1][1]:  # begun again
            seen.clear()
        seen.append((now, done))
        while len(seen) > 2 and now - seen[1][0] >= SPEED_SPAN:
            seen.popleft()
        shown = Progress(label, done, size)
        took = now - seen[0][0]
        if took > 0 and done > seen[0][1]:
            shown.speed = (done - seen[0][1]) / took
            shown.left = max(0, size - done) / shown.speed
        return shown

    def keep_only(self, keys: set[str]) -> None:
        """Forget the transfers not in `keys` (ended)."""
        for gone in set(self._seen) - keys:
            del self._seen[gone]


def bar(fraction: float, width: int) -> str:
    """A progress bar of `width` cells, `fraction` of them full."""
    full = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * full + "░" * (width - full)


def duration(seconds: float) -> str:
    """`seconds` for people: 42 s, 3 min 5 s, 1 h 4 min; "?" when not known."""
    if not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
