"""The SchedulingService servicer: thin. Each RPC reads top to bottom as

    authenticate -> request to domain (server.wire) -> validate (solver)
    -> fetch busy (server.calendars) -> bitsets + assign (solver) -> reply (server.wire)

No scheduling rule lives here. Failures are raised, and ``errors.guarded``
turns each into a status with details.

Both transports call these methods: the grpcio server, and the Connect adapter
(``server.api.connect``: HTTP/JSON and gRPC-Web) with a context of its own.
``context`` is read only through ``server.api.call.CallContext``, so an RPC
written here is served on both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from convene.v1 import meeting_pb2, schedule_pb2, webhooks_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server import wire
from server.api.access import note_caller
from server.api.auth import ApiKeys, Caller, Unauthenticated, peer_of
from server.api.call import CallContext
from server.api.errors import guarded
from server.api.streaming import stream_guarded
from server.batch.flow import BatchCall, BatchOutcome, BatchReplay, named_bookings, optimize
from server.batch.jobs import JobRunner
from server.booking.changes import plan_move, reschedule_booking, update_booking
from server.booking.desk import (
    BookingDesk,
    BookingRequest,
    BookingsDisabled,
    cancel_booking,
    create_booking,
    hold_slot,
    release_hold,
)
from server.booking.sequences import book_sequence
from server.booking.store import BookingCancelled, BookingStatus, StaleVersion
from server.booking.store.jobs import new_job_id
from server.booking.webhooks import UnknownWebhookEndpoint
from server.calendars.busy import FetchedBusy, busy_span, resources_of
from server.config import ConfigError
from server.config.batch import BatchPolicy
from server.telemetry.tracing import step_span
from server.tenants import Tenant
from solver import Limits, check_time, find_slots, validate_request
from solver.batch import validate_batch
from solver.domain import Booking, SlotRequest
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, UnknownResource
from solver.schedule import schedules, validate_schedule
from solver.sequences import SequenceRequest, SequenceResult, find_sequences, segment_request, validate_sequence

__all__ = ["SERVICE_NAME", "SchedulingService", "calendar_deadline", "solver_deadline"]

SERVICE_NAME = api.DESCRIPTOR.services_by_name["SchedulingService"].full_name
T = TypeVar("T")

# The solver stops this much before the call's deadline (at most a fifth of the
# time left) so the reply still has time to reach the caller.
_REPLY_MARGIN_SECONDS = 0.02


def solver_deadline(context: CallContext, margin: float = _REPLY_MARGIN_SECONDS) -> float | None:
    """The ``time.monotonic()`` instant the solver must stop by, a little before the call's deadline."""
    remaining: float | None = context.time_remaining()
    if remaining is None:
        return None
    return time.monotonic() + remaining - min(margin, remaining / 5)


# The sequence search checks its deadline between steps of up to about a tenth of a second
# (sorting every candidate of the search at once is one), so it stops that much earlier.
_SEQUENCE_MARGIN_SECONDS = 0.25


# Calendar reads get this share of the time left: a hung calendar is given up while the
# solver still has time to answer without it (naming it unavailable) instead of DEADLINE_EXCEEDED.
_CALENDAR_SHARE = 0.75


def calendar_deadline(context: CallContext) -> float | None:
    """The ``time.monotonic()`` instant every calendar read of the call ends by."""
    remaining: float | None = context.time_remaining()
    if remaining is None:
        return None
    return time.monotonic() + remaining * _CALENDAR_SHARE


# How often WatchBatchJob looks at the job's row (another process may be running it).
_WATCH_POLL_SECONDS = 0.2


@contextlib.contextmanager
def _under(prefix: str) -> Iterator[None]:
    """Request errors raised inside, their field paths under ``prefix`` (StartBatchJob's ``batch``)."""
    try:
        yield
    except InvalidRequest as exc:
        raise InvalidRequest([FieldViolation(f"{prefix}.{v.field}" if v.field else prefix, v.description)
                              for v in exc.violations]) from exc
    except UnknownResource as exc:
        raise UnknownResource(f"{prefix}.{exc.field}", exc.resource_id) from exc
    except LimitExceeded as exc:
        raise LimitExceeded(f"{prefix}.{exc.field}", exc.limit_name, exc.limit, exc.actual) from exc


# Subclassing the generated base keeps RPCs added to the proto later answering
# UNIMPLEMENTED until they are written here (the base is untyped, hence the ignore).
# A day to try each template's rules in; only what the rules themselves get wrong is reported.
_TRY_FROM = datetime(2026, 1, 5, tzinfo=UTC)
_RULES_PATH = "template.overrides."


def check_templates(tenants: Mapping[str, Tenant], limits: Limits,
                    templates: Mapping[str, Mapping[str, meeting_pb2.Template]] | None = None) -> None:
    """Refuses, at start, a template whose rules every request naming it would be refused for
    (a seat without candidates, a label over 100 characters, a buffer of centuries, more seats
    than ``max_seats``, a pool seat wanting more members than the pool has...): the same checks
    as a FindSlots request's, reported as ConfigError problems naming the template and field.
    Otherwise each such call would be INVALID_ARGUMENT on ``template.overrides.<field>``, a
    field its caller never set."""
    if templates is None:
        templates = {tid: wire.directory.templates_to_proto(t.templates) for tid, t in tenants.items()}
    problems: list[str] = []
    for tenant_id, tenant in tenants.items():
        for index, (template_id, template) in enumerate(templates[tenant_id].items()):
            duration = min(max(template.rules.duration.ToTimedelta(), timedelta(0)), timedelta(days=3000))
            request = api.FindSlotsRequest(template=meeting_pb2.TemplateRef(template_id=template_id), time_zone="UTC")
            request.window_start.FromDatetime(_TRY_FROM)
            request.window_end.FromDatetime(_TRY_FROM + timedelta(days=1) + duration)
            request.now.FromDatetime(_TRY_FROM)
            found: list[tuple[str, str]] = []
            try:
                query = wire.slots.slot_query(request, templates[tenant_id], now=_TRY_FROM)
                with query.fields.solver_errors():
                    validate_request(tenant.directory, query.request, limits)
            except InvalidRequest as exc:
                found = [(v.field, v.description) for v in exc.violations]
            except (UnknownResource, LimitExceeded) as exc:
                found = [(exc.field, str(exc).removeprefix(f"{exc.field}: "))]
            where = f"tenants.{tenant_id}.templates.{index} ({template_id!r})"
            problems += [f"{where}.{path.removeprefix(_RULES_PATH)}: {why}"
                         for path, why in found if path.startswith(_RULES_PATH)]
    if problems:
        raise ConfigError("invalid configuration\n  " + "\n  ".join(problems), problems)


class SchedulingService(api_grpc.SchedulingServiceServicer):  # type: ignore[misc]
    """convene.v1.SchedulingService over the tenants the server was started with."""

    def __init__(self, tenants: Mapping[str, Tenant], keys: ApiKeys, limits: Limits,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 bookings: BookingDesk | None = None, batch: BatchPolicy | None = None,
                 jobs: JobRunner | None = None) -> None:
        self._tenants = tenants
        # Templates as the API serves them and merges overrides into: converted once.
        self._templates = {tid: wire.directory.templates_to_proto(t.templates) for tid, t in tenants.items()}
        self._loops = {tid: wire.sequences.loops_to_proto(t.loops) for tid, t in tenants.items()}
        check_templates(tenants, limits, self._templates)
        self._keys = keys
        self._limits = limits
        self._clock = clock
        self._bookings = bookings  # None: the booking RPCs answer UNIMPLEMENTED
        self._batch = batch or BatchPolicy()
        self._jobs = jobs  # None (no store): the batch job RPCs answer UNIMPLEMENTED

    def _caller(self, context: CallContext) -> tuple[Caller, Tenant]:
        caller = self._keys.authenticate(context.invocation_metadata() or (), peer_of(context))
        tenant = self._tenants.get(caller.tenant)
        if tenant is None:  # a key for a tenant this server was not given
            raise Unauthenticated("unknown API key")
        note_caller(caller.tenant, caller.principal)  # for the access log
        return caller, tenant

    @guarded
    def refuse_undecodable(self, request: Any, context: CallContext) -> Any:
        """A request whose bytes are not its message (``server.api.app`` routes it here): the key is
        checked first, as for every call, then INVALID_ARGUMENT on ``body``, not grpcio's INTERNAL."""
        self._caller(context)
        raise InvalidRequest([FieldViolation("body", f"the request is not a {request}")])

    def _templates_of(self, tenant: Tenant) -> Mapping[str, meeting_pb2.Template]:
        return self._templates[tenant.id]

    @staticmethod
    def _busy(tenant: Tenant, request: SlotRequest, deadline: float | None) -> FetchedBusy:
        """Busy time of every resource ``request`` could use; ``deadline``: ``calendar_deadline``."""
        start, end = busy_span(request)
        return tenant.calendars.busy(resources_of(request, tenant.directory), start, end, deadline=deadline)

    # --- Slots -----------------------------------------------------------------------

    @guarded
    def FindSlots(self, request: api.FindSlotsRequest, context: CallContext) -> api.FindSlotsResponse:
        caller, tenant = self._caller(context)
        query = wire.slots.slot_query(request, self._templates_of(tenant), now=self._clock())
        with query.fields.solver_errors():
            validate_request(tenant.directory, query.request, self._limits)
            fetched = self._busy(tenant, query.request, calendar_deadline(context))
            deadline = solver_deadline(context)
            result = find_slots(
                tenant.directory, fetched.table, query.request,
                tenant.bookings.for_request(tenant.directory, query.request),
                limits=self._limits, deadline=deadline, cancelled=lambda: not context.is_active(), phase=step_span,
            )
        if not result.complete and result.total_available == 0 and not result.alternatives:
            # Stopped early with nothing found: no partial answer worth sending.
            raise TimeoutError("the deadline passed before any start was found")
        return wire.slots.find_slots_response(result, query, fetched.unavailable, viewer=caller.principal)

    @guarded
    def CheckTime(self, request: api.CheckTimeRequest, context: CallContext) -> api.CheckTimeResponse:
        caller, tenant = self._caller(context)
        query = wire.slots.check_query(request, self._templates_of(tenant), now=self._clock())
        assert query.start is not None
        with query.fields.solver_errors():
            validate_request(tenant.directory, query.request, self._limits)
            fetched = self._busy(tenant, query.request, calendar_deadline(context))
            check = check_time(tenant.directory, fetched.table, query.request, query.start,
                               tenant.bookings.for_request(tenant.directory, query.request), limits=self._limits,
                               phase=step_span)
        return wire.slots.check_time_response(check, query, fetched.unavailable, viewer=caller.principal)

    @guarded
    def GetSchedule(self, request: schedule_pb2.GetScheduleRequest,
                    context: CallContext) -> schedule_pb2.GetScheduleResponse:
        caller, tenant = self._caller(context)
        query = wire.schedule.schedule_query(request)
        with query.fields.solver_errors():
            validate_schedule(tenant.directory, query.request, self._limits)
        window = (query.request.window_start, query.request.window_end)
        fetched = tenant.calendars.busy(query.request.resource_ids, *window, deadline=calendar_deadline(context))
        found = schedules(tenant.directory, fetched.busy,
                          tenant.bookings.holding(query.request.resource_ids, *window), query.request)
        return wire.schedule.schedule_response(found, fetched.unavailable, viewer=caller.principal)

    # --- Directory -------------------------------------------------------------------

    @staticmethod
    def _page(items: Sequence[T], request: Any, kind: str) -> tuple[Sequence[T], str]:
        problems = []
        if request.page_size < 0:  # and the token too: every problem at once
            problems.append(FieldViolation("page_size", "must not be negative"))
        try:
            page = wire.paging.page_of(items, max(0, request.page_size), request.page_token, kind)
        except wire.paging.InvalidPageToken as exc:
            problems.append(FieldViolation("page_token", str(exc)))
        if problems:
            raise InvalidRequest(problems)
        return page

    @guarded
    def ListMembers(self, request: api.ListMembersRequest,
                    context: CallContext) -> api.ListMembersResponse:
        _, tenant = self._caller(context)
        members, token = self._page(list(tenant.directory.members.values()), request, "members")
        return api.ListMembersResponse(members=[wire.directory.member_to_proto(m) for m in members],
                                       next_page_token=token)

    @guarded
    def GetMember(self, request: api.GetMemberRequest, context: CallContext) -> api.GetMemberResponse:
        _, tenant = self._caller(context)
        if not request.member_id:
            raise InvalidRequest([FieldViolation("member_id", "is required")])
        member = tenant.directory.members.get(request.member_id)
        if member is None:
            raise UnknownResource("member_id", request.member_id)
        return api.GetMemberResponse(member=wire.directory.member_to_proto(member))

    @guarded
    def ListRooms(self, request: api.ListRoomsRequest, context: CallContext) -> api.ListRoomsResponse:
        _, tenant = self._caller(context)
        rooms, token = self._page(list(tenant.directory.rooms.values()), request, "rooms")
        return api.ListRoomsResponse(rooms=[wire.directory.room_to_proto(r) for r in rooms], next_page_token=token)

    @guarded
    def ListPools(self, request: api.ListPoolsRequest, context: CallContext) -> api.ListPoolsResponse:
        _, tenant = self._caller(context)
        pools, token = self._page(list(tenant.directory.pools.values()), request, "pools")
        return api.ListPoolsResponse(pools=[wire.directory.pool_to_proto(p, tenant.directory) for p in pools],
                                     next_page_token=token)

    @guarded
    def ListTemplates(self, request: api.ListTemplatesRequest,
                      context: CallContext) -> api.ListTemplatesResponse:
        _, tenant = self._caller(context)
        templates, token = self._page(list(self._templates_of(tenant).values()), request, "templates")
        return api.ListTemplatesResponse(templates=templates, next_page_token=token)

    @guarded
    def GetTemplate(self, request: api.GetTemplateRequest,
                    context: CallContext) -> api.GetTemplateResponse:
        _, tenant = self._caller(context)
        if not request.template_id:
            raise InvalidRequest([FieldViolation("template_id", "is required")])
        template = self._templates_of(tenant).get(request.template_id)
        if template is None:
            raise UnknownResource("template_id", request.template_id)
        return api.GetTemplateResponse(template=template)

    # --- Bookings --------------------------------------------------------------------
    #
    # request -> wire.booking -> validate (solver) -> booking.desk (re-check with fresh
    # calendars, store.create, invalidate, wake the outbox) -> wire.booking -> reply

    def _desk(self) -> BookingDesk:
        if self._bookings is None:
            raise BookingsDisabled()
        return self._bookings

    @guarded
    def CreateBooking(self, request: api.CreateBookingRequest,
                      context: CallContext) -> api.CreateBookingResponse:
        caller, tenant = self._caller(context)
        desk = self._desk()
        booking, query = wire.booking.booking_request(request, self._templates_of(tenant), now=self._clock())
        with query.fields.solver_errors():
            validate_request(tenant.directory, booking.meeting, self._limits)
        result = create_booking(desk, tenant, booking, viewer=caller.principal, deadline=calendar_deadline(context))
        return api.CreateBookingResponse(booking=wire.booking.booking_to_proto(result.booking),
                                         replayed=result.replayed)

    @guarded
    def GetBooking(self, request: api.GetBookingRequest, context: CallContext) -> api.GetBookingResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        if not request.booking_id:
            raise InvalidRequest([FieldViolation("booking_id", "is required")])
        record = desk.store.get(request.booking_id, tenant=tenant.id)
        return api.GetBookingResponse(booking=wire.booking.booking_to_proto(record))

    @guarded
    def ListBookings(self, request: api.ListBookingsRequest,
                     context: CallContext) -> api.ListBookingsResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        problems: list[FieldViolation] = []  # every problem at once: the filters, the size and the token
        try:
            query = wire.booking.list_query(request)
        except InvalidRequest as exc:
            problems.extend(exc.violations)
        try:
            size = wire.paging.size_of(request.page_size)
        except wire.paging.InvalidPageSize as exc:
            problems.append(FieldViolation("page_size", str(exc)))
        try:
            after = wire.booking.page_key(request.page_token, wire.paging.fingerprint(request))
        except wire.paging.InvalidPageToken as exc:
            problems.append(FieldViolation("page_token", str(exc)))
        if problems:
            raise InvalidRequest(problems)
        if query.resource_id is not None and query.resource_id not in tenant.directory.members \
                and query.resource_id not in tenant.directory.rooms:
            raise UnknownResource("resource_id", query.resource_id)
        # A keyset page (after the last one's start and id), one more than the page: whether a next exists.
        records = desk.store.list(tenant.id, query.resource_id, query.start, query.end, query.status,
                                  limit=size + 1, after=after)
        page = records[:size]
        return api.ListBookingsResponse(
            bookings=[wire.booking.booking_to_proto(r) for r in page],
            next_page_token=wire.booking.next_page_token(page[-1], wire.paging.fingerprint(request))
            if len(records) > size else "")

    @guarded
    def CancelBooking(self, request: api.CancelBookingRequest,
                      context: CallContext) -> api.CancelBookingResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        if not request.booking_id:
            raise InvalidRequest([FieldViolation("booking_id", "is required")])
        record = cancel_booking(desk, tenant, request.booking_id)
        return api.CancelBookingResponse(booking=wire.booking.booking_to_proto(record))

    @guarded
    def RescheduleBooking(self, request: api.RescheduleBookingRequest,
                          context: CallContext) -> api.RescheduleBookingResponse:
        caller, tenant = self._caller(context)
        desk = self._desk()
        problems = wire.booking.reschedule_problems(request, now=self._clock())
        if problems:  # before the booking is looked up: validated before any work
            raise InvalidRequest(problems)
        record = desk.store.get(request.booking_id, tenant=tenant.id)
        move, meeting = wire.booking.reschedule_request(request, record, now=self._clock())
        try:
            validate_request(tenant.directory, meeting, self._limits)
        except InvalidRequest as exc:
            # The request's own fields are fine: it is the booking's meeting at that start.
            raise InvalidRequest([FieldViolation("start", f"the booking's meeting there: {v.field}: {v.description}")
                                  for v in exc.violations]) from exc
        if request.validate_only:
            if record.status is not BookingStatus.CONFIRMED:
                raise BookingCancelled(record.id)
            if move.version is not None and move.version != record.version:
                raise StaleVersion(record.id, move.version, record.version)
            preview = plan_move(desk, tenant, record, meeting, move, viewer=caller.principal,
                                deadline=calendar_deadline(context))
            return wire.booking.reschedule_response(record, preview, preview=True)
        if record.status is not BookingStatus.CONFIRMED and desk.store.find_change(tenant.id,
                                                                                   request.request_id) is None:
            raise BookingCancelled(record.id)
        result, plan = reschedule_booking(desk, tenant, record, meeting, move, viewer=caller.principal,
                                          deadline=calendar_deadline(context))
        return wire.booking.reschedule_response(result.booking, plan, replayed=result.replayed,
                                                changed_seats=result.changed_seats)

    @guarded
    def UpdateBooking(self, request: api.UpdateBookingRequest,
                      context: CallContext) -> api.UpdateBookingResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        if not request.booking_id:
            raise InvalidRequest([FieldViolation("booking_id", "is required")])
        version, edit = wire.booking.update_request(request)
        record = update_booking(desk, tenant, request.booking_id, version, edit)
        return api.UpdateBookingResponse(booking=wire.booking.booking_to_proto(record))

    @guarded
    def HoldSlot(self, request: api.HoldSlotRequest, context: CallContext) -> api.HoldSlotResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        query = wire.booking.hold_query(request)
        hold = hold_slot(desk, tenant, query.resource_ids, query.start, query.end, query.ttl)
        return api.HoldSlotResponse(hold=wire.booking.hold_to_proto(hold))

    @guarded
    def ReleaseHold(self, request: api.ReleaseHoldRequest,
                    context: CallContext) -> api.ReleaseHoldResponse:
        _, tenant = self._caller(context)
        release_hold(self._desk(), tenant, request.hold_id)
        return api.ReleaseHoldResponse()

    # --- Webhooks (server.booking.webhooks) ---------------------------------------------

    @guarded
    def CreateWebhookEndpoint(self, request: webhooks_pb2.CreateWebhookEndpointRequest,
                              context: CallContext) -> webhooks_pb2.CreateWebhookEndpointResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        endpoint = desk.store.create_webhook_endpoint(tenant.id, wire.webhooks.endpoint_url(request))
        return webhooks_pb2.CreateWebhookEndpointResponse(endpoint=wire.webhooks.endpoint_to_proto(endpoint))

    @guarded
    def ListWebhookEndpoints(self, request: webhooks_pb2.ListWebhookEndpointsRequest,
                             context: CallContext) -> webhooks_pb2.ListWebhookEndpointsResponse:
        _, tenant = self._caller(context)
        endpoints = self._desk().store.list_webhook_endpoints(tenant.id)
        return webhooks_pb2.ListWebhookEndpointsResponse(
            endpoints=[wire.webhooks.endpoint_to_proto(e) for e in endpoints])

    @guarded
    def DeleteWebhookEndpoint(self, request: webhooks_pb2.DeleteWebhookEndpointRequest,
                              context: CallContext) -> webhooks_pb2.DeleteWebhookEndpointResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        endpoint_id = wire.webhooks.check_id("endpoint_id", request.endpoint_id, required=True)
        if not desk.store.delete_webhook_endpoint(tenant.id, endpoint_id):
            raise UnknownWebhookEndpoint(endpoint_id)
        return webhooks_pb2.DeleteWebhookEndpointResponse()

    @guarded
    def ListWebhookDeliveries(self, request: webhooks_pb2.ListWebhookDeliveriesRequest,
                              context: CallContext) -> webhooks_pb2.ListWebhookDeliveriesResponse:
        _, tenant = self._caller(context)
        desk = self._desk()
        size = wire.webhooks.page_size(request.page_size)
        after = wire.webhooks.page_after(request)
        # A keyset page after the last one's id, one more than the page: whether a next exists.
        deliveries = desk.store.list_webhook_deliveries(
            tenant.id, wire.webhooks.check_id("endpoint_id", request.endpoint_id, required=False),
            wire.webhooks.check_id("booking_id", request.booking_id, required=False),
            limit=size + 1, after_id=after)
        page = deliveries[:size]
        return webhooks_pb2.ListWebhookDeliveriesResponse(
            deliveries=[wire.webhooks.delivery_to_proto(d) for d in page],
            next_page_token=wire.webhooks.next_page_token(request, page[-1]) if len(deliveries) > size else "")

    # --- Batch optimization -----------------------------------------------------------
    #
    # request -> wire.batch -> validate (solver) -> batch.flow (fetch busy, run_batch in a
    # thread, commit) -> a stream of progress messages, then the result

    def _batch_of(self, request: api.OptimizeBatchRequest, tenant: Tenant, now: datetime, *,
                  commit_as: str | None = None) -> tuple[wire.batch.BatchQuery, Sequence[BookingRequest | None] | None]:
        """The request as a validated query, with the bookings a commit would make (None: no commit).
        ``commit_as``: the request id the commit books under instead of the request's own."""
        templates = self._templates_of(tenant)
        # Items naming a booking (re-optimization): each booking looked up and checked first (too many
        # items are refused by batch_query before any look-up).
        store = self._bookings.store if self._bookings is not None else None
        few = len(request.items) <= self._batch.limits.max_items
        records = named_bookings(store, tenant, [item.booking_id for item in request.items]) if few else {}
        query = wire.batch.batch_query(request, templates, now=now, policy=self._batch, records=records)
        with query.solver_errors():
            validate_batch(tenant.directory, query.batch, self._limits, self._batch.limits)
        if commit_as is not None:
            renamed = api.OptimizeBatchRequest()
            renamed.CopyFrom(request)
            renamed.request_id = commit_as
            request, query = renamed, dataclasses.replace(query, request_id=commit_as)
        drafts = None
        if query.commit:
            self._desk()  # UNIMPLEMENTED before any field of the commit is looked at
            drafts = wire.batch.booking_drafts(request, query, templates, now=now)
        return query, drafts

    @stream_guarded
    def OptimizeBatch(self, request: api.OptimizeBatchRequest,
                      context: CallContext) -> Iterator[api.OptimizeBatchResponse]:
        caller, tenant = self._caller(context)
        now = self._clock()
        query, drafts = self._batch_of(request, tenant, now)
        call = BatchCall(tenant, caller.principal, self._limits, self._batch, self._bookings, now,
                         context.time_remaining(), lambda: not context.is_active())
        for event in optimize(query, drafts, call):
            if isinstance(event, BatchOutcome):
                yield wire.batch.result_to_proto(event.result, query, event.unavailable, caller.principal,
                                                    event.booking_ids)
            elif isinstance(event, BatchReplay):
                yield wire.batch.replay_to_proto(query, event.records)
            else:
                yield wire.batch.progress_to_proto(event)

    # --- Batch jobs (server.batch.jobs) ------------------------------------------------
    #
    # StartBatchJob: OptimizeBatch's request -> wire.batch -> validate, as OptimizeBatch,
    # then the job's row and its thread (batch.jobs); the others read the row
    # (booking.store.jobs) -> wire.jobs -> reply.

    def _runner(self) -> JobRunner:
        if self._jobs is None:
            raise BookingsDisabled()
        return self._jobs

    @guarded
    def StartBatchJob(self, request: api.StartBatchJobRequest,
                      context: CallContext) -> api.StartBatchJobResponse:
        caller, tenant = self._caller(context)
        runner = self._runner()
        now = self._clock()
        job_id = new_job_id()
        # The batch as OptimizeBatch would take it (its own request_id checked as there), committing
        # (when it does) under the job's id.
        solving = api.OptimizeBatchRequest()
        solving.CopyFrom(request.batch)
        solving.request_id = request.batch.request_id or job_id
        with _under("batch"):
            query, drafts = self._batch_of(solving, tenant, now, commit_as=job_id)
        call = BatchCall(tenant, caller.principal, self._limits, self._batch, self._bookings, now, None,
                         lambda: False)
        job, created = runner.start(tenant.id, request.batch.request_id, query, drafts, call, job_id=job_id)
        return api.StartBatchJobResponse(job=wire.jobs.job_to_proto(job), replayed=not created)

    @guarded
    def GetBatchJob(self, request: api.GetBatchJobRequest, context: CallContext) -> api.GetBatchJobResponse:
        _, tenant = self._caller(context)
        job = self._runner().get(tenant.id, wire.jobs.check_job_id(request.job_id))
        return api.GetBatchJobResponse(job=wire.jobs.job_to_proto(job))

    @stream_guarded
    def WatchBatchJob(self, request: api.WatchBatchJobRequest,
                      context: CallContext) -> Iterator[api.WatchBatchJobResponse]:
        _, tenant = self._caller(context)
        runner = self._runner()
        job_id = wire.jobs.check_job_id(request.job_id)
        last = b""
        while True:
            job = runner.get(tenant.id, job_id)
            message = wire.jobs.job_to_proto(job)
            seen = message.SerializeToString(deterministic=True)
            if seen != last:
                last = seen
                yield api.WatchBatchJobResponse(job=message)
            if not job.active or not context.is_active():
                return
            time.sleep(_WATCH_POLL_SECONDS)

    @guarded
    def CancelBatchJob(self, request: api.CancelBatchJobRequest,
                       context: CallContext) -> api.CancelBatchJobResponse:
        _, tenant = self._caller(context)
        job = self._runner().cancel(tenant.id, wire.jobs.check_job_id(request.job_id))
        return api.CancelBatchJobResponse(job=wire.jobs.job_to_proto(job))

    @guarded
    def ListBatchJobs(self, request: api.ListBatchJobsRequest,
                      context: CallContext) -> api.ListBatchJobsResponse:
        _, tenant = self._caller(context)
        runner = self._runner()
        try:
            size = wire.paging.size_of(request.page_size)
        except wire.paging.InvalidPageSize as exc:
            raise InvalidRequest([FieldViolation("page_size", str(exc))]) from exc
        # A keyset page (ids sort by creation, newest first), one more than the page: whether a next exists.
        jobs = runner.list(tenant.id, size + 1, wire.jobs.list_after(request))
        page = jobs[:size]
        return api.ListBatchJobsResponse(
            jobs=[wire.jobs.job_to_proto(j, with_result=False) for j in page],
            next_page_token=wire.jobs.next_page_token(page[-1]) if len(jobs) > size else "")

    # --- Sequences (interview loops) ---------------------------------------------------
    #
    # request -> wire.sequences -> validate (solver) -> fetch busy of every segment's people
    # -> find_sequences (solver) -> wire.sequences -> reply. BookSequence: each segment
    # through CreateBooking's checks, then one store transaction (booking.sequences).

    @staticmethod
    def _sequence_busy(tenant: Tenant, request: SequenceRequest,
                       deadline: float | None) -> tuple[FetchedBusy, list[Booking]]:
        """Busy time of every resource any segment could use, and the bookings every segment
        depends on (``BookingSource.for_request``, once each)."""
        ids: set[str] = set()
        start, end = request.window_start, request.window_end
        bookings: dict[str, Booking] = {}
        for k in range(len(request.segments)):
            segment = segment_request(request, k)
            ids |= resources_of(segment, tenant.directory)
            lo, hi = busy_span(segment)
            start, end = min(start, lo), max(end, hi)
            bookings.update((b.id, b) for b in tenant.bookings.for_request(tenant.directory, segment))
        return tenant.calendars.busy(ids, start, end, deadline=deadline), list(bookings.values())

    def _solve_sequence(self, tenant: Tenant, query: wire.sequences.SequenceQuery,
                        context: CallContext) -> tuple[SequenceResult, FetchedBusy]:
        """validate -> fetch busy for every segment -> find_sequences, within the call's deadline."""
        with query.fields.solver_errors():
            validate_sequence(tenant.directory, query.request, self._limits)
            fetched, bookings = self._sequence_busy(tenant, query.request, calendar_deadline(context))
            result = find_sequences(tenant.directory, fetched.table, query.request, bookings,
                                    limits=self._limits,
                                    deadline=solver_deadline(context, _SEQUENCE_MARGIN_SECONDS),
                                    cancelled=lambda: not context.is_active())
        return result, fetched

    @guarded
    def FindSequences(self, request: api.FindSequencesRequest,
                      context: CallContext) -> api.FindSequencesResponse:
        caller, tenant = self._caller(context)
        query = wire.sequences.sequence_query(request, self._templates_of(tenant), self._loops[tenant.id],
                                              now=self._clock())
        result, fetched = self._solve_sequence(tenant, query, context)
        if not result.complete and result.total_available == 0 and not result.alternatives:
            raise TimeoutError("the deadline passed before any first start was decided")
        return wire.sequences.find_sequences_response(result, query, fetched.unavailable, viewer=caller.principal)

    @guarded
    def CheckSequence(self, request: api.CheckSequenceRequest,
                      context: CallContext) -> api.CheckSequenceResponse:
        caller, tenant = self._caller(context)
        query = wire.sequences.check_sequence_query(request, self._templates_of(tenant), self._loops[tenant.id],
                                                    now=self._clock())
        result, fetched = self._solve_sequence(tenant, query, context)
        if not result.complete and all(o.start != query.start for o in result.options):
            # Undecided: an option there may exist, so "not available" would be a guess.
            raise TimeoutError("the deadline passed before the first start was decided")
        return wire.sequences.check_sequence_response(result, query, fetched.unavailable, viewer=caller.principal)

    @guarded
    def BookSequence(self, request: api.BookSequenceRequest,
                     context: CallContext) -> api.BookSequenceResponse:
        caller, tenant = self._caller(context)
        desk = self._desk()
        booking, query = wire.sequences.book_sequence_request(request, self._templates_of(tenant),
                                                             self._loops[tenant.id], now=self._clock())
        with query.fields.solver_errors():
            validate_sequence(tenant.directory, booking.request, self._limits)
        booked = book_sequence(desk, tenant, booking, viewer=caller.principal, deadline=calendar_deadline(context))
        return api.BookSequenceResponse(bookings=[wire.booking.booking_to_proto(r) for r in booked.records],
                                        replayed=booked.replayed)
