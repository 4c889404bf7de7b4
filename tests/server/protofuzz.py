"""Hypothesis strategies for any protobuf request, valid-looking or hostile.

``requests(seed)`` draws a message of ``seed``'s type. Each field keeps the
seed's value or takes a drawn one, so many draws stay close to a valid request
(and reach the solver, the store, the batch optimizer) while the others carry
what an attacker would send: instants near year 1 or 9999 and beyond, durations
of centuries, nanos out of range, unknown enum values, NaN and infinite
weights, strings of megabytes, paths, ``"a/b" * 1000``, control characters and
odd Unicode, long lists, oneofs switched.

Big strings are built by repetition (cheap to draw), not by Hypothesis' text
strategy, so a thousand examples take seconds.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

__all__ = ["requests"]

_INT32 = (-(2**31), -1, 0, 1, 2, 3, 5, 15, 30, 60, 61, 1000, 1440, 10**6, 2**31 - 1)
_INT64 = (*_INT32, -(2**63), 2**63 - 1, 2**40)
_SECONDS = (-62_135_596_800, -62_135_596_801, -(2**62), 0, 1_795_000_000, 1_796_601_600, 1_796_634_000,
            4_102_444_800, 7_258_118_400, 253_402_300_799, 253_402_300_800, 2**62, 2**63 - 1)
_NANOS = (0, 1, 999_999_999, 1_000_000_000, -1, -999_999_999, 2**31 - 1, -(2**31))
_SPANS = (0, 60, 300, 900, 1800, 3600, 7200, 86_400, -60, 3_155_760_000, 315_576_000_000, 315_576_000_001,
          2**62, -(2**62))
_WORDS = ("", "alice", "bob", "carol", "dan", "erin", "zoe", "small", "large", "engineers", "rooms", "interview",
          "UTC", "Europe/Berlin", "Asia/Kolkata", "W. Europe Standard Time", "alice@team.example",
          "Ada <ada@example.org>", "x@y", "@", "../../etc/passwd", "/etc/localtime", "\x00", "\n", "e\u0301",
          "\u202eevil", "\U0001f600", "名前", "NaN", "-1", "9" * 400)
_PIECES = ("x", "a/b", "../", "é", "\x00", "\U0001f600", " ", "%s", "{}")
_LENGTHS = (201, 1000, 8_193, 100_000)


def _strings() -> st.SearchStrategy[str]:
    safe_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
    big = st.tuples(st.sampled_from(_PIECES), st.sampled_from(_LENGTHS)).map(lambda p: p[0] * p[1])
    huge = st.just("m" * 1_000_000)
    return st.one_of(st.sampled_from(_WORDS), safe_text, big, huge)


_STRINGS = _strings()
_scalars: dict[str, st.SearchStrategy[Any]] = {}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """The strategy of a scalar field's values (made once per field: building strategies is slow)."""
    strategy = _scalars.get(field.full_name)
    if strategy is None:
        strategy = _scalars[field.full_name] = _new_scalar(field)
    return strategy


def _new_scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _STRINGS
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e300, float("nan"), float("inf"), -float("inf")]),
                         st.floats(-1e6, 1e6))
    if kind == FieldDescriptor.TYPE_ENUM:
        top = max(v.number for v in field.enum_type.values)
        return st.integers(-1, top + 2)
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return st.one_of(st.sampled_from(_INT64), st.integers(-5, 100))
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.sampled_from([0, 1, 5, 2**32 - 1])
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.sampled_from([0, 1, 5, 2**64 - 1])
    return st.one_of(st.sampled_from(_INT32), st.integers(-5, 100))


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, seed: Message | None, depth: int) -> Message:
    message: Message = seed.__class__() if seed is not None else _new(descriptor)
    if seed is not None:
        message.CopyFrom(seed)
    if descriptor.full_name == "google.protobuf.Timestamp":
        if seed is None or draw(st.booleans()):
            message.seconds = draw(st.one_of(st.sampled_from(_SECONDS), st.integers(1_796_601_600, 1_797_206_400)))
            message.nanos = draw(st.sampled_from(_NANOS))
        return message
    if descriptor.full_name == "google.protobuf.Duration":
        if seed is None or draw(st.booleans()):
            message.seconds = draw(st.one_of(st.sampled_from(_SPANS), st.integers(-120, 7200)))
            message.nanos = draw(st.sampled_from(_NANOS))
        return message
    chosen_oneofs: set[str] = set()
    for field in descriptor.fields:
        # Keep the seed's value most of the time; always draw when there is no seed.
        if seed is not None and draw(st.integers(0, 3)) > 0:
            continue
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name in chosen_oneofs:
                continue
            chosen_oneofs.add(oneof.name)
            if draw(st.booleans()):
                continue
        _fill(draw, message, field, seed, depth)
    return message


def _fill(draw: st.DrawFn, message: Message, field: FieldDescriptor, seed: Message | None, depth: int) -> None:
    is_message = field.type == FieldDescriptor.TYPE_MESSAGE
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        values = getattr(message, field.name)
        values.clear()
        key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        for _ in range(draw(st.integers(0, 3))):
            values[draw(_scalar(key_field))] = draw(_scalar(value_field))
        return
    if field.is_repeated:
        values = getattr(message, field.name)
        kept = [v for v in values] if seed is not None and draw(st.booleans()) else []
        count = draw(st.one_of(st.integers(0, 4), st.sampled_from([30, 300])))
        # Long lists repeat a few drawn entries; a big entry is not repeated (the request must
        # stay under gRPC's 4 MiB, or gRPC alone answers it).
        if is_message:
            element_seed = kept[0] if kept else None
            drawn = [draw(_message(field.message_type, element_seed, depth + 1)) for _ in range(min(count, 2))]
            if drawn and count > len(drawn) and sum(d.ByteSize() for d in drawn) < 2_000:
                drawn *= count // len(drawn)
            del values[:]
            values.extend(kept + drawn[:count])
        else:
            scalar = _scalar(field)
            few = [draw(scalar) for _ in range(min(count, 4))]
            if few and count > len(few) and sum(len(str(v)) for v in few) < 2_000:
                few *= count // len(few)
            del values[:]
            values.extend(kept + few[:count])
        return
    if is_message:
        if depth > 3 or draw(st.integers(0, 5)) == 0:
            message.ClearField(field.name)
            return
        inner_seed = getattr(message, field.name) if seed is not None and message.HasField(field.name) else None
        getattr(message, field.name).CopyFrom(draw(_message(field.message_type, inner_seed, depth + 1)))
        return
    setattr(message, field.name, draw(_scalar(field)))


def _new(descriptor: Descriptor) -> Message:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)()


def requests(seed: Message) -> st.SearchStrategy[Message]:
    """Messages of ``seed``'s type: ``seed`` itself, variations of it, and wholly drawn ones."""
    return st.one_of(_message(seed.DESCRIPTOR, seed, 0), _message(seed.DESCRIPTOR, None, 0))
