"""``make demo``: the sales team of examples/convene.yaml, end to end over gRPC.

Starts the server on a free loopback port (SQLite under a temporary folder),
asks it through the generated stubs, with an API key, for

1. the best starts of a one-hour technical demo in New York in the week of
   Mon 2026-12-07 (who sits on the panel, which room, at what cost);
2. the first discovery-call slots of Tue 2026-12-08 for a customer in London;
3. CheckTime for Tue 2026-12-08 11:00 New York, while Maria is on a call (her
   alternate takes the seat), and for a start the solutions architect is busy
   (the conflict shows, its details do not: the ops key does not own her calendar),
4. a booking of the best technical-demo start: the event lands in the
   organizer's calendar file, the invitation email is skipped (the example
   config has no ``smtp`` section, so email is disabled), CheckTime now says
   the start is booked; then the booking is cancelled,

then stops the server; it prints the URL of the agent's console (served by
the same server on HTTP) while it runs. ``--serve`` (``make serve-demo``) keeps
it serving after that, the console on the config's ``http_address``
(http://127.0.0.1:8080/), until Ctrl-C. The example calendars cover 2026-11-30 to 2027-01-03
and every request sets ``now`` to 2026-11-30, so the output never changes
(but for the booking's random id). The demo works on a copy of examples/ in a
temporary folder, so the booking never touches the files in the repository.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc

from convene.v1 import booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import start_server
from server.cli.commands import bearer, connect, describe_error
from server.cli.render.bookings import booking_report
from server.cli.render.slots import check_report, slots_report
from server.config import load_config

__all__ = ["main"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPS_KEY = "acme-ops-3f9c2a7d41b8e605"  # sales operations, tenant "acme" (examples/convene.yaml)
NEW_YORK, LONDON = "America/New_York", "Europe/London"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo(NEW_YORK))
# The console opens on the demo's week; `now` keeps the minimum notice counting from the demo's date.
CONSOLE_QUERY = "?template=technical-demo&week=2026-12-07&zone=America/New_York&now=2026-11-30T13:00:00Z"


def _find(template: str, day: datetime, days: int, zone: str, *, page_size: int,
          order: api.Order = api.ORDER_CHRONOLOGICAL) -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(template=meeting_pb2.TemplateRef(template_id=template), time_zone=zone,
                                   page_size=page_size, order=order)
    request.window_start.FromDatetime(day)
    request.window_end.FromDatetime(day + timedelta(days=days))
    request.now.FromDatetime(NOW)
    return request


def _check(template: str, start: datetime, zone: str) -> api.CheckTimeRequest:
    request = api.CheckTimeRequest(template=meeting_pb2.TemplateRef(template_id=template), time_zone=zone)
    request.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request


def _heading(text: str) -> None:
    print(f"\n== {text}\n")


_UNSETTLED = (booking_pb2.SIDE_EFFECT_STATE_PENDING, booking_pb2.SIDE_EFFECT_STATE_RUNNING)


def _settled(stub: api_grpc.SchedulingServiceStub, key: tuple[tuple[str, str]], booking_id: str) -> booking_pb2.Booking:
    """The booking once its side effects have run (the outbox worker runs them right after commit)."""
    deadline = time.monotonic() + 10
    while True:
        booking: booking_pb2.Booking = stub.GetBooking(api.GetBookingRequest(booking_id=booking_id),
                                                       metadata=key, timeout=30).booking
        if all(e.state not in _UNSETTLED for e in booking.side_effects) or time.monotonic() > deadline:
            return booking
        time.sleep(0.05)


def _book(slot_start: datetime, seats: list[list[str]]) -> api.CreateBookingRequest:
    request = api.CreateBookingRequest(
        request_id="demo-technical-demo-1", template=meeting_pb2.TemplateRef(template_id="technical-demo"),
        time_zone=NEW_YORK, seats=[booking_pb2.SeatChoice(resource_ids=ids) for ids in seats],
        customers=[booking_pb2.Person(name="Carla Diaz", email="carla@initech.example")],
        title="Technical demo for Initech")
    request.start.FromDatetime(slot_start)
    request.now.FromDatetime(NOW)
    return request


def _until_interrupted() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    stop.wait()


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.cli.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true",
                        help="after the walk-through, keep serving (gRPC and the console) until Ctrl-C")
    args = parser.parse_args(list(argv))
    with tempfile.TemporaryDirectory(prefix="convene-demo-") as var:
        # A copy: the booking below writes into the organizer's calendar file.
        examples = Path(shutil.copytree(EXAMPLES, Path(var) / "examples"))
        config = load_config(examples / "convene.yaml")
        # A free port for the walk-through alone (make test runs it too); the config's to keep serving.
        http = config.server.http_address if args.serve else "127.0.0.1:0"
        config = config.model_copy(update={"database_url": f"sqlite:///{Path(var) / 'convene.sqlite3'}",
                                           "server": config.server.model_copy(update={"http_address": http})})
        running = start_server(config, "127.0.0.1:0" if not args.serve else None)
        print(f"Convene demo server on 127.0.0.1:{running.port} (config {EXAMPLES / 'convene.yaml'}, "
              "calendars and bookings in a temporary copy)")
        if running.http is not None:
            print(f"The agent's console: {running.http.url}{CONSOLE_QUERY}\n"
                  f"  (sign in with the API key {OPS_KEY}; `make serve-demo` keeps it serving until Ctrl-C)")
        channel, stub = connect(f"127.0.0.1:{running.port}")
        key = bearer(OPS_KEY)
        try:
            _heading("Technical demo, New York, week of Mon 2026-12-07: the 8 best starts")
            week = datetime(2026, 12, 7, tzinfo=ZoneInfo(NEW_YORK))
            reply = stub.FindSlots(_find("technical-demo", week, 5, NEW_YORK, page_size=8,
                                         order=api.ORDER_BEST_FIRST), metadata=key, timeout=30)
            print(slots_report(reply, NEW_YORK))
            best = reply.slots[0]

            _heading("Discovery call for a customer in London, Tue 2026-12-08 (London time)")
            day = datetime(2026, 12, 8, tzinfo=ZoneInfo(LONDON))
            reply = stub.FindSlots(_find("discovery-call", day, 1, LONDON, page_size=6), metadata=key, timeout=30)
            print(slots_report(reply, LONDON))

            _heading("CheckTime: technical demo Tue 2026-12-08 11:00 New York (Maria is on a call)")
            at = datetime(2026, 12, 8, 11, 0, tzinfo=ZoneInfo(NEW_YORK))
            print(check_report(stub.CheckTime(_check("technical-demo", at, NEW_YORK), metadata=key, timeout=30),
                               NEW_YORK))

            _heading("CheckTime: Wed 2026-12-09 12:30 New York (Dana's architecture guild; details hidden)")
            at = datetime(2026, 12, 9, 12, 30, tzinfo=ZoneInfo(NEW_YORK))
            print(check_report(stub.CheckTime(_check("technical-demo", at, NEW_YORK), metadata=key, timeout=30),
                               NEW_YORK))

            start = best.start.ToDatetime(tzinfo=ZoneInfo("UTC"))
            local = start.astimezone(ZoneInfo(NEW_YORK))
            _heading(f"CreateBooking: the best technical demo start, {local:%a %d %b %H:%M} New York "
                     "(no smtp section: email is disabled, the invitation is skipped)")
            created = stub.CreateBooking(_book(start, [list(fill.resource_ids) for fill in best.seats]),
                                         metadata=key, timeout=30)
            print(booking_report(_settled(stub, key, created.booking.id), NEW_YORK))

            _heading("CheckTime at the booked start: Dana, the only architect, is booked now")
            print(check_report(stub.CheckTime(_check("technical-demo", start, NEW_YORK), metadata=key, timeout=30),
                               NEW_YORK))

            _heading("CancelBooking: the calendar event is removed, the resources are free again")
            stub.CancelBooking(api.CancelBookingRequest(booking_id=created.booking.id), metadata=key, timeout=30)
            print(booking_report(_settled(stub, key, created.booking.id), NEW_YORK))
            if args.serve:
                print(f"\nServing until Ctrl-C: gRPC on 127.0.0.1:{running.port}, the console on "
                      f"{running.http.url if running.http else '(no http_address)'}{CONSOLE_QUERY}", flush=True)
                _until_interrupted()
        except grpc.RpcError as exc:
            print(describe_error(exc), file=sys.stderr)
            return 1
        finally:
            channel.close()
            running.stop(grace=2)
        print("\nServer stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
