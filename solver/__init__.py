"""Convene's pure scheduling core: no I/O, plain data in, plain data out.

    from solver import find_slots
    result = find_slots(directory, busy, request, bookings)

The flow inside: validate -> grid and free masks (numpy bitsets) -> per-start
assignment (vectorized where seats are independent, a min-cost flow per
distinct pattern where they interact; CP-SAT the reference) -> order and page.
"""

from solver.domain import (
    Assignment,
    Booking,
    BusyInterval,
    BusyKind,
    Conflict,
    Cycle,
    DayRange,
    Directory,
    Distribution,
    EventDetails,
    Member,
    MemberSeat,
    OptionalStatus,
    Order,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    SeatFill,
    Slot,
    SlotRequest,
    SlotResult,
    Weights,
    WorkingHours,
)
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource
from solver.sequences import Segment, SegmentSlot, SequenceOption, SequenceRequest, SequenceResult, find_sequences
from solver.slots import TimeCheck, check_time, find_slots
from solver.validate import Limits, validate_request

__all__ = [
    "Assignment",
    "Booking",
    "BusyInterval",
    "BusyKind",
    "Conflict",
    "Cycle",
    "DayRange",
    "Directory",
    "Distribution",
    "EventDetails",
    "FieldViolation",
    "InvalidRequest",
    "LimitExceeded",
    "Limits",
    "Member",
    "MemberSeat",
    "OptionalStatus",
    "Order",
    "Pool",
    "PoolSeat",
    "Room",
    "RoomSeat",
    "SchedulingError",
    "Seat",
    "SeatFill",
    "Segment",
    "SegmentSlot",
    "SequenceOption",
    "SequenceRequest",
    "SequenceResult",
    "Slot",
    "SlotRequest",
    "SlotResult",
    "TimeCheck",
    "UnknownResource",
    "Weights",
    "WorkingHours",
    "check_time",
    "find_sequences",
    "find_slots",
    "validate_request",
]
