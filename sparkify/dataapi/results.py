"""A statement's rows as GetStatementResult returns them, typed as psycopg2 would return them.

Each field is one of `isNull`, `booleanValue`, `longValue`, `doubleValue`, `stringValue`, `blobValue`
(docs.aws.amazon.com/redshift-data/latest/APIReference/API_Field.html). Integers come as longValue and
floating-point numbers as doubleValue; DECIMAL and the date and time types come as stringValue (the Data
API's mapping of JDBC types, data-api.html), so the column's `typeName` decides what the text becomes:
numeric -> Decimal, timestamp -> datetime (Redshift writes '2022-02-22 00:00:00.0'), timestamptz -> an aware
datetime, date -> date; any other text stays a string.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

_TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([+-])(\d\d)(?::?(\d\d))?)?$")
_NUMERIC_TYPES = ("numeric", "decimal")
_TIMESTAMP_TYPES = ("timestamp", "timestamptz", "timestamp without time zone", "timestamp with time zone")


def parse_timestamp(text: str) -> datetime:
    """'2018-11-01 21:01:46.796' (any number of fraction digits, up to 9; microseconds kept), with an optional
    UTC offset ('+00', '+05:30'): a naive datetime, or an aware one when an offset is given."""
    m = _TIMESTAMP.match(text.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0").ljust(6, "0")[:6])
    tz = None
    if m.group(8):
        offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10) or 0))
        tz = timezone(offset if m.group(8) == "+" else -offset)
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def field_value(field: dict, type_name: str = ""):
    """One Field as a Python value, by the column's typeName."""
    if field.get("isNull"):
        return None
    for key in ("longValue", "doubleValue", "booleanValue", "blobValue"):
        if key in field:
            return field[key]
    text = field.get("stringValue")
    if text is None:
        return None
    kind = type_name.lower()
    if kind in _NUMERIC_TYPES:
        return Decimal(text)
    if kind in _TIMESTAMP_TYPES:
        return parse_timestamp(text)
    if kind == "date":
        return date.fromisoformat(text)
    return text


def column_name(meta: dict) -> str:
    """A column's name as a cursor's description gives it: its label (the alias), else its name."""
    return meta.get("label") or meta.get("name") or "?column?"
