"""The SQLite schema, as numbered migration steps.

Instants are TEXT in one fixed UTC format (``2026-03-10T09:00:00.000000Z``), so
text order is time order and range checks are plain comparisons. JSON columns
are TEXT. Booleans are 0/1.
"""

from __future__ import annotations

from server.booking.store.jobs import SQLITE_MIGRATION
from server.booking.store.migrations import SKIPPED_NOT_DONE, Migration, check_migrations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "bookings and their per-resource holds", (
        """
        CREATE TABLE bookings (
            id                     TEXT PRIMARY KEY,
            tenant                 TEXT NOT NULL,
            request_id             TEXT NOT NULL,
            body_hash              TEXT NOT NULL,
            status                 TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
            start_at               TEXT NOT NULL,
            end_at                 TEXT NOT NULL,
            time_zone              TEXT NOT NULL,
            seats                  TEXT NOT NULL,
            title                  TEXT NOT NULL,
            organizer              TEXT NOT NULL,
            customers              TEXT NOT NULL,
            attendees              TEXT NOT NULL,
            buffer_before_s        INTEGER NOT NULL,
            buffer_after_s         INTEGER NOT NULL,
            description            TEXT NOT NULL,
            location               TEXT NOT NULL,
            allow_member_conflicts INTEGER NOT NULL,
            sequence               INTEGER NOT NULL DEFAULT 0,
            created_at             TEXT NOT NULL,
            cancelled_at           TEXT,
            UNIQUE (tenant, request_id),
            CHECK (start_at < end_at)
        )""",
        "CREATE INDEX bookings_tenant_start ON bookings (tenant, start_at)",
        """
        CREATE TABLE booking_holds (
            booking_id  TEXT NOT NULL REFERENCES bookings (id),
            tenant      TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('member', 'room')),
            pool_id     TEXT NOT NULL DEFAULT '',
            exclusive   INTEGER NOT NULL,
            confirmed   INTEGER NOT NULL,
            start_at    TEXT NOT NULL,
            end_at      TEXT NOT NULL,
            PRIMARY KEY (booking_id, resource_id)
        )""",
        "CREATE INDEX booking_holds_resource ON booking_holds (tenant, resource_id, start_at) WHERE confirmed",
    )),
    Migration(2, "short holds with expiry", (
        """
        CREATE TABLE slot_holds (
            hold_id     TEXT NOT NULL,
            tenant      TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            start_at    TEXT NOT NULL,
            end_at      TEXT NOT NULL,
            expires_at  TEXT NOT NULL,
            PRIMARY KEY (hold_id, resource_id)
        )""",
        "CREATE INDEX slot_holds_resource ON slot_holds (tenant, resource_id, start_at)",
        "CREATE INDEX slot_holds_expiry ON slot_holds (expires_at)",
    )),
    Migration(3, "outbox of side effects", (
        """
        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY,
            booking_id      TEXT NOT NULL REFERENCES bookings (id),
            kind            TEXT NOT NULL,
            depends_on      TEXT,
            status          TEXT NOT NULL
                            CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            claim_token     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            result          TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            UNIQUE (booking_id, kind)
        )""",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
    )),
    SKIPPED_NOT_DONE,
    Migration(5, "webhook endpoints, events and their deliveries", (
        """
        CREATE TABLE webhook_endpoints (
            id              TEXT PRIMARY KEY,
            tenant          TEXT NOT NULL,
            url             TEXT NOT NULL,
            secret          TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            failing_since   TEXT,
            disabled_at     TEXT,
            disabled_reason TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, created_at)",
        """
        CREATE TABLE webhook_events (
            id         TEXT PRIMARY KEY,
            tenant     TEXT NOT NULL,
            booking_id TEXT NOT NULL,
            kind       TEXT NOT NULL,
            body       TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """
        CREATE TABLE webhook_deliveries (
            id               INTEGER PRIMARY KEY,
            event_id         TEXT NOT NULL REFERENCES webhook_events (id),
            endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
            booking_id       TEXT NOT NULL,
            status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done')),
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  TEXT NOT NULL,
            lease_until      TEXT,
            claim_token      TEXT,
            last_error       TEXT NOT NULL DEFAULT '',
            last_status_code INTEGER NOT NULL DEFAULT 0,
            created_at       TEXT NOT NULL,
            updated_at       TEXT NOT NULL,
            UNIQUE (event_id, endpoint_id)
        )""",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        "CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, booking_id, id)",
    )),
    Migration(6, "booking changes: version (etag), updated_at, the meeting, change requests, outbox detail", (
        "ALTER TABLE bookings ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE bookings ADD COLUMN updated_at TEXT",
        "ALTER TABLE bookings ADD COLUMN meeting TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE outbox ADD COLUMN detail TEXT NOT NULL DEFAULT ''",
        """
        CREATE TABLE booking_changes (
            tenant     TEXT NOT NULL,
            request_id TEXT NOT NULL,
            body_hash  TEXT NOT NULL,
            booking_id TEXT NOT NULL REFERENCES bookings (id),
            version    INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (tenant, request_id)
        )""",
    )),
    SQLITE_MIGRATION,  # batch jobs (server.booking.store.jobs)
    Migration(8, "booking changes keep their first result (a replayed reschedule returns it)", (
        "ALTER TABLE booking_changes ADD COLUMN result TEXT NOT NULL DEFAULT ''",
    )),
)

check_migrations(MIGRATIONS)
