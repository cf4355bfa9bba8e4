"""The uniqueness checks' counting statement (sql_queries.unique_check): always the exact number of offenders.

Its cheap COUNT(DISTINCT) test may only short-cut to 0 when the GROUP BY ... HAVING query finds nothing, NULL keys
included (GROUP BY puts them in one group), so both are compared on hand-made keys, in a fresh database.
"""

from __future__ import annotations

import pytest

import sql_queries

INT_MIN, INT_MAX = -2147483648, 2147483647


def counts(conn, group: sql_queries.CheckGroup) -> tuple[int, int]:
    with conn.cursor() as cur:
        cur.execute(sql_queries.group_counter(group))
        counted = cur.fetchone()[0]
        cur.execute(f"select count(*) from ({group.checks[0].offenders}) as offenders")
        return counted, cur.fetchone()[0]


@pytest.mark.parametrize("keys, offenders", [
    ([1, 2, 3], 0),
    ([1, None, 2], 0),
    ([1, 1, 2, 2, 2, 3], 2),
    ([None, None, 1], 1),
    ([1, 1, None, None, 2], 2),
    ([None], 0),
    ([], 0),
])
def test_single_column_key(pg_conn, keys, offenders):
    with pg_conn.cursor() as cur:
        cur.execute("create temp table k (a bigint)")
        for key in keys:
            cur.execute("insert into k values (%s)", (key,))
    assert counts(pg_conn, sql_queries.unique_check("k", "a")) == (offenders, offenders)


@pytest.mark.parametrize("pairs, offenders", [
    ([(1, 1), (1, 2), (2, 1)], 0),
    ([(0, -1), (-1, INT_MAX), (INT_MIN, INT_MIN), (INT_MAX, INT_MAX), (INT_MIN, INT_MAX), (INT_MAX, INT_MIN)], 0),
    ([(1, 1), (1, 1), (2, 2), (2, 2), (3, 3)], 2),
    ([(INT_MIN, INT_MIN), (INT_MIN, INT_MIN)], 1),
    ([(None, 1), (None, 2)], 0),  # two NULL groups: the cheap test cannot tell, the exact count says none
    ([(None, 1), (None, 1), (1, None)], 1),
])
def test_natural_key_of_songplays(pg_conn, pairs, offenders):
    with pg_conn.cursor() as cur:
        cur.execute("create temp table k (session_id integer, item_in_session integer)")
        for pair in pairs:
            cur.execute("insert into k values (%s, %s)", pair)
    check = sql_queries.unique_check("k", "session_id", "item_in_session",
                                     key_expression=sql_queries.SONGPLAY_NATURAL_KEY)
    assert counts(pg_conn, check) == (offenders, offenders)


def test_a_key_of_several_columns_needs_an_expression():
    with pytest.raises(ValueError, match="key_expression"):
        sql_queries.unique_check("t", "a", "b")
