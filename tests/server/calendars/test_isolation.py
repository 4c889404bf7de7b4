"""Failure isolation, for real: ``convene``'s server on a loopback port reads ICS files and
three loopback HTTP feeds that fail (one hangs, one trickles a byte a second, one answers 500).

200 FindSlots naming the bad feeds come at once; meanwhile and after, FindSlots for other
members of the same tenant and for another tenant must get exactly their answers from before
the burst, with no unavailable calendar, inside their deadlines; every bad request names its
bad feed as unreadable; the server's threads stay bounded and no read outlives its deadline
(the trickling feed sees its connections closed). Then, with the feeds' circuits open, a
second burst does not reach the bad feeds at all.

The cache is off (``cache_seconds: 0``): every healthy request really reads its files.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import Running, start_server
from server.config import parse_config
from tests.providers.icsdata import calendar, event
from tests.providers.loopback import Answer, LoopbackHttp

TEAM_KEY = "team-isolation-key-0123456789"
OTHER_KEY = "other-isolation-key-0123456789"
DAY = datetime(2030, 3, 4, tzinfo=UTC)  # a Monday
BAD = ("hang", "trickle", "broken")
BURST = 200
WORKERS = 32
READS_PER_TENANT = 16
# Wide, so a loaded machine (2 shared cores, the burst's 200 calls queued on 32 workers) still
# answers every bad call inside it. A call gives its calendar reads 3/4 of its time left
# (server.api.service.calendar_deadline): a read of a bad feed ends after READ_GIVE_UP.
BAD_DEADLINE = 8.0
READ_GIVE_UP = BAD_DEADLINE * 0.75
# Wide, so a loaded machine cannot fail a healthy call; that the healthy calls never wait for
# a bad feed is checked on their latencies instead (Watch.median_latency against READ_GIVE_UP).
HEALTHY_DEADLINE = 10.0


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _busy(uid: str, start: datetime, end: datetime) -> str:
    return event(uid, f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(end)}")


@dataclass
class Feeds:
    hang: LoopbackHttp
    trickle: LoopbackHttp
    broken: LoopbackHttp

    def asked(self) -> int:
        return sum(len(server.requests) for server in (self.hang, self.trickle, self.broken))


@pytest.fixture(scope="module")
def feeds() -> Iterator[Feeds]:
    servers = Feeds(LoopbackHttp(), LoopbackHttp(), LoopbackHttp())
    body = calendar(_busy("x", DAY + timedelta(hours=9), DAY + timedelta(hours=10)))
    servers.hang.route("GET", "/hang.ics", Answer(200, body, delay=BAD_DEADLINE + 4))
    servers.trickle.route("GET", "/trickle.ics", Answer(200, body, trickle=1.0))
    servers.broken.route("GET", "/broken.ics", Answer(500, "oops"))
    yield servers
    for server in (servers.hang, servers.trickle, servers.broken):
        server.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, feeds: Feeds) -> Iterator[tuple[Running, grpc.Channel]]:
    folder = tmp_path_factory.mktemp("isolation")
    for name, hour in (("alice", 10), ("bob", 13), ("zoe", 11)):
        start = DAY + timedelta(hours=hour)
        (folder / f"{name}.ics").write_text(calendar(_busy(f"{name}-1", start, start + timedelta(hours=1))))
    member = {"time_zone": "UTC"}
    config = parse_config({
        "server": {"worker_threads": WORKERS, "max_concurrent_rpcs": 4 * BURST, "plaintext": True},
        "calendars": {"cache_seconds": 0, "timeout_seconds": 10, "reads_per_tenant": READS_PER_TENANT,
                      "breaker_cool_down_seconds": 120},
        "database_url": f"sqlite:///{folder / 'bookings.sqlite3'}",
        "api_keys": [{"key": TEAM_KEY, "tenant": "team", "principal": "ops@team.example"},
                     {"key": OTHER_KEY, "tenant": "other", "principal": "ops@other.example"}],
        "tenants": {
            "team": {"members": [
                {"id": "alice", **member, "calendar": {"kind": "ics", "path": "alice.ics"}},
                {"id": "bob", **member, "calendar": {"kind": "ics", "path": "bob.ics"}},
                {"id": "hang", **member, "calendar": {"kind": "ics", "url": f"{feeds.hang.url}/hang.ics"}},
                {"id": "trickle", **member,
                 "calendar": {"kind": "ics", "url": f"{feeds.trickle.url}/trickle.ics"}},
                {"id": "broken", **member, "calendar": {"kind": "ics", "url": f"{feeds.broken.url}/broken.ics"}},
            ]},
            "other": {"members": [{"id": "zoe", **member, "calendar": {"kind": "ics", "path": "zoe.ics"}}]},
        },
    }, base_dir=folder)
    running = start_server(config, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield running, channel
    finally:
        channel.close()
        running.stop(None)


def find(*seats: str) -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(
        rules=meeting_pb2.MeetingRules(seats=[meeting_pb2.Seat(member=meeting_pb2.MemberSeat(candidates=[s]))
                                              for s in seats],
                                       duration=duration_pb2.Duration(seconds=1800), start_interval_minutes=30),
        window_start=timestamp_pb2.Timestamp(seconds=int((DAY + timedelta(hours=9)).timestamp())),
        window_end=timestamp_pb2.Timestamp(seconds=int((DAY + timedelta(hours=17)).timestamp())),
        time_zone="UTC", page_size=100)
    request.now.FromDatetime(DAY)
    return request


def auth(api_key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {api_key}"),)


def answer(reply: api.FindSlotsResponse) -> tuple[object, ...]:
    """What a caller acts on: the starts and who fills each seat."""
    return tuple((s.start.seconds, tuple(tuple(f.resource_ids) for f in s.seats)) for s in reply.slots)


HEALTHY = ((find("alice", "bob"), TEAM_KEY), (find("zoe"), OTHER_KEY))


def convene_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("convene"))


@dataclass
class Watch:
    """Healthy requests sent every 50 ms while ``running``; what they got."""

    stub: api_grpc.SchedulingServiceStub
    expected: list[tuple[object, ...]]
    failures: list[str]
    sent: int = 0
    most_threads: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def median_latency(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0

    def loop(self, running: Callable[[], bool]) -> None:
        while running():
            self.round()
            time.sleep(0.05)

    def round(self) -> None:
        self.most_threads = max(self.most_threads, convene_threads())
        for (request, api_key), expected in zip(HEALTHY, self.expected, strict=True):
            self.sent += 1
            began = time.monotonic()
            try:
                reply = self.stub.FindSlots(request, metadata=auth(api_key), timeout=HEALTHY_DEADLINE)
                self.latencies.append(time.monotonic() - began)
            except grpc.RpcError as exc:
                self.failures.append(f"{exc.code()}: {exc.details()}")
                continue
            if reply.unavailable_calendars or answer(reply) != expected:
                self.failures.append(f"changed: {reply.unavailable_calendars} {answer(reply)}")


def burst(stub: api_grpc.SchedulingServiceStub, watch: Watch) -> list[api.FindSlotsResponse | grpc.RpcError]:
    """``BURST`` FindSlots naming the bad feeds at once, with ``watch`` running meanwhile and a while after."""
    calls = [stub.FindSlots.future(find("alice", BAD[i % 3]), metadata=auth(TEAM_KEY), timeout=BAD_DEADLINE)
             for i in range(BURST)]
    done = threading.Event()
    watcher = threading.Thread(target=watch.loop, args=(lambda: not done.is_set(),))
    watcher.start()
    replies: list[api.FindSlotsResponse | grpc.RpcError] = []
    for call in calls:
        try:
            replies.append(call.result(timeout=BAD_DEADLINE + 5))
        except grpc.RpcError as exc:
            replies.append(exc)
    time.sleep(0.5)  # and after
    done.set()
    watcher.join(10)
    return replies


def test_bad_feeds_hurt_only_the_requests_that_name_them(served: tuple[Running, grpc.Channel], feeds: Feeds):
    _, channel = served
    stub = api_grpc.SchedulingServiceStub(channel)
    expected = [answer(stub.FindSlots(request, metadata=auth(api_key), timeout=HEALTHY_DEADLINE))
                for request, api_key in HEALTHY]
    assert expected[0] and expected[1]  # both healthy requests have free starts
    threads_before = convene_threads()

    # The burst, with healthy requests of both tenants meanwhile and after.
    watch = Watch(stub, expected, [])
    began = time.monotonic()
    replies = burst(stub, watch)
    assert time.monotonic() - began < BAD_DEADLINE + 2
    assert watch.failures == [] and watch.sent >= 10
    # Not one of them waited for a bad feed: a healthy call that did would take READ_GIVE_UP.
    assert watch.median_latency < READ_GIVE_UP / 4, watch.latencies

    # Every bad request was answered, naming its bad feed unreadable (never free).
    reasons: dict[str, set[str]] = {name: set() for name in BAD}
    for i, reply in enumerate(replies):
        assert isinstance(reply, api.FindSlotsResponse), f"request {i}: {reply}"
        (unreadable,) = reply.unavailable_calendars
        assert unreadable.resource_id == BAD[i % 3] and reply.total_available == 0
        reasons[unreadable.resource_id].add(_kind(unreadable.reason))
    assert reasons["hang"] <= {"timeout", "busy", "circuit open"} and "timeout" in reasons["hang"]
    assert reasons["trickle"] <= {"timeout", "busy", "circuit open"} and "timeout" in reasons["trickle"]
    assert reasons["broken"] <= {"HTTP 500", "timeout", "busy", "circuit open"} and "HTTP 500" in reasons["broken"]

    # Bounded: the server's threads (RPC workers, two tenants' readers, the HTTP loop), and
    # each feed was asked only its bulkhead's share (4 reads at once; the 500 one retried).
    assert watch.most_threads <= threads_before + WORKERS + 2 * READS_PER_TENANT + 1
    # Four at once, and those started as a failed read freed its slot before the circuit opened.
    assert 4 <= len(feeds.hang.requests) <= 4 + 2 and 4 <= len(feeds.trickle.requests) <= 4 + 2
    assert 4 <= len(feeds.broken.requests) <= (4 + 2) * 4  # four attempts each
    # No read outlived its deadline: the trickling feed found every connection closed.
    closed = _eventually(lambda: feeds.trickle.hung_up == len(feeds.trickle.requests), seconds=5)
    assert closed, f"{feeds.trickle.hung_up} of {len(feeds.trickle.requests)} connections closed"


def test_with_their_circuits_open_the_bad_feeds_are_not_asked(served: tuple[Running, grpc.Channel], feeds: Feeds):
    _, channel = served
    stub = api_grpc.SchedulingServiceStub(channel)
    expected = [answer(stub.FindSlots(request, metadata=auth(api_key), timeout=HEALTHY_DEADLINE))
                for request, api_key in HEALTHY]
    _open_circuits(stub)  # the first test may not have run (-k)
    asked = feeds.asked()

    watch = Watch(stub, expected, [])
    began = time.monotonic()
    replies = burst(stub, watch)
    assert time.monotonic() - began < READ_GIVE_UP  # nobody waited for a feed
    assert watch.failures == []
    assert feeds.asked() == asked  # not one request reached a bad feed during the cool-down
    for i, reply in enumerate(replies):
        assert isinstance(reply, api.FindSlotsResponse), f"request {i}: {reply}"
        (unreadable,) = reply.unavailable_calendars
        assert unreadable.resource_id == BAD[i % 3]
        assert unreadable.reason.endswith("(circuit open)"), unreadable.reason
        assert "skipped for" in unreadable.reason and "failed reads in a row" in unreadable.reason


def _open_circuits(stub: api_grpc.SchedulingServiceStub) -> None:
    """Until every bad feed's circuit is open (three failed reads each), the feeds asked at once.

    Set-up, not a property: a call the loaded machine answers late is just asked again."""
    for _ in range(10):
        calls = [stub.FindSlots.future(find("alice", name), metadata=auth(TEAM_KEY), timeout=3.0) for name in BAD]
        reasons = []
        for call in calls:
            try:
                reasons.append(call.result().unavailable_calendars[0].reason)
            except grpc.RpcError:
                reasons.append("")
        if all(reason.endswith("(circuit open)") for reason in reasons):
            return
    raise AssertionError("the circuits did not open")


def _kind(reason: str) -> str:
    for kind in ("circuit open", "busy", "timeout", "HTTP 500"):
        if kind in reason:
            return kind
    return reason


def _eventually(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    stop = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > stop:
            return False
        time.sleep(0.05)
    return True
