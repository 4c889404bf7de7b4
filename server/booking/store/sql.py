"""The booking store's logic, written once in the SQL both backends speak.

``SqlBookingStore`` implements every operation of ``BookingStore``; a backend
subclass supplies the connection, the transaction, the locking and the
translation of values and errors (``server.booking.store.sqlite``,
``server.booking.store.postgres``). Statements use ``%s`` placeholders; the SQLite
backend rewrites them to ``?``.

Each thread gets its own connection (SQLite; PostgreSQL takes them from a
bounded pool, ``_tx``), so concurrent callers really are concurrent
transactions of the database, not turns on one shared handle.
"""

from __future__ import annotations

import abc
import builtins
import enum
import functools
import json
import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from server.booking.store.base import BookingStore
from server.booking.store.codec import (
    people_from_json,
    people_to_json,
    person_from_json,
    person_to_json,
    record_from_json,
    record_to_json,
    seats_from_json,
    seats_to_json,
)
from server.booking.store.errors import (
    BookingCancelled,
    BookingConflict,
    BookingNotFound,
    EntryRefused,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    StaleVersion,
    StoreError,
    StoreUnavailable,
)
from server.booking.store.migrations import SCHEMA_VERSION_TABLE, Migration, pending
from server.booking.store.model import (
    BookedSeat,
    BookingRecord,
    BookingStatus,
    CreateEntry,
    CreateResult,
    Edit,
    Hold,
    HoldConflict,
    MemberLimit,
    Move,
    MoveEntry,
    NewBooking,
    OutboxTask,
    ResourceKind,
    SideEffect,
    TaskKind,
    TaskStatus,
)
from server.booking.store.periods import local_day, local_week
from server.booking.store.validate import check_edit, check_hold, check_move, check_new_booking
from server.booking.store.webhooks import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    Delivery,
    Endpoint,
    EventKind,
    delivery_from_row,
    emit_in,
    endpoint_from_row,
    new_secret,
)
from server.telemetry.metrics import store_query
from server.telemetry.tracing import child_span
from solver.domain import Booking
from solver.needs import BookingNeeds

__all__ = ["Refusal", "SqlBookingStore", "Tx", "utc_now"]

Row = tuple[Any, ...]
Operation = TypeVar("Operation", bound=Callable[..., Any])


def _timed(method: Operation) -> Operation:
    """Times a store operation (``convene_store_query_seconds``) and, inside a traced call, spans it."""
    name = method.__name__

    @functools.wraps(method)
    def timed(self: SqlBookingStore, *args: Any, **kwargs: Any) -> Any:
        with child_span(f"store {name}", backend=self.backend), store_query(self.backend, name):
            return method(self, *args, **kwargs)

    return cast(Operation, timed)

# Ids per read of the needed bookings (below either database's limit on parameters).
_IDS_PER_READ = 10_000

# How often create() starts over after the database refused it for a reason that a
# fresh attempt resolves (a concurrent twin request committed; a deadlock victim).
_ATTEMPTS = 4

_BOOKING_COLUMNS = (
    "b.id, b.tenant, b.request_id, b.body_hash, b.status, b.start_at, b.end_at, b.time_zone, b.seats, "
    "b.title, b.organizer, b.customers, b.attendees, b.buffer_before_s, b.buffer_after_s, "
    "b.description, b.location, b.allow_member_conflicts, b.sequence, b.created_at, b.cancelled_at, "
    "b.updated_at, b.version, b.meeting"
)
_EFFECT_COLUMNS = "booking_id, kind, status, attempts, last_error, next_attempt_at, result, updated_at"

# A cancel undoes what its counterpart did, so it runs after it (or not at all).
_UNDO = ((TaskKind.CREATE_EVENT, TaskKind.CANCEL_EVENT), (TaskKind.SEND_INVITE, TaskKind.SEND_CANCEL))
_UNFINISHED = (TaskStatus.PENDING, TaskStatus.RUNNING)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


class Refusal(enum.Enum):
    """Database refusals that ``create`` understands."""

    DUPLICATE_REQUEST = "duplicate_request"  # a twin request committed first: replay it
    OVERLAP = "overlap"  # the exclusion constraint refused a hold
    RETRY = "retry"  # deadlock victim / serialization failure: start over


class Tx:
    """One open transaction: run statements, read rows."""

    def __init__(self, cursor: Any, placeholder: str = "%s") -> None:
        self._cursor = cursor
        self._placeholder = placeholder

    def _execute(self, sql: str, params: Sequence[Any]) -> None:
        if self._placeholder != "%s":
            sql = sql.replace("%s", self._placeholder)
        self._cursor.execute(sql, tuple(params))

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Runs a statement; the number of rows it changed."""
        self._execute(sql, params)
        return int(self._cursor.rowcount)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._execute(sql, params)
        return [tuple(r) for r in self._cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None


class SqlBookingStore(BookingStore):
    """Everything but the backend specifics (see the module docstring)."""

    migrations: tuple[Migration, ...] = ()
    backend = "sql"  # the metrics' and spans' name of the database
    # Suffix of the claim query's inner SELECT (PostgreSQL: skip rows other workers hold).
    claim_lock_clause = ""
    # Suffix that locks a booking row being cancelled.
    row_lock_clause = ""
    # How the needed-bookings read names the holds (SQLite: pinned to booking_holds_resource).
    holds_by_resource = "booking_holds AS h"

    def __init__(self, where: str, clock: Callable[[], datetime] | None = None) -> None:
        self._where = where  # for error messages; never holds a password
        self._clock = clock or utc_now
        self._local = threading.local()
        self._connections: list[Any] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        # False only in tests: leave overlaps to the database constraint alone.
        self._check_overlaps = True

    # --- Backend hooks ------------------------------------------------------

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new database connection for the calling thread."""

    @abc.abstractmethod
    def _is_broken(self, connection: Any) -> bool:
        """True when ``connection`` cannot be used any more."""

    @abc.abstractmethod
    def _transaction(self, connection: Any, write: bool) -> AbstractContextManager[Tx]:
        """A transaction on ``connection``: commits on exit, rolls back on error.

        ``write=False`` promises only reads (SQLite then leaves the write lock to writers).
        """

    def _lock(self, tx: Tx, keys: Collection[str]) -> None:
        """Serializes transactions touching the same ``keys`` until commit (SQLite: its write lock does)."""

    def _lock_schema(self, tx: Tx) -> None:
        """Serializes concurrent migrations (SQLite: its write lock does)."""

    @abc.abstractmethod
    def _refusal(self, exc: Exception) -> Refusal | None:
        """Which understood refusal ``exc`` is, if any."""

    @abc.abstractmethod
    def _time_in(self, t: datetime) -> Any: ...

    @abc.abstractmethod
    def _time_out(self, value: Any) -> datetime: ...

    @abc.abstractmethod
    def _json_in(self, data: Any) -> Any: ...

    @abc.abstractmethod
    def _json_out(self, value: Any) -> Any: ...

    # --- Connections ----------------------------------------------------------

    def _connection(self) -> Any:
        if self._closed:
            raise StoreUnavailable(self._where, "the store is closed")
        connection = getattr(self._local, "connection", None)
        if connection is None or self._is_broken(connection):
            connection = self._connect()
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _tx(self, write: bool = True) -> AbstractContextManager[Tx]:
        """A transaction on this thread's connection (PostgreSQL overrides it: a pooled one)."""
        return self._transaction(self._connection(), write)

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    # --- Schema -------------------------------------------------------------------

    @_timed
    def migrate(self, target: int | None = None) -> int:
        with self._tx() as tx:
            self._lock_schema(tx)
            tx.run(SCHEMA_VERSION_TABLE)
            current = self._version(tx)
            for step in pending(self.migrations, current, target):
                for statement in step.statements:
                    try:
                        tx.run(statement)
                    except Exception as exc:  # e.g. no right to CREATE EXTENSION: say which step
                        raise StoreUnavailable(self._where, f"schema migration {step.version} "
                                               f"({step.description}) failed: {str(exc).strip()}") from exc
                tx.run("INSERT INTO schema_version (version, description, applied_at) VALUES (%s, %s, %s)",
                       (step.version, step.description, self.now().isoformat()))
                current = step.version
            return current

    def schema_version(self) -> int:
        with self._tx() as tx:
            tx.run(SCHEMA_VERSION_TABLE)
            return self._version(tx)

    @staticmethod
    def _version(tx: Tx) -> int:
        row = tx.one("SELECT max(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    # --- Create -----------------------------------------------------------------------

    @_timed
    def create(self, request_id: str, body_hash: str, booking: NewBooking,
               allow_member_conflicts: bool = False, *,
               limits: Mapping[str, MemberLimit] | None = None) -> CreateResult:
        check_new_booking(request_id, body_hash, booking, limits)
        try:
            return self._book([CreateEntry(request_id, body_hash, booking, allow_member_conflicts, limits or {})])[0]
        except EntryRefused as exc:
            raise exc.cause from exc.__cause__

    @_timed
    def create_all(self, entries: Sequence[CreateEntry],
                   moves: Sequence[MoveEntry] = ()) -> builtins.list[CreateResult]:
        for i, entry in enumerate(entries):
            try:
                check_new_booking(entry.request_id, entry.body_hash, entry.booking, entry.limits)
            except InvalidBooking as exc:
                raise EntryRefused(i, exc) from exc
        for j, m in enumerate(moves):
            try:
                check_move(m.request_id, m.body_hash, m.version, m.move, m.limits)
            except InvalidBooking as exc:
                raise EntryRefused(len(entries) + j, exc) from exc
        return self._book(entries, moves) if entries or moves else []

    def _book(self, entries: Sequence[CreateEntry], moves: Sequence[MoveEntry] = ()) -> builtins.list[CreateResult]:
        """Books ``entries`` and makes ``moves`` in one transaction (all or none); ``EntryRefused``
        names the first refused (moves counted after the entries)."""
        for _ in range(_ATTEMPTS):
            try:
                with self._tx() as tx:
                    # Every lock up front, in one sorted order: two calls sharing resources queue
                    # up instead of deadlocking, whatever order their entries come in.
                    keys = {self._request_key(e.booking.tenant, e.request_id) for e in entries}
                    if self._check_overlaps:
                        keys.update(k for e in entries for k in self._resource_keys(e.booking.tenant,
                                                                                    e.booking.resource_ids))
                    for j, m in enumerate(moves):
                        # A move locks what reschedule locks: the resources left and the resources taken.
                        row = tx.one("SELECT tenant, seats FROM bookings WHERE id = %s", (m.booking_id,))
                        if row is None or row[0] != m.tenant:
                            raise EntryRefused(len(entries) + j, BookingNotFound(m.booking_id))
                        keys.add(self._request_key(m.tenant, f"change\x1f{m.request_id}"))
                        if self._check_overlaps:
                            old = [r for seat in seats_from_json(self._json_out(row[1])) for r in seat.resource_ids]
                            keys.update(self._resource_keys(m.tenant, [*old, *m.move.resource_ids]))
                    self._lock(tx, keys)
                    # Every moved booking's old holds go first: moved bookings may take each other's places.
                    released: list[BookingRecord | CreateResult] = []
                    for j, m in enumerate(moves):
                        try:
                            released.append(self._release(tx, m.booking_id, m.tenant, m.request_id, m.body_hash,
                                                          m.version))
                        except StoreError as exc:
                            raise EntryRefused(len(entries) + j, exc) from exc
                    moved: list[CreateResult] = []
                    for j, (m, before) in enumerate(zip(moves, released, strict=True)):
                        if isinstance(before, CreateResult):
                            moved.append(before)  # replayed
                            continue
                        try:
                            moved.append(self._place(tx, before, m.request_id, m.body_hash, m.version, m.move,
                                                     m.limits))
                        except StoreError as exc:
                            raise EntryRefused(len(entries) + j, exc) from exc
                    results = []
                    for i, entry in enumerate(entries):
                        try:
                            results.append(self._create(tx, entry))
                        except (IdempotencyConflict, BookingConflict, LimitReached) as exc:
                            raise EntryRefused(i, exc) from exc
                    return results + moved
            except EntryRefused:
                raise
            except Exception as exc:
                refusal = self._refusal(exc)
                if refusal is None:
                    raise
                if refusal is Refusal.OVERLAP:
                    # The constraint named no holder; look the winners up now they committed.
                    with self._tx(write=False) as tx:
                        for i, entry in enumerate(entries):
                            conflicts = self._conflicts(tx, entry.booking, entry.allow_member_conflicts)
                            if conflicts:
                                raise EntryRefused(i, BookingConflict(conflicts)) from exc
                        for j, m in enumerate(moves):
                            conflicts = self._move_conflicts(tx, m.booking_id, m.tenant, m.move)
                            if conflicts:
                                raise EntryRefused(len(entries) + j, BookingConflict(conflicts)) from exc
                # Otherwise start over: the next attempt replays a twin or sees the winner.
        raise EntryRefused(0, BookingConflict(()))

    def _create(self, tx: Tx, entry: CreateEntry) -> CreateResult:
        """One booking inside ``_book``'s transaction, its locks already taken."""
        request_id, body_hash, booking = entry.request_id, entry.body_hash, entry.booking
        allow_member_conflicts = entry.allow_member_conflicts
        # Twin requests waited for each other on the request lock, so the second one replays the first.
        first = self._by_request_id(tx, booking.tenant, request_id)
        if first is not None:
            if first.body_hash != body_hash:
                raise IdempotencyConflict(booking.tenant, request_id, first.id)
            return CreateResult(first, replayed=True)

        if self._check_overlaps:
            conflicts = self._conflicts(tx, booking, allow_member_conflicts)
            if conflicts:
                raise BookingConflict(conflicts)
        self._check_limits(tx, booking.tenant, booking.start, booking.resource_ids, entry.limits)

        booking_id = f"bk_{uuid.uuid4().hex}"
        now = self._time_in(self.now())
        tx.run(
            "INSERT INTO bookings (id, tenant, request_id, body_hash, status, start_at, end_at, time_zone, "
            "seats, title, organizer, customers, attendees, buffer_before_s, buffer_after_s, description, "
            "location, allow_member_conflicts, sequence, created_at, meeting) "
            f"VALUES ({_marks(21)})",
            (booking_id, booking.tenant, request_id, body_hash, BookingStatus.CONFIRMED.value,
             self._time_in(booking.start), self._time_in(booking.end), booking.time_zone,
             self._json_in(seats_to_json(booking.seats)), booking.title,
             self._json_in(person_to_json(booking.organizer)), self._json_in(people_to_json(booking.customers)),
             self._json_in(people_to_json(booking.attendees)), int(booking.buffer_before.total_seconds()),
             int(booking.buffer_after.total_seconds()), booking.description, booking.location,
             allow_member_conflicts, 0, now, booking.meeting))
        self._insert_holds(tx, booking_id, booking.tenant, booking.seats, booking.start, booking.end,
                           allow_member_conflicts)
        nobody_to_email = not booking.customers
        self._enqueue(tx, booking_id, TaskKind.CREATE_EVENT, None, skipped=False)
        self._enqueue(tx, booking_id, TaskKind.SEND_INVITE, None, skipped=nobody_to_email)
        if booking.hold_id:
            tx.run("DELETE FROM slot_holds WHERE hold_id = %s AND tenant = %s", (booking.hold_id, booking.tenant))
        record = self._get(tx, booking_id)
        self._emit(tx, record, EventKind.CREATED)
        return CreateResult(record, replayed=False)

    def _insert_holds(self, tx: Tx, booking_id: str, tenant: str, seats: Sequence[BookedSeat], start: datetime,
                      end: datetime, allow_member_conflicts: bool) -> None:
        # Sorted, so concurrent inserts of overlapping holds queue up instead of deadlocking.
        holds = sorted((r, seat) for seat in seats for r in seat.resource_ids)
        for resource_id, seat in holds:
            exclusive = seat.kind == ResourceKind.ROOM or not allow_member_conflicts
            tx.run("INSERT INTO booking_holds (booking_id, tenant, resource_id, kind, pool_id, exclusive, "
                   f"confirmed, start_at, end_at) VALUES ({_marks(9)})",
                   (booking_id, tenant, resource_id, str(seat.kind), seat.pool_id, exclusive, True,
                    self._time_in(start), self._time_in(end)))

    @staticmethod
    def _request_key(tenant: str, request_id: str) -> str:
        return f"request\x1f{tenant}\x1f{request_id}"

    @staticmethod
    def _resource_keys(tenant: str, resource_ids: Collection[str]) -> list[str]:
        return [f"resource\x1f{tenant}\x1f{r}" for r in resource_ids]

    def _conflicts(self, tx: Tx, booking: NewBooking, allow_member_conflicts: bool) -> list[HoldConflict]:
        """Who holds the new booking's exclusive resources in its buffered window."""
        exclusive = [r for seat in booking.seats for r in seat.resource_ids
                     if seat.kind == ResourceKind.ROOM or not allow_member_conflicts]
        if not exclusive:
            return []
        lo = booking.start - booking.buffer_before
        hi = booking.end + booking.buffer_after
        return self._holders(tx, booking.tenant, exclusive, lo, hi, booking.hold_id)

    def _holders(self, tx: Tx, tenant: str, resource_ids: Sequence[str], lo: datetime, hi: datetime,
                 own_hold: str) -> list[HoldConflict]:
        """Confirmed bookings and others' unexpired holds of ``resource_ids`` overlapping ``[lo, hi)``."""
        marks = _marks(len(resource_ids))
        booked = tx.rows(
            "SELECT resource_id, start_at, end_at, booking_id FROM booking_holds "
            f"WHERE confirmed AND tenant = %s AND resource_id IN ({marks}) AND start_at < %s AND end_at > %s "
            "ORDER BY resource_id, start_at, booking_id",
            (tenant, *resource_ids, self._time_in(hi), self._time_in(lo)))
        held = tx.rows(
            "SELECT resource_id, start_at, end_at, hold_id FROM slot_holds "
            f"WHERE tenant = %s AND resource_id IN ({marks}) AND start_at < %s AND end_at > %s "
            "AND expires_at > %s AND hold_id <> %s ORDER BY resource_id, start_at, hold_id",
            (tenant, *resource_ids, self._time_in(hi), self._time_in(lo), self._time_in(self.now()), own_hold))
        return ([HoldConflict(r, self._time_out(s), self._time_out(e), i, "booking") for r, s, e, i in booked]
                + [HoldConflict(r, self._time_out(s), self._time_out(e), i, "hold") for r, s, e, i in held])

    def _check_limits(self, tx: Tx, tenant: str, start: datetime, resource_ids: Collection[str],
                      limits: Mapping[str, MemberLimit]) -> None:
        held = set(resource_ids)
        for resource_id, limit in sorted(limits.items()):
            if resource_id not in held:
                continue
            for period, value, bounds in (("daily", limit.daily, local_day),
                                          ("weekly", limit.weekly, local_week)):
                if value is None:
                    continue
                lo, hi = bounds(start, limit.time_zone)
                row = tx.one("SELECT count(*) FROM booking_holds WHERE confirmed AND tenant = %s "
                             "AND resource_id = %s AND start_at >= %s AND start_at < %s",
                             (tenant, resource_id, self._time_in(lo), self._time_in(hi)))
                count = int(row[0]) if row else 0
                if count >= value:
                    raise LimitReached(resource_id, period, value, count, lo, hi)

    def _enqueue(self, tx: Tx, booking_id: str, kind: TaskKind, depends_on: TaskKind | None, *,
                 skipped: bool) -> None:
        now = self._time_in(self.now())
        status = TaskStatus.SKIPPED if skipped else TaskStatus.PENDING
        tx.run("INSERT INTO outbox (booking_id, kind, depends_on, status, next_attempt_at, created_at, "
               f"updated_at) VALUES ({_marks(7)}) ON CONFLICT (booking_id, kind) DO NOTHING",
               (booking_id, kind.value, depends_on.value if depends_on else None, status.value, now, now, now))

    # --- Read -------------------------------------------------------------------------

    @_timed
    def get(self, booking_id: str, *, tenant: str | None = None) -> BookingRecord:
        with self._tx(write=False) as tx:
            record = self._get(tx, booking_id)
        if tenant is not None and record.tenant != tenant:
            raise BookingNotFound(booking_id)
        return record

    def _get(self, tx: Tx, booking_id: str) -> BookingRecord:
        row = tx.one(f"SELECT {_BOOKING_COLUMNS} FROM bookings b WHERE b.id = %s", (booking_id,))
        if row is None:
            raise BookingNotFound(booking_id)
        return self._records(tx, [row])[0]

    @_timed
    def find_by_request_id(self, tenant: str, request_id: str) -> BookingRecord | None:
        with self._tx(write=False) as tx:
            return self._by_request_id(tx, tenant, request_id)

    @_timed
    def find_by_request_prefix(self, tenant: str, prefix: str) -> builtins.list[BookingRecord]:
        # substr, not LIKE: a request id may hold LIKE's wildcards, and both databases speak it.
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {_BOOKING_COLUMNS} FROM bookings b WHERE b.tenant = %s "
                           "AND substr(b.request_id, 1, %s) = %s ORDER BY b.request_id",
                           (tenant, len(prefix), prefix))
            return self._records(tx, rows)

    def _by_request_id(self, tx: Tx, tenant: str, request_id: str) -> BookingRecord | None:
        row = tx.one(f"SELECT {_BOOKING_COLUMNS} FROM bookings b WHERE b.tenant = %s AND b.request_id = %s",
                     (tenant, request_id))
        return self._records(tx, [row])[0] if row is not None else None

    @_timed
    def list(self, tenant: str, resource_id: str | None = None, start: datetime | None = None,
             end: datetime | None = None, status: BookingStatus | None = None,
             limit: int = 1000, after: tuple[datetime, str] | None = None) -> builtins.list[BookingRecord]:
        where, params = ["b.tenant = %s"], [tenant]
        if after is not None:
            where.append("(b.start_at > %s OR (b.start_at = %s AND b.id > %s))")
            params += [self._time_in(after[0]), self._time_in(after[0]), after[1]]
        if resource_id is not None:
            where.append("EXISTS (SELECT 1 FROM booking_holds h WHERE h.booking_id = b.id AND h.resource_id = %s)")
            params.append(resource_id)
        if start is not None:
            where.append("b.end_at > %s")
            params.append(self._time_in(start))
        if end is not None:
            where.append("b.start_at < %s")
            params.append(self._time_in(end))
        if status is not None:
            where.append("b.status = %s")
            params.append(BookingStatus(status).value)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {_BOOKING_COLUMNS} FROM bookings b WHERE {' AND '.join(where)} "
                           "ORDER BY b.start_at, b.id LIMIT %s", (*params, max(0, limit)))
            return self._records(tx, rows)

    @_timed
    def confirmed_bookings(self, tenant: str, resource_ids: Collection[str] | None,
                           start: datetime, end: datetime) -> builtins.list[Booking]:
        where = ["b.tenant = %s", "b.status = 'confirmed'", "b.start_at < %s", "b.end_at > %s"]
        params: builtins.list[Any] = [tenant, self._time_in(end), self._time_in(start)]
        if resource_ids is not None:
            ids = sorted(set(resource_ids))
            if not ids:
                return []
            where.append("EXISTS (SELECT 1 FROM booking_holds h WHERE h.booking_id = b.id "
                         f"AND h.resource_id IN ({_marks(len(ids))}))")
            params.extend(ids)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT b.id, b.start_at, b.end_at, b.seats FROM bookings b "
                           f"WHERE {' AND '.join(where)} ORDER BY b.start_at, b.id", params)
        return self._solver_bookings(rows)

    @_timed
    def needed_bookings(self, tenant: str, needs: BookingNeeds) -> builtins.list[Booking]:
        statement = self.needed_statement(tenant, needs)
        if statement is None:
            return []
        with self._tx(write=False) as tx:
            ids = sorted({row[0] for row in tx.rows(*statement)} - {None})
            # Then the bookings by primary key: a join would let PostgreSQL's estimate of the
            # holds (other resources' counts) pick a scan of every booking.
            rows: builtins.list[Row] = []
            for lo in range(0, len(ids), _IDS_PER_READ):
                chunk = ids[lo:lo + _IDS_PER_READ]
                rows += tx.rows("SELECT b.id, b.start_at, b.end_at, b.seats FROM bookings b "
                                f"WHERE b.id IN ({_marks(len(chunk))}) AND b.status = 'confirmed' "
                                "ORDER BY b.start_at, b.id", chunk)
        if len(ids) > _IDS_PER_READ:
            rows.sort(key=lambda row: (self._time_out(row[1]), row[0]))
        return self._solver_bookings(rows)

    def needed_statement(self, tenant: str, needs: BookingNeeds) -> tuple[str, builtins.list[Any]] | None:
        """The SELECT of the ids ``needed_bookings`` reads (``%s`` placeholders; a NULL row may
        come too) and its parameters; None when nothing is needed. Every part reads the holds
        through ``booking_holds_resource`` (tenant, resource_id, start_at) WHERE confirmed."""
        parts: builtins.list[str] = []
        params: builtins.list[Any] = []
        holds = self.holds_by_resource
        since = self._time_in(needs.since)
        over = needs.overlapping
        if over.resource_ids:
            parts.append(f"SELECT booking_id FROM {holds} WHERE confirmed AND tenant = %s "
                         f"AND resource_id IN ({_marks(len(over.resource_ids))}) AND start_at < %s AND end_at > %s")
            params += [tenant, *over.resource_ids, self._time_in(over.end), self._time_in(max(over.start, needs.since))]
        for part in needs.starting:
            if not part.resource_ids:
                continue
            through = "AND pool_id = %s AND kind = 'member' " if part.pool_id else ""
            parts.append(f"SELECT booking_id FROM {holds} WHERE confirmed AND tenant = %s "
                         f"AND resource_id IN ({_marks(len(part.resource_ids))}) AND start_at >= %s "
                         f"AND start_at < %s AND end_at > %s {through}")
            params += [tenant, *part.resource_ids, self._time_in(part.start), self._time_in(part.end), since]
            if part.pool_id:
                params.append(part.pool_id)
        for want in needs.latest:
            if not want.member_ids:
                continue
            # Per member one backward probe of the index: its latest hold through the pool.
            parts.append(f"SELECT (SELECT h.booking_id FROM {holds} WHERE h.confirmed AND h.tenant = %s "
                         "AND h.resource_id = m.column1 AND h.pool_id = %s AND h.kind = 'member' AND h.end_at > %s "
                         "ORDER BY h.start_at DESC LIMIT 1) AS booking_id "
                         f"FROM (VALUES {', '.join(['(%s)'] * len(want.member_ids))}) AS m")
            params += [tenant, want.pool_id, since, *want.member_ids]
        if not parts:
            return None
        return " UNION ".join(parts), params

    def _solver_bookings(self, rows: Sequence[Row]) -> builtins.list[Booking]:
        out = []
        for booking_id, s, e, seats_json in rows:
            seats = seats_from_json(self._json_out(seats_json))
            pool_members = tuple((seat.pool_id, r) for seat in seats
                                 if seat.pool_id and seat.kind == ResourceKind.MEMBER for r in seat.resource_ids)
            out.append(Booking(booking_id, self._time_out(s), self._time_out(e),
                               tuple(r for seat in seats for r in seat.resource_ids), pool_members))
        return out

    def _records(self, tx: Tx, rows: Sequence[Row]) -> builtins.list[BookingRecord]:
        if not rows:
            return []
        ids = [row[0] for row in rows]
        effects: dict[str, dict[str, SideEffect]] = {i: {} for i in ids}
        for booking_id, kind, status, attempts, error, due, result, updated in tx.rows(
                f"SELECT {_EFFECT_COLUMNS} FROM outbox WHERE booking_id IN ({_marks(len(ids))}) ORDER BY id", ids):
            effects[booking_id][kind] = SideEffect(
                kind, TaskStatus(status), int(attempts), error,
                self._time_out(due) if status == TaskStatus.PENDING else None, result, self._time_out(updated))
        return [self._record(row, effects[row[0]]) for row in rows]

    def _record(self, row: Row, effects: dict[str, SideEffect]) -> BookingRecord:
        (booking_id, tenant, request_id, body_hash, status, start, end, time_zone, seats, title, organizer,
         customers, attendees, before, after, description, location, conflicts_ok, sequence, created,
         cancelled, updated, version, meeting) = row
        return BookingRecord(
            id=booking_id, tenant=tenant, request_id=request_id, body_hash=body_hash,
            status=BookingStatus(status), start=self._time_out(start), end=self._time_out(end),
            time_zone=time_zone, seats=seats_from_json(self._json_out(seats)), title=title,
            organizer=person_from_json(self._json_out(organizer)),
            customers=people_from_json(self._json_out(customers)),
            attendees=people_from_json(self._json_out(attendees)),
            buffer_before=timedelta(seconds=before), buffer_after=timedelta(seconds=after),
            description=description, location=location, allow_member_conflicts=bool(conflicts_ok),
            sequence=int(sequence), created_at=self._time_out(created),
            cancelled_at=self._time_out(cancelled) if cancelled is not None else None,
            updated_at=self._time_out(updated) if updated is not None else None, version=int(version),
            side_effects=effects, meeting=meeting or "")

    # --- Cancel -----------------------------------------------------------------------

    @_timed
    def cancel(self, booking_id: str, *, tenant: str | None = None) -> BookingRecord:
        with self._tx() as tx:
            row = tx.one(f"SELECT tenant, status FROM bookings WHERE id = %s{self.row_lock_clause}", (booking_id,))
            if row is None or (tenant is not None and row[0] != tenant):
                raise BookingNotFound(booking_id)
            if row[1] == BookingStatus.CONFIRMED:
                now = self._time_in(self.now())
                tx.run("UPDATE bookings SET status = 'cancelled', cancelled_at = %s, sequence = sequence + 1 "
                       "WHERE id = %s", (now, booking_id))
                tx.run("UPDATE booking_holds SET confirmed = FALSE WHERE booking_id = %s", (booking_id,))
                for done_first, undo in _UNDO:
                    self._enqueue_undo(tx, booking_id, done_first, undo)
                record = self._get(tx, booking_id)
                self._emit(tx, record, EventKind.CANCELLED)
                return record
            return self._get(tx, booking_id)

    def _enqueue_undo(self, tx: Tx, booking_id: str, done_first: TaskKind, undo: TaskKind) -> None:
        # Never tried: nothing to undo, so neither runs. Claimed or retrying: the undo
        # waits until it finishes (depends_on), then runs.
        tx.run("UPDATE outbox SET status = 'skipped', updated_at = %s "
               "WHERE booking_id = %s AND kind = %s AND status = 'pending' AND attempts = 0",
               (self._time_in(self.now()), booking_id, done_first.value))
        row = tx.one("SELECT status FROM outbox WHERE booking_id = %s AND kind = %s",
                     (booking_id, done_first.value))
        nothing_to_undo = row is None or row[0] in (TaskStatus.SKIPPED, TaskStatus.FAILED)
        self._enqueue(tx, booking_id, undo, done_first, skipped=nothing_to_undo)

    # --- Change (reschedule, update) ------------------------------------------------------

    @_timed
    def reschedule(self, booking_id: str, request_id: str, body_hash: str, version: int, move: Move, *,
                   tenant: str, limits: Mapping[str, MemberLimit] | None = None) -> CreateResult:
        check_move(request_id, body_hash, version, move, limits)
        for _ in range(_ATTEMPTS):
            try:
                with self._tx() as tx:
                    row = tx.one("SELECT tenant, seats FROM bookings WHERE id = %s", (booking_id,))
                    if row is None or row[0] != tenant:
                        raise BookingNotFound(booking_id)
                    # The same locks as create, over the resources left and the resources taken, in
                    # one sorted order: a move and a create of one resource queue up, never deadlock.
                    keys = {self._request_key(tenant, f"change\x1f{request_id}")}
                    if self._check_overlaps:
                        old = [r for seat in seats_from_json(self._json_out(row[1])) for r in seat.resource_ids]
                        keys.update(self._resource_keys(tenant, [*old, *move.resource_ids]))
                    self._lock(tx, keys)
                    return self._move(tx, booking_id, tenant, request_id, body_hash, version, move, limits or {})
            except StoreError:
                raise
            except Exception as exc:
                refusal = self._refusal(exc)
                if refusal is None:
                    raise
                if refusal is Refusal.OVERLAP:
                    with self._tx(write=False) as tx:
                        conflicts = self._move_conflicts(tx, booking_id, tenant, move)
                    if conflicts:
                        raise BookingConflict(conflicts) from exc
                # Otherwise start over: the next attempt sees the winner (or replays a twin).
        raise BookingConflict(())

    def _move(self, tx: Tx, booking_id: str, tenant: str, request_id: str, body_hash: str, version: int,
              move: Move, limits: Mapping[str, MemberLimit]) -> CreateResult:
        """One reschedule inside ``reschedule``'s transaction, its locks taken. The booking's
        holds are replaced in this transaction: others see the old ones or the new ones, never
        both and never neither, and a refusal rolls everything back."""
        before = self._release(tx, booking_id, tenant, request_id, body_hash, version)
        if isinstance(before, CreateResult):
            return before
        return self._place(tx, before, request_id, body_hash, version, move, limits)

    def _release(self, tx: Tx, booking_id: str, tenant: str, request_id: str, body_hash: str,
                 version: int) -> BookingRecord | CreateResult:
        """A move's first half: its checks, then the booking's old holds gone; returns the booking
        as it was, or the first result of a replayed ``request_id``."""
        row = tx.one(f"SELECT status, version FROM bookings WHERE id = %s{self.row_lock_clause}", (booking_id,))
        if row is None:
            raise BookingNotFound(booking_id)
        first = tx.one("SELECT body_hash, booking_id, result FROM booking_changes WHERE tenant = %s "
                       "AND request_id = %s", (tenant, request_id))
        if first is not None:
            if first[0] != body_hash or first[1] != booking_id:
                raise IdempotencyConflict(tenant, request_id, first[1])
            return self._first_result(tx, booking_id, first[2])
        if row[0] != BookingStatus.CONFIRMED:
            raise BookingCancelled(booking_id)
        if int(row[1]) != version:
            raise StaleVersion(booking_id, version, int(row[1]))
        before = self._get(tx, booking_id)
        # The booking's own old time is gone before the new one is checked and inserted.
        tx.run("DELETE FROM booking_holds WHERE booking_id = %s", (booking_id,))
        return before

    def _place(self, tx: Tx, before: BookingRecord, request_id: str, body_hash: str, version: int, move: Move,
               limits: Mapping[str, MemberLimit]) -> CreateResult:
        """A move's second half: the new holds checked and inserted, the booking updated, its side effects due."""
        booking_id, tenant = before.id, before.tenant
        if self._check_overlaps:
            conflicts = self._move_conflicts(tx, booking_id, tenant, move, before)
            if conflicts:
                raise BookingConflict(conflicts)
        self._check_limits(tx, tenant, move.start, move.resource_ids, limits)
        self._insert_holds(tx, booking_id, tenant, move.seats, move.start, move.end, move.allow_member_conflicts)
        now = self._time_in(self.now())
        tx.run("UPDATE bookings SET start_at = %s, end_at = %s, seats = %s, attendees = %s, "
               "allow_member_conflicts = %s, sequence = sequence + 1, version = version + 1, updated_at = %s "
               "WHERE id = %s",
               (self._time_in(move.start), self._time_in(move.end), self._json_in(seats_to_json(move.seats)),
                self._json_in(people_to_json(move.attendees)), move.allow_member_conflicts, now, booking_id))
        self._enqueue_change(tx, before, self._get(tx, booking_id))
        record = self._get(tx, booking_id)
        changed = tuple(i for i, (old, new) in enumerate(zip(before.seats, record.seats, strict=False))
                        if set(old.resource_ids) != set(new.resource_ids))
        # The first result, kept whole: a replay returns it, whatever changed since.
        result = json.dumps({"booking": record_to_json(record), "changed_seats": list(changed)},
                            separators=(",", ":"), ensure_ascii=False)
        tx.run("INSERT INTO booking_changes (tenant, request_id, body_hash, booking_id, version, created_at, "
               f"result) VALUES ({_marks(7)})", (tenant, request_id, body_hash, booking_id, version + 1, now, result))
        self._emit(tx, record, EventKind.RESCHEDULED)
        return CreateResult(record, replayed=False, changed_seats=changed)

    def _first_result(self, tx: Tx, booking_id: str, result: str) -> CreateResult:
        """The result a change request had the first time (a change made before its result was
        kept, migration 8: the booking as it is now)."""
        if not result:
            return CreateResult(self._get(tx, booking_id), replayed=True)
        data = json.loads(result)
        return CreateResult(record_from_json(data["booking"]), replayed=True,
                            changed_seats=tuple(int(i) for i in data["changed_seats"]))

    def _move_conflicts(self, tx: Tx, booking_id: str, tenant: str, move: Move,
                        before: BookingRecord | None = None) -> builtins.list[HoldConflict]:
        """Who else holds the move's exclusive resources in its buffered window."""
        if before is None:
            before = self._get(tx, booking_id)
        exclusive = [r for seat in move.seats for r in seat.resource_ids
                     if seat.kind == ResourceKind.ROOM or not move.allow_member_conflicts]
        if not exclusive:
            return []
        lo, hi = move.start - before.buffer_before, move.end + before.buffer_after
        return [c for c in self._holders(tx, tenant, exclusive, lo, hi, own_hold="") if c.other_id != booking_id]

    @_timed
    def find_changes_by_prefix(self, tenant: str, prefix: str) -> builtins.list[tuple[str, str]]:
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT request_id, booking_id FROM booking_changes WHERE tenant = %s "
                           "AND substr(request_id, 1, %s) = %s ORDER BY request_id", (tenant, len(prefix), prefix))
        return [(str(r), str(b)) for r, b in rows]

    @_timed
    def find_change(self, tenant: str, request_id: str) -> tuple[str, str] | None:
        with self._tx(write=False) as tx:
            row = tx.one("SELECT booking_id, body_hash FROM booking_changes WHERE tenant = %s AND request_id = %s",
                         (tenant, request_id))
        return (str(row[0]), str(row[1])) if row is not None else None

    @_timed
    def booking_times(self, tenant: str, booking_ids: Collection[str]) -> dict[str, tuple[datetime, datetime] | None]:
        ids = sorted(set(booking_ids))
        if not ids:
            return {}
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT id, status, start_at, end_at FROM bookings WHERE tenant = %s "
                           f"AND id IN ({_marks(len(ids))})", (tenant, *ids))
        return {str(i): (self._time_out(s), self._time_out(e)) if status == BookingStatus.CONFIRMED else None
                for i, status, s, e in rows}

    @_timed
    def change_result(self, tenant: str, request_id: str) -> CreateResult | None:
        with self._tx(write=False) as tx:
            row = tx.one("SELECT booking_id, result FROM booking_changes WHERE tenant = %s AND request_id = %s",
                         (tenant, request_id))
            return self._first_result(tx, str(row[0]), str(row[1])) if row is not None else None

    @_timed
    def update(self, booking_id: str, version: int, edit: Edit, *, tenant: str) -> BookingRecord:
        check_edit(version, edit)
        with self._tx() as tx:
            row = tx.one(f"SELECT tenant, status, version FROM bookings WHERE id = %s{self.row_lock_clause}",
                         (booking_id,))
            if row is None or row[0] != tenant:
                raise BookingNotFound(booking_id)
            if row[1] != BookingStatus.CONFIRMED:
                raise BookingCancelled(booking_id)
            if int(row[2]) != version:
                raise StaleVersion(booking_id, version, int(row[2]))
            before = self._get(tx, booking_id)
            sets = ["sequence = sequence + 1", "version = version + 1", "updated_at = %s"]
            params: builtins.list[Any] = [self._time_in(self.now())]
            for column, value in (("title", edit.title), ("description", edit.description),
                                  ("location", edit.location)):
                if value is not None:
                    sets.append(f"{column} = %s")
                    params.append(value)
            if edit.customers is not None:
                sets.append("customers = %s")
                params.append(self._json_in(people_to_json(edit.customers)))
            tx.run(f"UPDATE bookings SET {', '.join(sets)} WHERE id = %s", (*params, booking_id))
            self._enqueue_change(tx, before, self._get(tx, booking_id))
            record = self._get(tx, booking_id)
            self._emit(tx, record, EventKind.UPDATED)
            return record

    def _enqueue_change(self, tx: Tx, before: BookingRecord, after: BookingRecord) -> None:
        """The side effects of a change, due now: the calendar event updated in place, the
        customers' invitation with the higher sequence, and a METHOD:CANCEL to whoever the
        change dropped. A task already pending or running is reset (its handler works from
        the booking's latest snapshot, so quick changes coalesce into one update)."""
        staying = {p.email.lower() for p in (*after.attendees, *after.customers) if p.email}
        dropped_now = {p.email.lower(): p for p in (*before.attendees, *before.customers)
                       if p.email and p.email.lower() not in staying}
        self._upsert_task(tx, after.id, TaskKind.UPDATE_EVENT, TaskKind.CREATE_EVENT, skipped=False)
        self._upsert_task(tx, after.id, TaskKind.SEND_UPDATE, TaskKind.SEND_INVITE, skipped=not after.customers)
        if dropped_now:
            # Those an earlier change dropped and who were not told yet are told with these; those told
            # already (the task done) are not told twice.
            row = tx.one("SELECT detail, status FROM outbox WHERE booking_id = %s AND kind = %s",
                         (after.id, TaskKind.SEND_DROPPED.value))
            untold = row is not None and row[0] and row[1] not in (TaskStatus.DONE, TaskStatus.SKIPPED)
            earlier = people_from_json(json.loads(row[0])) if row is not None and untold else ()
            dropped = {p.email.lower(): p for p in earlier if p.email.lower() not in staying}
            dropped.update(dropped_now)
            detail = json.dumps(people_to_json(list(dropped.values())), separators=(",", ":"), ensure_ascii=False)
            self._upsert_task(tx, after.id, TaskKind.SEND_DROPPED, None, skipped=False, detail=detail)

    def _upsert_task(self, tx: Tx, booking_id: str, kind: TaskKind, depends_on: TaskKind | None, *,
                     skipped: bool, detail: str = "") -> None:
        now = self._time_in(self.now())
        status = TaskStatus.SKIPPED if skipped else TaskStatus.PENDING
        tx.run("INSERT INTO outbox (booking_id, kind, depends_on, status, next_attempt_at, created_at, "
               f"updated_at, detail) VALUES ({_marks(8)}) "
               "ON CONFLICT (booking_id, kind) DO UPDATE SET status = excluded.status, attempts = 0, "
               "next_attempt_at = excluded.next_attempt_at, lease_until = NULL, claim_token = NULL, "
               "updated_at = excluded.updated_at, detail = excluded.detail",
               (booking_id, kind.value, depends_on.value if depends_on else None, status.value, now, now, now,
                detail))

    # --- Short holds -------------------------------------------------------------------

    @_timed
    def hold(self, tenant: str, resource_ids: Sequence[str], start: datetime, end: datetime,
             ttl: timedelta) -> Hold:
        check_hold(resource_ids, start, end, ttl)
        hold_id = f"hd_{uuid.uuid4().hex}"
        with self._tx() as tx:
            self._lock(tx, self._resource_keys(tenant, resource_ids))
            now = self.now()
            tx.run("DELETE FROM slot_holds WHERE expires_at <= %s", (self._time_in(now),))
            conflicts = self._holders(tx, tenant, resource_ids, start, end, own_hold="")
            if conflicts:
                raise BookingConflict(conflicts)
            expires = now + ttl
            for resource_id in resource_ids:
                tx.run("INSERT INTO slot_holds (hold_id, tenant, resource_id, start_at, end_at, expires_at) "
                       f"VALUES ({_marks(6)})", (hold_id, tenant, resource_id, self._time_in(start),
                                                 self._time_in(end), self._time_in(expires)))
        return Hold(hold_id, tuple(resource_ids), start.astimezone(UTC), end.astimezone(UTC), expires, tenant)

    @_timed
    def release_hold(self, tenant: str, hold_id: str) -> bool:
        with self._tx() as tx:
            return tx.run("DELETE FROM slot_holds WHERE tenant = %s AND hold_id = %s", (tenant, hold_id)) > 0

    # --- Outbox -----------------------------------------------------------------------

    @_timed
    def claim_tasks(self, kinds: Collection[str], limit: int, lease: timedelta) -> builtins.list[OutboxTask]:
        kinds = sorted(set(kinds))
        if not kinds or limit <= 0:
            return []
        now = self.now()
        token = uuid.uuid4().hex
        with self._tx() as tx:
            claimed = tx.rows(
                "UPDATE outbox SET status = 'running', attempts = attempts + 1, lease_until = %s, "
                "claim_token = %s, updated_at = %s "
                "WHERE id IN (SELECT o.id FROM outbox o "
                f"  WHERE o.kind IN ({_marks(len(kinds))}) "
                "  AND ((o.status = 'pending' AND o.next_attempt_at <= %s) "
                "       OR (o.status = 'running' AND o.lease_until <= %s)) "
                "  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.booking_id = o.booking_id "
                "                  AND p.kind = o.depends_on AND p.status IN ('pending', 'running')) "
                f"  ORDER BY o.next_attempt_at, o.id LIMIT %s{self.claim_lock_clause}) "
                "RETURNING id, booking_id, kind, attempts, detail",
                (self._time_in(now + lease), token, self._time_in(now), *kinds, self._time_in(now),
                 self._time_in(now), limit))
            claimed.sort(key=lambda r: int(r[0]))
            booking_ids = sorted({r[1] for r in claimed})
            rows = tx.rows(f"SELECT {_BOOKING_COLUMNS} FROM bookings b "
                           f"WHERE b.id IN ({_marks(len(booking_ids))})", booking_ids) if booking_ids else []
            records = {r.id: r for r in self._records(tx, rows)}
        return [OutboxTask(int(task_id), booking_id, kind, int(attempts), token, records[booking_id], detail or "")
                for task_id, booking_id, kind, attempts, detail in claimed]

    @_timed
    def renew_task(self, task: OutboxTask, lease: timedelta) -> bool:
        with self._tx() as tx:
            return tx.run("UPDATE outbox SET lease_until = %s WHERE id = %s AND claim_token = %s "
                          "AND status = 'running'", (self._time_in(self.now() + lease), task.id, task.claim_token)) > 0

    @_timed
    def complete_task(self, task: OutboxTask, result: str = "") -> bool:
        return self._finish(task, TaskStatus.DONE, result=result)

    @_timed
    def retry_task(self, task: OutboxTask, error: str, at: datetime) -> bool:
        return self._finish(task, TaskStatus.PENDING, error=error, at=at)

    @_timed
    def fail_task(self, task: OutboxTask, error: str) -> bool:
        return self._finish(task, TaskStatus.FAILED, error=error)

    @_timed
    def skip_task(self, task: OutboxTask, reason: str) -> bool:
        return self._finish(task, TaskStatus.SKIPPED, result=reason)

    def _finish(self, task: OutboxTask, status: TaskStatus, *, result: str | None = None,
                error: str | None = None, at: datetime | None = None) -> bool:
        """Ends a claim in one statement: the task's new state is the booking's
        side-effect state, so both change in the same transaction."""
        sets = ["status = %s", "lease_until = NULL", "claim_token = NULL", "updated_at = %s"]
        now = self.now()
        params: builtins.list[Any] = [status.value, self._time_in(now)]
        if result is not None:
            sets.append("result = %s")
            params.append(result)
        if error is not None:
            sets.append("last_error = %s")
            params.append(error)
        if at is not None:
            sets.append("next_attempt_at = %s")
            params.append(self._time_in(at))
        with self._tx() as tx:
            changed = tx.run(f"UPDATE outbox SET {', '.join(sets)} "
                             "WHERE id = %s AND claim_token = %s AND status = 'running'",
                             (*params, task.id, task.claim_token))
            if changed and status is TaskStatus.FAILED:
                self._emit(tx, self._get(tx, task.booking_id), EventKind.SIDE_EFFECT_FAILED,
                           detail=f"{task.kind}: {error or ''}"[:500])
        return changed > 0

    @_timed
    def outbox_backlog(self) -> builtins.list[tuple[str, int, datetime]]:
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT kind, count(*), min(created_at) FROM outbox "
                           "WHERE status IN ('pending', 'running') GROUP BY kind ORDER BY kind")
        return [(str(kind), int(n), self._time_out(oldest)) for kind, n, oldest in rows]

    # --- Webhooks (server.booking.store.webhooks) -------------------------------------

    def _emit(self, tx: Tx, booking: BookingRecord, kind: EventKind, detail: str = "") -> str:
        """Records a webhook event of ``booking`` in ``tx`` (see ``server.booking.webhooks``)."""
        return emit_in(self, tx, booking, kind, detail)

    @_timed
    def create_webhook_endpoint(self, tenant: str, url: str) -> Endpoint:
        endpoint_id, secret, now = f"we_{uuid.uuid4().hex}", new_secret(), self.now()
        with self._tx() as tx:
            tx.run("INSERT INTO webhook_endpoints (id, tenant, url, secret, created_at) VALUES (%s, %s, %s, %s, %s)",
                   (endpoint_id, tenant, url, secret, self._time_in(now)))
        return Endpoint(id=endpoint_id, tenant=tenant, url=url, created_at=now, secret=secret)

    @_timed
    def list_webhook_endpoints(self, tenant: str) -> builtins.list[Endpoint]:
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = %s "
                           "ORDER BY created_at, id", (tenant,))
        return [endpoint_from_row(self, r) for r in rows]

    @_timed
    def delete_webhook_endpoint(self, tenant: str, endpoint_id: str) -> bool:
        with self._tx() as tx:
            tx.run("DELETE FROM webhook_deliveries WHERE endpoint_id IN "
                   "(SELECT id FROM webhook_endpoints WHERE tenant = %s AND id = %s)", (tenant, endpoint_id))
            return tx.run("DELETE FROM webhook_endpoints WHERE tenant = %s AND id = %s", (tenant, endpoint_id)) > 0

    @_timed
    def list_webhook_deliveries(self, tenant: str, endpoint_id: str = "", booking_id: str = "",
                                limit: int = 100, after_id: int = 0) -> builtins.list[Delivery]:
        where, params = ["e.tenant = %s", "d.id > %s"], [tenant, after_id]
        if endpoint_id:
            where.append("d.endpoint_id = %s")
            params.append(endpoint_id)
        if booking_id:
            where.append("d.booking_id = %s")
            params.append(booking_id)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d "
                           "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
                           "JOIN webhook_events v ON v.id = d.event_id "
                           f"WHERE {' AND '.join(where)} ORDER BY d.id LIMIT %s", (*params, limit))
        return [delivery_from_row(self, r) for r in rows]

    @_timed
    def claim_deliveries(self, limit: int, lease: timedelta) -> builtins.list[Delivery]:
        """Claims up to ``limit`` due deliveries to enabled endpoints, each the earliest
        unfinished one of its (endpoint, booking), for ``lease``."""
        now, token = self.now(), uuid.uuid4().hex
        with self._tx() as tx:
            claimed = tx.rows(
                "UPDATE webhook_deliveries SET status = 'running', attempts = attempts + 1, lease_until = %s, "
                "claim_token = %s, updated_at = %s "
                "WHERE id IN (SELECT d.id FROM webhook_deliveries d "
                "  JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.disabled_at IS NULL "
                "  WHERE ((d.status = 'pending' AND d.next_attempt_at <= %s) "
                "         OR (d.status = 'running' AND d.lease_until <= %s)) "
                "  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id "
                "                  AND p.booking_id = d.booking_id AND p.id < d.id AND p.status <> 'done') "
                f"  ORDER BY d.id LIMIT %s{self.claim_lock_clause.replace(' OF o ', ' OF d ')}) RETURNING id",
                (self._time_in(now + lease), token, self._time_in(now), self._time_in(now), self._time_in(now),
                 limit))
            ids = sorted(int(r[0]) for r in claimed)
            rows = tx.rows(f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d "
                           "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
                           "JOIN webhook_events v ON v.id = d.event_id "
                           f"WHERE d.id IN ({_marks(len(ids))}) ORDER BY d.id", ids) if ids else []
        return [delivery_from_row(self, r, token) for r in rows]

    @_timed
    def complete_delivery(self, delivery: Delivery, status_code: int) -> bool:
        """The receiver took it: done, and its endpoint is no longer failing."""
        now = self._time_in(self.now())
        with self._tx() as tx:
            changed = tx.run("UPDATE webhook_deliveries SET status = 'done', lease_until = NULL, claim_token = NULL, "
                             "last_status_code = %s, last_error = '', updated_at = %s "
                             "WHERE id = %s AND claim_token = %s AND status = 'running'",
                             (status_code, now, delivery.id, delivery.claim_token))
            tx.run("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = %s", (delivery.endpoint_id,))
        return changed > 0

    @_timed
    def retry_delivery(self, delivery: Delivery, error: str, status_code: int, at: datetime,
                       disable_after: timedelta) -> Endpoint | None:
        """Records a failed attempt, due again at ``at``. The endpoint failing since at least
        ``disable_after`` (counted from its first failure after its last success) is disabled:
        returns it then, else None."""
        now = self.now()
        with self._tx() as tx:
            tx.run("UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL, claim_token = NULL, "
                   "last_status_code = %s, last_error = %s, next_attempt_at = %s, updated_at = %s "
                   "WHERE id = %s AND claim_token = %s AND status = 'running'",
                   (status_code, error, self._time_in(at), self._time_in(now), delivery.id, delivery.claim_token))
            tx.run("UPDATE webhook_endpoints SET failing_since = %s WHERE id = %s AND failing_since IS NULL",
                   (self._time_in(now), delivery.endpoint_id))
            reason = f"failing since at least {disable_after} (last error: {error[:200]})"
            disabled = tx.run("UPDATE webhook_endpoints SET disabled_at = %s, disabled_reason = %s "
                              "WHERE id = %s AND disabled_at IS NULL AND failing_since <= %s",
                              (self._time_in(now), reason, delivery.endpoint_id,
                               self._time_in(now - disable_after)))
            if not disabled:
                return None
            row = tx.one(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = %s", (delivery.endpoint_id,))
        return endpoint_from_row(self, row) if row is not None else None
