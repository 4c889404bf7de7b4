import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConflictKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFLICT_KIND_UNSPECIFIED: _ClassVar[ConflictKind]
    CONFLICT_KIND_BUSY: _ClassVar[ConflictKind]
    CONFLICT_KIND_TENTATIVE: _ClassVar[ConflictKind]
    CONFLICT_KIND_OUT_OF_OFFICE: _ClassVar[ConflictKind]
    CONFLICT_KIND_BOOKING: _ClassVar[ConflictKind]
    CONFLICT_KIND_OUTSIDE_HOURS: _ClassVar[ConflictKind]
CONFLICT_KIND_UNSPECIFIED: ConflictKind
CONFLICT_KIND_BUSY: ConflictKind
CONFLICT_KIND_TENTATIVE: ConflictKind
CONFLICT_KIND_OUT_OF_OFFICE: ConflictKind
CONFLICT_KIND_BOOKING: ConflictKind
CONFLICT_KIND_OUTSIDE_HOURS: ConflictKind

class Slot(_message.Message):
    __slots__ = ("start", "end", "seats", "free_candidates", "optional_members", "cost", "score", "conflicts", "conflict_cost")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    FREE_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_COST_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    seats: _containers.RepeatedCompositeFieldContainer[SeatFill]
    free_candidates: _containers.RepeatedCompositeFieldContainer[SeatCandidates]
    optional_members: _containers.RepeatedCompositeFieldContainer[OptionalMemberStatus]
    cost: float
    score: float
    conflicts: _containers.RepeatedCompositeFieldContainer[Conflict]
    conflict_cost: float
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seats: _Optional[_Iterable[_Union[SeatFill, _Mapping]]] = ..., free_candidates: _Optional[_Iterable[_Union[SeatCandidates, _Mapping]]] = ..., optional_members: _Optional[_Iterable[_Union[OptionalMemberStatus, _Mapping]]] = ..., cost: _Optional[float] = ..., score: _Optional[float] = ..., conflicts: _Optional[_Iterable[_Union[Conflict, _Mapping]]] = ..., conflict_cost: _Optional[float] = ...) -> None: ...

class SeatFill(_message.Message):
    __slots__ = ("label", "resource_ids", "cost")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    label: str
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    cost: float
    def __init__(self, label: _Optional[str] = ..., resource_ids: _Optional[_Iterable[str]] = ..., cost: _Optional[float] = ...) -> None: ...

class SeatCandidates(_message.Message):
    __slots__ = ("resource_ids",)
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, resource_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class OptionalMemberStatus(_message.Message):
    __slots__ = ("member_id", "free")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    free: bool
    def __init__(self, member_id: _Optional[str] = ..., free: _Optional[bool] = ...) -> None: ...

class EventDetails(_message.Message):
    __slots__ = ("title", "event_id", "location")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    title: str
    event_id: str
    location: str
    def __init__(self, title: _Optional[str] = ..., event_id: _Optional[str] = ..., location: _Optional[str] = ...) -> None: ...

class Conflict(_message.Message):
    __slots__ = ("resource_id", "start", "end", "kind", "details")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    kind: ConflictKind
    details: EventDetails
    def __init__(self, resource_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[ConflictKind, str]] = ..., details: _Optional[_Union[EventDetails, _Mapping]] = ...) -> None: ...

class UnavailableCalendar(_message.Message):
    __slots__ = ("resource_id", "reason")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    reason: str
    def __init__(self, resource_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Diagnosis(_message.Message):
    __slots__ = ("seats", "before_notice", "no_joint_assignment")
    SEATS_FIELD_NUMBER: _ClassVar[int]
    BEFORE_NOTICE_FIELD_NUMBER: _ClassVar[int]
    NO_JOINT_ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    seats: _containers.RepeatedCompositeFieldContainer[SeatDiagnosis]
    before_notice: int
    no_joint_assignment: int
    def __init__(self, seats: _Optional[_Iterable[_Union[SeatDiagnosis, _Mapping]]] = ..., before_notice: _Optional[int] = ..., no_joint_assignment: _Optional[int] = ...) -> None: ...

class SeatDiagnosis(_message.Message):
    __slots__ = ("seat_index", "starts_without_candidate", "rules")
    SEAT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STARTS_WITHOUT_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    seat_index: int
    starts_without_candidate: int
    rules: _containers.RepeatedCompositeFieldContainer[RuleCount]
    def __init__(self, seat_index: _Optional[int] = ..., starts_without_candidate: _Optional[int] = ..., rules: _Optional[_Iterable[_Union[RuleCount, _Mapping]]] = ...) -> None: ...

class RuleCount(_message.Message):
    __slots__ = ("rule", "starts")
    RULE_FIELD_NUMBER: _ClassVar[int]
    STARTS_FIELD_NUMBER: _ClassVar[int]
    rule: str
    starts: int
    def __init__(self, rule: _Optional[str] = ..., starts: _Optional[int] = ...) -> None: ...
