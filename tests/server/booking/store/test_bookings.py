"""Create, read, cancel, idempotency, conflicts, limits: on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from server.booking.store import (
    BookedSeat,
    BookingConflict,
    BookingNotFound,
    BookingStatus,
    BookingStore,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    MemberLimit,
    Person,
    TaskStatus,
)
from solver.domain import Booking
from tests.server.booking.store.helpers import T0, TENANT, at, booking, member, room


def test_create_then_get_returns_everything_stored(store: BookingStore) -> None:
    new = booking(member("m1"), member("m2", "m3", pool="p1"), room("r1"), title="Final round",
                  buffer_before=timedelta(minutes=10), buffer_after=timedelta(minutes=5),
                  description="Bring a laptop", location="HQ 4.01")

    result = store.create("req-1", "hash-1", new)

    assert not result.replayed
    got = store.get(result.booking.id)
    assert got == result.booking
    assert (got.tenant, got.request_id, got.body_hash, got.status) == (TENANT, "req-1", "hash-1",
                                                                        BookingStatus.CONFIRMED)
    assert (got.start, got.end, got.time_zone) == (T0, at(60), "Europe/Berlin")
    assert got.seats == new.seats
    assert got.resource_ids == ("m1", "m2", "m3", "r1")
    assert (got.title, got.description, got.location) == ("Final round", "Bring a laptop", "HQ 4.01")
    assert got.organizer == Person("organizer@example.org", "Olga Organizer")
    assert got.customers == (Person("carla@example.com", "Carla Customer"),)
    assert (got.buffer_before, got.buffer_after) == (timedelta(minutes=10), timedelta(minutes=5))
    assert got.sequence == 0 and got.cancelled_at is None
    assert got.created_at == store.now()
    assert {k: v.status for k, v in got.side_effects.items()} == {
        "create_event": TaskStatus.PENDING, "send_invite": TaskStatus.PENDING}


def test_same_request_and_body_replays_the_first_booking(store: BookingStore) -> None:
    first = store.create("req-1", "hash-1", booking())

    again = store.create("req-1", "hash-1", booking())

    assert again.replayed
    assert again.booking == first.booking
    assert len(store.list(TENANT)) == 1


def test_replay_returns_the_first_result_even_after_cancel(store: BookingStore) -> None:
    first = store.create("req-1", "hash-1", booking())
    store.cancel(first.booking.id)

    again = store.create("req-1", "hash-1", booking())

    assert again.replayed and again.booking.id == first.booking.id
    assert again.booking.status is BookingStatus.CANCELLED


def test_same_request_with_another_body_is_refused(store: BookingStore) -> None:
    first = store.create("req-1", "hash-1", booking())

    with pytest.raises(IdempotencyConflict) as err:
        store.create("req-1", "hash-2", booking(start=120))

    assert err.value.booking_id == first.booking.id
    assert "request_id" in str(err.value)
    assert len(store.list(TENANT)) == 1


def test_find_by_request_id_gives_the_first_booking_of_that_tenant(store: BookingStore) -> None:
    first = store.create("req-1", "hash-1", booking(member("m1"), start=0))
    store.create("req-2", "hash-1", booking(member("m1"), start=120))
    store.create("req-1", "hash-1", booking(member("m1"), start=240, tenant="globex"))

    found = store.find_by_request_id(TENANT, "req-1")

    assert found == first.booking
    assert store.find_by_request_id(TENANT, "req-3") is None
    assert store.find_by_request_id("initech", "req-1") is None
    store.cancel(first.booking.id)  # cancelled, it is still what req-1 booked
    cancelled = store.find_by_request_id(TENANT, "req-1")
    assert cancelled is not None and (cancelled.id, cancelled.status) == (first.booking.id, BookingStatus.CANCELLED)


def test_request_ids_are_per_tenant(store: BookingStore) -> None:
    a = store.create("req-1", "hash-1", booking())
    b = store.create("req-1", "hash-1", booking(tenant="globex"))

    assert not b.replayed and a.booking.id != b.booking.id


def test_overlapping_booking_of_a_member_is_refused_with_its_conflicts(store: BookingStore) -> None:
    first = store.create("req-1", "h", booking(member("m1"), room("r1"), start=0, minutes=60))

    with pytest.raises(BookingConflict) as err:
        store.create("req-2", "h", booking(member("m1"), room("r2"), start=30, minutes=60))

    (conflict,) = err.value.conflicts
    assert (conflict.resource_id, conflict.start, conflict.end, conflict.other_id, conflict.kind) == (
        "m1", at(0), at(60), first.booking.id, "booking")
    assert len(store.list(TENANT)) == 1


def test_back_to_back_bookings_do_not_conflict(store: BookingStore) -> None:
    store.create("req-1", "h", booking(member("m1"), room("r1"), start=0, minutes=60))
    second = store.create("req-2", "h", booking(member("m1"), room("r1"), start=60, minutes=60))

    assert second.booking.status is BookingStatus.CONFIRMED


def test_the_new_bookings_buffers_are_checked_against_existing_meetings(store: BookingStore) -> None:
    store.create("req-1", "h", booking(member("m1"), start=0, minutes=60))

    with pytest.raises(BookingConflict):
        store.create("req-2", "h", booking(member("m1"), start=65, minutes=30,
                                           buffer_before=timedelta(minutes=10)))
    with pytest.raises(BookingConflict):
        store.create("req-3", "h", booking(member("m1"), start=-40, minutes=30,
                                           buffer_after=timedelta(minutes=15)))
    # Exactly up to the meeting is fine: intervals are half-open.
    store.create("req-4", "h", booking(member("m1"), start=70, minutes=30, buffer_before=timedelta(minutes=10)))


def test_schedule_anyway_lets_members_overlap(store: BookingStore) -> None:
    store.create("req-1", "h", booking(member("m1"), room("r1"), start=0))

    second = store.create("req-2", "h", booking(member("m1"), room("r2"), start=30), allow_member_conflicts=True)

    assert second.booking.allow_member_conflicts
    assert len(store.list(TENANT, resource_id="m1")) == 2


def test_rooms_are_never_double_booked_even_when_scheduling_anyway(store: BookingStore) -> None:
    first = store.create("req-1", "h", booking(member("m1"), room("r1"), start=0))

    with pytest.raises(BookingConflict) as err:
        store.create("req-2", "h", booking(member("m2"), room("r1"), start=30), allow_member_conflicts=True)

    assert [(c.resource_id, c.other_id) for c in err.value.conflicts] == [("r1", first.booking.id)]


def test_a_normal_booking_respects_a_member_booked_in_conflict_mode(store: BookingStore) -> None:
    forced = store.create("req-1", "h", booking(member("m1"), start=0), allow_member_conflicts=True)

    with pytest.raises(BookingConflict) as err:
        store.create("req-2", "h", booking(member("m1"), start=30))

    assert err.value.conflicts[0].other_id == forced.booking.id


def test_cancel_frees_the_resources_and_is_idempotent(store: BookingStore, clock) -> None:
    first = store.create("req-1", "h", booking(member("m1"), room("r1")))
    clock.advance(minutes=5)

    cancelled = store.cancel(first.booking.id)
    again = store.cancel(first.booking.id)

    assert cancelled.status is BookingStatus.CANCELLED and cancelled.sequence == 1
    assert cancelled.cancelled_at == store.now()
    assert again == cancelled
    assert store.create("req-2", "h", booking(member("m1"), room("r1"))).booking.status is BookingStatus.CONFIRMED


def test_unknown_or_foreign_booking_is_not_found(store: BookingStore) -> None:
    mine = store.create("req-1", "h", booking())

    with pytest.raises(BookingNotFound):
        store.get("bk_nope")
    with pytest.raises(BookingNotFound):
        store.cancel("bk_nope")
    with pytest.raises(BookingNotFound):
        store.get(mine.booking.id, tenant="globex")
    with pytest.raises(BookingNotFound):
        store.cancel(mine.booking.id, tenant="globex")
    assert store.get(mine.booking.id, tenant=TENANT).status is BookingStatus.CONFIRMED


def test_tenants_do_not_share_resources(store: BookingStore) -> None:
    store.create("req-1", "h", booking(member("m1"), room("r1")))
    other = store.create("req-1", "h", booking(member("m1"), room("r1"), tenant="globex"))

    assert other.booking.status is BookingStatus.CONFIRMED
    assert [b.id for b in store.confirmed_bookings("globex", ["m1"], at(-60), at(120))] == [other.booking.id]


def test_list_filters_by_resource_time_and_status(store: BookingStore) -> None:
    a = store.create("a", "h", booking(member("m1"), start=0)).booking
    b = store.create("b", "h", booking(member("m2"), start=120)).booking
    c = store.create("c", "h", booking(member("m1"), start=240)).booking
    store.cancel(c.id)

    assert [x.id for x in store.list(TENANT)] == [a.id, b.id, c.id]
    assert [x.id for x in store.list(TENANT, resource_id="m1")] == [a.id, c.id]
    assert [x.id for x in store.list(TENANT, start=at(60), end=at(300))] == [b.id, c.id]
    assert [x.id for x in store.list(TENANT, start=at(59), end=at(121))] == [a.id, b.id]
    assert [x.id for x in store.list(TENANT, status=BookingStatus.CANCELLED)] == [c.id]
    assert [x.id for x in store.list(TENANT, limit=1)] == [a.id]
    assert store.list("globex") == []


def test_confirmed_bookings_feed_the_solver_with_pool_members(store: BookingStore) -> None:
    a = store.create("a", "h", booking(member("m1"), member("m7", pool="sales"), room("r1"), start=0)).booking
    store.create("b", "h", booking(member("m2"), start=0))
    gone = store.create("c", "h", booking(member("m1"), start=120)).booking
    store.cancel(gone.id)

    got = store.confirmed_bookings(TENANT, ["m1", "r9"], at(-60), at(600))

    assert got == [Booking(a.id, at(0), at(60), ("m1", "m7", "r1"), (("sales", "m7"),))]
    assert len(store.confirmed_bookings(TENANT, None, at(-60), at(600))) == 2
    assert store.confirmed_bookings(TENANT, ["m1"], at(60), at(120)) == []  # half-open
    assert store.confirmed_bookings(TENANT, [], at(-60), at(600)) == []


def test_daily_limit_counts_the_members_local_day(store: BookingStore) -> None:
    # Tokyo is UTC+9: 09:00 UTC is 18:00 local; 16:00 UTC is already tomorrow there.
    limits = {"m1": MemberLimit(daily=2, time_zone="Asia/Tokyo")}
    store.create("a", "h", booking(member("m1"), start=0, minutes=30), limits=limits)
    store.create("b", "h", booking(member("m1"), start=60, minutes=30), limits=limits)

    with pytest.raises(LimitReached) as err:
        store.create("c", "h", booking(member("m1"), start=120, minutes=30), limits=limits)
    tomorrow_in_tokyo = store.create("d", "h", booking(member("m1"), start=7 * 60, minutes=30), limits=limits)

    assert (err.value.resource_id, err.value.period, err.value.limit, err.value.count) == ("m1", "daily", 2, 2)
    assert err.value.period_start == T0.replace(hour=0) - timedelta(hours=9)
    assert tomorrow_in_tokyo.booking.status is BookingStatus.CONFIRMED
    # Without limits the same booking goes through; other members are not limited.
    store.create("e", "h", booking(member("m1"), start=150, minutes=30))
    store.create("f", "h", booking(member("m2"), start=120, minutes=30), limits=limits)


def test_a_booking_at_the_next_local_midnight_counts_for_the_next_day(store: BookingStore) -> None:
    # Berlin is UTC+1 in January: 23:00 UTC is 00:00 of the next day there. A day is
    # [midnight, next midnight): a booking starting exactly at the next midnight is tomorrow's.
    limits = {"m1": MemberLimit(daily=1, time_zone="Europe/Berlin")}
    tomorrow = store.create("b", "h", booking(member("m1"), start=14 * 60, minutes=30), limits=limits)  # 00:00
    today = store.create("a", "h", booking(member("m1"), start=-8 * 60 + 30, minutes=30), limits=limits)  # 02:30

    assert tomorrow.booking.start == T0.replace(hour=23)
    assert today.booking.status is BookingStatus.CONFIRMED
    with pytest.raises(LimitReached) as err:  # the day of "b" is full
        store.create("c", "h", booking(member("m1"), start=14 * 60 + 60, minutes=30), limits=limits)
    assert err.value.period == "daily" and err.value.period_start == T0.replace(hour=23)


def test_a_booking_at_the_next_local_monday_counts_for_the_next_week(store: BookingStore) -> None:
    # T0 is Monday 10:00 in Berlin; the next week starts Monday 00:00 local, Sunday 23:00 UTC.
    limits = {"m1": MemberLimit(weekly=1, time_zone="Europe/Berlin")}
    next_week = (T0.replace(hour=23) + timedelta(days=6) - T0).total_seconds() / 60
    store.create("b", "h", booking(member("m1"), start=next_week, minutes=30), limits=limits)

    store.create("a", "h", booking(member("m1"), start=0, minutes=30), limits=limits)
    with pytest.raises(LimitReached) as err:
        store.create("c", "h", booking(member("m1"), start=next_week + 60, minutes=30), limits=limits)
    assert err.value.period == "weekly"


def test_weekly_limit_and_cancelled_bookings_do_not_count(store: BookingStore) -> None:
    limits = {"m1": MemberLimit(weekly=2, time_zone="UTC")}
    first = store.create("a", "h", booking(member("m1"), start=0), limits=limits).booking
    store.create("b", "h", booking(member("m1"), start=24 * 60), limits=limits)
    with pytest.raises(LimitReached) as err:
        store.create("c", "h", booking(member("m1"), start=4 * 24 * 60), limits=limits)
    assert err.value.period == "weekly"

    store.cancel(first.id)
    store.create("c", "h", booking(member("m1"), start=4 * 24 * 60), limits=limits)
    store.create("next-week", "h", booking(member("m1"), start=7 * 24 * 60), limits=limits)


def test_bad_input_names_every_field(store: BookingStore) -> None:
    bad = booking(member("m1"), member("m1"), start=0, minutes=60, time_zone="Mars/Olympus",
                  buffer_after=timedelta(minutes=-5), customers=(Person("not-an-address"),))
    bad = replace(bad, end=bad.start)

    with pytest.raises(InvalidBooking) as err:
        store.create("", "h", bad, limits={"m1": MemberLimit(daily=-1)})

    fields = {v.field for v in err.value.violations}
    assert fields == {"request_id", "end", "time_zone", "seats[1].resource_ids[0]", "buffer_after",
                      "customers[0].email", "limits['m1'].daily"}
    with pytest.raises(InvalidBooking) as err:
        store.create("r", "h", replace(booking(), start=T0.replace(tzinfo=None), seats=()))
    assert {v.field for v in err.value.violations} == {"start", "seats"}
    with pytest.raises(InvalidBooking) as err:
        store.create("r", "h", booking(title="Injected\r\nBcc: everyone@example.com"))
    assert [v.field for v in err.value.violations] == ["title"]
    assert store.list(TENANT) == []


def test_a_room_given_as_a_plain_string_kind_is_still_exclusive(store: BookingStore) -> None:
    plain = BookedSeat("room", ("r1",))  # type: ignore[arg-type]  # as an untyped caller might pass it
    store.create("a", "h", booking(member("m1"), plain, start=0))

    with pytest.raises(BookingConflict):
        store.create("b", "h", booking(member("m2"), plain, start=30), allow_member_conflicts=True)
