import datetime

from convene.v1 import booking_pb2 as _booking_pb2
from convene.v1 import meeting_pb2 as _meeting_pb2
from convene.v1 import slots_pb2 as _slots_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_STATUS_OPTIMAL: _ClassVar[BatchStatus]
    BATCH_STATUS_FEASIBLE: _ClassVar[BatchStatus]
    BATCH_STATUS_INFEASIBLE: _ClassVar[BatchStatus]
    BATCH_STATUS_UNKNOWN: _ClassVar[BatchStatus]

class UnscheduledReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSCHEDULED_REASON_UNSPECIFIED: _ClassVar[UnscheduledReason]
    UNSCHEDULED_REASON_NO_AVAILABLE_START: _ClassVar[UnscheduledReason]
    UNSCHEDULED_REASON_LOST_TO_OTHER_ITEMS: _ClassVar[UnscheduledReason]
    UNSCHEDULED_REASON_NOT_WORTH_ITS_COST: _ClassVar[UnscheduledReason]
    UNSCHEDULED_REASON_DEADLINE: _ClassVar[UnscheduledReason]
    UNSCHEDULED_REASON_NOT_BOOKED: _ClassVar[UnscheduledReason]

class UnscheduledRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSCHEDULED_RULE_UNSPECIFIED: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_WINDOW: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_CALENDAR_BUSY: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_BUFFERS: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_WORKING_HOURS: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_BOOKING_LIMITS: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_ROOM_CAPACITY: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_SEVERAL: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_NO_JOINT_ASSIGNMENT: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_CLASHES_WITH_ITEMS: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_COST: _ClassVar[UnscheduledRule]
    UNSCHEDULED_RULE_TIME_LIMIT: _ClassVar[UnscheduledRule]

class BatchJobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_JOB_STATE_UNSPECIFIED: _ClassVar[BatchJobState]
    BATCH_JOB_STATE_QUEUED: _ClassVar[BatchJobState]
    BATCH_JOB_STATE_RUNNING: _ClassVar[BatchJobState]
    BATCH_JOB_STATE_SUCCEEDED: _ClassVar[BatchJobState]
    BATCH_JOB_STATE_FAILED: _ClassVar[BatchJobState]
    BATCH_JOB_STATE_CANCELLED: _ClassVar[BatchJobState]
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_STATUS_OPTIMAL: BatchStatus
BATCH_STATUS_FEASIBLE: BatchStatus
BATCH_STATUS_INFEASIBLE: BatchStatus
BATCH_STATUS_UNKNOWN: BatchStatus
UNSCHEDULED_REASON_UNSPECIFIED: UnscheduledReason
UNSCHEDULED_REASON_NO_AVAILABLE_START: UnscheduledReason
UNSCHEDULED_REASON_LOST_TO_OTHER_ITEMS: UnscheduledReason
UNSCHEDULED_REASON_NOT_WORTH_ITS_COST: UnscheduledReason
UNSCHEDULED_REASON_DEADLINE: UnscheduledReason
UNSCHEDULED_REASON_NOT_BOOKED: UnscheduledReason
UNSCHEDULED_RULE_UNSPECIFIED: UnscheduledRule
UNSCHEDULED_RULE_WINDOW: UnscheduledRule
UNSCHEDULED_RULE_CALENDAR_BUSY: UnscheduledRule
UNSCHEDULED_RULE_BUFFERS: UnscheduledRule
UNSCHEDULED_RULE_WORKING_HOURS: UnscheduledRule
UNSCHEDULED_RULE_BOOKING_LIMITS: UnscheduledRule
UNSCHEDULED_RULE_ROOM_CAPACITY: UnscheduledRule
UNSCHEDULED_RULE_SEVERAL: UnscheduledRule
UNSCHEDULED_RULE_NO_JOINT_ASSIGNMENT: UnscheduledRule
UNSCHEDULED_RULE_CLASHES_WITH_ITEMS: UnscheduledRule
UNSCHEDULED_RULE_COST: UnscheduledRule
UNSCHEDULED_RULE_TIME_LIMIT: UnscheduledRule
BATCH_JOB_STATE_UNSPECIFIED: BatchJobState
BATCH_JOB_STATE_QUEUED: BatchJobState
BATCH_JOB_STATE_RUNNING: BatchJobState
BATCH_JOB_STATE_SUCCEEDED: BatchJobState
BATCH_JOB_STATE_FAILED: BatchJobState
BATCH_JOB_STATE_CANCELLED: BatchJobState

class BatchItem(_message.Message):
    __slots__ = ("id", "rules", "template", "window_start", "window_end", "time_zone", "priority", "customers", "title", "organizer_member_id", "description", "location", "booking_id", "movable")
    ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ORGANIZER_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    MOVABLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    rules: _meeting_pb2.MeetingRules
    template: _meeting_pb2.TemplateRef
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    time_zone: str
    priority: int
    customers: _containers.RepeatedCompositeFieldContainer[_booking_pb2.Person]
    title: str
    organizer_member_id: str
    description: str
    location: str
    booking_id: str
    movable: bool
    def __init__(self, id: _Optional[str] = ..., rules: _Optional[_Union[_meeting_pb2.MeetingRules, _Mapping]] = ..., template: _Optional[_Union[_meeting_pb2.TemplateRef, _Mapping]] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., priority: _Optional[int] = ..., customers: _Optional[_Iterable[_Union[_booking_pb2.Person, _Mapping]]] = ..., title: _Optional[str] = ..., organizer_member_id: _Optional[str] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., booking_id: _Optional[str] = ..., movable: _Optional[bool] = ...) -> None: ...

class BatchWeights(_message.Message):
    __slots__ = ("alternate", "pool_balance", "pool_priority", "room_fit", "conflict_busy", "conflict_tentative", "outside_hours", "fairness", "earliness", "priority", "move")
    ALTERNATE_FIELD_NUMBER: _ClassVar[int]
    POOL_BALANCE_FIELD_NUMBER: _ClassVar[int]
    POOL_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIT_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_BUSY_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_TENTATIVE_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_HOURS_FIELD_NUMBER: _ClassVar[int]
    FAIRNESS_FIELD_NUMBER: _ClassVar[int]
    EARLINESS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MOVE_FIELD_NUMBER: _ClassVar[int]
    alternate: float
    pool_balance: float
    pool_priority: float
    room_fit: float
    conflict_busy: float
    conflict_tentative: float
    outside_hours: float
    fairness: float
    earliness: float
    priority: float
    move: float
    def __init__(self, alternate: _Optional[float] = ..., pool_balance: _Optional[float] = ..., pool_priority: _Optional[float] = ..., room_fit: _Optional[float] = ..., conflict_busy: _Optional[float] = ..., conflict_tentative: _Optional[float] = ..., outside_hours: _Optional[float] = ..., fairness: _Optional[float] = ..., earliness: _Optional[float] = ..., priority: _Optional[float] = ..., move: _Optional[float] = ...) -> None: ...

class BatchProgress(_message.Message):
    __slots__ = ("objective", "best_bound", "gap", "scheduled", "elapsed", "source", "parts_done", "parts_total", "complete")
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    BEST_BOUND_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PARTS_DONE_FIELD_NUMBER: _ClassVar[int]
    PARTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    objective: float
    best_bound: float
    gap: float
    scheduled: int
    elapsed: _duration_pb2.Duration
    source: str
    parts_done: int
    parts_total: int
    complete: bool
    def __init__(self, objective: _Optional[float] = ..., best_bound: _Optional[float] = ..., gap: _Optional[float] = ..., scheduled: _Optional[int] = ..., elapsed: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., source: _Optional[str] = ..., parts_done: _Optional[int] = ..., parts_total: _Optional[int] = ..., complete: _Optional[bool] = ...) -> None: ...

class BatchPlacement(_message.Message):
    __slots__ = ("start", "end", "seats", "cost", "seat_cost", "conflict_cost", "earliness_cost", "hours_from_window_start", "alternates", "conflicts", "move_cost", "moved", "fairness_cost")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    SEAT_COST_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_COST_FIELD_NUMBER: _ClassVar[int]
    EARLINESS_COST_FIELD_NUMBER: _ClassVar[int]
    HOURS_FROM_WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    ALTERNATES_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    MOVE_COST_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    FAIRNESS_COST_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    seats: _containers.RepeatedCompositeFieldContainer[_slots_pb2.SeatFill]
    cost: float
    seat_cost: float
    conflict_cost: float
    earliness_cost: float
    hours_from_window_start: float
    alternates: int
    conflicts: _containers.RepeatedCompositeFieldContainer[_slots_pb2.Conflict]
    move_cost: float
    moved: bool
    fairness_cost: float
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seats: _Optional[_Iterable[_Union[_slots_pb2.SeatFill, _Mapping]]] = ..., cost: _Optional[float] = ..., seat_cost: _Optional[float] = ..., conflict_cost: _Optional[float] = ..., earliness_cost: _Optional[float] = ..., hours_from_window_start: _Optional[float] = ..., alternates: _Optional[int] = ..., conflicts: _Optional[_Iterable[_Union[_slots_pb2.Conflict, _Mapping]]] = ..., move_cost: _Optional[float] = ..., moved: _Optional[bool] = ..., fairness_cost: _Optional[float] = ...) -> None: ...

class BatchUnscheduled(_message.Message):
    __slots__ = ("reason", "detail", "rule", "blocking_item_ids")
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    BLOCKING_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    reason: UnscheduledReason
    detail: str
    rule: UnscheduledRule
    blocking_item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reason: _Optional[_Union[UnscheduledReason, str]] = ..., detail: _Optional[str] = ..., rule: _Optional[_Union[UnscheduledRule, str]] = ..., blocking_item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchItemResult(_message.Message):
    __slots__ = ("id", "scheduled", "unscheduled", "booking_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    UNSCHEDULED_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    scheduled: BatchPlacement
    unscheduled: BatchUnscheduled
    booking_id: str
    def __init__(self, id: _Optional[str] = ..., scheduled: _Optional[_Union[BatchPlacement, _Mapping]] = ..., unscheduled: _Optional[_Union[BatchUnscheduled, _Mapping]] = ..., booking_id: _Optional[str] = ...) -> None: ...

class BatchIncompletePart(_message.Message):
    __slots__ = ("item_ids", "reason")
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, item_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class BatchKpis(_message.Message):
    __slots__ = ("items", "scheduled", "total_priority", "scheduled_priority", "alternates_used", "conflicts", "seat_cost", "conflict_cost", "earliness_cost", "fairness_cost", "pool_load_spread", "mean_hours_from_window_start", "moves", "move_cost")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ALTERNATES_USED_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    SEAT_COST_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_COST_FIELD_NUMBER: _ClassVar[int]
    EARLINESS_COST_FIELD_NUMBER: _ClassVar[int]
    FAIRNESS_COST_FIELD_NUMBER: _ClassVar[int]
    POOL_LOAD_SPREAD_FIELD_NUMBER: _ClassVar[int]
    MEAN_HOURS_FROM_WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    MOVES_FIELD_NUMBER: _ClassVar[int]
    MOVE_COST_FIELD_NUMBER: _ClassVar[int]
    items: int
    scheduled: int
    total_priority: int
    scheduled_priority: int
    alternates_used: int
    conflicts: int
    seat_cost: float
    conflict_cost: float
    earliness_cost: float
    fairness_cost: float
    pool_load_spread: int
    mean_hours_from_window_start: float
    moves: int
    move_cost: float
    def __init__(self, items: _Optional[int] = ..., scheduled: _Optional[int] = ..., total_priority: _Optional[int] = ..., scheduled_priority: _Optional[int] = ..., alternates_used: _Optional[int] = ..., conflicts: _Optional[int] = ..., seat_cost: _Optional[float] = ..., conflict_cost: _Optional[float] = ..., earliness_cost: _Optional[float] = ..., fairness_cost: _Optional[float] = ..., pool_load_spread: _Optional[int] = ..., mean_hours_from_window_start: _Optional[float] = ..., moves: _Optional[int] = ..., move_cost: _Optional[float] = ...) -> None: ...

class BatchResult(_message.Message):
    __slots__ = ("status", "objective", "best_bound", "gap", "wall_time", "items", "kpis", "priority_weight", "baseline_objective", "parts", "unavailable_calendars", "committed", "replayed", "incomplete_parts")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    BEST_BOUND_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_PARTS_FIELD_NUMBER: _ClassVar[int]
    status: BatchStatus
    objective: float
    best_bound: float
    gap: float
    wall_time: _duration_pb2.Duration
    items: _containers.RepeatedCompositeFieldContainer[BatchItemResult]
    kpis: BatchKpis
    priority_weight: float
    baseline_objective: float
    parts: int
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    committed: bool
    replayed: bool
    incomplete_parts: _containers.RepeatedCompositeFieldContainer[BatchIncompletePart]
    def __init__(self, status: _Optional[_Union[BatchStatus, str]] = ..., objective: _Optional[float] = ..., best_bound: _Optional[float] = ..., gap: _Optional[float] = ..., wall_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., items: _Optional[_Iterable[_Union[BatchItemResult, _Mapping]]] = ..., kpis: _Optional[_Union[BatchKpis, _Mapping]] = ..., priority_weight: _Optional[float] = ..., baseline_objective: _Optional[float] = ..., parts: _Optional[int] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ..., committed: _Optional[bool] = ..., replayed: _Optional[bool] = ..., incomplete_parts: _Optional[_Iterable[_Union[BatchIncompletePart, _Mapping]]] = ...) -> None: ...

class BatchJob(_message.Message):
    __slots__ = ("id", "state", "progress", "result", "error", "create_time", "update_time", "finish_time", "error_code", "request_id", "cancel_requested", "items", "commit")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: BatchJobState
    progress: BatchProgress
    result: BatchResult
    error: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    error_code: str
    request_id: str
    cancel_requested: bool
    items: int
    commit: bool
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[BatchJobState, str]] = ..., progress: _Optional[_Union[BatchProgress, _Mapping]] = ..., result: _Optional[_Union[BatchResult, _Mapping]] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error_code: _Optional[str] = ..., request_id: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., items: _Optional[int] = ..., commit: _Optional[bool] = ...) -> None: ...
