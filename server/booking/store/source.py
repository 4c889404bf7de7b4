"""The store as the solver's source of confirmed bookings (``server.tenants.BookingSource``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.booking.store.base import BookingStore
from solver.domain import Booking, Directory, SlotRequest
from solver.needs import BookingNeeds, Overlapping, booking_needs

__all__ = ["StoreBookings"]


@dataclass(frozen=True)
class StoreBookings:
    """A tenant's confirmed bookings for a window, plus ``history`` before it.

    The history is what pools count from: round-robin order (who was assigned
    least recently) and load-balanced cycles (a month at most). Bookings older
    than ``history`` no longer move anyone up or down the round-robin line.

    ``for_request`` reads only what one request depends on (``solver.needs``);
    ``holding`` those of some resources in a window (schedules); ``confirmed`` reads every
    resource's bookings (batches).
    """

    store: BookingStore
    tenant: str
    history: timedelta = timedelta(days=90)

    def confirmed(self, start: datetime, end: datetime) -> Sequence[Booking]:
        return self.store.confirmed_bookings(self.tenant, None, start - self.history, end)

    def for_request(self, directory: Directory, request: SlotRequest) -> Sequence[Booking]:
        return self.store.needed_bookings(self.tenant, booking_needs(directory, request, self.history))

    def holding(self, resource_ids: Collection[str], start: datetime, end: datetime) -> Sequence[Booking]:
        needs = BookingNeeds(start, Overlapping(tuple(dict.fromkeys(resource_ids)), start, end))
        return self.store.needed_bookings(self.tenant, needs)
