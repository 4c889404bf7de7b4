"""``convene``: run the server, or ask it for slots from a terminal.

    convene serve --config convene.yaml [--address 0.0.0.0:50051] [--http-address 127.0.0.1:8080]
    convene slots --target localhost:50051 --api-key KEY --template discovery-call \\
                  --from 2026-12-07 --to 2026-12-11 --zone Europe/London
    convene check --config convene.yaml --api-key KEY --template technical-demo \\
                  --start 2026-12-08T15:00 --zone Europe/London
    convene slots ... --seat "AE=member:maria,james" --seat "SE=pool:sales-engineers:1" \\
                  --seat "room=room:huddle-nyc,pool/nyc-rooms" --duration 45m --json
    convene book --target localhost:50051 --api-key KEY --template technical-demo \\
                 --zone America/New_York --start 2026-12-08T15:00 --customer "Carla <carla@initech.example>" \\
                 [--assign maria --assign sam --assign dana --assign demo-lab] [--request-id ID]
    convene bookings --target localhost:50051 --api-key KEY [--resource maria] [--from 2026-12-07]
    convene cancel --target localhost:50051 --api-key KEY BOOKING_ID
    convene reschedule --target localhost:50051 --api-key KEY BOOKING_ID --start 2026-12-09T10:00 \
                 --zone Europe/London [--etag 2] [--allow-conflicts] [--preview] [--assign ...] [--request-id ID]
    convene replace --target localhost:50051 --api-key KEY BOOKING_ID --seat engineer [--member dana]
    convene batch examples/batch/hiring-week.json [--config convene.yaml] [--out result]
    convene tune examples/batch/hiring-week.json --grid alternate=1,10 earliness=0,0.1
    convene check-config convene.yaml            # every problem, and every calendar read once
    convene migrate --config convene.yaml        # bring the booking database's schema up to date
    convene health --target host:50051 [--tls --ca ca.pem]   # exit 0 when SERVING (the image's health check)

A client command reaches a TLS server with ``--tls`` (the system's CAs),
``--ca FILE`` (a private CA), and for mutual TLS ``--cert FILE --key FILE``
(the client certificate and its key; ``--key`` defaults to ``--cert``, for a
PEM holding both); ``--server-name`` checks the certificate for that name
when ``--target`` is an address.

``--target`` calls a running server; ``--config`` instead starts one in this
process on a free loopback port (same code path, nothing to run first). Naive
times are local to ``--zone``; a date-only ``--to`` includes that day.
``--json`` prints the reply as JSON (proto field names) for scripts.
``book`` without ``--assign`` books the assignment CheckTime proposes for that
start. ``--request-id`` with ``--assign`` makes a retry safe (the same id and
flags book once); without ``--assign`` a retry may be proposed another
assignment (the first booking took the slot) and is refused as ALREADY_EXISTS.
``reschedule`` keeps each seat's member where free at the new start (``--assign``
names them all instead); ``--preview`` shows what would change and what is in
the way, committing nothing. ``replace`` swaps one person of a seat (by index
or label; ``--leaving`` names who, for a seat of several) for ``--member`` or
the cheapest free candidate. ``--etag`` (Booking.etag) refuses the change if
the booking changed since it was read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from convene.v1 import booking_pb2, meeting_pb2, sequences_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import safe_url, start_server
from server.api.processes import serve
from server.booking.store import PoolSettings, StoreError, open_store
from server.cli.batch import add_batch_commands
from server.cli.jobs import add_job_command
from server.cli.preflight import check_config
from server.cli.render.bookings import booking_report, bookings_report
from server.cli.render.sequences import loop_report
from server.cli.render.slots import check_report, slots_report
from server.cli.webhooks import add_webhooks_command
from server.config import ConfigError, load_config, parse_duration
from server.config.extras import MissingExtra
from solver.validate import is_zone

__all__ = ["connect", "describe_error", "main", "parse_seat"]


class UsageError(Exception):
    """A command-line argument that cannot be used; the message says which and why."""


# --- Arguments -> request ------------------------------------------------------------


def parse_seat(spec: str) -> meeting_pb2.Seat:
    """``[LABEL=]member:ID,ID`` | ``[LABEL=]pool:POOL[:COUNT]`` | ``[LABEL=]room:ID,pool/POOL``."""
    label, sep, body = spec.partition("=")
    if not sep:
        label, body = "", spec
    kind, _, ids_text = body.partition(":")
    ids = [i.strip() for i in ids_text.split(",") if i.strip()]
    if kind == "member" and ids:
        return meeting_pb2.Seat(label=label, member=meeting_pb2.MemberSeat(candidates=ids))
    if kind == "pool" and ids_text:
        pool_id, _, count = ids_text.partition(":")
        if count and not count.isdigit():
            raise UsageError(f"--seat {spec!r}: the count after the pool id must be a number")
        return meeting_pb2.Seat(label=label, pool=meeting_pb2.PoolSeat(pool_id=pool_id, count=int(count or 1)))
    if kind == "room" and ids:
        rooms = [i for i in ids if not i.startswith("pool/")]
        pools = [i.removeprefix("pool/") for i in ids if i.startswith("pool/")]
        return meeting_pb2.Seat(label=label, room=meeting_pb2.RoomSeat(room_ids=rooms, pool_ids=pools))
    raise UsageError(f"--seat {spec!r}: expected member:ID[,ID...], pool:POOL[:COUNT] or room:ID[,pool/POOL...]")


def _instant(text: str, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """ISO date or date-time; naive values are local to ``zone``; a date is its midnight
    (the next midnight with ``end_of_day``, so a date-only end includes that day)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end_of_day else 0)
            return datetime.combine(day, time(0), zone)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not an ISO date or date-time (2026-12-07, 2026-12-07T09:30)") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _rules(args: argparse.Namespace) -> meeting_pb2.MeetingRules:
    rules = meeting_pb2.MeetingRules(seats=[parse_seat(s) for s in args.seat],
                                     optional_member_ids=args.optional)
    if args.duration:
        try:
            rules.duration.FromTimedelta(parse_duration(args.duration))
        except ValueError as exc:
            raise UsageError(f"--duration: {exc}") from exc
    return rules


def _meeting(args: argparse.Namespace) -> dict[str, Message]:
    rules = _rules(args)
    if args.template:
        return {"template": meeting_pb2.TemplateRef(template_id=args.template, overrides=rules)}
    if not args.seat or not args.duration:
        raise UsageError("name a --template, or give --duration and at least one --seat")
    return {"rules": rules}


def _zone(args: argparse.Namespace) -> ZoneInfo:
    if not is_zone(args.zone):
        raise UsageError(f"--zone {args.zone!r} is not an IANA time zone (e.g. Europe/London)")
    return ZoneInfo(args.zone)


def find_slots_request(args: argparse.Namespace) -> api.FindSlotsRequest:
    zone = _zone(args)
    start = _instant(args.from_, zone)
    end = _instant(args.to, zone, end_of_day=True) if args.to else start + timedelta(days=7)
    request = api.FindSlotsRequest(
        time_zone=args.zone, page_size=args.limit, page_token=args.page_token,
        order=api.ORDER_BEST_FIRST if args.order == "best" else api.ORDER_CHRONOLOGICAL,
        max_alternatives=args.alternatives, want_alternatives=args.alternatives > 0,
        **_meeting(args),
    )
    request.window_start.FromDatetime(start)
    request.window_end.FromDatetime(end)
    if args.now:
        request.now.FromDatetime(_instant(args.now, zone))
    return request


def _minutes_flag(text: str | None, flag: str) -> timedelta | None:
    if not text:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from exc


def loop_request(args: argparse.Namespace) -> api.FindSequencesRequest:
    """``convene loop``: a loop template (``--loop``) or segments from meeting templates
    (``--segment TEMPLATE[=LABEL][:DURATION]``), with order and gap flags as overrides."""
    zone = _zone(args)
    start = _instant(args.from_, zone)
    end = _instant(args.to, zone, end_of_day=True) if args.to else start + timedelta(days=7)
    rules = sequences_pb2.SequenceRules(any_order=args.any_order, allow_member_repeat=args.allow_repeat)
    for spec in args.segment:
        head, _, minutes = spec.partition(":")
        template, _, label = head.partition("=")
        overrides = meeting_pb2.MeetingRules()
        duration = _minutes_flag(minutes, f"--segment {spec!r}")
        if duration is not None:
            overrides.duration.FromTimedelta(duration)
        rules.segments.add(label=label or template,
                           template=meeting_pb2.TemplateRef(template_id=template, overrides=overrides))
    for name, flag in (("min_gap", "--min-gap"), ("max_gap", "--max-gap"), ("max_span", "--max-span")):
        value = _minutes_flag(getattr(args, name), flag)
        if value is not None:
            getattr(rules, name).FromTimedelta(value)
    if args.loop:
        sequence: dict[str, Message] = {"template": sequences_pb2.LoopTemplateRef(template_id=args.loop,
                                                                                 overrides=rules)}
    elif args.segment:
        sequence = {"rules": rules}
    else:
        raise UsageError("name a --loop template, or give --segment TEMPLATE at least once")
    request = api.FindSequencesRequest(
        time_zone=args.zone, page_size=args.limit, page_token=args.page_token,
        order=api.ORDER_BEST_FIRST if args.order == "best" else api.ORDER_CHRONOLOGICAL,
        max_alternatives=args.alternatives, want_alternatives=args.alternatives > 0, **sequence)
    request.window_start.FromDatetime(start)
    request.window_end.FromDatetime(end)
    if args.now:
        request.now.FromDatetime(_instant(args.now, zone))
    return request


def _loop(args: argparse.Namespace) -> int:
    request = loop_request(args)
    with _stub(args) as stub:
        reply = stub.FindSequences(request, metadata=bearer(args.api_key), timeout=args.timeout)
    if args.json:
        print(_json(reply))
        return 0
    print(loop_report(reply, args.zone))
    if reply.next_page_token:
        print(f"Next page: --page-token {reply.next_page_token}")
    return 0


def check_time_request(args: argparse.Namespace) -> api.CheckTimeRequest:
    zone = _zone(args)
    request = api.CheckTimeRequest(time_zone=args.zone, **_meeting(args))
    request.start.FromDatetime(_instant(args.start, zone))
    if args.now:
        request.now.FromDatetime(_instant(args.now, zone))
    return request


# --- Calling the server --------------------------------------------------------------


def _read(path: str | None, flag: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot read ({exc.strerror or exc})") from None


def channel_to(target: str, args: argparse.Namespace | None = None) -> grpc.Channel:
    """A channel to ``target``: plaintext, or TLS when ``args`` asks for it (--tls, --ca, --cert)."""
    tls = args is not None and (args.tls or args.ca or args.cert)
    if not tls:
        return grpc.insecure_channel(target)
    assert args is not None
    if args.key and not args.cert:
        raise UsageError("--key needs --cert")
    credentials = grpc.ssl_channel_credentials(root_certificates=_read(args.ca, "--ca"),
                                               private_key=_read(args.key or args.cert, "--key"),
                                               certificate_chain=_read(args.cert, "--cert"))
    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    return grpc.secure_channel(target, credentials, options=options)


def connect(target: str, args: argparse.Namespace | None = None) -> tuple[grpc.Channel,
                                                                          api_grpc.SchedulingServiceStub]:
    channel = channel_to(target, args)
    return channel, api_grpc.SchedulingServiceStub(channel)


def bearer(api_key: str) -> tuple[tuple[str, str]]:
    """Call metadata for an API key."""
    return (("authorization", f"Bearer {api_key}"),)


@contextlib.contextmanager
def _stub(args: argparse.Namespace) -> Iterator[api_grpc.SchedulingServiceStub]:
    """A stub to ``--target``, or to a server started here from ``--config``."""
    if args.target:
        channel, stub = connect(args.target, args)
        with channel:
            yield stub
        return
    # In this process and on loopback only: plaintext, whatever the config's transport is.
    config = load_config(args.config)
    config = config.model_copy(update={"server": config.server.model_copy(update={"tls": None, "plaintext": True})})
    running = start_server(config, "127.0.0.1:0")
    try:
        channel, stub = connect(f"127.0.0.1:{running.port}")
        with channel:
            yield stub
    finally:
        running.stop(None)


def describe_error(error: grpc.RpcError) -> str:
    """A failed call in words: the code, the message, then one line per field violation."""
    lines = [f"{error.code().name}: {error.details()}"]
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines += [f"  {v.field}: {v.description}" for v in bad.field_violations]
    return "\n".join(lines)


def _json(reply: Message) -> str:
    # Every field, defaults included ("available": false), so scripts need no fallbacks.
    return json.dumps(json_format.MessageToDict(reply, preserving_proto_field_name=True,
                                                always_print_fields_with_no_presence=True), indent=2)


def _slots(args: argparse.Namespace) -> int:
    request = find_slots_request(args)
    with _stub(args) as stub:
        reply = stub.FindSlots(request, metadata=bearer(args.api_key), timeout=args.timeout)
    if args.json:
        print(_json(reply))
        return 0
    print(slots_report(reply, args.zone))
    if reply.next_page_token:
        print(f"Next page: --page-token {reply.next_page_token}")
    return 0


def _check(args: argparse.Namespace) -> int:
    request = check_time_request(args)
    with _stub(args) as stub:
        reply = stub.CheckTime(request, metadata=bearer(args.api_key), timeout=args.timeout)
    print(_json(reply) if args.json else check_report(reply, args.zone))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    problems = check_config(args.file)
    if not problems:
        print(f"{args.file}: ok")
        return 0
    print(f"{args.file}: {len(problems)} problem{'s' if len(problems) > 1 else ''}", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _migrate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    url = args.database or config.database_url
    try:
        store = open_store(url, migrate=False, pool=PoolSettings(min_size=1, max_size=1))
    except ValueError as exc:
        raise ConfigError(f"database_url: {exc}") from None
    with store:
        before = store.schema_version()
        after = store.migrate(args.to)
    print(f"{safe_url(url)}: schema version {before} -> {after}"
          + (" (up to date)" if before == after else ""))
    return 0


def _health(args: argparse.Namespace) -> int:
    with channel_to(args.target, args) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=args.service),
                                                          timeout=args.timeout)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status)
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.database:
        config = config.model_copy(update={"database_url": args.database})
    if args.http_address:
        config = config.model_copy(update={"server": config.server.model_copy(
            update={"http_address": args.http_address})})
    return serve(config, args.address)


def _listen_address(text: str) -> str:
    """``host:port`` (port 0: any free one), as the config's ``http_address`` takes it."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535 or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port")
    return text


# --- Bookings ------------------------------------------------------------------------


def parse_customer(text: str) -> booking_pb2.Person:
    """``"Carla Customer <carla@initech.example>"`` or a bare address."""
    name, address = parseaddr(text)
    if "@" not in address:
        raise UsageError(f"--customer {text!r}: expected 'Name <email>' or an email address")
    return booking_pb2.Person(name=name, email=address)


def create_booking_request(args: argparse.Namespace) -> api.CreateBookingRequest:
    zone = _zone(args)
    request = api.CreateBookingRequest(
        request_id=args.request_id or uuid.uuid4().hex, time_zone=args.zone, **_meeting(args),
        seats=[booking_pb2.SeatChoice(resource_ids=[i.strip() for i in spec.split(",") if i.strip()])
               for spec in args.assign],
        customers=[parse_customer(c) for c in args.customer], title=args.title or "",
        organizer_member_id=args.organizer or "", allow_conflicts=args.allow_conflicts,
        hold_id=args.hold or "", description=args.description or "", location=args.location or "")
    request.start.FromDatetime(_instant(args.start, zone))
    if args.now:
        request.now.FromDatetime(_instant(args.now, zone))
    return request


def _proposed_seats(stub: api_grpc.SchedulingServiceStub, args: argparse.Namespace,
                    request: api.CreateBookingRequest) -> list[booking_pb2.SeatChoice] | None:
    """The assignment CheckTime proposes at the start (None, after saying why, when there is none)."""
    check = check_time_request(args)
    reply = stub.CheckTime(check, metadata=bearer(args.api_key), timeout=args.timeout)
    if reply.HasField("slot") and (reply.available or args.allow_conflicts):
        return [booking_pb2.SeatChoice(resource_ids=fill.resource_ids) for fill in reply.slot.seats]
    print(check_report(reply, args.zone), file=sys.stderr)
    return None


def _book(args: argparse.Namespace) -> int:
    request = create_booking_request(args)
    with _stub(args) as stub:
        if not request.seats:
            seats = _proposed_seats(stub, args, request)
            if seats is None:
                return 1
            request.seats.extend(seats)
        reply = stub.CreateBooking(request, metadata=bearer(args.api_key), timeout=args.timeout)
    if args.json:
        print(_json(reply))
        return 0
    print(("Already booked by this request id:\n" if reply.replayed else "") + booking_report(reply.booking, args.zone))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with _stub(args) as stub:
        reply = stub.CancelBooking(api.CancelBookingRequest(booking_id=args.booking_id),
                                   metadata=bearer(args.api_key), timeout=args.timeout)
    print(_json(reply) if args.json else booking_report(reply.booking, args.zone))
    return 0


def reschedule_request(args: argparse.Namespace) -> api.RescheduleBookingRequest:
    zone = _zone(args)
    request = api.RescheduleBookingRequest(
        booking_id=args.booking_id, request_id="" if args.preview else (args.request_id or uuid.uuid4().hex),
        etag=args.etag or "", allow_conflicts=args.allow_conflicts, validate_only=args.preview,
        seats=[booking_pb2.SeatChoice(resource_ids=[i.strip() for i in spec.split(",") if i.strip()])
               for spec in args.assign])
    request.start.FromDatetime(_instant(args.start, zone))
    if args.now:
        request.now.FromDatetime(_instant(args.now, zone))
    return request


def _change_report(reply: api.RescheduleBookingResponse, zone: str, preview: bool) -> str:
    lines = []
    if preview:
        lines.append("Preview (nothing changed): " + ("the move can be made" if reply.available
                                                       else f"the move would be refused: {reply.reason}"))
    elif reply.replayed:
        lines.append("Already done by this request id:")
    if reply.changed_seats:
        lines.append("Seats changed: " + ", ".join(str(i) for i in reply.changed_seats))
    for c in reply.conflicts:
        lines.append(f"In the way: {c.resource_id} {c.start.ToDatetime():%Y-%m-%d %H:%M}-"
                     f"{c.end.ToDatetime():%H:%M} UTC ({slots_pb2.ConflictKind.Name(c.kind)})")
    lines.append(booking_report(reply.booking, zone))
    return "\n".join(lines)


def _reschedule(args: argparse.Namespace) -> int:
    request = reschedule_request(args)
    with _stub(args) as stub:
        reply = stub.RescheduleBooking(request, metadata=bearer(args.api_key), timeout=args.timeout)
    print(_json(reply) if args.json else _change_report(reply, args.zone, args.preview))
    return 0 if reply.available else 1


def _replace(args: argparse.Namespace) -> int:
    with _stub(args) as stub:
        seat = args.seat
        if not seat.isdigit():
            booking = stub.GetBooking(api.GetBookingRequest(booking_id=args.booking_id),
                                      metadata=bearer(args.api_key), timeout=args.timeout).booking
            labels = [s.label for s in booking.seats]
            if seat not in labels:
                raise UsageError(f"--seat {seat!r}: the booking's seats are {', '.join(labels) or 'unlabelled'} "
                                 "(or give an index from 0)")
            seat = str(labels.index(seat))
        request = api.RescheduleBookingRequest(
            booking_id=args.booking_id, request_id=args.request_id or uuid.uuid4().hex, etag=args.etag or "",
            allow_conflicts=args.allow_conflicts, validate_only=args.preview,
            replacement=api.SeatReplacement(seat_index=int(seat), replaced_id=args.leaving or "",
                                            resource_id=args.member or ""))
        if args.preview:
            request.request_id = ""
        if args.now:
            request.now.FromDatetime(_instant(args.now, _zone(args)))
        reply = stub.RescheduleBooking(request, metadata=bearer(args.api_key), timeout=args.timeout)
    print(_json(reply) if args.json else _change_report(reply, args.zone, args.preview))
    return 0 if reply.available else 1


def _bookings(args: argparse.Namespace) -> int:
    zone = _zone(args)
    request = api.ListBookingsRequest(page_size=args.limit, page_token=args.page_token,
                                      resource_id=args.resource or "",
                                      status={"confirmed": booking_pb2.BOOKING_STATUS_CONFIRMED,
                                              "cancelled": booking_pb2.BOOKING_STATUS_CANCELLED,
                                              "any": booking_pb2.BOOKING_STATUS_UNSPECIFIED}[args.status])
    if args.from_:
        request.window_start.FromDatetime(_instant(args.from_, zone))
    if args.to:
        request.window_end.FromDatetime(_instant(args.to, zone, end_of_day=True))
    with _stub(args) as stub:
        reply = stub.ListBookings(request, metadata=bearer(args.api_key), timeout=args.timeout)
    if args.json:
        print(_json(reply))
        return 0
    print(bookings_report(reply.bookings, args.zone))
    if reply.next_page_token:
        print(f"Next page: --page-token {reply.next_page_token}")
    return 0


# --- Parser --------------------------------------------------------------------------


def _tls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls", action="store_true", help="call the server over TLS (the system's CAs)")
    parser.add_argument("--ca", help="PEM file of the CA that signed the server's certificate (implies --tls)")
    parser.add_argument("--cert", help="PEM client certificate for mutual TLS (implies --tls)")
    parser.add_argument("--key", help="PEM key of --cert (default: the --cert file)")
    parser.add_argument("--server-name", help="the name the server's certificate must carry (default: --target's host)")


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", help="host:port of a running server")
    where.add_argument("--config", help="run in-process on this config instead of calling a server")
    _tls_arguments(parser)
    parser.add_argument("--api-key", default=os.environ.get("CONVENE_API_KEY"),
                        help="API key (default: $CONVENE_API_KEY)")
    parser.add_argument("--timeout", type=float, default=30.0, help="call deadline in seconds")
    parser.add_argument("--json", action="store_true", help="print the reply as JSON")


def _client_arguments(parser: argparse.ArgumentParser) -> None:
    _connection_arguments(parser)
    parser.add_argument("--template", help="a template id (other meeting flags override its fields)")
    parser.add_argument("--duration", help="meeting length: 30m, 1h, 1h30m")
    parser.add_argument("--seat", action="append", default=[],
                        help="[LABEL=]member:ID,ALT... | pool:POOL[:COUNT] | room:ID,pool/POOL... (repeatable)")
    parser.add_argument("--optional", action="append", default=[], help="optional member id (repeatable)")
    parser.add_argument("--zone", required=True, help="the customer's IANA time zone")
    parser.add_argument("--now", help="the instant minimum notice counts from (default: the server's clock)")


def _change_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--etag", help="the booking's etag as read: refused (ABORTED) if it changed since")
    parser.add_argument("--allow-conflicts", action="store_true",
                        help="move even if members are busy (rooms are never double-booked)")
    parser.add_argument("--preview", action="store_true", help="show what would change; commit nothing")
    parser.add_argument("--request-id", help="idempotency id: a retry with the same id changes once")
    parser.add_argument("--now", help="the instant minimum notice counts from (default: the server's clock)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convene", description="Convene panel scheduling.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (server logs)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the gRPC server")
    serve_cmd.add_argument("--config", required=True, help="YAML config file")
    serve_cmd.add_argument("--address", help="host:port to listen on (default: the config's)")
    serve_cmd.add_argument("--http-address", type=_listen_address,
                           help="host:port of the HTTP (JSON, gRPC-Web) listener and the console, "
                                "overriding the config's server.http_address (port 0: any free one)")
    serve_cmd.add_argument("--database", help="booking database URL, overriding the config's database_url "
                                              "(sqlite:///path or postgresql://user@host:5432/db)")
    serve_cmd.set_defaults(run=_serve)

    check_config_cmd = commands.add_parser("check-config", help="list every problem of a config, read its calendars")
    check_config_cmd.add_argument("file", help="YAML config file")
    check_config_cmd.set_defaults(run=_check_config)

    migrate_cmd = commands.add_parser("migrate", help="bring the booking database's schema up to date")
    migrate_cmd.add_argument("--config", required=True, help="YAML config file (its database_url)")
    migrate_cmd.add_argument("--database", help="booking database URL, overriding the config's")
    migrate_cmd.add_argument("--to", type=int, help="stop at this schema version (default: the newest)")
    migrate_cmd.set_defaults(run=_migrate)

    health_cmd = commands.add_parser("health", help="ask a server's health service (exit 0 when SERVING)")
    health_cmd.add_argument("--target", required=True, help="host:port of the server")
    health_cmd.add_argument("--service", default="", help="service name (default: the whole server)")
    health_cmd.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    _tls_arguments(health_cmd)
    health_cmd.set_defaults(run=_health)

    slots_cmd = commands.add_parser("slots", help="find the starts at which the panel can meet")
    _client_arguments(slots_cmd)
    slots_cmd.add_argument("--from", dest="from_", required=True, help="window start (date or date-time)")
    slots_cmd.add_argument("--to", help="window end (default: a week after --from)")
    slots_cmd.add_argument("--order", choices=("chronological", "best"), default="chronological")
    slots_cmd.add_argument("--limit", type=int, default=0, help="slots per page (0: all)")
    slots_cmd.add_argument("--page-token", default="", help="next_page_token of a previous reply")
    slots_cmd.add_argument("--alternatives", type=int, default=0,
                           help="also show up to this many least-conflict unavailable starts")
    slots_cmd.set_defaults(run=_slots)

    loop_cmd = commands.add_parser("loop", help="find interview loops: several meetings in a row")
    _connection_arguments(loop_cmd)
    loop_cmd.add_argument("--loop", help="a loop template id (the flags below override its fields)")
    loop_cmd.add_argument("--segment", action="append", default=[],
                          help="TEMPLATE[=LABEL][:DURATION], one per segment in order (repeatable)")
    loop_cmd.add_argument("--any-order", action="store_true", help="the segments may come in any order")
    loop_cmd.add_argument("--allow-repeat", action="store_true", help="a member may sit in two segments")
    loop_cmd.add_argument("--min-gap", help="least time between segments (default 0)")
    loop_cmd.add_argument("--max-gap", help="most time between segments (default 0: back to back)")
    loop_cmd.add_argument("--max-span", help="first start to last end (default 1d)")
    loop_cmd.add_argument("--zone", required=True, help="the customer's IANA time zone")
    loop_cmd.add_argument("--now", help="the instant minimum notice counts from (default: the server's clock)")
    loop_cmd.add_argument("--from", dest="from_", required=True, help="window start (date or date-time)")
    loop_cmd.add_argument("--to", help="window end (default: a week after --from)")
    loop_cmd.add_argument("--order", choices=("chronological", "best"), default="chronological")
    loop_cmd.add_argument("--limit", type=int, default=0, help="options per page (0: all)")
    loop_cmd.add_argument("--page-token", default="", help="next_page_token of a previous reply")
    loop_cmd.add_argument("--alternatives", type=int, default=0,
                          help="also show up to this many least-conflict first starts")
    loop_cmd.set_defaults(run=_loop)

    check_cmd = commands.add_parser("check", help="check one start time")
    _client_arguments(check_cmd)
    check_cmd.add_argument("--start", required=True, help="the start (date-time)")
    check_cmd.set_defaults(run=_check)

    add_batch_commands(commands)  # batch, tune: in-process on a config (server/cli/batch.py)
    add_webhooks_command(commands, _connection_arguments, _stub, _json)  # server/cli/webhooks.py
    add_job_command(commands, _connection_arguments, _stub, _json)  # batch jobs: server/cli/jobs.py

    book_cmd = commands.add_parser("book", help="book a meeting at one start")
    _client_arguments(book_cmd)
    book_cmd.add_argument("--start", required=True, help="the start (date-time)")
    book_cmd.add_argument("--assign", action="append", default=[],
                          help="who fills the next seat: ID, or ID,ID for a pool seat of 2 (repeat per seat, "
                               "in order; default: CheckTime's proposal)")
    book_cmd.add_argument("--customer", action="append", default=[],
                          help="'Name <email>' who gets the invitation (repeatable)")
    book_cmd.add_argument("--title", help="the event's title (default: the template's name)")
    book_cmd.add_argument("--organizer", help="member id of the organizer (default: the first member seated)")
    book_cmd.add_argument("--allow-conflicts", action="store_true",
                          help="book even if members are busy (rooms are never double-booked)")
    book_cmd.add_argument("--hold", help="the id of a hold (HoldSlot) to book over")
    book_cmd.add_argument("--description", help="the event's description")
    book_cmd.add_argument("--location", help="the event's location (default: the booked rooms)")
    book_cmd.add_argument("--request-id", help="idempotency id: a retry with the same id books once "
                                               "(default: a fresh one)")
    book_cmd.set_defaults(run=_book)

    cancel_cmd = commands.add_parser("cancel", help="cancel a booking")
    _connection_arguments(cancel_cmd)
    cancel_cmd.add_argument("booking_id", help="the booking's id")
    cancel_cmd.add_argument("--zone", default="UTC", help="IANA zone to show times in")
    cancel_cmd.set_defaults(run=_cancel)

    reschedule_cmd = commands.add_parser("reschedule", help="move a booking to a new start")
    _connection_arguments(reschedule_cmd)
    reschedule_cmd.add_argument("booking_id", help="the booking's id")
    reschedule_cmd.add_argument("--start", required=True, help="the new start (date-time)")
    reschedule_cmd.add_argument("--zone", default="UTC", help="IANA zone of naive times and of the output")
    reschedule_cmd.add_argument("--assign", action="append", default=[],
                                help="who fills each seat at the new start, one per seat in order "
                                     "(comma-separated for a pool seat); default: keep members where free")
    _change_arguments(reschedule_cmd)
    reschedule_cmd.set_defaults(run=_reschedule)

    replace_cmd = commands.add_parser("replace", help="replace one person of a booking's seat")
    _connection_arguments(replace_cmd)
    replace_cmd.add_argument("booking_id", help="the booking's id")
    replace_cmd.add_argument("--seat", required=True, help="the seat: its label or its index from 0")
    replace_cmd.add_argument("--member", help="who takes the place (default: the cheapest free candidate)")
    replace_cmd.add_argument("--leaving", help="who leaves, for a seat of several members")
    replace_cmd.add_argument("--zone", default="UTC", help="IANA zone to show times in")
    _change_arguments(replace_cmd)
    replace_cmd.set_defaults(run=_replace)

    list_cmd = commands.add_parser("bookings", help="list bookings")
    _connection_arguments(list_cmd)
    list_cmd.add_argument("--resource", help="only bookings holding this member or room")
    list_cmd.add_argument("--from", dest="from_", help="only bookings overlapping from here (date or date-time)")
    list_cmd.add_argument("--to", help="... up to here (a date includes that day)")
    list_cmd.add_argument("--status", choices=("confirmed", "cancelled", "any"), default="any")
    list_cmd.add_argument("--zone", default="UTC", help="IANA zone of naive times and of the output")
    list_cmd.add_argument("--limit", type=int, default=0, help="bookings per page (0: 100)")
    list_cmd.add_argument("--page-token", default="", help="next_page_token of a previous reply")
    list_cmd.set_defaults(run=_bookings)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # These run on a config in this process, or ask only the health service: no key.
    if args.command not in ("serve", "batch", "tune", "check-config", "migrate", "health") and not args.api_key:
        parser.error("--api-key (or $CONVENE_API_KEY) is required")
    try:
        code: int = args.run(args)
    except UsageError as exc:
        parser.error(str(exc))
    except (ConfigError, StoreError, MissingExtra) as exc:  # a bad config, an unreachable database, no extra
        print(exc, file=sys.stderr)
        return 2
    except grpc.RpcError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 1
    return code

