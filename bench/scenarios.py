"""Seeded, realistic scheduling problems for the benchmarks.

Each builder returns ``(directory, busy, request, bookings)`` ready for
``find_slots``; the same seed always builds the same problem. Other benches
(gRPC, calendar fetch) import these, so the signatures stay as they are.

- ``panel_4w``: four weeks, a 60-minute panel with 10-minute buffers: two
  required members with two alternates each, one interviewer from a 25-member
  load-balanced pool, one room of ten.
- ``pool_50``: the same with two interviewers from a 50-member pool and twenty rooms.
- ``busy_week``: ``panel_4w`` with calendars about 90% full, so that hardly any
  start is free and the answer is the least-conflict alternatives.
- ``shared_panel``: ``panel_4w`` with three pool interviewers also eligible for
  each member seat, so that the member seats and the pool seat compete.
- ``overlapping_pools``: ``count`` seats from each of four round-robin pools of
  35 drawn from the same 40 members (4 x count interacting units), over one
  week at 5-minute starts (or a day at 15, for tests).
- ``panel_4w(weeks=13)`` and the like: the same panel over a longer window.

Members work weekdays in Berlin or London; about 40% of working time is busy
(meetings of 30-120 minutes in back-to-back blocks, some at off-grid times
like 10:02); bookings of
the last two weeks and of the window feed the pool's load and block time.
The window spans the European DST change of 30 March 2025.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Cycle,
    DayRange,
    Directory,
    Distribution,
    Member,
    MemberSeat,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    SlotRequest,
    WorkingHours,
)

__all__ = ["Instance", "busy_week", "overlapping_pools", "panel_4w", "pool_50", "shared_panel"]

Instance = tuple[Directory, list[BusyInterval], SlotRequest, list[Booking]]

REQUEST_ZONE = "Europe/Berlin"
MEMBER_ZONES = ("Europe/Berlin", "Europe/Berlin", "Europe/London")
FIRST_DAY = date(2025, 3, 3)  # a Monday; the window runs four weeks unless asked otherwise
WEEKS = 4
SHARED_INTERVIEWERS = ("interviewer-00", "interviewer-01", "interviewer-02")
BUSY_SHARE = 0.4  # of each resource's working time
BUSY_WEEK_SHARE = 0.9  # busy_week: calendars nearly full
MEETING_MINUTES = (30, 45, 60, 60, 90, 120)
OFF_GRID_MINUTES = (2, 3, 7, 8, 12)  # how far an off-grid meeting starts past the quarter hour
ROOM_CAPACITIES = (2, 4, 4, 6, 6, 8, 10, 12, 16, 24)
QUARTER = timedelta(minutes=15)

# Typical office days as wall-clock minutes: 09-17, 08:30-16:30, with lunch, 10-18.
DAY_SHAPES = (
    (DayRange(540, 1020),),
    (DayRange(510, 990),),
    (DayRange(540, 750), DayRange(810, 1050)),
    (DayRange(600, 1080),),
)
ROOM_DAY = (DayRange(420, 1200),)  # rooms open 07:00-20:00


def panel_4w(seed: int = 0, weeks: int = WEEKS) -> Instance:
    """Four weeks; 2 member seats (primary + 2 alternates), 1 of a 25-member pool, 1 of 10 rooms."""
    return _build(seed, pool_size=25, pool_count=1, room_count=10, weeks=weeks)


def shared_panel(seed: int = 0) -> Instance:
    """``panel_4w`` whose member seats also take three of the pool's interviewers (as later alternates)."""
    directory, busy, request, bookings = panel_4w(seed)
    seats = tuple(
        replace(seat, candidates=seat.candidates + SHARED_INTERVIEWERS) if isinstance(seat, MemberSeat) else seat
        for seat in request.seats
    )
    return directory, busy, replace(request, seats=seats), bookings


def overlapping_pools(seed: int = 0, count: int = 3, days: int = 7, start_interval: int = 5) -> Instance:
    """``count`` seats from each of 4 round-robin pools of 35 out of 40 members; ``days`` from a Monday.

    Members work 09-17 Berlin time on weekdays, with meetings of 30-90 minutes one to
    eight hours apart; no bookings, so each pool's ranks are its own member order.
    """
    rnd = random.Random(seed)
    zone = REQUEST_ZONE
    members = [Member(f"m{i}", time_zone=zone, working_hours=WorkingHours.weekdays(time(9), time(17), zone))
               for i in range(40)]
    pools = [Pool(f"p{k}", tuple(f"m{i}" for i in rnd.sample(range(40), 35)), Distribution.ROUND_ROBIN)
             for k in range(4)]
    start = datetime(2026, 11, 30, tzinfo=UTC)
    busy = []
    for m in members:
        t = start
        while t < start + timedelta(days=days):
            t += timedelta(minutes=rnd.choice([60, 120, 240, 480]))
            length = timedelta(minutes=rnd.choice([30, 60, 90]))
            busy.append(BusyInterval(m.id, t, t + length))
            t += length
    request = SlotRequest(start, start + timedelta(days=days), timedelta(hours=1), zone,
                          tuple(PoolSeat(p.id, count) for p in pools), start_interval=start_interval)
    return Directory.of(members, [], pools), busy, request, []


def pool_50(seed: int = 0) -> Instance:
    """Like ``panel_4w`` but 2 interviewers from a 50-member pool and 1 of 20 rooms."""
    return _build(seed, pool_size=50, pool_count=2, room_count=20)


def busy_week(seed: int = 0) -> Instance:
    """``panel_4w`` with every calendar about 90% full: fewer than three starts are free."""
    return _build(seed, pool_size=25, pool_count=1, room_count=10, busy_share=BUSY_WEEK_SHARE)


def _build(seed: int, pool_size: int, pool_count: int, room_count: int, busy_share: float = BUSY_SHARE,
           weeks: int = WEEKS) -> Instance:
    rng = random.Random(seed)
    window_start = datetime.combine(FIRST_DAY, time(0), ZoneInfo(REQUEST_ZONE))
    window_end = datetime.combine(FIRST_DAY + timedelta(weeks=weeks), time(0), ZoneInfo(REQUEST_ZONE))
    days = [FIRST_DAY + timedelta(days=d) for d in range(-14, 7 * weeks + 1)]

    panel = [_member(rng, f"panel-{i}", daily_limit=3 if i % 3 == 0 else None) for i in range(6)]
    interviewers = [_member(rng, f"interviewer-{i:02d}") for i in range(pool_size)]
    rooms = [
        Room(f"room-{i:02d}", capacity=ROOM_CAPACITIES[i % len(ROOM_CAPACITIES)], time_zone=REQUEST_ZONE,
             opening_hours=WorkingHours(REQUEST_ZONE, (ROOM_DAY,) * 5 + ((), ())))
        for i in range(room_count)
    ]
    interviewer_pool = Pool("interviewers", tuple(m.id for m in interviewers), Distribution.LOAD_BALANCED,
                            Cycle.WEEK)
    room_pool = Pool("hq-rooms", tuple(r.id for r in rooms), Distribution.ROUND_ROBIN)
    directory = Directory.of(panel + interviewers, rooms, [interviewer_pool, room_pool])

    busy: list[BusyInterval] = []
    for member in panel + interviewers:
        assert member.working_hours is not None
        busy += _busy_time(rng, member.id, member.working_hours, days, busy_share)
    for room in rooms:
        assert room.opening_hours is not None
        busy += _busy_time(rng, room.id, room.opening_hours, days, busy_share)

    bookings = _bookings(rng, panel, interviewers, rooms, days)

    request = SlotRequest(
        window_start=window_start,
        window_end=window_end,
        duration=timedelta(minutes=60),
        time_zone=REQUEST_ZONE,
        seats=(
            MemberSeat(("panel-0", "panel-1", "panel-2"), label="hiring manager"),
            MemberSeat(("panel-3", "panel-4", "panel-5"), label="tech lead"),
            PoolSeat("interviewers", count=pool_count, label="interviewer"),
            RoomSeat(rooms=("room-04", "room-05"), pools=("hq-rooms",), label="room"),
        ),
        resolution=5,
        start_interval=15,
        buffer_before=timedelta(minutes=10),
        buffer_after=timedelta(minutes=10),
    )
    return directory, busy, request, bookings


def _member(rng: random.Random, member_id: str, daily_limit: int | None = None) -> Member:
    zone = rng.choice(MEMBER_ZONES)
    hours = WorkingHours(zone, (rng.choice(DAY_SHAPES),) * 5 + ((), ()))
    return Member(member_id, name=member_id.replace("-", " ").title(), email=f"{member_id}@example.com",
                  time_zone=zone, working_hours=hours, daily_limit=daily_limit)


def _working_ranges(hours: WorkingHours, day: date) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(hours.time_zone)
    midnight = datetime.combine(day, time(0))
    return [
        ((midnight + timedelta(minutes=r.start_minute)).replace(tzinfo=zone),
         (midnight + timedelta(minutes=r.end_minute)).replace(tzinfo=zone))
        for r in hours.ranges_on(day)
    ]


def _busy_time(rng: random.Random, resource_id: str, hours: WorkingHours, days: list[date],
               busy_share: float = BUSY_SHARE) -> list[BusyInterval]:
    """About ``busy_share`` of each working range busy, in one to three back-to-back blocks of meetings."""
    out: list[BusyInterval] = []
    for day in days:
        for lo, hi in _working_ranges(hours, day):
            quarters = int((hi - lo) / QUARTER)
            meetings: list[int] = []  # lengths in quarters
            while sum(meetings) < busy_share * quarters:
                meetings.append(rng.choice(MEETING_MINUTES) // 15)
            if sum(meetings) > quarters:
                meetings.pop()
            blocks = min(len(meetings), rng.randint(1, 3))
            # Free time, split into blocks + 1 gaps at random quarter-hour cuts.
            cuts = sorted(rng.randint(0, quarters - sum(meetings)) for _ in range(blocks))
            gaps = [b - a for a, b in zip([0, *cuts], [*cuts, quarters - sum(meetings)], strict=True)]
            block_of = sorted(rng.sample(range(1, len(meetings)), blocks - 1)) if blocks > 1 else []
            t = lo + gaps[0] * QUARTER
            gap = 1
            for i, length in enumerate(meetings):
                if i in block_of:
                    t += gaps[gap] * QUARTER
                    gap += 1
                start, end = t, t + length * QUARTER
                if rng.random() < 0.2:  # booked at an odd minute, as people do
                    shift = timedelta(minutes=rng.choice(OFF_GRID_MINUTES))
                    start, end = start + shift, end + shift
                kind = BusyKind.TENTATIVE if rng.random() < 0.1 else BusyKind.BUSY
                out.append(BusyInterval(resource_id, start, end, kind, owner=resource_id))
                t += length * QUARTER
    return out


def _bookings(rng: random.Random, panel: list[Member], interviewers: list[Member], rooms: list[Room],
              days: list[date]) -> list[Booking]:
    """Past and upcoming bookings of this engine: one interviewer, maybe a panelist, a room."""
    workdays = [d for d in days if d.weekday() < 5]
    out: list[Booking] = []
    for k in range(2 * len(interviewers)):
        interviewer = rng.choice(interviewers)
        day = rng.choice(workdays)
        start = datetime.combine(day, time(rng.randint(9, 15), rng.choice((0, 15, 30, 45))),
                                 ZoneInfo(REQUEST_ZONE))
        room = rng.choice(rooms)
        resources = [interviewer.id, room.id]
        if rng.random() < 0.3:
            resources.append(rng.choice(panel).id)
        out.append(Booking(f"booking-{k:03d}", start, start + timedelta(minutes=60), tuple(resources),
                           (("interviewers", interviewer.id), ("hq-rooms", room.id))))
    return out
