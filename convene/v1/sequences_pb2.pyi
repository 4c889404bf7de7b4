import datetime

from convene.v1 import booking_pb2 as _booking_pb2
from convene.v1 import directory_pb2 as _directory_pb2
from convene.v1 import meeting_pb2 as _meeting_pb2
from convene.v1 import slots_pb2 as _slots_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SegmentSpec(_message.Message):
    __slots__ = ("label", "rules", "template")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    label: str
    rules: _meeting_pb2.MeetingRules
    template: _meeting_pb2.TemplateRef
    def __init__(self, label: _Optional[str] = ..., rules: _Optional[_Union[_meeting_pb2.MeetingRules, _Mapping]] = ..., template: _Optional[_Union[_meeting_pb2.TemplateRef, _Mapping]] = ...) -> None: ...

class SequenceRules(_message.Message):
    __slots__ = ("segments", "any_order", "free_order", "min_gap", "max_gap", "max_span", "allow_member_repeat", "gap_weight", "resolution_minutes", "start_interval_minutes", "minimum_notice", "preferred_hours", "weights")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    ANY_ORDER_FIELD_NUMBER: _ClassVar[int]
    FREE_ORDER_FIELD_NUMBER: _ClassVar[int]
    MIN_GAP_FIELD_NUMBER: _ClassVar[int]
    MAX_GAP_FIELD_NUMBER: _ClassVar[int]
    MAX_SPAN_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MEMBER_REPEAT_FIELD_NUMBER: _ClassVar[int]
    GAP_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    START_INTERVAL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_NOTICE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_HOURS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[SegmentSpec]
    any_order: bool
    free_order: _containers.RepeatedScalarFieldContainer[int]
    min_gap: _duration_pb2.Duration
    max_gap: _duration_pb2.Duration
    max_span: _duration_pb2.Duration
    allow_member_repeat: bool
    gap_weight: float
    resolution_minutes: int
    start_interval_minutes: int
    minimum_notice: _duration_pb2.Duration
    preferred_hours: _directory_pb2.DayRange
    weights: _meeting_pb2.Weights
    def __init__(self, segments: _Optional[_Iterable[_Union[SegmentSpec, _Mapping]]] = ..., any_order: _Optional[bool] = ..., free_order: _Optional[_Iterable[int]] = ..., min_gap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_gap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_span: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., allow_member_repeat: _Optional[bool] = ..., gap_weight: _Optional[float] = ..., resolution_minutes: _Optional[int] = ..., start_interval_minutes: _Optional[int] = ..., minimum_notice: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., preferred_hours: _Optional[_Union[_directory_pb2.DayRange, _Mapping]] = ..., weights: _Optional[_Union[_meeting_pb2.Weights, _Mapping]] = ...) -> None: ...

class SequenceSegment(_message.Message):
    __slots__ = ("segment_index", "label", "slot")
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    segment_index: int
    label: str
    slot: _slots_pb2.Slot
    def __init__(self, segment_index: _Optional[int] = ..., label: _Optional[str] = ..., slot: _Optional[_Union[_slots_pb2.Slot, _Mapping]] = ...) -> None: ...

class SequenceOption(_message.Message):
    __slots__ = ("start", "end", "segments", "cost", "score", "gap_minutes", "conflict_cost")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    GAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_COST_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    segments: _containers.RepeatedCompositeFieldContainer[SequenceSegment]
    cost: float
    score: float
    gap_minutes: int
    conflict_cost: float
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., segments: _Optional[_Iterable[_Union[SequenceSegment, _Mapping]]] = ..., cost: _Optional[float] = ..., score: _Optional[float] = ..., gap_minutes: _Optional[int] = ..., conflict_cost: _Optional[float] = ...) -> None: ...

class SegmentDiagnosis(_message.Message):
    __slots__ = ("segment_index", "label", "diagnosis", "never_available")
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    NEVER_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    segment_index: int
    label: str
    diagnosis: _slots_pb2.Diagnosis
    never_available: bool
    def __init__(self, segment_index: _Optional[int] = ..., label: _Optional[str] = ..., diagnosis: _Optional[_Union[_slots_pb2.Diagnosis, _Mapping]] = ..., never_available: _Optional[bool] = ...) -> None: ...

class SegmentChoice(_message.Message):
    __slots__ = ("start", "seats")
    START_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    seats: _containers.RepeatedCompositeFieldContainer[_booking_pb2.SeatChoice]
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seats: _Optional[_Iterable[_Union[_booking_pb2.SeatChoice, _Mapping]]] = ...) -> None: ...

class LoopTemplate(_message.Message):
    __slots__ = ("id", "name", "description", "rules")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    rules: SequenceRules
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., rules: _Optional[_Union[SequenceRules, _Mapping]] = ...) -> None: ...

class LoopTemplateRef(_message.Message):
    __slots__ = ("template_id", "overrides")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    overrides: SequenceRules
    def __init__(self, template_id: _Optional[str] = ..., overrides: _Optional[_Union[SequenceRules, _Mapping]] = ...) -> None: ...
