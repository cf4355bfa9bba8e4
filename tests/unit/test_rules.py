"""The total orders and equality tests of sql_queries.rules stay decisive under Redshift's VARCHAR comparison,
where trailing spaces are insignificant ('a' = 'a '), as under PostgreSQL's byte-wise one (pure: the SQL text;
PostgreSQL, which the other tests run on, cannot show Redshift's comparison)."""

from __future__ import annotations

import re

import pytest

import sql_queries
from sql_queries import rules
from sql_queries.rules import Column, Key

ORDERS = {"songplay": rules.SONGPLAY_ORDER, "user": rules.USER_ORDER, "song": rules.SONG_ORDER,
          "artist": rules.ARTIST_ORDER, "match": rules.MATCH_ORDER}


@pytest.mark.parametrize("name", list(ORDERS))
def test_every_text_key_is_ordered_by_its_length_too(name):
    """Two values Redshift compares as equal ('a', 'a ') still get an order: the key's octet_length, in the same
    direction and with the same NULLs rule, right after it."""
    order = ORDERS[name]
    listed = [part.strip() for part in rules.order_by(order, "x").split(", ")]
    expected = []
    for key in order:
        nulls = " nulls last" if key.nullable else ""
        expected.append(f"{key.expression('x')} {key.direction}{nulls}")
        if key.text:
            expected.append(f"octet_length({key.expression('x')}) {key.direction}{nulls}")
    assert listed == expected
    assert any(key.text for key in order)


def test_the_orders_name_their_text_columns():
    """Each order marks as text exactly the VARCHAR columns of its table (a text key not marked would be ordered
    without its length)."""
    text = {
        "songplay": {"level", "song_title", "artist_name", "location", "user_agent"},
        "user": {"level", "first_name", "last_name", "gender"},
        "song": {"title", "artist_id"},
        "artist": {"artist_name", "artist_location"},
        "match": {"song_id", "artist_id"},
    }
    for name, order in ORDERS.items():
        assert {key.column for key in order if key.text} == text[name], name


@pytest.mark.parametrize("column, expected", [
    (Column("title", text=True), "b.title = s.title and octet_length(b.title) = octet_length(s.title)"),
    (Column("year", nullable=True),
     "((b.year is null and s.year is null) or (b.year is not null and s.year is not null and b.year = s.year))"),
    (Column("name", nullable=True, text=True),
     ("((b.name is null and s.name is null) or (b.name is not null and s.name is not null and b.name = s.name and "
      "octet_length(b.name) = octet_length(s.name)))")),
])
def test_same_values_compares_text_with_its_length(column, expected):
    assert rules.same_values("b", "s", (column,)) == expected


def test_a_key_can_be_an_expression_of_the_alias():
    key = Key("case when {a}artist_location is null then 1 else 0 end")
    assert key.expression("r") == "case when r.artist_location is null then 1 else 0 end"
    assert key.expression() == "case when artist_location is null then 1 else 0 end"


MERGES = [*sql_queries.song_merge_queries, *sql_queries.event_merge_queries]
# An ordering comparison: < or > (or <=, >=), but not <>.
_ORDERING = re.compile(r"(?<![<>])(<=|>=|<(?![>=])|(?<![<])>(?!=))")


@pytest.mark.parametrize("statement", MERGES, ids=[s.name for s in MERGES])
def test_no_merge_decides_a_winner_with_an_ordering_comparison(statement):
    """A winner is decided by a window's ORDER BY only: Redshift's < and > ignore trailing spaces and can disagree
    with its binary ORDER BY ('a' followed by a control character sorts after 'a' but compares before it)."""
    assert not _ORDERING.search(statement.sql), statement.sql


@pytest.mark.parametrize("statement", MERGES, ids=[s.name for s in MERGES])
def test_text_partitions_and_matches_are_exact(statement):
    """The catalog match partitions and joins on title and artist name with their lengths: a play is never
    matched to two records whose titles differ only in trailing spaces."""
    sql = statement.sql
    if "match_rank" not in sql:
        return
    assert "octet_length(r.title), r.artist_name, octet_length(r.artist_name)" in sql
    assert re.search(r"octet_length\(m\.title\) = octet_length\(\w+\.song_title\)", sql)
