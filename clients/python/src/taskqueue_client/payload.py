"""JSON values to and from ``google.protobuf.Value`` (integral numbers come back as int)."""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import struct_pb2

#: Largest integer a JSON number (an IEEE double) holds exactly.
_MAX_SAFE_INT = 2**53


def to_value(obj: Any) -> struct_pb2.Value:
    """Encodes a JSON-compatible Python value (dict, list, str, number, bool, None).

    Raises TypeError or ValueError for anything JSON cannot represent.
    """
    value = struct_pb2.Value()
    if obj is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        value.bool_value = obj
    elif isinstance(obj, (int, float)):
        number = float(obj)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{obj!r} is not a JSON number")
        value.number_value = number
    elif isinstance(obj, str):
        value.string_value = obj
    elif isinstance(obj, dict):
        value.struct_value.SetInParent()  # an empty object is still an object
        for key, item in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {type(key).__name__}")
            value.struct_value.fields[key].CopyFrom(to_value(item))
    elif isinstance(obj, (list, tuple)):
        value.list_value.SetInParent()
        for item in obj:
            value.list_value.values.append(to_value(item))
    else:
        # Anything json can serialise through its default rules (e.g. subclasses).
        return to_value(json.loads(json.dumps(obj)))
    return value


def from_value(value: struct_pb2.Value) -> Any:
    """Decodes a ``google.protobuf.Value`` into plain Python."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) <= _MAX_SAFE_INT:
            return int(number)
        return number
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return {key: from_value(item) for key, item in value.struct_value.fields.items()}
    return [from_value(item) for item in value.list_value.values]
