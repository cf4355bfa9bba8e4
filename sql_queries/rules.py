"""The rules the merge and the checks share, as pure SQL builders: which of two competing rows wins (total
orders over the stored columns), which catalog record a play matches, and a play's natural key as one value.

Where two records compete for one key (a user's latest event, a play seen twice), the winner is the first in
a total order over the stored columns, and a stored row is replaced only by one that comes before it
(`ranks_before`): the minimum of a set does not depend on the order its elements arrive in, so the star schema
is the same whatever the order of the batches.
"""

from __future__ import annotations


def ranks_before(new: str, old: str, order: tuple[tuple[str, str, bool], ...]) -> str:
    """A condition: the row aliased `new` comes strictly before the row aliased `old` in `order`.

    `order` lists (column, 'asc' | 'desc', nullable) from the most significant column on; NULLs sort last
    in both directions (as `nulls last` in the window that ranks a batch), so the condition and the
    batch's row_number() agree on which row comes first.
    """

    def before(column: str, direction: str, nullable: bool) -> str:
        op = "<" if direction == "asc" else ">"
        test = f"{new}.{column} {op} {old}.{column}"
        if nullable:
            test = f"({test} or ({new}.{column} is not null and {old}.{column} is null))"
        return test

    def same(column: str, nullable: bool) -> str:
        test = f"{new}.{column} = {old}.{column}"
        if nullable:
            test = f"({test} or ({new}.{column} is null and {old}.{column} is null))"
        return test

    condition = ""
    for column, direction, nullable in reversed(order):
        here = before(column, direction, nullable)
        condition = here if not condition else f"({here} or ({same(column, nullable)} and {condition}))"
    return condition


def same_row(new: str, old: str, columns: tuple[tuple[str, bool], ...]) -> str:
    """A condition: rows `new` and `old` hold equal values in `columns` ((column, nullable); NULL equals NULL)."""
    parts = []
    for column, nullable in columns:
        test = f"{new}.{column} = {old}.{column}"
        if nullable:
            test = f"({test} or ({new}.{column} is null and {old}.{column} is null))"
        parts.append(test)
    return "\n      and ".join(parts)


def order_by(order: tuple[tuple[str, str, bool], ...], alias: str = "") -> str:
    """The ORDER BY list of a window that ranks rows in `order` (NULLs last)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{c} {d}" + (" nulls last" if n else "") for c, d, n in order)


# The total orders that decide between competing rows (see this module's docstring). Each covers every
# stored column but the key, so two rows that tie are equal.
SONGPLAY_ORDER = (
    ("start_time", "asc", False), ("user_id", "asc", False), ("level", "asc", True),
    ("song_title", "asc", True), ("artist_name", "asc", True), ("song_length", "asc", True),
    ("location", "asc", True), ("user_agent", "asc", True),
)
# A user's row comes from the user's most recent event; at the same millisecond, 'paid' before 'free'.
USER_ORDER = (
    ("last_event_at", "desc", False), ("level", "desc", False),
    ("first_name", "asc", True), ("last_name", "asc", True), ("gender", "asc", True),
)
SONG_ORDER = (("title", "asc", False), ("artist_id", "asc", False), ("year", "asc", True), ("duration", "asc", True))
# Song files of one artist often disagree (a blank location in one file, a city in another; "feat."
# variants of the name): the most complete record wins (a location, then coordinates), then the
# alphabetically first values.
ARTIST_ORDER_SQL = """
                case when artist_location is null then 1 else 0 end,
                case when artist_latitude is null then 1 else 0 end,
                artist_name nulls last,
                artist_location nulls last,
                artist_latitude nulls last,
                artist_longitude nulls last"""

# A catalog record a play can match: one the songs and artists tables hold (song_id, title and
# artist_id known), with an artist name and a duration to compare. When several records share a title,
# artist name and duration, the lowest song_id (then artist_id) wins: a match never multiplies a play.
CATALOG_MATCH_COLUMNS = """
        r.title,
        r.artist_name,
        r.duration,
        r.song_id,
        r.artist_id,
        row_number() over (
            partition by r.title, r.artist_name, r.duration
            order by r.song_id, r.artist_id
        ) as match_rank"""
MATCHABLE = """r.song_id is not null
      and r.artist_id is not null
      and r.title is not null
      and r.artist_name is not null
      and r.duration is not null"""


# The natural key of a play as one BIGINT: session_id in the high 32 bits, item_in_session shifted
# into [0, 2^32) in the low ones, so two (integer, integer) pairs give the same value only if they are
# equal, and the value fits a BIGINT for every pair of INTEGERs.
SONGPLAY_NATURAL_KEY = "session_id::bigint * 4294967296 + (item_in_session::bigint + 2147483648)"


def time_columns_differ(alias: str = "") -> str:
    """A condition: a time row's parts differ from its start_time."""
    a = f"{alias}." if alias else ""
    parts = [("hour", "hour"), ("day", "day"), ("week", "week"), ("month", "month"), ("year", "year"),
             ("weekday", "dow")]
    return "(" + " or ".join(f"{a}{col} <> date_part('{part}', {a}start_time)" for col, part in parts) + ")"
