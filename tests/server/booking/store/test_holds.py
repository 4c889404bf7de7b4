"""Short holds: two agents never chase one slot; expired holds count for nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.booking.store import BookingConflict, BookingStore, InvalidBooking
from tests.server.booking.store.helpers import TENANT, at, booking, member, room


def test_a_hold_keeps_others_off_the_slot(store: BookingStore) -> None:
    hold = store.hold(TENANT, ["m1", "r1"], at(0), at(60), timedelta(minutes=5))

    with pytest.raises(BookingConflict) as err:
        store.create("req-1", "h", booking(member("m1"), start=30))
    with pytest.raises(BookingConflict):
        store.hold(TENANT, ["r1"], at(45), at(90), timedelta(minutes=5))

    assert [(c.resource_id, c.other_id, c.kind) for c in err.value.conflicts] == [("m1", hold.id, "hold")]
    assert hold.expires_at == store.now() + timedelta(minutes=5)


def test_the_holder_books_over_its_own_hold_which_is_then_gone(store: BookingStore) -> None:
    hold = store.hold(TENANT, ["m1", "r1"], at(0), at(60), timedelta(minutes=5))

    created = store.create("req-1", "h", booking(member("m1"), room("r1"), hold_id=hold.id))

    assert created.booking.resource_ids == ("m1", "r1")
    assert not store.release_hold(TENANT, hold.id)  # consumed by the booking


def test_expired_holds_are_ignored(store: BookingStore, clock) -> None:
    store.hold(TENANT, ["m1"], at(0), at(60), timedelta(minutes=5))
    clock.advance(minutes=5)

    assert store.create("req-1", "h", booking(member("m1"))).booking.resource_ids == ("m1",)


def test_released_hold_frees_the_slot(store: BookingStore) -> None:
    hold = store.hold(TENANT, ["m1"], at(0), at(60), timedelta(minutes=5))

    assert not store.release_hold("another-tenant", hold.id)  # a hold id is only good for its tenant
    assert store.release_hold(TENANT, hold.id)
    assert not store.release_hold(TENANT, hold.id)
    store.hold(TENANT, ["m1"], at(0), at(60), timedelta(minutes=5))


def test_a_booked_slot_cannot_be_held(store: BookingStore) -> None:
    first = store.create("req-1", "h", booking(member("m1"), start=0))

    with pytest.raises(BookingConflict) as err:
        store.hold(TENANT, ["m2", "m1"], at(59), at(90), timedelta(minutes=5))

    assert [(c.resource_id, c.other_id, c.kind) for c in err.value.conflicts] == [("m1", first.booking.id,
                                                                                     "booking")]
    store.hold(TENANT, ["m1"], at(60), at(90), timedelta(minutes=5))
    store.hold("globex", ["m1"], at(0), at(60), timedelta(minutes=5))  # another tenant's m1


def test_bad_hold_requests_name_the_fields(store: BookingStore) -> None:
    with pytest.raises(InvalidBooking) as err:
        store.hold(TENANT, ["m1", "m1", ""], at(60), at(0), timedelta(0))

    assert {v.field for v in err.value.violations} == {"resources", "resources[2]", "end", "ttl"}


def test_another_tenants_hold_on_the_same_id_blocks_nothing(store: BookingStore) -> None:
    # Resource ids are per tenant: globex's "m1" is another person than acme's "m1".
    store.hold("globex", ["m1", "r1"], at(0), at(60), timedelta(minutes=5))

    created = store.create("req-1", "h", booking(member("m1"), room("r1"), start=15))
    store.hold(TENANT, ["m1"], at(75), at(105), timedelta(minutes=5))

    assert created.booking.resource_ids == ("m1", "r1")
    with pytest.raises(BookingConflict):  # while acme's own hold does block acme
        store.create("req-2", "h", booking(member("m1"), start=80))
