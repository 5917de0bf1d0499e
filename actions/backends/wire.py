"""JSON encoding of the backend's data classes: the REST API's bodies and the stub's stored results.

Dataclasses become objects of their fields, enums their values, dates and datetimes ISO 8601 strings
(datetimes with their offset), tuples and lists arrays. Money stays integer fen. `verify_otp`'s result is an
object tagged with ``"result"``: ``verified``, ``wrong``, ``locked`` or ``expired``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import date, datetime
from typing import Any, TypeVar

from actions.backends.base import OtpExpired, OtpLocked, OtpResult, OtpVerified, OtpWrong

T = TypeVar("T")

OTP_RESULT_TAGS: dict[str, type] = {
    "verified": OtpVerified,
    "wrong": OtpWrong,
    "locked": OtpLocked,
    "expired": OtpExpired,
}


def encode(value: Any) -> Any:
    """Turn a data class (or a list or dict of them) into JSON-able values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(kind: Any, data: Any) -> Any:
    """Rebuild a value of type `kind` (a data class, list[...], X | None, enum, date, ...) from `encode`."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        if data is None:
            return None
        if len(options) != 1:
            raise TypeError(f"cannot decode ambiguous {kind}")
        return decode(options[0], data)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        return [decode(item_kind, item) for item in _array(data)]
    if origin is tuple:
        item_kind = typing.get_args(kind)[0]
        return tuple(decode(item_kind, item) for item in _array(data))
    if kind is Any:
        return data
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(data, dict):
            raise ValueError(f"{kind.__name__}: expected an object")
        hints = typing.get_type_hints(kind)
        fields = {f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind) if f.name in data}
        return kind(**fields)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if kind is datetime:
        return datetime.fromisoformat(_string(data))
    if kind is date:
        return date.fromisoformat(_string(data))
    if kind is bool:
        if not isinstance(data, bool):
            raise ValueError("expected a boolean")
        return data
    if kind is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError("expected an integer (money is integer fen)")
        return data
    if kind is str:
        return _string(data)
    if kind is type(None):
        return None
    raise TypeError(f"cannot decode {kind}")


def _array(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ValueError("expected an array")
    return data


def _string(data: Any) -> str:
    if not isinstance(data, str):
        raise ValueError("expected a string")
    return data


def dumps(value: Any) -> str:
    """`encode` to a JSON string (Chinese kept as is)."""
    return json.dumps(encode(value), ensure_ascii=False, separators=(",", ":"))


def loads(kind: type[T] | Any, text: str) -> Any:
    """`decode` from a JSON string."""
    return decode(kind, json.loads(text))


def encode_otp_result(result: OtpResult) -> dict[str, Any]:
    """`verify_otp`'s result as a tagged object."""
    tag = next(name for name, cls in OTP_RESULT_TAGS.items() if isinstance(result, cls))
    return {"result": tag, **encode(result)}


def decode_otp_result(data: Any) -> OtpResult:
    """The inverse of `encode_otp_result`."""
    if not isinstance(data, dict) or data.get("result") not in OTP_RESULT_TAGS:
        raise ValueError("expected a tagged OTP result")
    fields = {key: value for key, value in data.items() if key != "result"}
    result: OtpResult = decode(OTP_RESULT_TAGS[data["result"]], fields)
    return result
