"""Failure isolation for sequences (SCHEDULING.md "Failure isolation"), for real: a loop whose
second segment needs a member whose calendar feed hangs (or answers 500, or is not iCalendar)
is answered inside its deadline by FindSequences, CheckSequence and BookSequence, that member
is never free and is named unreadable with a reason that names the failure, never the feed's
content; another tenant's FindSequences meanwhile gets its answer from before, on time.
(test_isolation.py does the same for FindSlots under a burst; this is the sequence RPCs' share.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_status import rpc_status

from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import Running, start_server
from server.config import parse_config
from tests.providers.icsdata import calendar, event
from tests.providers.loopback import Answer, LoopbackHttp
from tests.server.messages import book_sequence, check_sequence, find_sequences, member, rules, segment, sequence

TEAM_KEY = "team-seq-isolation-key-0123456789"
OTHER_KEY = "other-seq-isolation-key-0123456789"
DAY = datetime(2030, 3, 4, tzinfo=UTC)  # a Monday
SECRET = "Secret merger talks"
DEADLINE = 2.0
SLACK = 1.0  # a loaded machine's delivery of the end of the call


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, api_grpc.SchedulingServiceStub]]:
    folder: Path = tmp_path_factory.mktemp("sequence-isolation")
    body = calendar(event("x", "DTSTART:20300304T090000Z", "DTEND:20300304T100000Z", f"SUMMARY:{SECRET}"))
    hang, broken = LoopbackHttp(), LoopbackHttp()
    hang.route("GET", "/hang.ics", Answer(200, body, delay=DEADLINE + 4))
    broken.route("GET", "/broken.ics", Answer(500, SECRET))
    (folder / "junk.ics").write_text(f"BEGIN:VCALENDAR\n{SECRET}\nEND:VCALENDAR\n")
    for name in ("alice", "zoe", "yan"):
        (folder / f"{name}.ics").write_text(calendar())
    who = {"time_zone": "UTC"}

    def ics(name: str, where: str) -> dict[str, object]:
        return {"id": name, "email": f"{name}@example.org", **who, "calendar": {"kind": "ics", **(
            {"url": where} if where.startswith("http") else {"path": where})}}

    config = parse_config({
        "server": {"plaintext": True, "worker_threads": 8},
        "calendars": {"cache_seconds": 0, "timeout_seconds": 10},
        "database_url": f"sqlite:///{folder / 'bookings.sqlite3'}",
        "api_keys": [{"key": TEAM_KEY, "tenant": "team", "principal": "ops@team.example"},
                     {"key": OTHER_KEY, "tenant": "other", "principal": "ops@other.example"}],
        "tenants": {
            "team": {"members": [ics("alice", "alice.ics"), ics("hang", f"{hang.url}/hang.ics"),
                                 ics("broken", f"{broken.url}/broken.ics"), ics("junk", "junk.ics")]},
            "other": {"members": [ics("zoe", "zoe.ics"), ics("yan", "yan.ics")]},
        },
    }, base_dir=folder)
    running = start_server(config, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield running, api_grpc.SchedulingServiceStub(channel)
    finally:
        channel.close()
        running.stop(None)
        hang.close()
        broken.close()


def _auth(api_key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {api_key}"),)


def _loop(second: str, first: str = "alice") -> object:
    return sequence(segment(rules(member(first)), "one"), segment(rules(member(second)), "two"),
                    max_gap=timedelta(minutes=30))


def _find(second: str, first: str = "alice") -> object:
    request = find_sequences(_loop(second, first), start=DAY + timedelta(hours=9),  # type: ignore[arg-type]
                             end=DAY + timedelta(hours=13))
    request.now.FromDatetime(DAY)
    return request


def _check_reason(reason: str, bad: str) -> None:
    assert SECRET not in reason and "Secret" not in reason, reason
    words = {"hang": "timeout", "broken": "HTTP 500", "junk": "not valid iCalendar"}[bad]
    assert words in reason or "circuit open" in reason, reason


@pytest.mark.parametrize("bad", ["hang", "broken", "junk"])
def test_a_loop_needing_a_bad_calendar_is_answered_on_time_and_names_it(
        served: tuple[Running, api_grpc.SchedulingServiceStub], bad: str) -> None:
    _, stub = served
    healthy = stub.FindSequences(_find("yan", "zoe"), metadata=_auth(OTHER_KEY), timeout=10)
    assert healthy.options and not healthy.unavailable_calendars
    others: list[object] = []

    def other_tenant() -> None:  # meanwhile, the other tenant
        began = time.monotonic()
        reply = stub.FindSequences(_find("yan", "zoe"), metadata=_auth(OTHER_KEY), timeout=DEADLINE)
        others.append((reply == healthy, time.monotonic() - began))

    watcher = threading.Thread(target=other_tenant)
    began = time.monotonic()
    watcher.start()
    found = stub.FindSequences(_find(bad), metadata=_auth(TEAM_KEY), timeout=DEADLINE)
    watcher.join(DEADLINE + SLACK)
    assert time.monotonic() - began < DEADLINE + SLACK
    assert others and others[0] == (True, others[0][1]) and others[0][1] < DEADLINE + SLACK  # type: ignore[index]
    assert not found.options  # never free
    (unreadable,) = found.unavailable_calendars
    assert unreadable.resource_id == bad
    _check_reason(unreadable.reason, bad)
    assert SECRET.encode() not in found.SerializeToString()

    start = DAY + timedelta(hours=9)
    checked = check_sequence(_loop(bad), start)  # type: ignore[arg-type]
    checked.now.FromDatetime(DAY)
    began = time.monotonic()
    reply = stub.CheckSequence(checked, metadata=_auth(TEAM_KEY), timeout=DEADLINE)
    assert time.monotonic() - began < DEADLINE + SLACK
    assert not reply.available and [u.resource_id for u in reply.unavailable_calendars] == [bad]
    assert SECRET.encode() not in reply.SerializeToString()

    booking = book_sequence(f"iso-{bad}", _loop(bad), [(start, [["alice"]]),  # type: ignore[arg-type]
                                                       (start + timedelta(hours=1), [[bad]])])
    booking.now.FromDatetime(DAY)
    began = time.monotonic()
    with pytest.raises(grpc.RpcError) as refused:
        stub.BookSequence(booking, metadata=_auth(TEAM_KEY), timeout=DEADLINE)
    assert time.monotonic() - began < DEADLINE + SLACK
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value.details()
    status = rpc_status.from_call(refused.value)
    assert status is not None and SECRET.encode() not in status.SerializeToString()
    (detail,) = [d for d in status.details if d.Is(booking_pb2.BookingConflictDetails.DESCRIPTOR)]
    conflict = booking_pb2.BookingConflictDetails()
    detail.Unpack(conflict)
    assert [u.resource_id for u in conflict.unavailable_calendars] == [bad]
    _check_reason(conflict.unavailable_calendars[0].reason, bad)
