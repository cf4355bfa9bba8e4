"""The rules the merge, the report's tables and the checks share, as pure SQL builders: which of two competing
rows wins (total orders over the stored columns), when two rows hold the same values, which catalog record a
play matches, and a play's natural key as one value.

Where records compete for one key (a user's latest event, a play seen twice, a song's records), the winner is
the first in a total order over the stored columns, decided by a window's ORDER BY over the candidates (the
stored row among them, when there is one). The first of a set does not depend on the order its elements
arrive in, so the star schema is the same whatever the order of the batches.

Text is compared the way both engines agree on. Redshift treats trailing spaces in VARCHAR as insignificant
when values are compared ('a' = 'a '), counts them in lengths ("Significance of trailing blanks" under
Character types, and OCTET_LENGTH, in the Redshift developer guide), and orders by binary UTF-8 (as
PostgreSQL does in a database that collates "C", which the toolkit's databases do). So:
- an ORDER BY key on text is followed by its octet_length in the same direction: two values that compare
  equal but differ in trailing spaces still get an order (and under a binary order the extra key never
  decides anything);
- two text values are the same when they compare equal and have the same octet_length (`same_values`);
- a winner is never decided with < or > on text, only by ORDER BY, so the comparisons and the order can never
  disagree (they would for 'a' and 'a' followed by a control character).
"""

from __future__ import annotations

from typing import NamedTuple


class Key(NamedTuple):
    """One key of a total order: a column (or an expression with `{a}` where the table alias goes), its
    direction, whether it can be NULL (NULLs sort last in both directions) and whether it is text."""

    column: str
    direction: str = "asc"
    nullable: bool = False
    text: bool = False

    def expression(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return self.column.format(a=prefix) if "{a}" in self.column else f"{prefix}{self.column}"


def order_by(order: tuple[Key, ...], alias: str = "") -> str:
    """The ORDER BY list of a window that ranks rows in `order` (NULLs last; text keys then by octet_length)."""
    parts = []
    for key in order:
        nulls = " nulls last" if key.nullable else ""
        expression = key.expression(alias)
        parts.append(f"{expression} {key.direction}{nulls}")
        if key.text:
            parts.append(f"octet_length({expression}) {key.direction}{nulls}")
    return ", ".join(parts)


def renamed(order: tuple[Key, ...], names: dict[str, str]) -> tuple[Key, ...]:
    """`order` over columns renamed by `names` (the same order, ranked before a SELECT renames the columns)."""
    return tuple(key._replace(column=names.get(key.column, key.column)) for key in order)


def same_text(a: str, b: str) -> str:
    """A condition: text expressions `a` and `b` hold the same value (equal, and as long: trailing spaces count)."""
    return f"{a} = {b} and octet_length({a}) = octet_length({b})"


class Column(NamedTuple):
    """A column compared by same_values: whether it can be NULL (NULL then equals NULL) and whether it is text."""

    name: str
    nullable: bool = False
    text: bool = False


def same_values(new: str, old: str, columns: tuple[Column, ...], joiner: str = "\n      and ") -> str:
    """A condition, true or false (never NULL): rows `new` and `old` hold the same values in `columns` (NULL equals
    NULL and nothing else; text as same_text)."""
    parts = []
    for column in columns:
        a, b = f"{new}.{column.name}", f"{old}.{column.name}"
        test = same_text(a, b) if column.text else f"{a} = {b}"
        # Two-valued: one side NULL is false, not NULL, since callers negate it (`and not (...)`) and NOT of
        # UNKNOWN is UNKNOWN in Redshift too (docs.aws.amazon.com/redshift/latest/dg/r_logical_condition.html);
        # IS [NOT] NULL is never UNKNOWN (.../r_null_condition.html).
        if column.nullable:
            test = f"(({a} is null and {b} is null) or ({a} is not null and {b} is not null and {test}))"
        parts.append(test)
    return joiner.join(parts)


# The total orders that decide between competing rows (see this module's docstring). Each covers every
# stored column but the key, so two rows that tie are equal.
SONGPLAY_ORDER = (
    Key("start_time"), Key("user_id"), Key("level", nullable=True, text=True),
    Key("song_title", nullable=True, text=True), Key("artist_name", nullable=True, text=True),
    Key("song_length", nullable=True), Key("location", nullable=True, text=True),
    Key("user_agent", nullable=True, text=True),
)
# A user's row comes from the user's most recent event; at the same millisecond, 'paid' before 'free'.
USER_ORDER = (
    Key("last_event_at", "desc"), Key("level", "desc", text=True),
    Key("first_name", nullable=True, text=True), Key("last_name", nullable=True, text=True),
    Key("gender", nullable=True, text=True),
)
SONG_ORDER = (Key("title", text=True), Key("artist_id", text=True), Key("year", nullable=True),
              Key("duration", nullable=True))
# Song files of one artist often disagree (a blank location in one file, a city in another; "feat."
# variants of the name): the most complete record wins (a location, then coordinates), then the
# alphabetically first values.
ARTIST_ORDER = (
    Key("case when {a}artist_location is null then 1 else 0 end"),
    Key("case when {a}artist_latitude is null then 1 else 0 end"),
    Key("artist_name", nullable=True, text=True), Key("artist_location", nullable=True, text=True),
    Key("artist_latitude", nullable=True), Key("artist_longitude", nullable=True),
)
# When several catalog records share a title, artist name and duration, the lowest song_id (then artist_id)
# is the one plays match: a match never multiplies a play.
MATCH_ORDER = (Key("song_id", text=True), Key("artist_id", text=True))

# The columns of each table a merge compares with what a run derived, to write only rows that change.
SONG_COLUMNS = (Column("title", text=True), Column("artist_id", text=True), Column("year", nullable=True),
                Column("duration", nullable=True))
ARTIST_COLUMNS = (Column("name", nullable=True, text=True), Column("location", nullable=True, text=True),
                  Column("latitude", nullable=True), Column("longitude", nullable=True))

# A catalog record a play can match: one the songs and artists tables hold (song_id, title and artist_id
# known), with an artist name and a duration to compare.
MATCHABLE = """r.song_id is not null
      and r.artist_id is not null
      and r.title is not null
      and r.artist_name is not null
      and r.duration is not null"""


def catalog_match_columns(alias: str = "r") -> str:
    """The columns of a catalog record a play can match, with match_rank (1: the record plays of its title,
    artist name and duration match; the partition tells apart values that differ only in trailing spaces)."""
    a = f"{alias}."
    return f"""
        {a}title,
        {a}artist_name,
        {a}duration,
        {a}song_id,
        {a}artist_id,
        row_number() over (
            partition by {a}title, octet_length({a}title), {a}artist_name, octet_length({a}artist_name), {a}duration
            order by {order_by(MATCH_ORDER, alias)}
        ) as match_rank"""


def matches_play(match: str, play: str) -> str:
    """A condition: catalog record `match` (title, artist_name, duration) is the song of play `play`
    (song_title, artist_name, song_length), text compared as same_text."""
    return (f"{same_text(f'{match}.title', f'{play}.song_title')}\n        "
            f"and {same_text(f'{match}.artist_name', f'{play}.artist_name')}\n        "
            f"and {match}.duration = {play}.song_length")


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
