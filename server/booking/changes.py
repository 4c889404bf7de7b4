"""Changing a booking: reschedule, replace a person, update. A RescheduleBooking reads

    request -> its request id moved this booking before? replay (another body: refused)
    -> the etag is the booking's version? (else ABORTED, nothing done)
    -> who sits where at the new start (``plan_move``): the caller's named seats, or
       each seat keeping its member when that member is free then (a round-robin or
       load-balanced pick is not redrawn), else the cheapest free candidate
    -> the re-check of CreateBooking on that assignment (fresh calendars, confirmed
       bookings, hours, room capacity, allow_conflicts, rooms never double-booked),
       with the booking's own old time taken out: it never conflicts with the new one
    -> store.reschedule (one transaction: the old holds go and the new ones come
       together, or nothing changes) -> forget cached busy data -> wake the outbox

Replacing a person is a reschedule to the same start with one seat's member
changed: the one named, or the cheapest free candidate of that seat (the leaving
member excluded); every other seat stays as it is. ``validate_only`` plans the
move and reports it (what would change, what conflicts) without committing.

The booking's meeting (its seats with every candidate, hours, notice, buffers)
is the one it was booked with (``BookingRecord.meeting``, turned back into a
``SlotRequest`` by the API); a booking made before the meeting was kept gets
one built from its seats (``meeting_of_seats``: its members, pools and rooms).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from server.booking.desk import (
    BookingDesk,
    BookingRefused,
    attendees_of,
    booked_seat,
    booked_seats,
    exact_request,
    in_the_way,
    member_limits,
    refusal_of,
    seat_candidates,
    taken,
    visible,
    without_own_busy,
    without_stale_copies,
)
from server.booking.store import (
    BookedSeat,
    BookingConflict,
    BookingRecord,
    CreateResult,
    Edit,
    IdempotencyConflict,
    Move,
    ResourceKind,
    StaleVersion,
)
from server.calendars.busy import Unavailable, busy_span, resources_of
from server.tenants import Tenant
from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Conflict,
    Directory,
    Limits,
    MemberSeat,
    PoolSeat,
    RoomSeat,
    SlotRequest,
    check_time,
)
from solver.errors import FieldViolation, InvalidRequest, UnknownResource, quote

__all__ = [
    "MovePlan",
    "Replacement",
    "RescheduleRequest",
    "meeting_of_seats",
    "plan_move",
    "reschedule_booking",
    "update_booking",
]


@dataclass(frozen=True)
class Replacement:
    """One person of a seat replaced: ``replaced_id`` leaves seat ``seat_index`` (may be empty
    when the seat holds one), ``member_id`` takes the place ("": the cheapest free candidate)."""

    seat_index: int
    replaced_id: str = ""
    member_id: str = ""


@dataclass(frozen=True)
class RescheduleRequest:
    """RescheduleBooking in domain terms. ``version`` None: the booking's current one.
    ``choices`` names every seat's resources (None: the engine keeps or picks them)."""

    booking_id: str
    request_id: str
    body_hash: str
    start: datetime
    version: int | None = None
    choices: tuple[tuple[str, ...], ...] | None = None
    replace: Replacement | None = None
    allow_conflicts: bool = False


@dataclass(frozen=True)
class MovePlan:
    """Where a reschedule would put the booking, and whether it can: ``refused`` is None
    when the move can be committed, else why not (its conflicts only what the caller may see)."""

    before: BookingRecord
    start: datetime
    end: datetime
    seats: tuple[BookedSeat, ...]
    refused: BookingRefused | None
    conflicts: tuple[Conflict, ...] = ()
    unavailable: tuple[Unavailable, ...] = ()

    @property
    def changed_seats(self) -> tuple[int, ...]:
        """The indexes of the seats whose resources change."""
        return tuple(i for i, (old, new) in enumerate(zip(self.before.seats, self.seats, strict=False))
                     if set(old.resource_ids) != set(new.resource_ids))


def meeting_of_seats(record: BookingRecord, start: datetime, now: datetime) -> SlotRequest:
    """A meeting for a booking whose rules were not kept: its own seats (each member and
    room as the only candidate of its seat, pool seats drawn from their pool again)."""
    seats: list[MemberSeat | PoolSeat | RoomSeat] = []
    for seat in record.seats:
        if seat.kind is ResourceKind.ROOM:
            seats.append(RoomSeat(seat.resource_ids, (), seat.label))
        elif seat.pool_id:
            seats.append(PoolSeat(seat.pool_id, len(seat.resource_ids), seat.label))
        else:
            seats.append(MemberSeat(seat.resource_ids[:1], seat.label))
    duration = record.end - record.start
    return SlotRequest(window_start=start, window_end=start + duration, duration=duration,
                       time_zone=record.time_zone, seats=tuple(seats), customers=max(1, len(record.customers)),
                       resolution=1, start_interval=1, buffer_before=record.buffer_before,
                       buffer_after=record.buffer_after, now=now)


def _own_busy(record: BookingRecord, busy: Sequence[BusyInterval]) -> list[BusyInterval]:
    """``busy`` without the booking's own meeting (``desk.without_own_busy``)."""
    return without_own_busy([record], busy)


def _check_seat_count(record: BookingRecord, meeting: SlotRequest) -> None:
    if len(record.seats) != len(meeting.seats):
        raise InvalidRequest([FieldViolation("booking_id", f"the booking has {len(record.seats)} seat(s), its "
                                                           f"meeting {len(meeting.seats)}: name the seats")])


def plan_move(desk: BookingDesk, tenant: Tenant, record: BookingRecord, meeting: SlotRequest,
              request: RescheduleRequest, *, viewer: str, deadline: float | None = None) -> MovePlan:
    """Who would sit where at ``request.start``, checked as CreateBooking checks (see the module
    docstring); nothing is committed. Raises ``InvalidRequest`` / ``UnknownResource`` for bad
    seats or a bad replacement; a move that cannot be made comes back with ``refused`` set."""
    directory = tenant.directory
    start = request.start
    end = start + meeting.duration
    wanted = set(resources_of(meeting, directory)) | set(record.resource_ids)
    span = busy_span(meeting)
    fetched = tenant.calendars.busy(sorted(wanted), *span, deadline=deadline, fresh=True)
    busy = _own_busy(record, without_stale_copies(desk.store, tenant.id, fetched.busy))
    # The booking's own old time never conflicts with its new one.
    confirmed = [b for b in tenant.bookings.for_request(directory, meeting) if b.id != record.id]
    if request.choices is not None:
        seats = booked_seats(directory, meeting, request.choices)
    else:
        _check_seat_count(record, meeting)
        found = _pick(directory, meeting, record, request, busy, confirmed, desk.limits)
        if found is None:
            exact = exact_request(meeting, record.seats)
            resource_ids = [r for s in record.seats for r in s.resource_ids]
            blocking = visible(in_the_way(directory, busy, confirmed, exact, start, resource_ids), viewer)
            nowhere = BookingRefused("the booking cannot be moved there: no free assignment of its seats",
                                     blocking, fetched.unavailable)
            return MovePlan(record, start, end, record.seats, nowhere, blocking, tuple(fetched.unavailable))
        seats = found
    refused = refusal_of(directory, meeting, start, seats, busy, fetched.unavailable, confirmed,
                       allow_conflicts=request.allow_conflicts, limits=desk.limits, viewer=viewer)
    conflicts: tuple[Conflict, ...] = refused.conflicts if refused is not None else ()
    if refused is None and request.allow_conflicts:
        # Booked anyway: still say what is in the way.
        seen = refusal_of(directory, meeting, start, seats, busy, fetched.unavailable, confirmed,
                        allow_conflicts=False, limits=desk.limits, viewer=viewer)
        conflicts = seen.conflicts if seen is not None else ()
    return MovePlan(record, start, end, seats, refused, conflicts, tuple(fetched.unavailable))


def _free(directory: Directory, meeting: SlotRequest, start: datetime, resource_id: str, kind: ResourceKind,
          busy: Sequence[BusyInterval], confirmed: Sequence[Booking], limits: Limits) -> bool:
    """Whether one resource alone is free for the meeting at ``start``."""
    seat: MemberSeat | RoomSeat = RoomSeat((resource_id,)) if kind is ResourceKind.ROOM else MemberSeat((resource_id,))
    alone = dataclasses.replace(exact_request(meeting, ()), seats=(seat,))
    return check_time(directory, busy, alone, start, confirmed, limits=limits).available


def _pick(directory: Directory, meeting: SlotRequest, record: BookingRecord, request: RescheduleRequest,
          busy: Sequence[BusyInterval], confirmed: Sequence[Booking], limits: Limits) -> tuple[BookedSeat, ...] | None:
    """The seats at the new start: each seat's members kept where free (a replacement: every
    other seat kept), the rest the cheapest free candidates; None when no assignment exists."""
    start = request.start
    replace = request.replace
    leaving = ""
    if replace is not None:
        leaving = _leaving(directory, meeting, record, replace)
    extra: list[BusyInterval] = []
    narrowed: list[MemberSeat | PoolSeat | RoomSeat] = []
    places: list[list[tuple[int, str]]] = []  # per seat: (narrowed seat index, "" or the kept id)
    for i, (seat, booked) in enumerate(zip(meeting.seats, record.seats, strict=True)):
        allowed = set(seat_candidates(directory, seat))
        spots: list[tuple[int, str]] = []
        open_places = 0
        for r in booked.resource_ids:
            if r == leaving and replace is not None and i == replace.seat_index:
                if replace.member_id:
                    narrowed.append(MemberSeat((replace.member_id,)) if booked.kind is ResourceKind.MEMBER
                                    else RoomSeat((replace.member_id,)))
                    spots.append((len(narrowed) - 1, ""))
                else:
                    open_places += 1
                    spots.append((-1, ""))
                continue
            keep = r in allowed and (replace is not None or _free(directory, meeting, start, r, booked.kind, busy,
                                                                  confirmed, limits))
            if keep:
                narrowed.append(RoomSeat((r,)) if booked.kind is ResourceKind.ROOM else MemberSeat((r,)))
                spots.append((len(narrowed) - 1, r))
            else:
                open_places += 1
                spots.append((-1, ""))
        if open_places:
            narrowed.append(_open_seat(seat, open_places))
            spots = [(len(narrowed) - 1, "") if n == -1 else (n, kept) for n, kept in spots]
        places.append(spots)
    if leaving:
        # The one leaving is not a candidate any more: busy for the engine's pick.
        lo, hi = busy_span(meeting)
        extra.append(BusyInterval(leaving, lo, hi, BusyKind.BUSY))
    request_now = dataclasses.replace(exact_request(meeting, ()), seats=tuple(narrowed))
    roomy = dataclasses.replace(limits, max_seats=max(limits.max_seats, len(narrowed)))
    check = check_time(directory, [*busy, *extra], request_now, start, confirmed, limits=roomy)
    slot = check.slot
    if slot is None or (not check.available and not request.allow_conflicts):
        return None
    fills = [list(f.resource_ids) for f in slot.assignment.seats]
    seats: list[BookedSeat] = []
    for seat, spots in zip(meeting.seats, places, strict=True):
        ids = [fills[n].pop(0) for n, _ in spots]
        if leaving and leaving in ids:
            return None
        seats.append(booked_seat(directory, seat, tuple(ids)))
    return tuple(seats)


def _open_seat(seat: MemberSeat | PoolSeat | RoomSeat, places: int) -> MemberSeat | PoolSeat | RoomSeat:
    if isinstance(seat, PoolSeat):
        return dataclasses.replace(seat, count=places)
    return seat


def _leaving(directory: Directory, meeting: SlotRequest, record: BookingRecord, replace: Replacement) -> str:
    """Who leaves the replaced seat; raises ``InvalidRequest`` / ``UnknownResource`` for a bad replacement."""
    i = replace.seat_index
    if not 0 <= i < len(record.seats):
        raise InvalidRequest([FieldViolation("replacement.seat_index", f"the booking has {len(record.seats)} seat(s)")])
    booked = record.seats[i]
    if replace.replaced_id:
        if replace.replaced_id not in booked.resource_ids:
            raise InvalidRequest([FieldViolation("replacement.replaced_id",
                                                 f"{quote(replace.replaced_id)} does not fill seat {i}")])
        leaving = replace.replaced_id
    elif len(booked.resource_ids) == 1:
        leaving = booked.resource_ids[0]
    else:
        raise InvalidRequest([FieldViolation("replacement.replaced_id", f"seat {i} holds {len(booked.resource_ids)}: "
                                                                    "name the one leaving")])
    if replace.member_id:
        if replace.member_id not in directory.members and replace.member_id not in directory.rooms:
            raise UnknownResource("replacement.resource_id", replace.member_id)
        if replace.member_id not in seat_candidates(directory, meeting.seats[i]):
            raise InvalidRequest([FieldViolation("replacement.resource_id",
                                                 f"{quote(replace.member_id)} is not a candidate of seat {i}")])
        if replace.member_id in record.resource_ids:
            raise InvalidRequest([FieldViolation("replacement.resource_id",
                                                 f"{quote(replace.member_id)} already fills a seat")])
    return leaving


def reschedule_booking(desk: BookingDesk, tenant: Tenant, record: BookingRecord, meeting: SlotRequest,
                       request: RescheduleRequest, *, viewer: str,
                       deadline: float | None = None) -> tuple[CreateResult, MovePlan | None]:
    """Moves the booking (see the module docstring); the result and the plan it committed
    (None for a replay). Raises ``IdempotencyConflict``, ``StaleVersion``, ``BookingRefused``,
    ``InvalidRequest`` / ``UnknownResource``, and the store's errors."""
    first = desk.store.find_change(tenant.id, request.request_id)
    if first is not None:
        booking_id, body = first
        if body != request.body_hash or booking_id != record.id:
            raise IdempotencyConflict(tenant.id, request.request_id, booking_id)
        replay = desk.store.change_result(tenant.id, request.request_id)
        if replay is not None:
            return replay, None
    version = record.version if request.version is None else request.version
    if version != record.version:
        raise StaleVersion(record.id, version, record.version)
    plan = plan_move(desk, tenant, record, meeting, request, viewer=viewer, deadline=deadline)
    if plan.refused is not None:
        raise plan.refused
    move = Move(plan.start, plan.end, plan.seats, attendees_of(tenant.directory, plan.seats, meeting.optional_members),
                request.allow_conflicts)
    try:
        result = desk.store.reschedule(record.id, request.request_id, request.body_hash, version, move,
                                       tenant=tenant.id, limits=member_limits(tenant.directory, plan.seats))
    except BookingConflict as exc:
        raise taken(exc) from exc
    if not result.replayed:
        tenant.calendars.invalidate(sorted({*record.resource_ids, *move.resource_ids}))
        desk.wake_outbox()
    return result, plan


def update_booking(desk: BookingDesk, tenant: Tenant, booking_id: str, version: int | None,
                   edit: Edit) -> BookingRecord:
    """Edits title, description, location or customers at ``version`` (None: the current one)."""
    if version is None:
        version = desk.store.get(booking_id, tenant=tenant.id).version
    record = desk.store.update(booking_id, version, edit, tenant=tenant.id)
    desk.wake_outbox()
    return record
