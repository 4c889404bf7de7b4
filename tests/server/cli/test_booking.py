"""``convene book | bookings | cancel`` against a running server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.cli import demo
from server.cli.commands import main
from tests.server import booking_world
from tests.server.booking_world import (
    OPS_KEY,
    World,
)

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

# The CLI is the same over either database: SQLite is enough here.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _client(world: World, command: str, *argv: str) -> list[str]:
    return [command, "--target", f"127.0.0.1:{world.running.port}", "--api-key", OPS_KEY, *argv]


PANEL = ["--template", "panel", "--zone", "Europe/Berlin", "--now", "2026-11-30T00:00"]


@sqlite_only
def test_book_list_and_cancel(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    # No --assign: the CLI books what CheckTime proposes at that start.
    assert main(_client(world, "book", *PANEL, "--start", "2026-12-07T12:00", "--request-id", "cli-1",
                        "--customer", "Carla Customer <carla@customer.example>")) == 0
    out = capsys.readouterr().out
    assert "confirmed (request id cli-1)" in out and "Mon 07 Dec 2026 12:00-13:00 (Europe/Berlin)" in out
    assert "host" in out and "alice" in out and "Carla Customer <carla@customer.example>" in out
    booking_id = out.split()[1].rstrip(":")

    # With --assign the request is fully given: a retry books once.
    book = _client(world, "book", *PANEL, "--start", "2026-12-07T15:00", "--assign", "bob", "--assign", "dan",
                   "--assign", "large", "--request-id", "cli-2", "--json")
    assert main(book) == 0
    reply = json.loads(capsys.readouterr().out)
    assert [s["resource_ids"] for s in reply["booking"]["seats"]] == [["bob"], ["dan"], ["large"]]
    assert reply["booking"]["status"] == "BOOKING_STATUS_CONFIRMED" and reply["replayed"] is False
    assert main(book) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["replayed"] is True and again["booking"]["id"] == reply["booking"]["id"]

    assert main(_client(world, "bookings", "--resource", "alice", "--zone", "Europe/Berlin")) == 0
    listing = capsys.readouterr().out
    assert booking_id in listing and "Mon 07 Dec 2026 12:00" in listing and reply["booking"]["id"] not in listing

    assert main(_client(world, "cancel", booking_id)) == 0
    assert f"Booking {booking_id}: cancelled" in capsys.readouterr().out
    assert main(_client(world, "bookings", "--status", "confirmed", "--json")) == 0
    assert [b["id"] for b in json.loads(capsys.readouterr().out)["bookings"]] == [reply["booking"]["id"]]


@sqlite_only
def test_book_says_why_not_and_refusals_name_the_fields(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    busy = _client(world, "book", "--seat", "member:alice", "--duration", "1h", "--zone", "Europe/Berlin",
                   "--now", "2026-11-30T00:00", "--start", "2026-12-07T11:00")  # alice's board prep
    assert main(busy) == 1
    err = capsys.readouterr().err
    assert err.startswith("Not available") and "alice" in err

    assert main([*busy, "--assign", "alice"]) == 1  # straight to CreateBooking: refused at commit
    assert capsys.readouterr().err.startswith("FAILED_PRECONDITION: the slot is no longer free")

    assert main([*busy, "--assign", "alice", "--customer", "@customer.example", "--start", "2026-12-07T11:00:30"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("INVALID_ARGUMENT") and "  start: must be a whole minute" in err
    assert "  customers[0].email:" in err

    with pytest.raises(SystemExit):
        main([*busy, "--customer", "no address"])
    assert "--customer 'no address'" in capsys.readouterr().err


def test_the_demo_books_shows_the_side_effects_and_cancels(capsys: pytest.CaptureFixture[str]) -> None:
    maria = Path(demo.EXAMPLES / "calendars" / "maria.ics")
    before = maria.read_bytes()
    assert demo.main() == 0
    out = capsys.readouterr().out.split("== CreateBooking")[1]
    booked, check, cancelled = out.split("\n== ")[0], out.split("\n== ")[1], out.split("\n== ")[2]
    assert ": confirmed (request id demo-technical-demo-1)" in booked
    assert re.search(r"calendar event\s+done\s+1\s+bk_\w+@convene", booked)
    assert re.search(r"invitation email\s+skipped\s+1\s+email is disabled", booked)
    assert "Not available" in check and "booked" in check
    assert ": cancelled" in cancelled and re.search(r"remove calendar event\s+done", cancelled)
    assert re.search(r"cancellation email\s+skipped", cancelled)
    assert maria.read_bytes() == before, "the demo must book into a copy of examples/"


@sqlite_only
def test_reschedule_preview_and_replace(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    book = _client(world, "book", *PANEL, "--start", "2026-12-07T15:00", "--assign", "bob", "--assign", "dan",
                   "--assign", "large", "--request-id", "cli-r", "--json")
    assert main(book) == 0
    booking = json.loads(capsys.readouterr().out)["booking"]
    booking_id = booking["id"]
    assert booking["etag"] == "1"

    where = ["--zone", "Europe/Berlin", "--now", "2026-11-30T00:00"]
    # The preview changes nothing; alice's board prep (11:00 Berlin) is in the way.
    assert main(_client(world, "reschedule", booking_id, "--start", "2026-12-07T11:00", "--assign", "alice",
                        "--assign", "dan", "--assign", "large", "--preview", *where)) == 1
    out = capsys.readouterr().out
    assert "Preview (nothing changed): the move would be refused" in out and "In the way: alice" in out
    assert main(_client(world, "reschedule", booking_id, "--start", "2026-12-08T14:00", "--preview", *where)) == 0
    assert "the move can be made" in capsys.readouterr().out

    # The real move keeps bob and dan; a stale etag is refused.
    assert main(_client(world, "reschedule", booking_id, "--start", "2026-12-08T14:00", "--etag", "1",
                        "--json", *where)) == 0
    moved = json.loads(capsys.readouterr().out)["booking"]
    assert moved["etag"] == "2" and [s["resource_ids"] for s in moved["seats"]] == [["bob"], ["dan"], ["large"]]
    assert main(_client(world, "reschedule", booking_id, "--start", "2026-12-08T15:00", "--etag", "1",
                        *where)) == 1
    assert "ABORTED" in capsys.readouterr().err

    # Replace by the seat's label: the engineer seat's other candidate, carol.
    assert main(_client(world, "replace", booking_id, "--seat", "engineer", "--json", *where)) == 0
    replaced = json.loads(capsys.readouterr().out)
    assert [s["resource_ids"] for s in replaced["booking"]["seats"]] == [["bob"], ["carol"], ["large"]]
    assert replaced["changed_seats"] == [1]
    assert main(_client(world, "replace", booking_id, "--seat", "0", "--member", "alice", *where)) == 0
    assert "alice" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(_client(world, "replace", booking_id, "--seat", "nope", *where))
