"""A booking's VEVENT in the organizer's own .ics file, edited line by line.

A booking written into someone's file must leave every other line of it as
it was: icalendar's re-serialization reorders properties, refolds lines,
rewrites durations (``PT24H`` becomes ``P1D``) and adds VTIMEZONEs. And
cancelling must give the file back byte for byte. So the file is edited as
text: only the lines of the top-level VEVENTs with the booking's UID are
replaced or removed; the new VEVENT is written in the file's own line breaks,
with its times in UTC so that it needs no VTIMEZONE.
"""

from __future__ import annotations

from collections.abc import Iterable

import icalendar

from providers.base import EventSpec
from providers.ical import event_component, new_calendar

__all__ = ["put_event_in_file", "remove_event_from_file"]

_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError)


def put_event_in_file(data: bytes, event: EventSpec) -> bytes:
    """``data`` (an .ics file, b"" for none) with ``event``'s VEVENT in it, times in UTC.

    The VEVENTs of ``event.uid`` are replaced where the first one was (its
    SEQUENCE goes up, to at least ``event.sequence``); otherwise the VEVENT goes
    before the END:VCALENDAR. Raises ``ValueError`` for a file that is no single calendar.
    """
    layout = _FileLayout.of(data)
    sequence = max(layout.next_sequence(event.uid), event.sequence)
    vevent = event_component(event, sequence=sequence, in_utc=True)
    if not data.strip():
        calendar = new_calendar()
        calendar.add_component(vevent)
        return bytes(calendar.to_ical())
    return layout.replaced(event.uid, vevent.to_ical().replace(b"\r\n", layout.newline))


def remove_event_from_file(data: bytes, uid: str) -> bytes | None:
    """``data`` without the VEVENTs of ``uid`` (the series and its overrides); None when it has none."""
    layout = _FileLayout.of(data)
    if not layout.blocks_of(uid):
        return None
    return layout.replaced(uid, b"")


class _FileLayout:
    """The physical lines of an .ics file and where its top-level VEVENTs are."""

    def __init__(self, lines: list[bytes], blocks: list[tuple[int, int, str]], calendar_end: int | None,
                 newline: bytes) -> None:
        self.lines = lines
        self.blocks = blocks  # (first line, line after the last, UID) of each top-level VEVENT
        self.calendar_end = calendar_end  # the line of the END:VCALENDAR, if any
        self.newline = newline

    @classmethod
    def of(cls, data: bytes) -> _FileLayout:
        lines = data.splitlines(keepends=True)
        newline = b"\r\n" if not lines or lines[0].endswith(b"\r\n") else b"\n"
        blocks: list[tuple[int, int, str]] = []
        stack: list[str] = []
        calendars = 0
        calendar_end: int | None = None
        begin, uid = 0, ""
        for index, (name, value) in _logical_lines(lines):
            if name == "BEGIN":
                if value.upper() == "VEVENT" and stack in ([], ["VCALENDAR"]):
                    begin, uid = index, ""
                stack.append(value.upper())
                calendars += stack == ["VCALENDAR"]
            elif name == "END":
                closing = stack.pop() if stack else ""
                if closing == "VEVENT" and stack in ([], ["VCALENDAR"]):
                    blocks.append((begin, _line_after(lines, index), uid))
                elif closing == "VCALENDAR" and not stack and calendar_end is None:
                    calendar_end = index
            elif name == "UID" and stack in (["VEVENT"], ["VCALENDAR", "VEVENT"]):
                uid = value
        if calendars > 1:
            raise ValueError(f"the file holds {calendars} VCALENDARs; bookings need a file with exactly one")
        if lines and not blocks and calendar_end is None:
            raise ValueError("the file is not an iCalendar file")
        return cls(lines, blocks, calendar_end, newline)

    def blocks_of(self, uid: str) -> list[tuple[int, int, str]]:
        return [b for b in self.blocks if b[2] == uid]

    def next_sequence(self, uid: str) -> int:
        sequences = [-1]
        for first, after, _ in self.blocks_of(uid):
            with_sequence = b"".join(self.lines[first:after])
            try:
                sequences.append(int(icalendar.Event.from_ical(with_sequence).get("SEQUENCE", 0)))
            except _UNREADABLE:
                sequences.append(0)
        return max(sequences) + 1

    def replaced(self, uid: str, block: bytes) -> bytes:
        """The file with the VEVENTs of ``uid`` taken out and ``block`` put where the first was."""
        mine = self.blocks_of(uid)
        at = mine[0][0] if mine else (self.calendar_end if self.calendar_end is not None else len(self.lines))
        kept = [line for i, line in enumerate(self.lines) if not any(first <= i < after for first, after, _ in mine)]
        at -= sum(after - first for first, after, _ in mine if after <= at)
        if block and at == len(kept) and kept and not kept[-1].endswith((b"\n", b"\r")):
            kept[-1] += self.newline  # appending after a last line without its line break
        return b"".join(kept[:at]) + block + b"".join(kept[at:])


def _logical_lines(lines: list[bytes]) -> Iterable[tuple[int, tuple[str, str]]]:
    """(index of its first physical line, (NAME, value)) of each content line; folded lines joined."""
    first: int | None = None
    joined = b""
    for index, line in enumerate(lines):
        if index and line[:1] in (b" ", b"\t"):
            joined += line.rstrip(b"\r\n")[1:]
            continue
        if first is not None and joined.strip():
            yield first, _name_and_value(joined)
        first, joined = index, line.rstrip(b"\r\n")
    if first is not None and joined.strip():
        yield first, _name_and_value(joined)


def _name_and_value(line: bytes) -> tuple[str, str]:
    text = line.decode("utf-8", "replace")
    head, _, value = text.partition(":")
    name = head.partition(";")[0].strip().upper()
    if name == "UID" and ";" in head:
        try:  # parameters may hold a quoted colon: let icalendar split the line
            parsed_name, _, value = icalendar.parser.Contentline(text).parts()  # type: ignore[no-untyped-call]
            return str(parsed_name).upper(), str(value)
        except ValueError:
            pass
    return name, value.strip()


def _line_after(lines: list[bytes], index: int) -> int:
    """The index after the content line starting at ``index`` (its folded continuations included)."""
    after = index + 1
    while after < len(lines) and lines[after][:1] in (b" ", b"\t"):
        after += 1
    return after
