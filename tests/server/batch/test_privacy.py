"""A batch's conflicts obey the privacy rule like every other reply: over a detailed
event, the calendar's owner sees its title; anyone else sees "busy" and the interval,
and the details are not in the reply's bytes."""

from __future__ import annotations

from datetime import timedelta

from convene.v1 import batch_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server.conftest import ALICE_KEY, NOW, OPS_KEY, Served, key, utc
from tests.server.messages import member, rules


def _batch_over_board_prep() -> api.OptimizeBatchRequest:
    # Alice is busy with "Board prep" 10:00-11:00 on Monday; the only start the window
    # allows is 10:00, so the item is scheduled into that conflict.
    item = batch_pb2.BatchItem(id="over-board-prep", rules=rules(member("alice")), time_zone="UTC")
    item.window_start.FromDatetime(utc(2026, 12, 7, 10))
    item.window_end.FromDatetime(utc(2026, 12, 7, 11))
    request = api.OptimizeBatchRequest(items=[item], allow_conflicts=True)
    request.time_limit.FromTimedelta(timedelta(seconds=5))
    request.now.FromDatetime(NOW)
    return request


def _result(served: Served, api_key: str) -> tuple[batch_pb2.BatchResult, bytes]:
    *_, last = served.stub.OptimizeBatch(_batch_over_board_prep(), metadata=key(api_key))
    return last.result, last.SerializeToString()


def test_the_owner_sees_the_title_of_what_a_batch_item_overlaps(served: Served) -> None:
    result, raw = _result(served, ALICE_KEY)
    (conflict,) = result.items[0].scheduled.conflicts
    assert (conflict.resource_id, conflict.kind) == ("alice", slots_pb2.CONFLICT_KIND_BUSY)
    assert conflict.details.title == "Board prep" and b"Board prep" in raw


def test_anyone_else_sees_only_busy(served: Served) -> None:
    result, raw = _result(served, OPS_KEY)
    (conflict,) = result.items[0].scheduled.conflicts
    assert (conflict.resource_id, conflict.kind) == ("alice", slots_pb2.CONFLICT_KIND_BUSY)
    assert conflict.start.ToDatetime().hour == 10 and not conflict.HasField("details")
    for secret in (b"Board prep", b"evt-1", b"Room 5"):
        assert secret not in raw
