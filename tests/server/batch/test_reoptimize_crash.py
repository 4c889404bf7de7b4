"""``convene serve`` killed (SIGKILL) in the middle of a re-optimizing batch's commit, on
SQLite and PostgreSQL: after the restart either everything is there or nothing is.

The batch moves a booking out of the way of a new one (the new item can only be where the
booking is). The first server process is ``tests.server.batch.dying_serve``: the real server,
killed either inside the commit's transaction (the move made and the new booking inserted,
nothing committed) or right after it committed. A second, ordinary process on the same
database then shows nothing (the booking where it was, untouched, no new booking, no update
on its way) or everything (the booking moved with its update due, the new booking made),
and the batch's retry completes or replays the commit.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from convene.v1 import batch_pb2, booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from tests.server import booking_world
from tests.server.booking_world import NOW, at, convene_serve, create_request, key, member, room, rules, write_config

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin


@contextmanager
def serving(config: Path, database_url: str, *, dying: str = "") -> Iterator[tuple[subprocess.Popen[str],
                                                                                   api_grpc.SchedulingServiceStub]]:
    """``convene serve`` in a child process (``dying``: the moment ``dying_serve`` kills it) and a stub."""
    entry = ["-m", "tests.server.batch.dying_serve", dying] if dying else ["-m", "server.cli"]
    with convene_serve(config, database_url, entry=entry) as (process, port), \
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield process, api_grpc.SchedulingServiceStub(channel)


def _request(booking_id: str) -> api.OptimizeBatchRequest:
    movable = batch_pb2.BatchItem(id="kept", booking_id=booking_id, movable=True)
    movable.window_start.FromDatetime(at(9))
    movable.window_end.FromDatetime(at(13))
    new = batch_pb2.BatchItem(id="new", time_zone="UTC", rules=rules(member("bob"), room("small")))
    new.window_start.FromDatetime(at(10))
    new.window_end.FromDatetime(at(11))
    request = api.OptimizeBatchRequest(request_id="crash", items=[movable, new], commit=True)
    request.now.FromDatetime(NOW)
    request.time_limit.FromTimedelta(timedelta(seconds=5))
    return request


def _booking(stub: api_grpc.SchedulingServiceStub, booking_id: str) -> booking_pb2.Booking:
    booking: booking_pb2.Booking = stub.GetBooking(api.GetBookingRequest(booking_id=booking_id), metadata=key(),
                                                   timeout=5).booking
    return booking


def _confirmed(stub: api_grpc.SchedulingServiceStub) -> list[booking_pb2.Booking]:
    listed = stub.ListBookings(api.ListBookingsRequest(status=booking_pb2.BOOKING_STATUS_CONFIRMED),
                               metadata=key(), timeout=10)
    return list(listed.bookings)


UPDATES = {booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT, booking_pb2.SIDE_EFFECT_KIND_SEND_UPDATE}


@pytest.mark.parametrize("moment", ["in-transaction", "after-commit"])
def test_a_kill_during_the_commit_leaves_everything_or_nothing(tmp_path: Path, database_url: str,
                                                              moment: str) -> None:
    # One server process: the one dying_serve arms (more would be spawned children, unarmed).
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}", None, server={"processes": 1})

    with serving(config, database_url, dying=moment) as (first, stub):
        before = stub.CreateBooking(create_request("kept", at(10), [["bob"], ["small"]]), metadata=key(),
                                    timeout=10).booking
        with pytest.raises(grpc.RpcError) as caught:
            list(stub.OptimizeBatch(_request(before.id), metadata=key(), timeout=30))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # the server died mid-call
        assert first.wait(10) == -signal.SIGKILL

    with serving(config, database_url) as (_, stub):
        after = _booking(stub, before.id)
        bookings = _confirmed(stub)
        if moment == "in-transaction":
            # Nothing: the booking as it was (same version, same holds), no new booking, no update due.
            assert after.etag == before.etag and after.start == before.start
            assert [list(s.resource_ids) for s in after.seats] == [["bob"], ["small"]]
            assert [b.id for b in bookings] == [before.id]
            assert not {e.kind for e in after.side_effects} & UPDATES
        else:
            # Everything: the booking moved (its update due), the new booking where it was.
            assert after.etag != before.etag and after.start != before.start
            assert {e.kind for e in after.side_effects} >= UPDATES
            (new,) = [b for b in bookings if b.id != before.id]
            assert new.start == before.start and new.request_id.endswith("/new")
        # Free where the bookings are not: nothing half-held is left behind.
        slots = api.FindSlotsRequest(rules=rules(member("bob"), room("small")), time_zone="UTC",
                                     window_start=before.start, window_end=before.end)
        slots.now.FromDatetime(NOW)
        taken = stub.FindSlots(slots, metadata=key(), timeout=10).total_available == 0
        assert taken  # by the kept booking (nothing) or the new one (everything)

        # The retry: completes the commit (nothing was there) or replays it (everything was).
        replies = list(stub.OptimizeBatch(_request(before.id), metadata=key(), timeout=30))
        result = replies[-1].result
        assert result.committed and result.replayed == (moment == "after-commit")
        items = {i.id: i for i in result.items}
        assert items["kept"].booking_id == before.id and items["new"].booking_id
        final = _booking(stub, before.id)
        assert final.start != before.start and final.start == items["kept"].scheduled.start
        assert sorted(b.id for b in _confirmed(stub)) == sorted({before.id, items["new"].booking_id})
        if moment == "after-commit":
            assert final.etag == after.etag  # not moved twice
