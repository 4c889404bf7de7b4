"""A hypothesis state machine over the booking lifecycle, end to end: the real server
over gRPC on SQLite, the team's .ics calendars in a temporary folder, the outbox worker
running. Random sequences of CreateBooking, RescheduleBooking (a move, sometimes to a busy
time, with allow_conflicts or not), a replacement (RescheduleBooking with ``replacement``),
UpdateBooking (the title) and CancelBooking, with failures injected: a stale etag
(ABORTED, nothing changed), a request_id replayed with another body (ALREADY_EXISTS,
nothing changed) and a calendar write that fails once (a transient provider error the
outbox retries). After every step, read straight from the store's database file and the
.ics files once the outbox is quiet:

1. no two confirmed exclusive holds (rooms always, members unless allow_conflicts) of
   one resource overlap;
2. each booking's ``booking_holds`` rows are its seats' resources at its time, confirmed
   exactly when the booking is;
3. each calendar holds exactly the events of the confirmed bookings it organizes, at
   their times with their titles (and its own events untouched).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

import providers.ics
from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from providers.base import ProviderError
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import (
    NOW,
    World,
    at,
    close_world,
    create_request,
    events_in,
    key,
    member,
    room,
    rules,
    serve_world,
)

MEMBERS = ("alice", "bob", "carol", "dan")  # each with an .ics calendar (alice: "Board prep" 10-11)
ROOMS = ("small", "large")  # large: "Cleaning" 09-10
STARTS = tuple(at(h, m) for h in range(9, 16) for m in (0, 30))  # Monday, 1 h meetings inside 09-17
TITLES = ("Panel interview", "Final round", "Onsite", "Débrief")
# Retried quickly: a failed write is tried again within 0.1 s, so settling stays fast.
OUTBOX = {"poll_seconds": 0.02, "lease_seconds": 5, "retry_base_seconds": 0.02, "retry_max_seconds": 0.1}
REFUSED = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS,
           grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}


class CalendarFaults:
    """Makes the next ``fail`` .ics writes raise a transient provider error (as a calendar
    that is briefly unreachable would): the outbox must retry, never lose the event."""

    def __init__(self) -> None:
        self.fail = 0
        self.injected = 0

    def write(self, real: Any) -> Any:
        def faulty(resource_id: str, path: Path, data: bytes) -> None:
            if self.fail > 0:
                self.fail -= 1
                self.injected += 1
                raise ProviderError(resource_id, "injected: calendar write failed once", transient=True)
            real(resource_id, path, data)
        return faulty


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[CalendarFaults]:
    hook = CalendarFaults()
    monkeypatch.setattr(providers.ics, "_atomic_write", hook.write(providers.ics._atomic_write))
    yield hook


@dataclass
class Known:
    """What the test knows of one booking: its last etag, the seats' candidates, the
    request bodies it sent (for replays)."""

    id: str
    etag: str
    candidates: list[tuple[str, ...]]
    create: api.CreateBookingRequest
    changes: list[api.RescheduleBookingRequest] = field(default_factory=list)


def _call(call: Any) -> grpc.RpcError | Any:
    """The reply, or the refusal (never INTERNAL or UNKNOWN)."""
    try:
        return call()
    except grpc.RpcError as exc:
        assert exc.code() in REFUSED, (exc.code(), exc.details())
        return exc


class Lifecycle(RuleBasedStateMachine):
    def __init__(self, faults: CalendarFaults) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.world: World = serve_world(self.folder, f"sqlite:///{self.folder / 'bookings.sqlite3'}", SmtpSink(),
                                        None, outbox=OUTBOX)
        self.db = sqlite3.connect(f"file:{self.folder / 'bookings.sqlite3'}?mode=ro", uri=True)
        self.faults = faults
        faults.fail = 0
        self.known: list[Known] = []
        self.counter = 0

    def teardown(self) -> None:
        self.db.close()
        close_world(self.world)
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def _row(self, booking_id: str) -> tuple[Any, ...]:
        row = self.db.execute("SELECT status, version, start_at, end_at, seats, title FROM bookings WHERE id = ?",
                              (booking_id,)).fetchone()
        assert row is not None, booking_id
        return tuple(row)

    def _pick(self, index: int) -> Known:
        return self.known[index % len(self.known)]

    def _confirmed_starts(self) -> list[datetime]:
        rows = self.db.execute("SELECT start_at FROM bookings WHERE status = 'confirmed'").fetchall()
        return [_instant(r[0]) for r in rows]

    def _move(self, booking: Known, request_id: str, start: datetime | None, etag: str, **fields: Any,
              ) -> api.RescheduleBookingRequest:
        request = api.RescheduleBookingRequest(booking_id=booking.id, request_id=request_id, etag=etag, **fields)
        if start is not None:
            request.start.FromDatetime(start)
        request.now.FromDatetime(NOW)
        return request

    def _reschedule(self, booking: Known, request: api.RescheduleBookingRequest, stale: bool) -> None:
        before = self._row(booking.id)
        reply = _call(lambda: self.world.stub.RescheduleBooking(request, metadata=key(), timeout=30))
        if isinstance(reply, grpc.RpcError):
            if stale and before[0] == "confirmed":
                assert reply.code() == grpc.StatusCode.ABORTED, reply.details()
            assert self._row(booking.id) == before  # a refused move changes nothing
            return
        assert not stale
        assert reply.booking.id == booking.id and reply.booking.etag == str(int(booking.etag) + 1)
        booking.etag = reply.booking.etag
        booking.changes.append(request)

    @staticmethod
    def _stale(etag: str) -> str:
        return str(int(etag) - 1) if int(etag) > 1 else str(int(etag) + 1)

    # --- rules -----------------------------------------------------------------------------

    @rule(start=st.sampled_from(STARTS),
          seats=st.lists(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3, unique=True),
                         min_size=1, max_size=2),
          with_room=st.sampled_from((None, "small", "large", "any")),
          allow_conflicts=st.booleans(), title=st.sampled_from(TITLES))
    def create(self, start: datetime, seats: list[list[str]], with_room: str | None, allow_conflicts: bool,
               title: str) -> None:
        chosen: list[str] = []
        candidates: list[tuple[str, ...]] = []
        for seat in seats:  # the first candidate not already seated sits
            free = [m for m in seat if m not in chosen]
            if free:
                chosen.append(free[0])
                candidates.append(tuple(seat))
        proto = [member(*c) for c in candidates]
        choices = [[c] for c in chosen]
        if with_room is not None:
            rooms = ROOMS if with_room == "any" else (with_room,)
            proto.append(room(*rooms))
            choices.append([rooms[0]])
            candidates.append(rooms)
        request = create_request(self._next("create"), start, choices, meeting=rules(*proto), title=title,
                                 allow_conflicts=allow_conflicts)
        reply = _call(lambda: self.world.stub.CreateBooking(request, metadata=key(), timeout=30))
        if isinstance(reply, grpc.RpcError):
            assert reply.code() == grpc.StatusCode.FAILED_PRECONDITION, reply.details()
            assert self.db.execute("SELECT count(*) FROM bookings WHERE request_id = ?",
                                   (request.request_id,)).fetchone()[0] == 0
            return
        assert not reply.replayed and reply.booking.etag == "1"
        self.known.append(Known(reply.booking.id, reply.booking.etag, candidates, request))

    @precondition(lambda self: self.known)
    @rule(index=st.integers(0, 99), same_body=st.booleans())
    def replay_create(self, index: int, same_body: bool) -> None:
        booking = self._pick(index)
        request = api.CreateBookingRequest()
        request.CopyFrom(booking.create)
        if not same_body:
            request.title = request.title + " (again)"
        before = self._row(booking.id)
        reply = _call(lambda: self.world.stub.CreateBooking(request, metadata=key(), timeout=30))
        if same_body:
            assert not isinstance(reply, grpc.RpcError), reply.details()
            assert reply.replayed and reply.booking.id == booking.id
        else:
            assert isinstance(reply, grpc.RpcError) and reply.code() == grpc.StatusCode.ALREADY_EXISTS
        assert self._row(booking.id) == before

    @precondition(lambda self: self.known)
    @rule(index=st.integers(0, 99), start=st.sampled_from(STARTS), busy=st.booleans(), stale=st.booleans(),
          allow_conflicts=st.booleans())
    def reschedule(self, index: int, start: datetime, busy: bool, stale: bool, allow_conflicts: bool) -> None:
        booking = self._pick(index)
        if busy:  # onto another confirmed booking's start (refused unless the holds allow it)
            taken = [s for s in self._confirmed_starts() if s != start]
            start = taken[index % len(taken)] if taken else start
        etag = self._stale(booking.etag) if stale else booking.etag
        request = self._move(booking, self._next("move"), start, etag, allow_conflicts=allow_conflicts)
        self._reschedule(booking, request, stale)

    @precondition(lambda self: self.known)
    @rule(index=st.integers(0, 99), pick=st.integers(0, 3), stale=st.booleans())
    def replace(self, index: int, pick: int, stale: bool) -> None:
        """A seat changed at the same start: to another of its candidates, or (``pick`` 0,
        or no other candidate) to whoever the engine finds."""
        booking = self._pick(index)
        seat = index % len(booking.candidates)
        sitting = json.loads(self._row(booking.id)[4])[seat]["resource_ids"]
        others = [c for c in booking.candidates[seat] if c not in sitting]
        named = others[pick % len(others)] if pick and others else ""
        etag = self._stale(booking.etag) if stale else booking.etag
        request = self._move(booking, self._next("replace"), None, etag,
                             replacement=api.SeatReplacement(seat_index=seat, resource_id=named))
        self._reschedule(booking, request, stale)

    @precondition(lambda self: any(k.changes for k in self.known))
    @rule(index=st.integers(0, 99), start=st.sampled_from(STARTS))
    def replay_change_with_another_body(self, index: int, start: datetime) -> None:
        changed = [k for k in self.known if k.changes]
        booking = changed[index % len(changed)]
        first = booking.changes[index % len(booking.changes)]
        request = api.RescheduleBookingRequest()
        request.CopyFrom(first)
        if request.HasField("start") and request.start.ToDatetime(tzinfo=UTC) == start:
            request.allow_conflicts = not request.allow_conflicts
        else:
            request.start.FromDatetime(start)
        before = self._row(booking.id)
        reply = _call(lambda: self.world.stub.RescheduleBooking(request, metadata=key(), timeout=30))
        assert isinstance(reply, grpc.RpcError) and reply.code() == grpc.StatusCode.ALREADY_EXISTS, reply
        assert self._row(booking.id) == before

    @precondition(lambda self: self.known)
    @rule(index=st.integers(0, 99), title=st.sampled_from(TITLES), stale=st.booleans())
    def update(self, index: int, title: str, stale: bool) -> None:
        booking = self._pick(index)
        before = self._row(booking.id)
        request = api.UpdateBookingRequest(
            booking_id=booking.id, etag=self._stale(booking.etag) if stale else booking.etag,
            booking=booking_pb2.Booking(title=title), update_mask=field_mask_pb2.FieldMask(paths=["title"]))
        reply = _call(lambda: self.world.stub.UpdateBooking(request, metadata=key(), timeout=30))
        if isinstance(reply, grpc.RpcError):
            assert stale or before[0] == "cancelled", reply.details()
            if before[0] == "confirmed":
                assert reply.code() == grpc.StatusCode.ABORTED
            assert self._row(booking.id) == before
            return
        assert not stale and reply.booking.title == title
        booking.etag = reply.booking.etag

    @precondition(lambda self: self.known)
    @rule(index=st.integers(0, 99))
    def cancel(self, index: int) -> None:
        booking = self._pick(index)
        self.world.stub.CancelBooking(api.CancelBookingRequest(booking_id=booking.id), metadata=key(), timeout=30)
        assert self._row(booking.id)[0] == "cancelled"

    @rule()
    def fail_next_calendar_write(self) -> None:
        self.faults.fail += 1

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def no_resource_is_held_twice(self) -> None:
        overlaps = self.db.execute(
            "SELECT a.resource_id, a.booking_id, b.booking_id FROM booking_holds a JOIN booking_holds b "
            "ON a.tenant = b.tenant AND a.resource_id = b.resource_id AND a.booking_id < b.booking_id "
            "WHERE a.confirmed AND b.confirmed AND a.start_at < b.end_at AND b.start_at < a.end_at "
            "AND ((a.exclusive AND b.exclusive) OR a.kind = 'room' OR b.kind = 'room')").fetchall()
        assert overlaps == []

    @invariant()
    def holds_match_seats(self) -> None:
        holds: dict[str, set[tuple[Any, ...]]] = {}
        for row in self.db.execute("SELECT booking_id, resource_id, kind, exclusive, confirmed, start_at, end_at "
                                   "FROM booking_holds"):
            holds.setdefault(row[0], set()).add(tuple(row[1:]))
        for booking_id, status, start, end, seats, allow in self.db.execute(
                "SELECT id, status, start_at, end_at, seats, allow_member_conflicts FROM bookings"):
            want = {(r, s["kind"], int(s["kind"] == "room" or not allow), int(status == "confirmed"), start, end)
                    for s in json.loads(seats) for r in s["resource_ids"]}
            assert holds.pop(booking_id, set()) == want, booking_id
        assert holds == {}  # no holds of a booking that does not exist

    @invariant()
    def calendars_hold_the_confirmed_bookings(self) -> None:
        self._quiet()
        want: dict[str, dict[str, tuple[datetime, datetime, str]]] = {m: {} for m in (*MEMBERS, "large")}
        for booking_id, start, end, title, organizer in self.db.execute(
                "SELECT id, start_at, end_at, title, organizer FROM bookings WHERE status = 'confirmed'"):
            who = json.loads(organizer)["email"].split("@")[0]
            want[who][f"{booking_id}@convene"] = (_instant(start), _instant(end), title)
        for name, events in want.items():
            found = {str(e["UID"]): (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"]))
                     for e in events_in(self.world.calendar(name)) if str(e["UID"]).endswith("@convene")}
            assert found == events, name
            theirs = [str(e["UID"]) for e in events_in(self.world.calendar(name))
                      if not str(e["UID"]).endswith("@convene")]
            assert theirs == {"alice": ["board-prep"], "large": ["cleaning"]}.get(name, []), name

    def _quiet(self, timeout: float = 15.0) -> None:
        """Waits until the outbox has nothing pending or running; nothing may have failed."""
        deadline = time.monotonic() + timeout
        while True:
            busy = self.db.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'running')").fetchone()[0]
            if busy == 0:
                break
            assert time.monotonic() < deadline, "the outbox did not settle"
            time.sleep(0.02)
        failed = self.db.execute("SELECT booking_id, kind, last_error FROM outbox WHERE status = 'failed'").fetchall()
        assert failed == []


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_the_lifecycle_keeps_holds_seats_and_calendars_in_step(faults: CalendarFaults) -> None:
    run_state_machine_as_test(
        lambda: Lifecycle(faults),  # type: ignore[arg-type]  # any factory of a machine will do
        settings=settings(max_examples=25, stateful_step_count=12, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]))
    assert faults.injected > 0  # the calendar fault did happen somewhere
