import datetime

from convene.v1 import directory_pb2 as _directory_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MeetingRules(_message.Message):
    __slots__ = ("duration", "seats", "optional_member_ids", "customers", "resolution_minutes", "start_interval_minutes", "buffer_before", "buffer_after", "minimum_notice", "preferred_hours", "weights")
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_MEMBER_IDS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    START_INTERVAL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_BEFORE_FIELD_NUMBER: _ClassVar[int]
    BUFFER_AFTER_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_NOTICE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_HOURS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    seats: _containers.RepeatedCompositeFieldContainer[Seat]
    optional_member_ids: _containers.RepeatedScalarFieldContainer[str]
    customers: int
    resolution_minutes: int
    start_interval_minutes: int
    buffer_before: _duration_pb2.Duration
    buffer_after: _duration_pb2.Duration
    minimum_notice: _duration_pb2.Duration
    preferred_hours: _directory_pb2.DayRange
    weights: Weights
    def __init__(self, duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., seats: _Optional[_Iterable[_Union[Seat, _Mapping]]] = ..., optional_member_ids: _Optional[_Iterable[str]] = ..., customers: _Optional[int] = ..., resolution_minutes: _Optional[int] = ..., start_interval_minutes: _Optional[int] = ..., buffer_before: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., buffer_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., minimum_notice: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., preferred_hours: _Optional[_Union[_directory_pb2.DayRange, _Mapping]] = ..., weights: _Optional[_Union[Weights, _Mapping]] = ...) -> None: ...

class Seat(_message.Message):
    __slots__ = ("label", "member", "pool", "room")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    label: str
    member: MemberSeat
    pool: PoolSeat
    room: RoomSeat
    def __init__(self, label: _Optional[str] = ..., member: _Optional[_Union[MemberSeat, _Mapping]] = ..., pool: _Optional[_Union[PoolSeat, _Mapping]] = ..., room: _Optional[_Union[RoomSeat, _Mapping]] = ...) -> None: ...

class MemberSeat(_message.Message):
    __slots__ = ("candidates",)
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, candidates: _Optional[_Iterable[str]] = ...) -> None: ...

class PoolSeat(_message.Message):
    __slots__ = ("pool_id", "count")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    count: int
    def __init__(self, pool_id: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class RoomSeat(_message.Message):
    __slots__ = ("room_ids", "pool_ids")
    ROOM_IDS_FIELD_NUMBER: _ClassVar[int]
    POOL_IDS_FIELD_NUMBER: _ClassVar[int]
    room_ids: _containers.RepeatedScalarFieldContainer[str]
    pool_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, room_ids: _Optional[_Iterable[str]] = ..., pool_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Weights(_message.Message):
    __slots__ = ("alternate", "pool_balance", "pool_priority", "room_fit", "time_of_day", "conflict_busy", "conflict_tentative", "outside_hours")
    ALTERNATE_FIELD_NUMBER: _ClassVar[int]
    POOL_BALANCE_FIELD_NUMBER: _ClassVar[int]
    POOL_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIT_FIELD_NUMBER: _ClassVar[int]
    TIME_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_BUSY_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_TENTATIVE_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_HOURS_FIELD_NUMBER: _ClassVar[int]
    alternate: float
    pool_balance: float
    pool_priority: float
    room_fit: float
    time_of_day: float
    conflict_busy: float
    conflict_tentative: float
    outside_hours: float
    def __init__(self, alternate: _Optional[float] = ..., pool_balance: _Optional[float] = ..., pool_priority: _Optional[float] = ..., room_fit: _Optional[float] = ..., time_of_day: _Optional[float] = ..., conflict_busy: _Optional[float] = ..., conflict_tentative: _Optional[float] = ..., outside_hours: _Optional[float] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "name", "description", "rules")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    rules: MeetingRules
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., rules: _Optional[_Union[MeetingRules, _Mapping]] = ...) -> None: ...

class TemplateRef(_message.Message):
    __slots__ = ("template_id", "overrides")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    overrides: MeetingRules
    def __init__(self, template_id: _Optional[str] = ..., overrides: _Optional[_Union[MeetingRules, _Mapping]] = ...) -> None: ...
