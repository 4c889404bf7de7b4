import datetime

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

class BookingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOOKING_STATUS_UNSPECIFIED: _ClassVar[BookingStatus]
    BOOKING_STATUS_CONFIRMED: _ClassVar[BookingStatus]
    BOOKING_STATUS_CANCELLED: _ClassVar[BookingStatus]

class ResourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOURCE_KIND_UNSPECIFIED: _ClassVar[ResourceKind]
    RESOURCE_KIND_MEMBER: _ClassVar[ResourceKind]
    RESOURCE_KIND_ROOM: _ClassVar[ResourceKind]

class SideEffectKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_EFFECT_KIND_UNSPECIFIED: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_CREATE_EVENT: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_SEND_INVITE: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_CANCEL_EVENT: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_SEND_CANCEL: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_UPDATE_EVENT: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_SEND_UPDATE: _ClassVar[SideEffectKind]
    SIDE_EFFECT_KIND_SEND_DROPPED: _ClassVar[SideEffectKind]

class SideEffectState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_EFFECT_STATE_UNSPECIFIED: _ClassVar[SideEffectState]
    SIDE_EFFECT_STATE_PENDING: _ClassVar[SideEffectState]
    SIDE_EFFECT_STATE_RUNNING: _ClassVar[SideEffectState]
    SIDE_EFFECT_STATE_DONE: _ClassVar[SideEffectState]
    SIDE_EFFECT_STATE_FAILED: _ClassVar[SideEffectState]
    SIDE_EFFECT_STATE_SKIPPED: _ClassVar[SideEffectState]
BOOKING_STATUS_UNSPECIFIED: BookingStatus
BOOKING_STATUS_CONFIRMED: BookingStatus
BOOKING_STATUS_CANCELLED: BookingStatus
RESOURCE_KIND_UNSPECIFIED: ResourceKind
RESOURCE_KIND_MEMBER: ResourceKind
RESOURCE_KIND_ROOM: ResourceKind
SIDE_EFFECT_KIND_UNSPECIFIED: SideEffectKind
SIDE_EFFECT_KIND_CREATE_EVENT: SideEffectKind
SIDE_EFFECT_KIND_SEND_INVITE: SideEffectKind
SIDE_EFFECT_KIND_CANCEL_EVENT: SideEffectKind
SIDE_EFFECT_KIND_SEND_CANCEL: SideEffectKind
SIDE_EFFECT_KIND_UPDATE_EVENT: SideEffectKind
SIDE_EFFECT_KIND_SEND_UPDATE: SideEffectKind
SIDE_EFFECT_KIND_SEND_DROPPED: SideEffectKind
SIDE_EFFECT_STATE_UNSPECIFIED: SideEffectState
SIDE_EFFECT_STATE_PENDING: SideEffectState
SIDE_EFFECT_STATE_RUNNING: SideEffectState
SIDE_EFFECT_STATE_DONE: SideEffectState
SIDE_EFFECT_STATE_FAILED: SideEffectState
SIDE_EFFECT_STATE_SKIPPED: SideEffectState

class Person(_message.Message):
    __slots__ = ("name", "email")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class SeatChoice(_message.Message):
    __slots__ = ("resource_ids",)
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, resource_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BookedSeat(_message.Message):
    __slots__ = ("label", "kind", "resource_ids", "pool_id")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    label: str
    kind: ResourceKind
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    pool_id: str
    def __init__(self, label: _Optional[str] = ..., kind: _Optional[_Union[ResourceKind, str]] = ..., resource_ids: _Optional[_Iterable[str]] = ..., pool_id: _Optional[str] = ...) -> None: ...

class SideEffect(_message.Message):
    __slots__ = ("kind", "state", "attempts", "last_error", "next_attempt_time", "result", "update_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: SideEffectKind
    state: SideEffectState
    attempts: int
    last_error: str
    next_attempt_time: _timestamp_pb2.Timestamp
    result: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[SideEffectKind, str]] = ..., state: _Optional[_Union[SideEffectState, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Booking(_message.Message):
    __slots__ = ("id", "status", "start", "end", "time_zone", "seats", "title", "description", "location", "organizer", "customers", "attendees", "buffer_before", "buffer_after", "allow_conflicts", "sequence", "request_id", "create_time", "cancel_time", "side_effects", "etag", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ORGANIZER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    ATTENDEES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_BEFORE_FIELD_NUMBER: _ClassVar[int]
    BUFFER_AFTER_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CANCEL_TIME_FIELD_NUMBER: _ClassVar[int]
    SIDE_EFFECTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: BookingStatus
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    time_zone: str
    seats: _containers.RepeatedCompositeFieldContainer[BookedSeat]
    title: str
    description: str
    location: str
    organizer: Person
    customers: _containers.RepeatedCompositeFieldContainer[Person]
    attendees: _containers.RepeatedCompositeFieldContainer[Person]
    buffer_before: _duration_pb2.Duration
    buffer_after: _duration_pb2.Duration
    allow_conflicts: bool
    sequence: int
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    cancel_time: _timestamp_pb2.Timestamp
    side_effects: _containers.RepeatedCompositeFieldContainer[SideEffect]
    etag: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[BookingStatus, str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., seats: _Optional[_Iterable[_Union[BookedSeat, _Mapping]]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., organizer: _Optional[_Union[Person, _Mapping]] = ..., customers: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., attendees: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., buffer_before: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., buffer_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., allow_conflicts: _Optional[bool] = ..., sequence: _Optional[int] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., side_effects: _Optional[_Iterable[_Union[SideEffect, _Mapping]]] = ..., etag: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("id", "resource_ids", "start", "end", "expire_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., resource_ids: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BookingConflictDetails(_message.Message):
    __slots__ = ("reason", "conflicts", "unavailable_calendars")
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    conflicts: _containers.RepeatedCompositeFieldContainer[_slots_pb2.Conflict]
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    def __init__(self, reason: _Optional[str] = ..., conflicts: _Optional[_Iterable[_Union[_slots_pb2.Conflict, _Mapping]]] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ...) -> None: ...
