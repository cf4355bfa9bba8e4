"""The pipeline's parameters as the Redshift Data API takes them, and the size a statement has there.

The statements of sql_queries keep psycopg2's placeholders (`%(name)s`, `%s`). Over the Data API they are sent
with named parameters instead (`:name`, one string value each, which Redshift binds and casts implicitly), so
a value is never part of the SQL text and cannot change a statement's shape. The Data API's own rules
(docs.aws.amazon.com/redshift/latest/mgmt/data-api.html, "Running SQL statements with parameters"): a value
cannot be NULL (the string 'null' would be sent) and cannot be empty (the statement fails). So:

- None becomes the keyword `null` in the text, and '' the literal `''` (both are constants, not values from
  the outside world);
- a tuple (an IN list) becomes one parameter per element: `(:name_1, :name_2, ...)`;
- booleans are 'true'/'false', numbers as Python writes them, a datetime 'YYYY-MM-DD HH:MM:SS.ffffff', a date
  'YYYY-MM-DD'; a string is sent as it is.

`statement_bytes` is what a statement weighs against MAX_STATEMENT_BYTES: its text plus its parameters' values
(the documented limit is on the query statement; counting the values too keeps a statement under it whether
or not Redshift counts them). `render_named` shows a statement as the dry run prints it: each parameter as the
string literal of the value the Data API receives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

# "The maximum query statement size is 100 KB" (the Data API's considerations, data-api.html). Read as
# 100,000 bytes of UTF-8, the smaller of the two readings of "KB".
MAX_STATEMENT_BYTES = 100_000

_NAMED = re.compile(r"%\((\w+)\)s|%s|%%")


def value_text(value) -> str:
    """The string the Data API receives for one parameter value (not None, not '': see the module docstring)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, (date, int, float, Decimal, str)):
        return value.isoformat() if isinstance(value, date) else str(value)
    raise TypeError(f"a {type(value).__name__} cannot be sent as a Data API parameter")


def _convert(sql: str, params, placeholder: Callable[[str, str], str]) -> tuple[str, list[dict]]:
    """`sql` with each psycopg2 placeholder replaced (placeholder(name, value text) gives its text), and the
    Data API parameters used, in order of first use."""
    if not params:
        return sql, []
    parameters: dict[str, str] = {}
    positional = iter(params) if not isinstance(params, Mapping) else None
    counter = iter(range(1, 1_000_000))

    def one(name: str, value) -> str:
        if value is None:
            return "null"
        text = value_text(value)
        if text == "":
            return "''"
        if parameters.setdefault(name, text) != text:
            raise ValueError(f"parameter {name} is bound twice with different values")
        return placeholder(name, text)

    def replace(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        if m.group(1) is None:
            if positional is None:
                raise ValueError("a %s placeholder needs a sequence of parameters")
            return one(f"p{next(counter)}", next(positional))
        if positional is not None:
            raise ValueError(f"%({m.group(1)})s needs a mapping of parameters")
        value = params[m.group(1)]
        if isinstance(value, (tuple, list)):
            if not value:
                raise ValueError(f"parameter {m.group(1)} is an empty list (an IN list needs at least one value)")
            return "(" + ", ".join(one(f"{m.group(1)}_{i}", v) for i, v in enumerate(value, 1)) + ")"
        return one(m.group(1), value)

    text = _NAMED.sub(replace, sql)
    return text, [{"name": name, "value": value} for name, value in parameters.items()]


def to_named(sql: str, params: Mapping | Sequence | None) -> tuple[str, list[dict]]:
    """(the statement with :name placeholders, the Data API's Parameters list) for psycopg2-style `params`."""
    return _convert(sql, params, lambda name, text: f":{name}")


def quote(text: str) -> str:
    """A Redshift string literal of `text` (quotes doubled; backslash, Redshift's escape character, doubled)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def render_named(sql: str, params: Mapping | Sequence | None) -> str:
    """The statement as the dry run shows it over the Data API: each parameter as the literal of its value."""
    return _convert(sql, params, lambda name, text: quote(text))[0]


def statement_bytes(sql: str, params: Mapping | Sequence | None = None) -> int:
    """What the statement weighs against MAX_STATEMENT_BYTES: its Data API text plus its parameters' values."""
    text, parameters = to_named(sql, params)
    return len(text.encode()) + sum(len(p["value"].encode()) for p in parameters)


def values_bytes(values: Sequence, name_length: int) -> int:
    """At most what `values` add to a statement's weight as one group of parameters (`(:name, ...), `), their
    names `name_length` characters long: the cheap estimate that lets a long list be cut in one pass."""
    total = 4  # "(", ")" and the ", " before the next group
    for value in values:
        total += name_length + 3  # ":" + the name + ", "
        if value is not None and value != "":
            total += len(value_text(value).encode())
    return total
