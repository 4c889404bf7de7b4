"""Seeded, realistic batch instances: interview weeks and sales-demo waves.

    directory, busy, bookings, batch = interview_weeks(requests=150, members=40, rooms=10, weeks=2)

Both kinds share one shape of organisation: *teams*, each with its own
members (a few leads and a pool of panelists), its own rooms (a room pool per
site) and its own time zone. A team's requests only ever use the team's
resources, so with ``teams > 1`` a batch falls apart into independent parts,
one per team and week (every request's window lies inside one week).

- **Interview week**: 60-minute panels with the hiring manager (an alternate
  named), two panelists from the team's pool (round robin) and a room from the
  site's room pool; a window of two to four working days; 15 minutes of buffer
  after each interview; panelists may sit on at most three interviews a day.
- **Sales-demo wave**: 45-minute demos with the account executive, one
  solutions engineer (load-balanced pool) and, for on-site demos, a room; a
  window of one to three working days; priority by deal size (1 to 5).

Calendars: every member has a few meetings a day (some tentative, now and then
a day out of office); rooms have bookings too; each pool has a history of
confirmed bookings, so round-robin ranks and loads are not all equal.
Everything follows from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from solver.batch import BatchItem, BatchRequest
from solver.domain import (
    Booking,
    BusyInterval,
    BusyKind,
    Directory,
    Distribution,
    Member,
    MemberSeat,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    SlotRequest,
    Weights,
    WorkingHours,
)

__all__ = ["Instance", "interview_weeks", "sales_demo_waves"]

# The first Monday of every instance (a week with no DST change in the zones below).
FIRST_MONDAY = datetime(2026, 6, 1, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "Asia/Kolkata", "America/Chicago")

Instance = tuple[Directory, list[BusyInterval], list[Booking], BatchRequest]


@dataclass(frozen=True)
class _Team:
    index: int
    zone: str
    leads: tuple[str, ...]  # hiring managers / account executives
    panel: tuple[str, ...]  # the team pool's members
    rooms: tuple[str, ...]
    pool_id: str
    room_pool_id: str


def interview_weeks(requests: int = 150, members: int = 40, rooms: int = 10, weeks: int = 2, teams: int = 1,
                    seed: int = 7, time_limit: float = 10.0, workers: int = 1) -> Instance:
    """Interview panels over ``weeks`` weeks (see the module docstring)."""
    return _instance("interview", requests, members, rooms, weeks, teams, seed, time_limit, workers)


def sales_demo_waves(requests: int = 150, members: int = 40, rooms: int = 10, weeks: int = 2, teams: int = 1,
                     seed: int = 11, time_limit: float = 10.0, workers: int = 1) -> Instance:
    """Sales demos over ``weeks`` weeks (see the module docstring)."""
    return _instance("sales", requests, members, rooms, weeks, teams, seed, time_limit, workers)


def _instance(kind: str, requests: int, members: int, rooms: int, weeks: int, teams: int, seed: int,
              time_limit: float, workers: int) -> Instance:
    if members < 4 * teams or rooms < teams:
        raise ValueError("every team needs at least 4 members and 1 room")
    rng = random.Random(seed)
    team_list = _teams(rng, members, rooms, teams)
    directory = _directory(kind, team_list)
    busy = _calendars(rng, directory, weeks)
    bookings = _history(rng, team_list)
    items = [_item(kind, rng, n, team_list[n % teams], weeks) for n in range(requests)]
    batch = BatchRequest(tuple(items), Weights(), time_limit=time_limit, workers=workers, seed=seed)
    return directory, busy, bookings, batch


def _teams(rng: random.Random, members: int, rooms: int, teams: int) -> list[_Team]:
    out: list[_Team] = []
    for t in range(teams):
        size = members // teams + (1 if t < members % teams else 0)
        n_rooms = rooms // teams + (1 if t < rooms % teams else 0)
        people = tuple(f"t{t}-m{k:03d}" for k in range(size))
        leads = max(2, size // 5)
        out.append(_Team(t, ZONES[t % len(ZONES)] if teams > 1 else rng.choice(ZONES[:2]), people[:leads],
                         people[leads:], tuple(f"t{t}-room{k:02d}" for k in range(n_rooms)),
                         f"t{t}-panel", f"t{t}-rooms"))
    return out


def _directory(kind: str, teams: list[_Team]) -> Directory:
    members: list[Member] = []
    rooms: list[Room] = []
    pools: list[Pool] = []
    for team in teams:
        for k, m in enumerate(team.leads + team.panel):
            # Some start early, some late; panelists take at most 3 interviews a day.
            start = time(8) if k % 3 == 0 else time(9) if k % 3 == 1 else time(10)
            end = time(start.hour + 8)
            limit = 3 if kind == "interview" and m in team.panel else None
            members.append(Member(m, m, f"{m}@example.com", team.zone,
                                  WorkingHours.weekdays(start, end, team.zone), daily_limit=limit))
        for k, r in enumerate(team.rooms):
            rooms.append(Room(r, r, capacity=(4, 6, 8, 12)[k % 4], time_zone=team.zone,
                              opening_hours=WorkingHours.weekdays(time(7), time(20), team.zone)))
        rule = Distribution.ROUND_ROBIN if kind == "interview" else Distribution.LOAD_BALANCED
        pools.append(Pool(team.pool_id, team.panel, rule, name=f"team {team.index} panel"))
        pools.append(Pool(team.room_pool_id, team.rooms, name=f"team {team.index} rooms"))
    return Directory.of(members, rooms, pools)


def _local(zone: str, day: int, minute: int) -> datetime:
    """An instant on the ``day``-th day after FIRST_MONDAY at a wall-clock minute in ``zone``."""
    d = (FIRST_MONDAY + timedelta(days=day)).date()
    wall = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=ZoneInfo(zone))
    return wall.astimezone(UTC)


def _calendars(rng: random.Random, directory: Directory, weeks: int) -> list[BusyInterval]:
    busy: list[BusyInterval] = []
    for member in directory.members.values():
        for day in range(7 * weeks):
            if day % 7 >= 5:
                continue
            if rng.random() < 0.04:  # a day out of office
                busy.append(BusyInterval(member.id, _local(member.time_zone, day, 0),
                                         _local(member.time_zone, day + 1, 0), BusyKind.OUT_OF_OFFICE))
                continue
            for _ in range(rng.randint(1, 4)):
                start = rng.randrange(8 * 60, 17 * 60, 15)
                length = rng.choice((30, 30, 45, 60, 90))
                kind = BusyKind.TENTATIVE if rng.random() < 0.15 else BusyKind.BUSY
                busy.append(BusyInterval(member.id, _local(member.time_zone, day, start),
                                         _local(member.time_zone, day, start + length), kind))
    for room in directory.rooms.values():
        for day in range(7 * weeks):
            if day % 7 < 5:
                for _ in range(rng.randint(0, 3)):
                    start = rng.randrange(8 * 60, 18 * 60, 30)
                    busy.append(BusyInterval(room.id, _local(room.time_zone, day, start),
                                             _local(room.time_zone, day, start + 60)))
    return busy


def _history(rng: random.Random, teams: list[_Team]) -> list[Booking]:
    """Confirmed bookings in the weeks before the batch: they set round-robin ranks and loads."""
    out: list[Booking] = []
    for team in teams:
        for n in range(len(team.panel)):
            member = rng.choice(team.panel)
            start = _local(team.zone, -rng.randint(1, 20), rng.randrange(9 * 60, 16 * 60, 30))
            out.append(Booking(f"past-{team.index}-{n}", start, start + timedelta(hours=1), (member,),
                               ((team.pool_id, member),)))
    return out


def _item(kind: str, rng: random.Random, n: int, team: _Team, weeks: int) -> BatchItem:
    week = rng.randrange(weeks)
    if kind == "interview":
        first = rng.randrange(0, 3)
        days = rng.randint(2, 4)
        lead = rng.randrange(len(team.leads))
        seats: tuple[Seat, ...] = (
            MemberSeat((team.leads[lead], team.leads[(lead + 1) % len(team.leads)]), "hiring manager"),
            PoolSeat(team.pool_id, 2, "panel"),
            RoomSeat(pools=(team.room_pool_id,), label="room"),
        )
        duration, interval, after, customers, priority = timedelta(hours=1), 30, timedelta(minutes=15), 1, \
            rng.choice((1, 1, 2, 3))
    else:
        first = rng.randrange(0, 4)
        days = rng.randint(1, 3)
        onsite = rng.random() < 0.4
        seats = (MemberSeat((rng.choice(team.leads),), "account executive"), PoolSeat(team.pool_id, 1, "engineer"))
        if onsite:
            seats += (RoomSeat(pools=(team.room_pool_id,), label="room"),)
        duration, interval, after, customers, priority = timedelta(minutes=45), 15, timedelta(0), 3, \
            rng.choice((1, 1, 1, 2, 3, 5))
    day = 7 * week + first
    last = min(day + days, 7 * week + 5)  # windows stay inside one working week
    request = SlotRequest(
        window_start=_local(team.zone, day, 0),
        window_end=_local(team.zone, last, 0),
        duration=duration,
        time_zone=team.zone,
        seats=seats,
        customers=customers,
        start_interval=interval,
        buffer_after=after,
    )
    return BatchItem(f"{kind}-{n:04d}", request, priority)
