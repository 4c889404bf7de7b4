"""Raw iCalendar text for tests: written out by hand so each rule is visible."""

from __future__ import annotations


def calendar(*events: str, header: str = "") -> str:
    """A VCALENDAR around ``events`` (each a full BEGIN:VEVENT ... END:VEVENT block)."""
    head = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Convene tests//EN\n" + (header + "\n" if header else "")
    return (head + "".join(events) + "END:VCALENDAR\n").replace("\n", "\r\n")


def event(uid: str, *lines: str, summary: str = "") -> str:
    """A VEVENT with ``lines`` (``"DTSTART:20240301T090000Z"``, ``"RRULE:..."``)."""
    body = "".join(f"{line}\n" for line in lines)
    title = f"SUMMARY:{summary or uid}\n"
    return f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20240101T000000Z\n{title}{body}END:VEVENT\n"
