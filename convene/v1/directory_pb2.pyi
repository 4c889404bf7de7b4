from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Weekday(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEEKDAY_UNSPECIFIED: _ClassVar[Weekday]
    WEEKDAY_MONDAY: _ClassVar[Weekday]
    WEEKDAY_TUESDAY: _ClassVar[Weekday]
    WEEKDAY_WEDNESDAY: _ClassVar[Weekday]
    WEEKDAY_THURSDAY: _ClassVar[Weekday]
    WEEKDAY_FRIDAY: _ClassVar[Weekday]
    WEEKDAY_SATURDAY: _ClassVar[Weekday]
    WEEKDAY_SUNDAY: _ClassVar[Weekday]

class Distribution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISTRIBUTION_UNSPECIFIED: _ClassVar[Distribution]
    DISTRIBUTION_ROUND_ROBIN: _ClassVar[Distribution]
    DISTRIBUTION_STRICT_ROUND_ROBIN: _ClassVar[Distribution]
    DISTRIBUTION_LOAD_BALANCED: _ClassVar[Distribution]
    DISTRIBUTION_PRIORITY: _ClassVar[Distribution]

class Cycle(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CYCLE_UNSPECIFIED: _ClassVar[Cycle]
    CYCLE_DAY: _ClassVar[Cycle]
    CYCLE_WEEK: _ClassVar[Cycle]
    CYCLE_MONTH: _ClassVar[Cycle]

class PoolKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POOL_KIND_UNSPECIFIED: _ClassVar[PoolKind]
    POOL_KIND_MEMBERS: _ClassVar[PoolKind]
    POOL_KIND_ROOMS: _ClassVar[PoolKind]
WEEKDAY_UNSPECIFIED: Weekday
WEEKDAY_MONDAY: Weekday
WEEKDAY_TUESDAY: Weekday
WEEKDAY_WEDNESDAY: Weekday
WEEKDAY_THURSDAY: Weekday
WEEKDAY_FRIDAY: Weekday
WEEKDAY_SATURDAY: Weekday
WEEKDAY_SUNDAY: Weekday
DISTRIBUTION_UNSPECIFIED: Distribution
DISTRIBUTION_ROUND_ROBIN: Distribution
DISTRIBUTION_STRICT_ROUND_ROBIN: Distribution
DISTRIBUTION_LOAD_BALANCED: Distribution
DISTRIBUTION_PRIORITY: Distribution
CYCLE_UNSPECIFIED: Cycle
CYCLE_DAY: Cycle
CYCLE_WEEK: Cycle
CYCLE_MONTH: Cycle
POOL_KIND_UNSPECIFIED: PoolKind
POOL_KIND_MEMBERS: PoolKind
POOL_KIND_ROOMS: PoolKind

class DayRange(_message.Message):
    __slots__ = ("start_minute", "end_minute")
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    start_minute: int
    end_minute: int
    def __init__(self, start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ...) -> None: ...

class WeekdayHours(_message.Message):
    __slots__ = ("weekday", "ranges")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    RANGES_FIELD_NUMBER: _ClassVar[int]
    weekday: Weekday
    ranges: _containers.RepeatedCompositeFieldContainer[DayRange]
    def __init__(self, weekday: _Optional[_Union[Weekday, str]] = ..., ranges: _Optional[_Iterable[_Union[DayRange, _Mapping]]] = ...) -> None: ...

class DateHours(_message.Message):
    __slots__ = ("date", "ranges")
    DATE_FIELD_NUMBER: _ClassVar[int]
    RANGES_FIELD_NUMBER: _ClassVar[int]
    date: str
    ranges: _containers.RepeatedCompositeFieldContainer[DayRange]
    def __init__(self, date: _Optional[str] = ..., ranges: _Optional[_Iterable[_Union[DayRange, _Mapping]]] = ...) -> None: ...

class WorkingHours(_message.Message):
    __slots__ = ("time_zone", "weekly", "overrides")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    weekly: _containers.RepeatedCompositeFieldContainer[WeekdayHours]
    overrides: _containers.RepeatedCompositeFieldContainer[DateHours]
    def __init__(self, time_zone: _Optional[str] = ..., weekly: _Optional[_Iterable[_Union[WeekdayHours, _Mapping]]] = ..., overrides: _Optional[_Iterable[_Union[DateHours, _Mapping]]] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("id", "name", "email", "time_zone", "working_hours", "daily_limit", "weekly_limit")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    WORKING_HOURS_FIELD_NUMBER: _ClassVar[int]
    DAILY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    email: str
    time_zone: str
    working_hours: WorkingHours
    daily_limit: int
    weekly_limit: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., time_zone: _Optional[str] = ..., working_hours: _Optional[_Union[WorkingHours, _Mapping]] = ..., daily_limit: _Optional[int] = ..., weekly_limit: _Optional[int] = ...) -> None: ...

class Room(_message.Message):
    __slots__ = ("id", "name", "capacity", "time_zone", "opening_hours", "email")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    OPENING_HOURS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    capacity: int
    time_zone: str
    opening_hours: WorkingHours
    email: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., capacity: _Optional[int] = ..., time_zone: _Optional[str] = ..., opening_hours: _Optional[_Union[WorkingHours, _Mapping]] = ..., email: _Optional[str] = ...) -> None: ...

class Pool(_message.Message):
    __slots__ = ("id", "name", "kind", "resource_ids", "distribution", "cycle", "priorities")
    class PrioritiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    PRIORITIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: PoolKind
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    distribution: Distribution
    cycle: Cycle
    priorities: _containers.ScalarMap[str, int]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[PoolKind, str]] = ..., resource_ids: _Optional[_Iterable[str]] = ..., distribution: _Optional[_Union[Distribution, str]] = ..., cycle: _Optional[_Union[Cycle, str]] = ..., priorities: _Optional[_Mapping[str, int]] = ...) -> None: ...
