"""datetime, date, time and timedelta.

These are always sent as ext values (self-describing), so ``to_jsonable`` can show them and
untyped data round-trips them. A datetime keeps its awareness: a fixed offset is kept as the
offset, a ``zoneinfo`` zone by its key (so wall time and DST folds come back right).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from msgpack import ExtType

from flyte.types import _wire
from flyte.types._errors import mismatch
from flyte.types._registry import BaseConverter, Plan

_TIMEDELTA = struct.Struct("<iii")


def _zone_key(tz: Any) -> str | None:
    return getattr(tz, "key", None) if type(tz).__module__ == "zoneinfo" else None


def _pack_datetime(value: datetime) -> ExtType:
    text = value.isoformat()
    key = _zone_key(value.tzinfo)
    if key:
        text = f"{text}[{key}]"  # RFC 9557 style zone suffix
    return ExtType(_wire.DATETIME, text.encode())


def _parse_zoned(text: str) -> datetime:
    """ISO 8601, optionally followed by a ``[Zone/Key]`` suffix."""
    text, _, key = text.partition("[")
    value = datetime.fromisoformat(text)
    if key:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(key.rstrip("]")))
    return value


def _unpack_datetime(payload: bytes) -> datetime:
    return _parse_zoned(payload.decode())


def _view_datetime(payload: bytes) -> str:
    return payload.decode().partition("[")[0]


def _pack_timedelta(value: timedelta) -> ExtType:
    return ExtType(_wire.TIMEDELTA, _TIMEDELTA.pack(value.days, value.seconds, value.microseconds))


def _unpack_timedelta(payload: bytes) -> timedelta:
    days, seconds, micros = _TIMEDELTA.unpack(payload)
    return timedelta(days=days, seconds=seconds, microseconds=micros)


_wire.register_ext(_wire.DATETIME, _unpack_datetime, _view_datetime, {datetime: _pack_datetime})
_wire.register_ext(
    _wire.DATE,
    lambda p: date.fromisoformat(p.decode()),
    lambda p: p.decode(),
    {date: lambda v: ExtType(_wire.DATE, v.isoformat().encode())},
)
_wire.register_ext(
    _wire.TIME,
    lambda p: time.fromisoformat(p.decode()),
    lambda p: p.decode(),
    {time: lambda v: ExtType(_wire.TIME, v.isoformat().encode())},
)
_wire.register_ext(
    _wire.TIMEDELTA,
    _unpack_timedelta,
    lambda p: _unpack_timedelta(p).total_seconds(),
    {timedelta: _pack_timedelta},
)


# --- coercion of subclasses (e.g. pandas.Timestamp) to the plain class ---------------------------


def _plain_datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        return datetime(
            v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo, fold=v.fold
        )
    raise mismatch("datetime", v)


def _plain_date(v: Any) -> date:
    if isinstance(v, date) and not isinstance(v, datetime):  # a datetime is not a date here
        return date(v.year, v.month, v.day)
    raise mismatch("date", v)


def _plain_time(v: Any) -> time:
    if isinstance(v, time):
        return time(v.hour, v.minute, v.second, v.microsecond, v.tzinfo, fold=v.fold)
    raise mismatch("time", v)


def _plain_timedelta(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return timedelta(days=v.days, seconds=v.seconds, microseconds=v.microseconds)
    raise mismatch("timedelta", v)


# --- from JSON ---------------------------------------------------------------------------------------


def _json_datetime(obj: Any) -> datetime:
    if isinstance(obj, datetime):
        return obj
    if type(obj) in (int, float):
        return datetime.fromtimestamp(obj, tz=timezone.utc)
    if type(obj) is str:
        text = obj.strip()
        head, bracket, tail = text.partition("[")
        if head.endswith(("Z", "z")):  # Python 3.10 fromisoformat does not read "Z"
            text = f"{head[:-1]}+00:00{bracket}{tail}"
        try:
            return _parse_zoned(text)
        except (ValueError, LookupError):  # LookupError: unknown zone key
            pass
    raise mismatch("datetime", obj, "use ISO 8601, e.g. 2024-05-01T12:00:00+00:00")


def _json_date(obj: Any) -> date:
    if isinstance(obj, date) and not isinstance(obj, datetime):
        return obj
    if type(obj) is str:
        try:
            return date.fromisoformat(obj.strip())
        except ValueError:
            pass
    raise mismatch("date", obj, "use YYYY-MM-DD")


def _json_time(obj: Any) -> time:
    if isinstance(obj, time):
        return obj
    if type(obj) is str:
        try:
            return time.fromisoformat(obj.strip())
        except ValueError:
            pass
    raise mismatch("time", obj, "use HH:MM[:SS[.ffffff]]")


_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds", "ms": "milliseconds"}
_UNIT_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_CLOCK = re.compile(r"(?:(-?\d+) days?,\s*)?(\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _parse_duration(text: str) -> timedelta | None:
    text = text.strip()
    try:
        return timedelta(seconds=float(text))
    except (ValueError, OverflowError):
        pass
    clock = _CLOCK.fullmatch(text)
    if clock:
        days, hours, minutes, seconds = clock.groups()
        return timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds))
    compact = text.replace(" ", "").lower()
    parts = _UNIT_PART.findall(compact)
    if parts and "".join(n + u for n, u in parts) == compact:
        return sum((timedelta(**{_UNITS[u]: float(n)}) for n, u in parts), timedelta())
    return None


def _json_timedelta(obj: Any) -> timedelta:
    if isinstance(obj, timedelta):
        return obj
    if type(obj) in (int, float):
        try:
            return timedelta(seconds=obj)
        except (ValueError, OverflowError):
            raise mismatch("timedelta", obj, "out of range") from None
    if type(obj) is str:
        parsed = _parse_duration(obj)
        if parsed is not None:
            return parsed
    raise mismatch("timedelta", obj, "use seconds, 'H:MM:SS' or units like '1h30m'")


_KINDS: dict[type, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    datetime: (_plain_datetime, _json_datetime),
    date: (_plain_date, _json_date),
    time: (_plain_time, _json_time),
    timedelta: (_plain_timedelta, _json_timedelta),
}


def _identity(value: Any) -> Any:
    return value


class TimeConverter(BaseConverter):
    """datetime, date, time, timedelta: validated here, packed by the ext encoders above."""

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and python_type in _KINDS

    def build(self, python_type: Any) -> Plan:
        coerce, from_json = _KINDS[python_type]

        def enc(value: Any) -> Any:
            return value if type(value) is python_type else coerce(value)

        return Plan(
            python_type,
            python_type.__name__,
            enc,
            _identity,
            from_json,
            exact=frozenset({python_type}),
            dec_identity=True,
            hashable_wire=True,
            runtime=python_type,
        )
