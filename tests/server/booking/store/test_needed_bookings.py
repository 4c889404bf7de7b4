"""``needed_bookings``: what one request depends on, read through the holds' index.

Each rule's bookings are found (and nothing else), as ``solver.needs.select``
picks them from all of the tenant's; the plan of the statement that finds their
ids searches ``booking_holds_resource`` on SQLite (EXPLAIN QUERY PLAN) and
PostgreSQL (EXPLAIN), with many bookings of other members in the store and
statistics of a small database on SQLite (the bookings are then read by primary key).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.store_fill import Filled, fill
from server.booking.store import BookingStore
from server.booking.store.sql import SqlBookingStore
from solver.domain import Booking
from solver.needs import BookingNeeds, LatestThrough, Overlapping, StartingIn, select
from tests.server.booking.store.helpers import TENANT, at, booking, member, room

DAY = 24 * 60


def _needs(members: int = 6) -> BookingNeeds:
    """A request in [T0, T0 + 1 day) of m1, r1 (buffers), limited m2, load-balanced pool lb (m3, m4;
    its week), round-robin pool rr (m5, m6)."""
    return BookingNeeds(
        since=at(-90 * DAY),
        overlapping=Overlapping((*(f"m{i}" for i in range(1, members + 1)), "r1"), at(-30), at(DAY + 30)),
        starting=(StartingIn(("m3", "m4"), "lb", at(-DAY), at(7 * DAY)),
                  StartingIn(("m2",), "", at(-DAY), at(7 * DAY))),
        latest=(LatestThrough("rr", ("m5", "m6")),))


def test_each_rule_reads_its_bookings_and_nothing_else(store: BookingStore) -> None:
    made: dict[str, str] = {}

    def book(name: str, *seats: object, start: float, minutes: float = 60) -> None:
        made[name] = store.create(name, "h", booking(*seats, start=start, minutes=minutes)).booking.id  # type: ignore[arg-type]

    book("near", member("m1"), start=-60, minutes=45)  # ends inside the buffer before the window
    book("room", room("r1"), start=DAY + 20)  # starts inside the buffer after it
    book("far", member("m1"), start=3 * DAY)  # m1 has no limit and no pool: not needed
    book("limit later", member("m2"), start=4 * DAY)  # m2's week, after the window
    book("load later", member("m3", pool="lb"), start=5 * DAY)  # lb's cycle, after the window
    book("load not through pool", member("m4"), start=5 * DAY)
    book("load other week", member("m4", pool="lb"), start=9 * DAY)
    book("rr old", member("m5", pool="rr"), start=-60 * DAY)
    book("rr latest", member("m5", pool="rr"), start=-20 * DAY)
    book("rr future", member("m6", pool="rr"), start=30 * DAY)
    book("rr m6 earlier", member("m6", pool="rr"), start=-10 * DAY)
    book("before history", member("m2"), start=-100 * DAY)
    book("other member", member("m9"), start=60)
    gone = store.create("cancelled", "h", booking(member("m1"), start=120)).booking.id
    store.cancel(gone)

    got = store.needed_bookings(TENANT, _needs())

    everything = store.confirmed_bookings(TENANT, None, at(-1000 * DAY), at(1000 * DAY))
    assert got == select(everything, _needs())
    assert {b.id for b in got} == {made[n] for n in ("near", "room", "limit later", "load later", "rr latest",
                                                       "rr future")}
    assert [b.start for b in got] == sorted(b.start for b in got)
    assert store.needed_bookings("globex", _needs()) == []


def _crowd(n: int, prefix: str = "x") -> list[Filled]:
    """``n`` bookings of 40 other members over the last 90 days and the window, some through a pool."""
    out = []
    for i in range(n):
        start = at(-90 * DAY + (i * 97) % (91 * DAY))
        pool = "other" if i % 3 == 0 else ""
        out.append(Filled(start, start + timedelta(minutes=30), (("member", (f"{prefix}{i % 40}",), pool),)))
    return out


def _plan_of(store: SqlBookingStore) -> str:
    """The plan of the read on the store's own connection (its statistics, stale or not)."""
    statement = store.needed_statement(TENANT, _needs(45))
    assert statement is not None
    sql, params = statement
    with store._tx(write=False) as tx:
        return "\n".join(str(row[-1]) for row in tx.rows(f"EXPLAIN {sql}", params))


def test_the_read_searches_the_holds_index(store: BookingStore, store_url: str, backend: str) -> None:
    assert isinstance(store, SqlBookingStore)
    # Statistics of a small database first, on a connection that has read before; then many more rows.
    store.create("mine", "h", booking(member("m1"), start=0))
    fill(store_url, TENANT, _crowd(50, prefix="y"))
    store.needed_bookings(TENANT, _needs(45))
    fill(store_url, TENANT, _crowd(20_000))

    plan = _plan_of(store) if backend == "postgres" else _sqlite_plan(store)

    assert "booking_holds_resource" in plan, plan
    if backend == "sqlite":
        assert plan.count("SEARCH h USING INDEX booking_holds_resource") == 4, plan
        assert "SCAN h" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan
    assert [b.id for b in store.needed_bookings(TENANT, _needs(45))] == [
        b.id for b in store.confirmed_bookings(TENANT, ["m1"], at(0), at(60))]


def _sqlite_plan(store: SqlBookingStore) -> str:
    statement = store.needed_statement(TENANT, _needs(45))
    assert statement is not None
    sql, params = statement
    with store._tx(write=False) as tx:
        return "\n".join(str(row[-1]) for row in tx.rows(f"EXPLAIN QUERY PLAN {sql}", params))


@pytest.mark.parametrize("needs", [BookingNeeds(at(0), Overlapping((), at(0), at(60)))])
def test_a_request_of_no_known_resource_reads_nothing(store: BookingStore, needs: BookingNeeds) -> None:
    store.create("mine", "h", booking(member("m1"), start=0))
    assert store.needed_bookings(TENANT, needs) == []
    assert isinstance(store, SqlBookingStore) and store.needed_statement(TENANT, needs) is None


def test_select_keeps_the_given_order() -> None:
    a = Booking("a", at(0), at(60), ("m1",))
    b = Booking("b", at(-30), at(10), ("m1",))
    needs = BookingNeeds(at(-DAY), Overlapping(("m1",), at(0), at(60)))
    assert select([a, b], needs) == [a, b]
