import datetime

from convene.v1 import batch_pb2 as _batch_pb2
from convene.v1 import booking_pb2 as _booking_pb2
from convene.v1 import directory_pb2 as _directory_pb2
from convene.v1 import meeting_pb2 as _meeting_pb2
from convene.v1 import schedule_pb2 as _schedule_pb2
from convene.v1 import sequences_pb2 as _sequences_pb2
from convene.v1 import slots_pb2 as _slots_pb2
from convene.v1 import webhooks_pb2 as _webhooks_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Order(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_UNSPECIFIED: _ClassVar[Order]
    ORDER_CHRONOLOGICAL: _ClassVar[Order]
    ORDER_BEST_FIRST: _ClassVar[Order]
ORDER_UNSPECIFIED: Order
ORDER_CHRONOLOGICAL: Order
ORDER_BEST_FIRST: Order

class FindSlotsRequest(_message.Message):
    __slots__ = ("rules", "template", "window_start", "window_end", "time_zone", "order", "page_size", "page_token", "max_alternatives", "min_available", "want_alternatives", "now")
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MAX_ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    MIN_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    WANT_ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    rules: _meeting_pb2.MeetingRules
    template: _meeting_pb2.TemplateRef
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    time_zone: str
    order: Order
    page_size: int
    page_token: str
    max_alternatives: int
    min_available: int
    want_alternatives: bool
    now: _timestamp_pb2.Timestamp
    def __init__(self, rules: _Optional[_Union[_meeting_pb2.MeetingRules, _Mapping]] = ..., template: _Optional[_Union[_meeting_pb2.TemplateRef, _Mapping]] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., order: _Optional[_Union[Order, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., max_alternatives: _Optional[int] = ..., min_available: _Optional[int] = ..., want_alternatives: _Optional[bool] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FindSlotsResponse(_message.Message):
    __slots__ = ("slots", "alternatives", "next_page_token", "total_available", "candidates_considered", "unavailable_calendars", "partial", "diagnosis")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[_slots_pb2.Slot]
    alternatives: _containers.RepeatedCompositeFieldContainer[_slots_pb2.Slot]
    next_page_token: str
    total_available: int
    candidates_considered: int
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    partial: bool
    diagnosis: _slots_pb2.Diagnosis
    def __init__(self, slots: _Optional[_Iterable[_Union[_slots_pb2.Slot, _Mapping]]] = ..., alternatives: _Optional[_Iterable[_Union[_slots_pb2.Slot, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_available: _Optional[int] = ..., candidates_considered: _Optional[int] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ..., partial: _Optional[bool] = ..., diagnosis: _Optional[_Union[_slots_pb2.Diagnosis, _Mapping]] = ...) -> None: ...

class CheckTimeRequest(_message.Message):
    __slots__ = ("rules", "template", "start", "time_zone", "now")
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    rules: _meeting_pb2.MeetingRules
    template: _meeting_pb2.TemplateRef
    start: _timestamp_pb2.Timestamp
    time_zone: str
    now: _timestamp_pb2.Timestamp
    def __init__(self, rules: _Optional[_Union[_meeting_pb2.MeetingRules, _Mapping]] = ..., template: _Optional[_Union[_meeting_pb2.TemplateRef, _Mapping]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckTimeResponse(_message.Message):
    __slots__ = ("available", "slot", "reason", "unavailable_calendars")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    available: bool
    slot: _slots_pb2.Slot
    reason: str
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    def __init__(self, available: _Optional[bool] = ..., slot: _Optional[_Union[_slots_pb2.Slot, _Mapping]] = ..., reason: _Optional[str] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ...) -> None: ...

class FindSequencesRequest(_message.Message):
    __slots__ = ("rules", "template", "window_start", "window_end", "time_zone", "order", "page_size", "page_token", "max_alternatives", "min_available", "want_alternatives", "now")
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MAX_ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    MIN_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    WANT_ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    rules: _sequences_pb2.SequenceRules
    template: _sequences_pb2.LoopTemplateRef
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    time_zone: str
    order: Order
    page_size: int
    page_token: str
    max_alternatives: int
    min_available: int
    want_alternatives: bool
    now: _timestamp_pb2.Timestamp
    def __init__(self, rules: _Optional[_Union[_sequences_pb2.SequenceRules, _Mapping]] = ..., template: _Optional[_Union[_sequences_pb2.LoopTemplateRef, _Mapping]] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., order: _Optional[_Union[Order, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., max_alternatives: _Optional[int] = ..., min_available: _Optional[int] = ..., want_alternatives: _Optional[bool] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FindSequencesResponse(_message.Message):
    __slots__ = ("options", "alternatives", "next_page_token", "total_available", "candidates_considered", "unavailable_calendars", "partial", "diagnosis")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[_sequences_pb2.SequenceOption]
    alternatives: _containers.RepeatedCompositeFieldContainer[_sequences_pb2.SequenceOption]
    next_page_token: str
    total_available: int
    candidates_considered: int
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    partial: bool
    diagnosis: _containers.RepeatedCompositeFieldContainer[_sequences_pb2.SegmentDiagnosis]
    def __init__(self, options: _Optional[_Iterable[_Union[_sequences_pb2.SequenceOption, _Mapping]]] = ..., alternatives: _Optional[_Iterable[_Union[_sequences_pb2.SequenceOption, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_available: _Optional[int] = ..., candidates_considered: _Optional[int] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ..., partial: _Optional[bool] = ..., diagnosis: _Optional[_Iterable[_Union[_sequences_pb2.SegmentDiagnosis, _Mapping]]] = ...) -> None: ...

class CheckSequenceRequest(_message.Message):
    __slots__ = ("rules", "template", "start", "time_zone", "now")
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    rules: _sequences_pb2.SequenceRules
    template: _sequences_pb2.LoopTemplateRef
    start: _timestamp_pb2.Timestamp
    time_zone: str
    now: _timestamp_pb2.Timestamp
    def __init__(self, rules: _Optional[_Union[_sequences_pb2.SequenceRules, _Mapping]] = ..., template: _Optional[_Union[_sequences_pb2.LoopTemplateRef, _Mapping]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckSequenceResponse(_message.Message):
    __slots__ = ("available", "option", "reason", "unavailable_calendars", "diagnosis", "partial")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    available: bool
    option: _sequences_pb2.SequenceOption
    reason: str
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    diagnosis: _containers.RepeatedCompositeFieldContainer[_sequences_pb2.SegmentDiagnosis]
    partial: bool
    def __init__(self, available: _Optional[bool] = ..., option: _Optional[_Union[_sequences_pb2.SequenceOption, _Mapping]] = ..., reason: _Optional[str] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ..., diagnosis: _Optional[_Iterable[_Union[_sequences_pb2.SegmentDiagnosis, _Mapping]]] = ..., partial: _Optional[bool] = ...) -> None: ...

class BookSequenceRequest(_message.Message):
    __slots__ = ("request_id", "rules", "template", "segments", "time_zone", "customers", "title", "organizer_member_id", "allow_conflicts", "description", "location", "now")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ORGANIZER_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rules: _sequences_pb2.SequenceRules
    template: _sequences_pb2.LoopTemplateRef
    segments: _containers.RepeatedCompositeFieldContainer[_sequences_pb2.SegmentChoice]
    time_zone: str
    customers: _containers.RepeatedCompositeFieldContainer[_booking_pb2.Person]
    title: str
    organizer_member_id: str
    allow_conflicts: bool
    description: str
    location: str
    now: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., rules: _Optional[_Union[_sequences_pb2.SequenceRules, _Mapping]] = ..., template: _Optional[_Union[_sequences_pb2.LoopTemplateRef, _Mapping]] = ..., segments: _Optional[_Iterable[_Union[_sequences_pb2.SegmentChoice, _Mapping]]] = ..., time_zone: _Optional[str] = ..., customers: _Optional[_Iterable[_Union[_booking_pb2.Person, _Mapping]]] = ..., title: _Optional[str] = ..., organizer_member_id: _Optional[str] = ..., allow_conflicts: _Optional[bool] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BookSequenceResponse(_message.Message):
    __slots__ = ("bookings", "replayed")
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    bookings: _containers.RepeatedCompositeFieldContainer[_booking_pb2.Booking]
    replayed: bool
    def __init__(self, bookings: _Optional[_Iterable[_Union[_booking_pb2.Booking, _Mapping]]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_directory_pb2.Member]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[_directory_pb2.Member, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMemberRequest(_message.Message):
    __slots__ = ("member_id",)
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    def __init__(self, member_id: _Optional[str] = ...) -> None: ...

class GetMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: _directory_pb2.Member
    def __init__(self, member: _Optional[_Union[_directory_pb2.Member, _Mapping]] = ...) -> None: ...

class ListRoomsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoomsResponse(_message.Message):
    __slots__ = ("rooms", "next_page_token")
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[_directory_pb2.Room]
    next_page_token: str
    def __init__(self, rooms: _Optional[_Iterable[_Union[_directory_pb2.Room, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPoolsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPoolsResponse(_message.Message):
    __slots__ = ("pools", "next_page_token")
    POOLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[_directory_pb2.Pool]
    next_page_token: str
    def __init__(self, pools: _Optional[_Iterable[_Union[_directory_pb2.Pool, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[_meeting_pb2.Template]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[_meeting_pb2.Template, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("template_id",)
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    def __init__(self, template_id: _Optional[str] = ...) -> None: ...

class GetTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: _meeting_pb2.Template
    def __init__(self, template: _Optional[_Union[_meeting_pb2.Template, _Mapping]] = ...) -> None: ...

class CreateBookingRequest(_message.Message):
    __slots__ = ("request_id", "rules", "template", "start", "time_zone", "seats", "customers", "title", "organizer_member_id", "allow_conflicts", "hold_id", "description", "location", "now")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ORGANIZER_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rules: _meeting_pb2.MeetingRules
    template: _meeting_pb2.TemplateRef
    start: _timestamp_pb2.Timestamp
    time_zone: str
    seats: _containers.RepeatedCompositeFieldContainer[_booking_pb2.SeatChoice]
    customers: _containers.RepeatedCompositeFieldContainer[_booking_pb2.Person]
    title: str
    organizer_member_id: str
    allow_conflicts: bool
    hold_id: str
    description: str
    location: str
    now: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., rules: _Optional[_Union[_meeting_pb2.MeetingRules, _Mapping]] = ..., template: _Optional[_Union[_meeting_pb2.TemplateRef, _Mapping]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., seats: _Optional[_Iterable[_Union[_booking_pb2.SeatChoice, _Mapping]]] = ..., customers: _Optional[_Iterable[_Union[_booking_pb2.Person, _Mapping]]] = ..., title: _Optional[str] = ..., organizer_member_id: _Optional[str] = ..., allow_conflicts: _Optional[bool] = ..., hold_id: _Optional[str] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateBookingResponse(_message.Message):
    __slots__ = ("booking", "replayed")
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    booking: _booking_pb2.Booking
    replayed: bool
    def __init__(self, booking: _Optional[_Union[_booking_pb2.Booking, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetBookingRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class GetBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: _booking_pb2.Booking
    def __init__(self, booking: _Optional[_Union[_booking_pb2.Booking, _Mapping]] = ...) -> None: ...

class ListBookingsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "resource_id", "window_start", "window_end", "status")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    resource_id: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    status: _booking_pb2.BookingStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., resource_id: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_booking_pb2.BookingStatus, str]] = ...) -> None: ...

class ListBookingsResponse(_message.Message):
    __slots__ = ("bookings", "next_page_token")
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    bookings: _containers.RepeatedCompositeFieldContainer[_booking_pb2.Booking]
    next_page_token: str
    def __init__(self, bookings: _Optional[_Iterable[_Union[_booking_pb2.Booking, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelBookingRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class CancelBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: _booking_pb2.Booking
    def __init__(self, booking: _Optional[_Union[_booking_pb2.Booking, _Mapping]] = ...) -> None: ...

class SeatReplacement(_message.Message):
    __slots__ = ("seat_index", "replaced_id", "resource_id")
    SEAT_INDEX_FIELD_NUMBER: _ClassVar[int]
    REPLACED_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    seat_index: int
    replaced_id: str
    resource_id: str
    def __init__(self, seat_index: _Optional[int] = ..., replaced_id: _Optional[str] = ..., resource_id: _Optional[str] = ...) -> None: ...

class RescheduleBookingRequest(_message.Message):
    __slots__ = ("booking_id", "request_id", "etag", "start", "seats", "replacement", "allow_conflicts", "validate_only", "now")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    request_id: str
    etag: str
    start: _timestamp_pb2.Timestamp
    seats: _containers.RepeatedCompositeFieldContainer[_booking_pb2.SeatChoice]
    replacement: SeatReplacement
    allow_conflicts: bool
    validate_only: bool
    now: _timestamp_pb2.Timestamp
    def __init__(self, booking_id: _Optional[str] = ..., request_id: _Optional[str] = ..., etag: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seats: _Optional[_Iterable[_Union[_booking_pb2.SeatChoice, _Mapping]]] = ..., replacement: _Optional[_Union[SeatReplacement, _Mapping]] = ..., allow_conflicts: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RescheduleBookingResponse(_message.Message):
    __slots__ = ("booking", "replayed", "changed_seats", "conflicts", "available", "reason", "unavailable_calendars")
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_SEATS_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    booking: _booking_pb2.Booking
    replayed: bool
    changed_seats: _containers.RepeatedScalarFieldContainer[int]
    conflicts: _containers.RepeatedCompositeFieldContainer[_slots_pb2.Conflict]
    available: bool
    reason: str
    unavailable_calendars: _containers.RepeatedCompositeFieldContainer[_slots_pb2.UnavailableCalendar]
    def __init__(self, booking: _Optional[_Union[_booking_pb2.Booking, _Mapping]] = ..., replayed: _Optional[bool] = ..., changed_seats: _Optional[_Iterable[int]] = ..., conflicts: _Optional[_Iterable[_Union[_slots_pb2.Conflict, _Mapping]]] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., unavailable_calendars: _Optional[_Iterable[_Union[_slots_pb2.UnavailableCalendar, _Mapping]]] = ...) -> None: ...

class UpdateBookingRequest(_message.Message):
    __slots__ = ("booking_id", "etag", "booking", "update_mask")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    etag: str
    booking: _booking_pb2.Booking
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, booking_id: _Optional[str] = ..., etag: _Optional[str] = ..., booking: _Optional[_Union[_booking_pb2.Booking, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: _booking_pb2.Booking
    def __init__(self, booking: _Optional[_Union[_booking_pb2.Booking, _Mapping]] = ...) -> None: ...

class HoldSlotRequest(_message.Message):
    __slots__ = ("resource_ids", "start", "end", "ttl")
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    ttl: _duration_pb2.Duration
    def __init__(self, resource_ids: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HoldSlotResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: _booking_pb2.Hold
    def __init__(self, hold: _Optional[_Union[_booking_pb2.Hold, _Mapping]] = ...) -> None: ...

class ReleaseHoldRequest(_message.Message):
    __slots__ = ("hold_id",)
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    def __init__(self, hold_id: _Optional[str] = ...) -> None: ...

class ReleaseHoldResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OptimizeBatchRequest(_message.Message):
    __slots__ = ("request_id", "items", "weights", "allow_conflicts", "time_limit", "workers", "scheduler", "commit", "now", "work_limit", "seed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    WORK_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    items: _containers.RepeatedCompositeFieldContainer[_batch_pb2.BatchItem]
    weights: _batch_pb2.BatchWeights
    allow_conflicts: bool
    time_limit: _duration_pb2.Duration
    workers: int
    scheduler: str
    commit: bool
    now: _timestamp_pb2.Timestamp
    work_limit: float
    seed: int
    def __init__(self, request_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_batch_pb2.BatchItem, _Mapping]]] = ..., weights: _Optional[_Union[_batch_pb2.BatchWeights, _Mapping]] = ..., allow_conflicts: _Optional[bool] = ..., time_limit: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workers: _Optional[int] = ..., scheduler: _Optional[str] = ..., commit: _Optional[bool] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., work_limit: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class OptimizeBatchResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: _batch_pb2.BatchProgress
    result: _batch_pb2.BatchResult
    def __init__(self, progress: _Optional[_Union[_batch_pb2.BatchProgress, _Mapping]] = ..., result: _Optional[_Union[_batch_pb2.BatchResult, _Mapping]] = ...) -> None: ...

class StartBatchJobRequest(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: OptimizeBatchRequest
    def __init__(self, batch: _Optional[_Union[OptimizeBatchRequest, _Mapping]] = ...) -> None: ...

class StartBatchJobResponse(_message.Message):
    __slots__ = ("job", "replayed")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    job: _batch_pb2.BatchJob
    replayed: bool
    def __init__(self, job: _Optional[_Union[_batch_pb2.BatchJob, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetBatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetBatchJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _batch_pb2.BatchJob
    def __init__(self, job: _Optional[_Union[_batch_pb2.BatchJob, _Mapping]] = ...) -> None: ...

class WatchBatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchBatchJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _batch_pb2.BatchJob
    def __init__(self, job: _Optional[_Union[_batch_pb2.BatchJob, _Mapping]] = ...) -> None: ...

class CancelBatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelBatchJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _batch_pb2.BatchJob
    def __init__(self, job: _Optional[_Union[_batch_pb2.BatchJob, _Mapping]] = ...) -> None: ...

class ListBatchJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBatchJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_batch_pb2.BatchJob]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[_batch_pb2.BatchJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
