"""How each desk message reads, to an operator (console and `ChatApp -o` alike) and to a person."""

from __future__ import annotations

from wire.desk.messages import (
    DeskCrisis,
    DeskEnded,
    DeskLine,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.desk.text import (
    CRISIS_REASONS,
    DANGER_MARK,
    crisis_lines,
    format_duration,
    format_estimate,
    speaks_of_crisis,
    topic_label,
    topics_text,
)
from wire.shown_text import clean, pad, width

#: How a waiting person is told their place, and a place taken back.
PLACE = "number {} in the queue"
#: How a waiting person is told their place changed (with the estimate after it).
NOW_AT = f"You are now {PLACE}"
WELCOME_BACK = "Welcome back: your place was kept"
YOUR_TURN = "It is your turn: you are talking to"


def ahead_of_you(ahead: int) -> str:
    """How the answer to `.queue` begins: how many people wait ahead."""
    people = f"{ahead} {'person is' if ahead == 1 else 'people are'}" if ahead else "Nobody is"
    return f"{people} ahead of you"


def render_operator(message: DeskMessage) -> list[str]:
    """The lines an operator sees for a message from the desk; the rest as a person sees it."""
    match message:
        case DeskOnDuty(name=name, topics=topics, waiting=waiting, yours=yours):
            waits = f"{waiting} waiting"
            if yours != waiting:
                waits = f"{yours} waiting for you, {waiting} in the waiting room in all"
            lines = [f"[On duty as {clean(name)}, serving {topics_text(topics)}; {waits}.]"]
            if not topics:
                lines.append("[You take nobody until you choose topics: .serve all or .serve 1,3.]")
            return lines
        case DeskSession() as s:
            lines = [
                f"[Now serving {clean(s.name)}, phone {clean(s.phone)}, topic "
                f"{topic_label(s.topic)}; waited {format_duration(s.waited)}.]"
            ]
            if s.crisis:
                why = CRISIS_REASONS.get(s.crisis, "words of crisis")
                lines.append(
                    f"[{DANGER_MARK} They may be in danger: {why}. They were shown the crisis "
                    "notice.]"
                )
            if s.description:
                lines.append(f"[Description: {clean(s.description)}]")
            for index, said in enumerate(s.said):
                lead = "They wrote while waiting" if index == 0 else "Then"
                lines.append(f"[{DANGER_MARK} {lead}: {clean(said)}]")
            lines.append("[Type to talk to them; .end ends the session.]")
            return lines
        case DeskLine(sender=sender, text=text) if speaks_of_crisis(text):
            # the person's words of crisis stand out among their lines: in a long
            # conversation a line can be read past
            return [f"{DANGER_MARK} {clean(sender)}: {clean(text)}"]
        case DeskRoom() as room:
            return room_lines(room)
    return render_person(message)


def room_lines(room: DeskRoom) -> list[str]:
    if not room.rows:
        return ["[The waiting room is empty.]"]
    count = len(room.rows)
    lines = [f"[Waiting room: {count} {'person' if count == 1 else 'people'}]"]
    # columns, not characters: a name in Chinese or with an emoji is wider than its length
    names = [clean(row.name) for row in room.rows]
    columns = max(width(n) for n in names)
    for position, (name, row) in enumerate(zip(names, room.rows, strict=True), 1):
        held = "" if row.connected else "  (connection lost, place held)"
        if row.kept_for:
            # after a restart: nobody else takes them meanwhile, nor counts them as theirs
            held += f"  (kept for {clean(row.kept_for)}, up to {format_duration(row.kept_left)})"
        # the mark first, where the eye starts a row; the reason last, as "held" is
        mark = DANGER_MARK if row.crisis else " " * len(DANGER_MARK)
        danger = CRISIS_REASONS.get(row.crisis, "words of crisis")
        why = f"  (may be in danger: {danger})" if row.crisis else ""
        lines.append(
            f"{mark} {position:>2}. {pad(name, columns)}  {topic_label(row.topic):<36} "
            f"{pad(clean(row.phone), 16)} waited {format_duration(row.waited)}{held}{why}"
        )
    return lines


def kept_place(topic: int, where: str) -> str:
    return f"[{WELCOME_BACK}; {where}. Your topic is kept too: {topic_label(topic)}.]"


def render_person(message: DeskMessage) -> list[str]:
    match message:
        case DeskCrisis(text=text):
            return crisis_lines(text)
        case DeskQueued() as q:
            nobody = (
                "[No operator is on duty for this topic right now. You may wait here and "
                "keep your place, or type .quit to leave.]"
            )
            where = PLACE.format(q.position) + (", you are next" if q.position == 1 else "")
            placed = f"[You are in the waiting room: {where}.]"
            return [
                *([nobody] if q.operators == 0 else []),
                kept_place(q.topic, where) if q.restored else placed,
                f"[Estimated wait: {format_estimate(*q.estimate)}.]",
                "[Type .queue to see where you stand, .quit to leave.]",
            ]
        case DeskPosition(reply_to="") as p:
            estimate = format_estimate(*p.estimate)
            next_ = ": you are next" if p.position == 1 else ""
            return [f"[{NOW_AT.format(p.position)}{next_} (estimated wait: {estimate}).]"]
        case DeskPosition() as p:  # the answer to `.queue`
            return [
                f"[{ahead_of_you(p.position - 1)}; you have waited "
                f"{format_duration(p.waited)}; estimated wait: {format_estimate(*p.estimate)}.]"
            ]
        case DeskServed(operator=operator):
            return [
                f"[{YOUR_TURN} {clean(operator)}. Type a message and "
                "press Enter; .end ends the session.]"
            ]
        case DeskLine(sender=sender, text=text):
            return [f"{clean(sender)}: {clean(text)}"]
        case DeskEnded(reason=reason) | DeskRefused(reason=reason) | DeskNotice(text=reason):
            return [f"[{clean(reason)}]"]
    return []
