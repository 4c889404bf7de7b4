"""The one interface every booking store implements.

A ``BookingStore`` is the engine's memory of what it booked. It promises:

**No double booking.** ``create`` checks every resource the new booking holds
and inserts it in one transaction. A resource is free for the new booking when
no confirmed booking holds it for a meeting overlapping the new meeting widened
by the new booking's own buffers, ``[start - buffer_before, end + buffer_after)``
(the solver's rule 3), and no *other* caller's unexpired short hold covers that
window. Rooms are always exclusive. Members are exclusive unless the caller
sets ``allow_member_conflicts`` ("schedule anyway"): then member holds are
stored non-exclusive and only the rooms are checked. The database backs the
promise itself, so it holds across processes and store instances:

- SQLite: one writer at a time (``BEGIN IMMEDIATE``), the check and the insert
  inside that one write transaction;
- PostgreSQL: an exclusion constraint over ``(tenant, resource_id, meeting
  range)`` on confirmed exclusive holds refuses overlaps whatever happens;
  per-resource advisory locks serialize concurrent bookings of one resource so
  that the buffer and limit checks, which a constraint cannot express, are
  exact too. A refusal by the constraint becomes a ``BookingConflict``.

**Idempotency.** ``(tenant, request_id)`` identifies a create request. The same
id with the same ``body_hash`` returns the first booking (``replayed=True``,
even if it was cancelled since); with another body it raises
``IdempotencyConflict``. A request that failed stored nothing and may be retried.
``find_by_request_id`` looks the first booking up without booking anything.

**Several at once.** ``create_all`` books a list of bookings in one
transaction, all or none (a batch's commit): others never see part of it. It
may move confirmed bookings in the same transaction (a re-optimizing batch):
each move as ``reschedule`` makes it, every moved booking's old holds gone
before any new hold is checked, so moved bookings may swap places.

**Limits.** The caller passes each member's daily/weekly limits; the store
counts that member's confirmed bookings by their meeting's start in the local
day/week (``MemberLimit.time_zone``) inside the same transaction and raises
``LimitReached`` when the new booking would exceed one. Limits are enforced
whenever they are passed; leave them out to skip them.

**Side effects through an outbox.** ``create`` enqueues ``create_event`` and
``send_invite`` in the same transaction as the booking; ``cancel`` enqueues
``cancel_event`` and ``send_cancel`` (each after its counterpart, and skipped
when the counterpart never ran). Each (booking, kind) exists once. An
``OutboxWorker`` claims due tasks with a lease (``claim_tasks``), runs their
handlers and records the outcome (``complete_task`` / ``retry_task`` /
``fail_task``, or ``skip_task`` when the effect is not needed on this server).
Their state is ``BookingRecord.side_effects``.

**Changes.** ``reschedule`` moves a confirmed booking to a new ``Move`` (start, end,
seats) and ``update`` edits its title, description, location or customers. Each
names the ``version`` it was read at (the API's etag): another version raises
``StaleVersion`` and changes nothing. A move replaces the booking's holds in one
transaction, checked like ``create`` with the booking's own old holds already
gone (so its old time never conflicts with its new one): at no instant are both
or neither held, and a refused move changes nothing. ``(tenant, request_id)``
identifies a reschedule as it does a create (replayed with the same body,
``IdempotencyConflict`` with another). Both raise the booking's ``sequence`` and
``version`` by one, set ``updated_at``, and in the same transaction make
``update_event`` and ``send_update`` due now (reset if pending or running: the
handler works from the latest snapshot) and, when people were dropped,
``send_dropped`` with their union in its ``detail``; they emit
``booking.rescheduled`` / ``booking.updated``.

**Short holds.** ``hold`` reserves resources for a few minutes so two agents do
not chase one slot; it fails like ``create`` when the resources are taken.
Expired holds count for nothing and are purged lazily.

Instants come back in UTC. Booking ids are opaque strings. A store is safe to
share between threads (each thread gets its own database connection).
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType

from server.booking.store.model import (
    BookingRecord,
    BookingStatus,
    CreateEntry,
    CreateResult,
    Edit,
    Hold,
    MemberLimit,
    Move,
    MoveEntry,
    NewBooking,
    OutboxTask,
)
from server.booking.store.webhooks import Delivery, Endpoint
from solver.domain import Booking
from solver.needs import BookingNeeds

__all__ = ["BookingStore"]


class BookingStore(abc.ABC):
    """Bookings, short holds and the outbox of their side effects (see the module docstring)."""

    # --- Schema -------------------------------------------------------------

    @abc.abstractmethod
    def migrate(self, target: int | None = None) -> int:
        """Applies pending schema migrations up to ``target`` (None: newest); returns the version.

        Safe to call on every start and from concurrent processes.
        """

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The newest applied migration (0 for an empty database)."""

    # --- Bookings -------------------------------------------------------------

    @abc.abstractmethod
    def create(self, request_id: str, body_hash: str, booking: NewBooking,
               allow_member_conflicts: bool = False, *,
               limits: Mapping[str, MemberLimit] | None = None) -> CreateResult:
        """Books ``booking`` atomically, or replays the first result of ``request_id``.

        Raises ``InvalidBooking`` (bad input, every field named),
        ``IdempotencyConflict``, ``BookingConflict`` (with every conflicting
        resource, interval and holder) or ``LimitReached``.
        """

    @abc.abstractmethod
    def create_all(self, entries: Sequence[CreateEntry],
                   moves: Sequence[MoveEntry] = ()) -> builtins.list[CreateResult]:
        """Books every entry as ``create`` would and makes every move as ``reschedule``
        would, all in one transaction: every booking is confirmed and moved together,
        or nothing changes (no other caller ever sees some of it). Returns the entries'
        results, then the moves'.

        The moved bookings' old holds go first; then each move, then each entry, is
        checked against confirmed bookings, holds and limits with those before it
        already counted.

        Each entry is checked against confirmed bookings, holds and limits with the
        entries before it already counted. An entry whose request id was used before
        is replayed (or refused, with another body) like ``create``, a move's like
        ``reschedule``'s. Raises ``EntryRefused`` naming the first refused entry (or
        move) and its cause; nothing is then stored.
        """

    @abc.abstractmethod
    def find_changes_by_prefix(self, tenant: str, prefix: str) -> builtins.list[tuple[str, str]]:
        """(request id, booking id) of every reschedule whose request id starts with ``prefix``, by request id."""

    @abc.abstractmethod
    def find_by_request_prefix(self, tenant: str, prefix: str) -> builtins.list[BookingRecord]:
        """The bookings whose request id starts with ``prefix`` (confirmed or cancelled), by request id."""

    @abc.abstractmethod
    def get(self, booking_id: str, *, tenant: str | None = None) -> BookingRecord:
        """The booking with its side-effect state. Raises ``BookingNotFound`` (also when
        ``tenant`` is given and the booking belongs to another tenant)."""

    @abc.abstractmethod
    def find_by_request_id(self, tenant: str, request_id: str) -> BookingRecord | None:
        """The booking ``create`` made for ``(tenant, request_id)``, confirmed or cancelled since;
        None when that request id has booked nothing."""

    @abc.abstractmethod
    def list(self, tenant: str, resource_id: str | None = None, start: datetime | None = None,
             end: datetime | None = None, status: BookingStatus | None = None,
             limit: int = 1000, after: tuple[datetime, str] | None = None) -> builtins.list[BookingRecord]:
        """The tenant's bookings, by start then id: those holding ``resource_id`` (if
        given) whose meeting overlaps ``[start, end)`` (either bound optional), and (a
        keyset page) only those after the (start, id) ``after``."""

    @abc.abstractmethod
    def cancel(self, booking_id: str, *, tenant: str | None = None) -> BookingRecord:
        """Cancels the booking and frees its resources; cancelling again changes nothing.

        Raises ``BookingNotFound``.
        """

    @abc.abstractmethod
    def reschedule(self, booking_id: str, request_id: str, body_hash: str, version: int, move: Move, *,
                   tenant: str, limits: Mapping[str, MemberLimit] | None = None) -> CreateResult:
        """Moves the confirmed booking to ``move`` atomically, or replays ``request_id``'s first result
        (the booking as it is now, ``replayed=True``).

        Raises ``InvalidBooking``, ``BookingNotFound``, ``IdempotencyConflict``, ``BookingCancelled``,
        ``StaleVersion``, ``BookingConflict`` or ``LimitReached``; then nothing changed.
        """

    @abc.abstractmethod
    def find_change(self, tenant: str, request_id: str) -> tuple[str, str] | None:
        """(booking id, body hash) of the reschedule ``request_id`` made; None when it made none."""

    @abc.abstractmethod
    def booking_times(self, tenant: str, booking_ids: Collection[str]) -> dict[str, tuple[datetime, datetime] | None]:
        """Where those of ``booking_ids`` that are bookings of ``tenant`` are now: their meeting
        ``(start, end)`` when confirmed, None when cancelled (other ids are left out)."""

    @abc.abstractmethod
    def change_result(self, tenant: str, request_id: str) -> CreateResult | None:
        """What the reschedule ``request_id`` returned the first time (``replayed`` set): the booking
        as that change left it, whatever changed since; None when it made none."""

    @abc.abstractmethod
    def update(self, booking_id: str, version: int, edit: Edit, *, tenant: str) -> BookingRecord:
        """Applies ``edit`` to the confirmed booking at ``version``.

        Raises ``InvalidBooking``, ``BookingNotFound``, ``BookingCancelled`` or ``StaleVersion``.
        """

    @abc.abstractmethod
    def confirmed_bookings(self, tenant: str, resource_ids: Collection[str] | None,
                           start: datetime, end: datetime) -> builtins.list[Booking]:
        """Confirmed bookings whose meeting overlaps ``[start, end)`` and that hold any of
        ``resource_ids`` (None: any resource), as the solver takes them (with pool members)."""

    @abc.abstractmethod
    def needed_bookings(self, tenant: str, needs: BookingNeeds) -> builtins.list[Booking]:
        """The confirmed bookings ``needs`` names (``solver.needs.select`` over all of the
        tenant's, by start then id), read through the index on the holds."""

    # --- Short holds ------------------------------------------------------------

    @abc.abstractmethod
    def hold(self, tenant: str, resource_ids: Sequence[str], start: datetime, end: datetime,
             ttl: timedelta) -> Hold:
        """Holds the resources for ``[start, end)`` until now + ``ttl``.

        Raises ``BookingConflict`` when a confirmed booking or another unexpired
        hold has any of them in that interval. Pass the hold's id as
        ``NewBooking.hold_id`` to book over it.
        """

    @abc.abstractmethod
    def release_hold(self, tenant: str, hold_id: str) -> bool:
        """Drops the tenant's hold; False when it has none by that id (never had, or it was
        used or purged): another tenant's hold id releases nothing."""

    # --- Outbox -------------------------------------------------------------------

    @abc.abstractmethod
    def claim_tasks(self, kinds: Collection[str], limit: int, lease: timedelta) -> builtins.list[OutboxTask]:
        """Claims up to ``limit`` due tasks of ``kinds`` for ``lease``.

        Due: pending with ``next_attempt_at`` reached, or running with an expired
        lease (its worker died), and not waiting for its counterpart (a cancel
        waits until the create it undoes has finished). Each claim raises the
        task's attempt count. Concurrent claimers never get the same task.
        """

    @abc.abstractmethod
    def renew_task(self, task: OutboxTask, lease: timedelta) -> bool:
        """Extends the claim on a task still running to now + ``lease``; False when the claim was lost."""

    @abc.abstractmethod
    def complete_task(self, task: OutboxTask, result: str = "") -> bool:
        """Marks the task done with the handler's ``result``; False when the claim was lost."""

    @abc.abstractmethod
    def retry_task(self, task: OutboxTask, error: str, at: datetime) -> bool:
        """Records the failure and makes the task due again at ``at``; False when the claim was lost."""

    @abc.abstractmethod
    def fail_task(self, task: OutboxTask, error: str) -> bool:
        """Gives the task up for good (the handler said retrying cannot help)."""

    @abc.abstractmethod
    def skip_task(self, task: OutboxTask, reason: str) -> bool:
        """Marks the task skipped, not done: its effect is not needed or not possible on this
        server (``reason``, kept as its result). False when the claim was lost."""

    @abc.abstractmethod
    def outbox_backlog(self) -> builtins.list[tuple[str, int, datetime]]:
        """Per task kind, the unfinished (pending or running) tasks: (kind, how many, the oldest's
        creation), for the operators' metrics."""

    # --- Webhooks (server.booking.store.webhooks, server.booking.webhooks) ----------------

    @abc.abstractmethod
    def create_webhook_endpoint(self, tenant: str, url: str) -> Endpoint:
        """A new endpoint with a fresh secret (returned this once; never listed)."""

    @abc.abstractmethod
    def list_webhook_endpoints(self, tenant: str) -> builtins.list[Endpoint]:
        """The tenant's endpoints (without secrets), oldest first."""

    @abc.abstractmethod
    def delete_webhook_endpoint(self, tenant: str, endpoint_id: str) -> bool:
        """Deletes the tenant's endpoint and its deliveries; False when the tenant has none by that id."""

    @abc.abstractmethod
    def list_webhook_deliveries(self, tenant: str, endpoint_id: str = "", booking_id: str = "",
                                limit: int = 100, after_id: int = 0) -> builtins.list[Delivery]:
        """The tenant's deliveries (optionally of one endpoint or booking) with ids above ``after_id``,
        oldest first, with their attempts."""

    @abc.abstractmethod
    def claim_deliveries(self, limit: int, lease: timedelta) -> builtins.list[Delivery]:
        """Claims due deliveries, each the earliest unfinished of its (endpoint, booking)."""

    @abc.abstractmethod
    def complete_delivery(self, delivery: Delivery, status_code: int) -> bool:
        """Marks a claimed delivery done; its endpoint is not failing any more."""

    @abc.abstractmethod
    def retry_delivery(self, delivery: Delivery, error: str, status_code: int, at: datetime,
                       disable_after: timedelta) -> Endpoint | None:
        """Records a failed attempt (due again at ``at``); returns the endpoint when this disabled it."""

    # --- Lifecycle ------------------------------------------------------------------

    @abc.abstractmethod
    def now(self) -> datetime:
        """The store's clock (UTC); every timestamp it writes comes from here."""

    @abc.abstractmethod
    def close(self) -> None:
        """Closes every database connection of this store."""

    def __enter__(self) -> BookingStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
