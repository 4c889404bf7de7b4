"""The PostgreSQL schema, as numbered migration steps.

The guarantee against double booking lives in ``booking_holds_no_overlap``: an
exclusion constraint (btree_gist) over ``(tenant =, resource_id =, during &&)``
restricted to confirmed exclusive holds. Two confirmed holds of one room, or of
one member outside "schedule anyway" mode, can never overlap, whatever the
application does. Short holds (``slot_holds``) expire by time, which a
constraint cannot see, so they are checked by the application under advisory
locks instead.
"""

from __future__ import annotations

from server.booking.store.jobs import POSTGRES_MIGRATION
from server.booking.store.migrations import SKIPPED_NOT_DONE, Migration, check_migrations

__all__ = ["MIGRATIONS", "OVERLAP_CONSTRAINT", "REQUEST_CONSTRAINT"]

OVERLAP_CONSTRAINT = "booking_holds_no_overlap"
REQUEST_CONSTRAINT = "bookings_request_unique"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "bookings and their per-resource holds", (
        # Needed for `tenant WITH =` / `resource_id WITH =` inside a GiST index.
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        f"""
        CREATE TABLE bookings (
            id                     TEXT PRIMARY KEY,
            tenant                 TEXT NOT NULL,
            request_id             TEXT NOT NULL,
            body_hash              TEXT NOT NULL,
            status                 TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
            start_at               TIMESTAMPTZ NOT NULL,
            end_at                 TIMESTAMPTZ NOT NULL,
            time_zone              TEXT NOT NULL,
            seats                  JSONB NOT NULL,
            title                  TEXT NOT NULL,
            organizer              JSONB NOT NULL,
            customers              JSONB NOT NULL,
            attendees              JSONB NOT NULL,
            buffer_before_s        INTEGER NOT NULL,
            buffer_after_s         INTEGER NOT NULL,
            description            TEXT NOT NULL,
            location               TEXT NOT NULL,
            allow_member_conflicts BOOLEAN NOT NULL,
            sequence               INTEGER NOT NULL DEFAULT 0,
            created_at             TIMESTAMPTZ NOT NULL,
            cancelled_at           TIMESTAMPTZ,
            CONSTRAINT {REQUEST_CONSTRAINT} UNIQUE (tenant, request_id),
            CHECK (start_at < end_at)
        )""",
        "CREATE INDEX bookings_tenant_start ON bookings (tenant, start_at)",
        f"""
        CREATE TABLE booking_holds (
            booking_id  TEXT NOT NULL REFERENCES bookings (id),
            tenant      TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('member', 'room')),
            pool_id     TEXT NOT NULL DEFAULT '',
            exclusive   BOOLEAN NOT NULL,
            confirmed   BOOLEAN NOT NULL,
            start_at    TIMESTAMPTZ NOT NULL,
            end_at      TIMESTAMPTZ NOT NULL,
            during      TSTZRANGE GENERATED ALWAYS AS (tstzrange(start_at, end_at, '[)')) STORED,
            PRIMARY KEY (booking_id, resource_id),
            CONSTRAINT {OVERLAP_CONSTRAINT} EXCLUDE USING gist
                (tenant WITH =, resource_id WITH =, during WITH &&) WHERE (exclusive AND confirmed)
        )""",
        "CREATE INDEX booking_holds_resource ON booking_holds (tenant, resource_id, start_at) WHERE confirmed",
    )),
    Migration(2, "short holds with expiry", (
        """
        CREATE TABLE slot_holds (
            hold_id     TEXT NOT NULL,
            tenant      TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            start_at    TIMESTAMPTZ NOT NULL,
            end_at      TIMESTAMPTZ NOT NULL,
            expires_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (hold_id, resource_id)
        )""",
        "CREATE INDEX slot_holds_resource ON slot_holds (tenant, resource_id, start_at)",
        "CREATE INDEX slot_holds_expiry ON slot_holds (expires_at)",
    )),
    Migration(3, "outbox of side effects", (
        """
        CREATE TABLE outbox (
            id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            booking_id      TEXT NOT NULL REFERENCES bookings (id),
            kind            TEXT NOT NULL,
            depends_on      TEXT,
            status          TEXT NOT NULL
                            CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL,
            lease_until     TIMESTAMPTZ,
            claim_token     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            result          TEXT NOT NULL DEFAULT '',
            created_at      TIMESTAMPTZ NOT NULL,
            updated_at      TIMESTAMPTZ NOT NULL,
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
            created_at      TIMESTAMPTZ NOT NULL,
            failing_since   TIMESTAMPTZ,
            disabled_at     TIMESTAMPTZ,
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
            created_at TIMESTAMPTZ NOT NULL
        )""",
        """
        CREATE TABLE webhook_deliveries (
            id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id         TEXT NOT NULL REFERENCES webhook_events (id),
            endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
            booking_id       TEXT NOT NULL,
            status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done')),
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  TIMESTAMPTZ NOT NULL,
            lease_until      TIMESTAMPTZ,
            claim_token      TEXT,
            last_error       TEXT NOT NULL DEFAULT '',
            last_status_code INTEGER NOT NULL DEFAULT 0,
            created_at       TIMESTAMPTZ NOT NULL,
            updated_at       TIMESTAMPTZ NOT NULL,
            UNIQUE (event_id, endpoint_id)
        )""",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        "CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, booking_id, id)",
    )),
    Migration(6, "booking changes: version (etag), updated_at, the meeting, change requests, outbox detail", (
        "ALTER TABLE bookings ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE bookings ADD COLUMN updated_at TIMESTAMPTZ",
        "ALTER TABLE bookings ADD COLUMN meeting TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE outbox ADD COLUMN detail TEXT NOT NULL DEFAULT ''",
        """
        CREATE TABLE booking_changes (
            tenant     TEXT NOT NULL,
            request_id TEXT NOT NULL,
            body_hash  TEXT NOT NULL,
            booking_id TEXT NOT NULL REFERENCES bookings (id),
            version    INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (tenant, request_id)
        )""",
    )),
    POSTGRES_MIGRATION,  # batch jobs (server.booking.store.jobs)
    Migration(8, "booking changes keep their first result (a replayed reschedule returns it)", (
        "ALTER TABLE booking_changes ADD COLUMN result TEXT NOT NULL DEFAULT ''",
    )),
)

check_migrations(MIGRATIONS)
