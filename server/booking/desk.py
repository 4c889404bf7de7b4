"""The booking flow, as plain functions. A CreateBooking reads top to bottom as

    request -> its request id booked before? replay that booking, or refuse another
       body (``store.find_by_request_id``: ALREADY_EXISTS whatever the new body asks)
    -> check the chosen seats against the rules (``booked_seats``)
    -> re-check exactly that assignment against FRESH calendars and the confirmed
       bookings (``recheck``: solver.check_time on seats narrowed to the choice;
       ``prepare_booking`` does these three steps, a batch's commit too)
    -> store.create (the database itself refuses a double booking, and enforces
       the daily/weekly limits) -> forget cached busy data -> wake the outbox

The re-check and the store's check are two different guarantees. The re-check
sees the calendars (a meeting the organizer accepted elsewhere a minute ago),
working hours and room capacity; the store sees only this engine's bookings
but sees them atomically, so of two concurrent requests for one member or room
exactly one is confirmed, whichever passed the re-check first.

Every conflict that leaves here went through ``privacy.visible_details``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.booking.notify.handlers import event_uid
from server.booking.store import (
    BookedSeat,
    BookingConflict,
    BookingRecord,
    BookingStore,
    CreateEntry,
    CreateResult,
    Hold,
    IdempotencyConflict,
    MemberLimit,
    NewBooking,
    Person,
    ResourceKind,
    TaskKind,
)
from server.calendars.busy import Unavailable, busy_span
from server.calendars.privacy import visible_details
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
from solver.busy import BusyTable
from solver.conflicts import conflicts_of
from solver.errors import FieldViolation, InvalidRequest, UnknownResource, quote
from solver.plan import make_plan, start_minutes

__all__ = [
    "BookingDesk",
    "BookingRefused",
    "BookingRequest",
    "BookingsDisabled",
    "UnknownHold",
    "attendees_of",
    "booked_seat",
    "booked_seats",
    "cancel_booking",
    "create_booking",
    "exact_request",
    "hold_slot",
    "in_the_way",
    "member_limits",
    "prepare_booking",
    "refusal_of",
    "release_hold",
    "seat_candidates",
    "taken",
    "visible",
    "without_own_busy",
    "without_stale_copies",
]

DEFAULT_TITLE = "Meeting"


@dataclass(frozen=True)
class BookingDesk:
    """What the booking RPCs work with: the store, the server's limits, and how to
    wake the outbox worker after a commit (it also polls, so waking only saves time)."""

    store: BookingStore
    limits: Limits = field(default_factory=Limits)
    wake_outbox: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class BookingRequest:
    """CreateBooking in domain terms.

    ``meeting`` is the SlotRequest of the meeting at ``start`` (its window is the
    meeting itself, as CheckTime builds it); ``choices`` holds, per seat of
    ``meeting``, the resource ids the caller picked; ``body_hash`` identifies the
    request's body for idempotency.
    """

    request_id: str
    body_hash: str
    meeting: SlotRequest
    start: datetime
    choices: tuple[tuple[str, ...], ...]
    customers: tuple[Person, ...] = ()
    title: str = ""
    organizer_id: str = ""
    allow_conflicts: bool = False
    hold_id: str = ""
    description: str = ""
    location: str = ""
    meeting_rules: str = ""  # the meeting's rules as the API took them, kept with the booking (reschedules)

    @property
    def end(self) -> datetime:
        return self.start + self.meeting.duration


class BookingRefused(Exception):
    """The slot is not free for the chosen assignment (FAILED_PRECONDITION).

    ``conflicts`` is everything in the way, with event details only where the
    caller owns the calendar; ``unavailable`` lists calendars that could not be read.
    """

    def __init__(self, reason: str, conflicts: Sequence[Conflict] = (),
                 unavailable: Sequence[Unavailable] = ()) -> None:
        self.reason = reason
        self.conflicts = tuple(conflicts)
        self.unavailable = tuple(unavailable)
        super().__init__(reason)


class BookingsDisabled(Exception):
    """This server has no booking store (UNIMPLEMENTED)."""

    def __init__(self) -> None:
        super().__init__("bookings are not enabled on this server (it was started without a booking store)")


class UnknownHold(Exception):
    """No such hold: never made, released, used by a booking, or expired (NOT_FOUND)."""

    def __init__(self, hold_id: str) -> None:
        self.hold_id = hold_id
        super().__init__(f"hold_id: no hold {quote(hold_id)} (it may have expired)")


# --- The chosen seats ------------------------------------------------------------------


def booked_seats(directory: Directory, meeting: SlotRequest,
                 choices: Sequence[Sequence[str]]) -> tuple[BookedSeat, ...]:
    """The choice per seat checked against the meeting's seats, as the store books them.

    Each seat takes as many ids as it has places (one; ``count`` for a pool
    seat), each one a candidate of that seat, and no id fills two places.
    Raises ``UnknownResource`` for ids the directory lacks, else ``InvalidRequest``
    with every problem (paths ``seats[i].resource_ids[j]``).
    """
    problems: list[FieldViolation] = []
    if len(choices) != len(meeting.seats):
        raise InvalidRequest([FieldViolation(
            "seats", f"choose the resources of every seat: the meeting has {len(meeting.seats)} "
                     f"seat(s), the request chose {len(choices)}")])
    for i, ids in enumerate(choices):
        for j, resource_id in enumerate(ids):
            if resource_id not in directory.members and resource_id not in directory.rooms:
                raise UnknownResource(f"seats[{i}].resource_ids[{j}]", resource_id)
    seen: set[str] = set()
    seats: list[BookedSeat] = []
    for i, (seat, ids) in enumerate(zip(meeting.seats, choices, strict=True)):
        places = seat.count if isinstance(seat, PoolSeat) else 1
        if len(ids) != places:
            problems.append(FieldViolation(f"seats[{i}].resource_ids",
                                           f"this seat takes {places} id(s), got {len(ids)}"))
        allowed = seat_candidates(directory, seat)
        for j, resource_id in enumerate(ids):
            where = f"seats[{i}].resource_ids[{j}]"
            if resource_id not in allowed:
                problems.append(FieldViolation(where, f"{quote(resource_id)} is not a candidate of this seat"))
            elif resource_id in seen:
                problems.append(FieldViolation(where, f"{quote(resource_id)} already fills another place"))
            seen.add(resource_id)
        seats.append(booked_seat(directory, seat, tuple(ids)))
    if problems:
        raise InvalidRequest(problems)
    return tuple(seats)


def seat_candidates(directory: Directory, seat: MemberSeat | PoolSeat | RoomSeat) -> tuple[str, ...]:
    if isinstance(seat, MemberSeat):
        return seat.candidates
    if isinstance(seat, PoolSeat):
        pool = directory.pools.get(seat.pool_id)
        return tuple(m for m in pool.members if m in directory.members) if pool else ()
    pooled = tuple(r for p in seat.pools if p in directory.pools for r in directory.pools[p].members)
    return tuple(r for r in (*seat.rooms, *pooled) if r in directory.rooms)


def booked_seat(directory: Directory, seat: MemberSeat | PoolSeat | RoomSeat, ids: tuple[str, ...]) -> BookedSeat:
    if isinstance(seat, MemberSeat):
        return BookedSeat(ResourceKind.MEMBER, ids, "", seat.label)
    if isinstance(seat, PoolSeat):
        # The pool id makes the booking count in the pool's round-robin order and load.
        return BookedSeat(ResourceKind.MEMBER, ids, seat.pool_id, seat.label)
    listed = ids and ids[0] in seat.rooms
    pool_id = "" if listed else next((p for p in seat.pools if p in directory.pools
                                      and ids and ids[0] in directory.pools[p].members), "")
    return BookedSeat(ResourceKind.ROOM, ids, pool_id, seat.label)


def exact_request(meeting: SlotRequest, seats: Sequence[BookedSeat]) -> SlotRequest:
    """``meeting`` with every seat narrowed to the chosen resources: a member seat to
    its one choice, a pool seat to one single-candidate seat per chosen member, a
    room seat to its room. The solver then checks exactly this assignment."""
    narrowed: list[MemberSeat | PoolSeat | RoomSeat] = []
    for seat in seats:
        if seat.kind is ResourceKind.ROOM:
            narrowed.append(RoomSeat(seat.resource_ids, (), seat.label))
        else:
            narrowed.extend(MemberSeat((r,), seat.label) for r in seat.resource_ids)
    return dataclasses.replace(meeting, seats=tuple(narrowed), max_results=0, page_offset=0,
                               max_alternatives=0, min_available=0, want_alternatives=False)


# --- Re-check at commit ----------------------------------------------------------------


def without_own_busy(records: Sequence[BookingRecord], busy: Sequence[BusyInterval]) -> list[BusyInterval]:
    """``busy`` without the meetings of ``records`` (bookings about to move): each one's calendar
    event (by UID or the event id create_event got back); and, on a resource it holds, an
    interval exactly its time that cannot be told apart from it: one whose source names no
    event (free/busy only), or a copy of it under another id (an attendee's copy in Outlook,
    same title). Another event at exactly that time (its own id, its own title) stays in
    the way: only the booking's own old time never conflicts."""
    own_ids: set[str] = set()
    spans: dict[tuple[str, datetime, datetime], set[str]] = {}
    for record in records:
        created = record.side_effects.get(TaskKind.CREATE_EVENT.value)
        own_ids |= {event_uid(record.id)} | ({created.result} if created is not None and created.result else set())
        for r in record.resource_ids:
            spans.setdefault((r, record.start, record.end), set()).add(record.title)

    def own(b: BusyInterval) -> bool:
        if b.details is not None and b.details.event_id in own_ids:
            return True
        titles = spans.get((b.resource_id, b.start, b.end))
        if titles is None:
            return False
        return b.details is None or not b.details.event_id or b.details.title in titles

    return [b for b in busy if not own(b)]


_UID_SUFFIX = event_uid("")


def without_stale_copies(store: BookingStore | None, tenant: str,
                         busy: Sequence[BusyInterval]) -> list[BusyInterval]:
    """``busy`` without the copies of this tenant's own bookings left where the bookings no longer
    are: an event whose UID names a booking (``event_uid``) that has been cancelled or moved
    since, its calendar side effect not run yet (or given up). The store is the truth for
    a booking: once the move or the cancel commits, the old time holds nothing. A copy at the
    booking's current time stays (it is where the booking is; an organizer who is not seated
    is busy then)."""
    named = {b.details.event_id[:-len(_UID_SUFFIX)] for b in busy
             if b.details is not None and b.details.event_id.endswith(_UID_SUFFIX)}
    if store is None or not named:
        return list(busy)
    now = store.booking_times(tenant, named)

    def stale(b: BusyInterval) -> bool:
        if b.details is None or not b.details.event_id.endswith(_UID_SUFFIX):
            return False
        booking_id = b.details.event_id[:-len(_UID_SUFFIX)]
        if booking_id not in now:
            return False  # not this tenant's booking: an event like any other
        where = now[booking_id]
        return where is None or where != (b.start, b.end)

    return [b for b in busy if not stale(b)]


def recheck(tenant: Tenant, meeting: SlotRequest, start: datetime, seats: Sequence[BookedSeat], *,
            allow_conflicts: bool, limits: Limits, viewer: str, deadline: float | None,
            moving: Sequence[BookingRecord] = (), store: BookingStore | None = None) -> None:
    """Raises ``BookingRefused`` unless the chosen assignment is free at ``start``
    (calendars read fresh from their sources, confirmed bookings, hours, room
    capacity, minimum notice). With ``allow_conflicts`` busy members are
    accepted; busy rooms, capacity and notice never are. Daily/weekly limits
    are left to the store (``_without_booking_limits``). ``moving``: bookings
    that move in the same transaction; their current time is no obstacle."""
    exact = exact_request(meeting, seats)
    resource_ids = [r for s in seats for r in s.resource_ids]
    span = busy_span(exact)
    fetched = tenant.calendars.busy(resource_ids, *span, deadline=deadline, fresh=True)
    gone = {r.id for r in moving}
    confirmed = [b for b in tenant.bookings.for_request(tenant.directory, exact) if b.id not in gone]
    busy = without_stale_copies(store, tenant.id, fetched.busy)
    busy = without_own_busy(moving, busy) if moving else busy
    refused = refusal_of(tenant.directory, meeting, start, seats, busy, fetched.unavailable, confirmed,
                       allow_conflicts=allow_conflicts, limits=limits, viewer=viewer)
    if refused is not None:
        raise refused


def refusal_of(directory: Directory, meeting: SlotRequest, start: datetime, seats: Sequence[BookedSeat],
             busy: Sequence[BusyInterval], unavailable: Sequence[Unavailable], confirmed: Sequence[Booking], *,
             allow_conflicts: bool, limits: Limits, viewer: str) -> BookingRefused | None:
    """Why the chosen assignment cannot be booked at ``start`` (``recheck``'s rules), or None."""
    exact = exact_request(meeting, seats)
    resource_ids = [r for s in seats for r in s.resource_ids]
    # The narrowed request may have more seats than the caller's (a pool seat of 2 becomes
    # two), but no more work: the caller's request was checked against the limits already.
    roomy = dataclasses.replace(limits, max_seats=max(limits.max_seats, len(exact.seats)))
    check = check_time(_without_booking_limits(directory, resource_ids), busy, exact, start,
                       confirmed, limits=roomy)
    if check.available:
        return None
    if check.slot is not None and allow_conflicts:
        return None  # only members are in the way (conflict mode keeps rooms and limits hard)
    if check.slot is not None:
        conflicts: Sequence[Conflict] = check.slot.conflicts
        reason = f"the slot is no longer free ({check.reason})"
    else:
        conflicts = in_the_way(directory, busy, confirmed, exact, start, resource_ids)
        too_small = _too_small(directory, exact)
        if check.reason == "before the minimum notice":
            reason = "the slot cannot be booked: it starts before now + the minimum notice"
        elif too_small:
            reason = f"the slot cannot be booked: {too_small}"
        elif conflicts:
            kinds = ", ".join(sorted({c.kind.value for c in conflicts}))
            reason = f"the slot cannot be booked: rooms are never double-booked (conflicts: {kinds})"
        else:
            reason = f"the slot cannot be booked: {check.reason}"
    return BookingRefused(reason, visible(conflicts, viewer), unavailable)


def _too_small(directory: Directory, exact: SlotRequest) -> str:
    """Why a chosen room cannot hold the meeting ("" when every room can)."""
    attendees = sum(isinstance(s, MemberSeat) for s in exact.seats) + len(exact.optional_members) + exact.customers
    for seat in exact.seats:
        if isinstance(seat, RoomSeat):
            room = directory.rooms[seat.rooms[0]]
            if room.capacity < attendees:
                return f"room {quote(room.id)} seats {room.capacity}, the meeting has {attendees} attendees"
    return ""


def _without_booking_limits(directory: Directory, member_ids: Sequence[str]) -> Directory:
    """``directory`` with the daily/weekly limits of ``member_ids`` lifted: the store counts
    them inside the booking's own transaction (exact under concurrency) and its
    ``LimitReached`` names the member, the period and the count."""
    members = dict(directory.members)
    for member_id in member_ids:
        member = members.get(member_id)
        if member is not None and (member.daily_limit is not None or member.weekly_limit is not None):
            members[member_id] = dataclasses.replace(member, daily_limit=None, weekly_limit=None)
    return dataclasses.replace(directory, members=members)


def in_the_way(directory: Directory, busy: Sequence[BusyInterval], confirmed: Sequence[Booking],
               exact: SlotRequest, start: datetime, resource_ids: Sequence[str]) -> list[Conflict]:
    """What is in the way of each chosen resource, rooms included (the solver's own
    list, with its widening to the grid), for a start that conflict mode cannot fill."""
    table = BusyTable.of(busy)
    plan = make_plan(directory, table, confirmed, exact, start_minutes(start))
    bookings_by: dict[str, list[Booking]] = {}
    for bk in confirmed:
        for r in bk.resources:
            bookings_by.setdefault(r, []).append(bk)
    known = [r for r in resource_ids if r in plan.mask.resource_ids]
    return conflicts_of(plan, known, 0, table, bookings_by)


def visible(conflicts: Sequence[Conflict], viewer: str) -> tuple[Conflict, ...]:
    return tuple(dataclasses.replace(c, details=visible_details(c, viewer)) for c in conflicts)


# --- Create, cancel, hold ----------------------------------------------------------------


def new_booking(tenant: Tenant, request: BookingRequest, seats: tuple[BookedSeat, ...]) -> NewBooking:
    """What the store books: the meeting, who sits where, who is told."""
    directory = tenant.directory
    seated = [r for s in seats if s.kind is ResourceKind.MEMBER for r in s.resource_ids]
    organizer_id = request.organizer_id or (seated[0] if seated else "")
    if request.organizer_id and request.organizer_id not in directory.members:
        raise UnknownResource("organizer_member_id", request.organizer_id)
    if not organizer_id:
        raise InvalidRequest([FieldViolation("organizer_member_id", "is required when no member is seated")])
    organizer = directory.members[organizer_id]
    if not organizer.email and request.customers:
        raise InvalidRequest([FieldViolation(
            "organizer_member_id", f"member {quote(organizer_id)} has no email address; the invitation needs one")])
    rooms = [directory.rooms[r] for s in seats if s.kind is ResourceKind.ROOM for r in s.resource_ids]
    meeting = request.meeting
    return NewBooking(
        tenant=tenant.id, start=request.start, end=request.end, time_zone=meeting.time_zone, seats=seats,
        title=request.title or DEFAULT_TITLE, organizer=Person(organizer.email, organizer.name),
        customers=request.customers, attendees=attendees_of(directory, seats, meeting.optional_members),
        buffer_before=meeting.buffer_before, buffer_after=meeting.buffer_after,
        description=request.description,
        location=request.location or ", ".join(r.name or r.id for r in rooms),
        hold_id=request.hold_id, meeting=request.meeting_rules)


def attendees_of(directory: Directory, seats: Sequence[BookedSeat], optional_members: Sequence[str]) -> tuple[
        Person, ...]:
    """The seated and optional members on the invitation, once each (no address, no invitation)."""
    seated = [r for s in seats if s.kind is ResourceKind.MEMBER for r in s.resource_ids]
    attendees: dict[str, Person] = {}
    for member_id in (*seated, *optional_members):
        member = directory.members.get(member_id)
        if member is not None and member.email:
            attendees.setdefault(member.email.lower(), Person(member.email, member.name))
    return tuple(attendees.values())


def member_limits(directory: Directory, seats: Sequence[BookedSeat]) -> dict[str, MemberLimit]:
    """The daily/weekly limits of the seated members who have any, for the store to enforce."""
    limits: dict[str, MemberLimit] = {}
    for seat in seats:
        for r in seat.resource_ids:
            member = directory.members.get(r)
            if member is not None and (member.daily_limit is not None or member.weekly_limit is not None):
                limits[r] = MemberLimit(member.daily_limit, member.weekly_limit, member.time_zone)
    return limits


def create_booking(desk: BookingDesk, tenant: Tenant, request: BookingRequest, *, viewer: str,
                   deadline: float | None = None) -> CreateResult:
    """Books ``request`` or refuses it (see the module docstring).

    Raises ``IdempotencyConflict`` (the request id booked before with another
    body, whatever this body asks), ``InvalidRequest`` / ``UnknownResource`` (bad
    choice of seats or organizer), ``BookingRefused`` (not free at commit), and
    the store's ``LimitReached``, ``InvalidBooking``, ``StoreUnavailable``.
    """
    first = _first_result(desk.store, tenant.id, request)
    if first is not None:
        return first
    try:
        entry = prepare_booking(desk, tenant, request, viewer=viewer, deadline=deadline)
        result = desk.store.create(entry.request_id, entry.body_hash, entry.booking, entry.allow_member_conflicts,
                                   limits=entry.limits)
    except BookingRefused:
        # A twin of this request may have committed meanwhile, its booking now in the way.
        replay = _first_result(desk.store, tenant.id, request)
        if replay is not None:
            return replay
        raise
    except BookingConflict as exc:
        raise taken(exc) from exc
    if not result.replayed:
        tenant.calendars.invalidate(entry.booking.resource_ids)
        desk.wake_outbox()
    return result


def prepare_booking(desk: BookingDesk, tenant: Tenant, request: BookingRequest, *, viewer: str,
                    deadline: float | None = None, moving: Sequence[BookingRecord] = ()) -> CreateEntry:
    """What the store books for ``request``: its seats checked against the rules, and
    re-checked against fresh calendars and the confirmed bookings (``recheck``; ``moving``:
    bookings that move in the same transaction).

    Raises ``InvalidRequest`` / ``UnknownResource`` (seats, organizer) or ``BookingRefused``.
    """
    seats = booked_seats(tenant.directory, request.meeting, request.choices)
    booking = new_booking(tenant, request, seats)
    recheck(tenant, request.meeting, request.start, seats, allow_conflicts=request.allow_conflicts,
            limits=desk.limits, viewer=viewer, deadline=deadline, moving=moving, store=desk.store)
    return CreateEntry(request.request_id, request.body_hash, booking, request.allow_conflicts,
                       member_limits(tenant.directory, seats))


def _first_result(store: BookingStore, tenant: str, request: BookingRequest) -> CreateResult | None:
    """The booking ``request.request_id`` made earlier, replayed (even if cancelled since);
    None when it booked nothing. Raises ``IdempotencyConflict`` when its body differs."""
    record = store.find_by_request_id(tenant, request.request_id)
    if record is None:
        return None
    if record.body_hash != request.body_hash:
        raise IdempotencyConflict(tenant, request.request_id, record.id)
    return CreateResult(record, replayed=True)


def cancel_booking(desk: BookingDesk, tenant: Tenant, booking_id: str) -> BookingRecord:
    """Cancels (idempotently): the resources are free at once; the calendar event's removal
    and the customers' METHOD:CANCEL go through the outbox."""
    record = desk.store.cancel(booking_id, tenant=tenant.id)
    tenant.calendars.invalidate(record.resource_ids)
    desk.wake_outbox()
    return record


MAX_HOLD = timedelta(minutes=30)


def hold_slot(desk: BookingDesk, tenant: Tenant, resource_ids: Sequence[str], start: datetime, end: datetime,
              ttl: timedelta) -> Hold:
    """Holds known resources for ``[start, end)`` for ``ttl``; ``BookingRefused`` when a
    confirmed booking or another hold has any of them then."""
    for i, resource_id in enumerate(resource_ids):
        if resource_id not in tenant.directory.members and resource_id not in tenant.directory.rooms:
            raise UnknownResource(f"resource_ids[{i}]", resource_id)
    try:
        return desk.store.hold(tenant.id, resource_ids, start, end, ttl)
    except BookingConflict as exc:
        raise taken(exc) from exc


def taken(exc: BookingConflict) -> BookingRefused:
    """The store's refusal: another booking or another caller's hold has the resources then.
    Who holds them is not shown (their booking ids are not the caller's business)."""
    held = any(c.kind == "hold" for c in exc.conflicts)
    booked = any(c.kind != "hold" for c in exc.conflicts) or not exc.conflicts
    what = " and ".join(w for w, yes in (("booked", booked), ("held by another caller (HoldSlot)", held)) if yes)
    return BookingRefused(f"the resources are already {what} at that time",
                          [Conflict(c.resource_id, c.start, c.end, BusyKind.BOOKING) for c in exc.conflicts])


def release_hold(desk: BookingDesk, tenant: Tenant, hold_id: str) -> None:
    """Drops one of the tenant's holds; ``UnknownHold`` when it has none by that id
    (another tenant's hold is unknown here, as its bookings are)."""
    if not hold_id:
        raise InvalidRequest([FieldViolation("hold_id", "is required")])
    if not desk.store.release_hold(tenant.id, hold_id):
        raise UnknownHold(hold_id)
