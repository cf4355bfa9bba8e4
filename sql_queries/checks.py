"""The data-quality checks, and how each group of them is counted.

Each check is a SELECT of the offending keys (first column sorts them); it passes when there are none.
Checks come in groups: the group's counting statement returns one count per check, from CTEs the group's
checks share (`with_clause`), so a run scans each big table once per group, not once per check. Only a
failing check sends one more statement, for a few examples of its offending keys (check_examples).

CHECKS look at whole tables (analytics.py --check, table_check_groups); the checks that gate every etl.py run
on the keys it touched are in sql_queries.run_checks. A check's count is always the exact number of its
offenders.
"""

from __future__ import annotations

from typing import NamedTuple

from sql_queries.report_tables import REPORT_FROM_SONGPLAYS, REPORT_TABLE_COLUMNS, REPORT_TEXT_COLUMNS
from sql_queries.rules import SONGPLAY_NATURAL_KEY, time_columns_differ
from sql_queries.statement import CheckRun, When


class Check(NamedTuple):
    name: str
    description: str
    offenders: str  # a SELECT of the offending keys, over the group's CTEs
    # A SELECT of one row and one column over the group's CTEs that is exactly the number of offenders, when
    # cheaper than count(*) of `offenders` (a cheap test that proves there are none, the exact count only
    # otherwise). Its FROM clause names the tables it reads: a query whose FROM clause names none of the WITH
    # clause's tables ignores that clause ("WITH clause" in the Redshift developer guide).
    count: str | None = None


class CheckGroup(NamedTuple):
    name: str
    checks: tuple[Check, ...]
    with_clause: str = ""  # "with ... " shared by the checks' SELECTs
    # The counting statement, when cheaper than one count per check; it returns exactly one row with
    # the number of offenders of each check, in order (see unique_check).
    counter: str | None = None
    when: tuple[When, ...] = ()  # the conditions under which the group runs (all must hold)


def count_unless(passes: str, offenders: str, tables: str) -> str:
    """A check's `count` that proves the common case cheaply: 0 when `passes` holds on the one-row `tables` (which
    the FROM clause names), else the exact count of `offenders`; the CASE evaluates that subquery only then."""
    return f"""select
        case
            when {passes} then 0
            else (select count(*) from ({offenders}) as offenders)
        end
    from {tables}"""


def _count_of(check: Check) -> str:
    return check.count.strip() if check.count else f"select count(*) from ({check.offenders.strip()}) as offenders"


def group_counter(group: CheckGroup) -> str:
    """The statement that counts every check's offenders of `group` (one row, one column per check).

    Each check's count is a table of the WITH clause (check_<i>, one row), and the query selects from all of
    them: its FROM clause names the WITH clause's tables, the shape the Redshift developer guide documents (a
    WITH clause whose tables the FROM clause does not name is ignored). A group of one check without CTEs is
    its count alone."""
    if group.counter is not None:
        return group.counter.strip()
    if not group.with_clause and len(group.checks) == 1:
        return _count_of(group.checks[0])
    ctes = [group.with_clause.strip().removeprefix("with").strip()] if group.with_clause else []
    ctes += [f"check_{i} (offenders) as (\n    {_count_of(c)}\n)" for i, c in enumerate(group.checks)]
    columns = ", ".join(f"check_{i}.offenders" for i in range(len(group.checks)))
    tables = ", ".join(f"check_{i}" for i in range(len(group.checks)))
    return "with " + ",\n\n".join(ctes) + f"\n\nselect {columns}\nfrom {tables}"


def check_examples(group: CheckGroup, check: Check, limit: int) -> str:
    """The statement that lists up to `limit` offending keys of one check of `group`, in order (the offenders
    are a table of the WITH clause, named by the query's FROM clause, when the group has CTEs)."""
    if not group.with_clause:
        return f"select * from ({check.offenders.strip()}) as offenders order by 1 limit {int(limit)}"
    ctes = group.with_clause.strip().removeprefix("with").strip()
    return (f"with {ctes},\n\ncheck_offenders as (\n    {check.offenders.strip()}\n)\n\n"
            f"select * from check_offenders order by 1 limit {int(limit)}")


def unique_check(table: str, *key: str, key_expression: str | None = None) -> CheckGroup:
    """Offenders: the duplicated keys (a NULL key counts as one key, as GROUP BY groups NULLs).

    The counter first proves the common case, no duplicates, with one COUNT(DISTINCT) of the key:
    no two rows share a non-NULL key, and at most one row has a NULL key. Only when that does not hold
    does it count the offenders exactly (the CASE evaluates the subquery only then; at a million plays
    the test takes about a third of the time of the exact count on PostgreSQL). A key of several columns
    needs `key_expression`, one value that is NULL when any key column is NULL and otherwise differs
    exactly when the key differs (COUNT(DISTINCT) takes one expression on Redshift).
    """
    cols = ", ".join(key)
    if key_expression is None:
        if len(key) != 1:
            raise ValueError(f"{table}: a key of several columns needs a key_expression")
        key_expression = key[0]
    offenders = f"select {cols} from {table} group by {cols} having count(*) > 1"
    counter = f"""
with key_counts as (
    select
        count(*) as all_rows,
        count({key_expression}) as keyed_rows,
        count(distinct {key_expression}) as distinct_keys
    from {table}
)

{count_unless("keyed_rows = distinct_keys and all_rows - keyed_rows <= 1", offenders, "key_counts")}
"""
    name = f"{table}.{'_'.join(key)}_unique"
    return CheckGroup(name, (Check(name, f"{table}: ({cols}) duplicated", offenders),), counter=counter)


def _single(name: str, description: str, offenders: str) -> CheckGroup:
    return CheckGroup(name, (Check(name, description, offenders),))


def _not_null(table: str, key: str, label: str | None = None) -> CheckGroup:
    return _single(f"{table}.{key}_not_null", f"{table}: {key} is NULL",
                   f"select {label or key} from {table} where {key} is null")


def _in(table: str, key: str, parent: str, parent_key: str | None = None) -> CheckGroup:
    parent_key = parent_key or key
    return _single(
        f"{table}.{key}_in_{parent}", f"{table}.{key} not found in {parent}",
        f"select distinct c.{key} from {table} as c "
        f"where c.{key} is not null "
        f"and not exists (select 1 from {parent} as p where p.{parent_key} = c.{key})",
    )


def report_check(table: str) -> CheckGroup:
    """Offenders: the rows of a report table that are not those computed from songplays (sql_queries.report_tables
    .REPORT_FROM_SONGPLAYS), and the computed rows it does not hold; the copies of each row are compared too (a row
    held twice is one offender, the computed row it does not hold once is another). Text columns go with their
    lengths, which Redshift's comparison ignores."""
    columns = REPORT_TABLE_COLUMNS[table]
    listed = ", ".join(columns)
    text = [c for c in columns if c in REPORT_TEXT_COLUMNS]
    defined = ", ".join([*columns, *(f"octet_length({c}) as {c}_length" for c in text)])
    grouped = ", ".join([*columns, *(f"octet_length({c})" for c in text)])
    compared = ", ".join([*columns, *(f"{c}_length" for c in text)])
    with_clause = f"""
with stored_rows as (
    select {defined}, count(*) as copies
    from {table}
    group by {grouped}
),

computed_rows as (
    select {defined}, 1 as copies
    from ({REPORT_FROM_SONGPLAYS[table].strip()}) as computed
)
"""
    offenders = f"""select {listed}
from (
    select {compared}, copies from stored_rows
    except
    select {compared}, copies from computed_rows
) as not_computed
union all
select {listed}
from (
    select {compared}, copies from computed_rows
    except
    select {compared}, copies from stored_rows
) as not_stored"""
    name = f"{table}.matches_songplays"
    return CheckGroup(name, (Check(name, f"{table}: rows that differ from those computed from songplays", offenders),),
                      with_clause=with_clause)


# The report's tables against songplays (analytics.py --check; etl.py keeps them up to date).
REPORT_CHECKS = tuple(report_check(table) for table in REPORT_TABLE_COLUMNS)

CHECKS: tuple[CheckGroup, ...] = (
    unique_check("songplays", "songplay_id"),
    _not_null("songplays", "songplay_id", "session_id"),
    unique_check("songplays", "session_id", "item_in_session", key_expression=SONGPLAY_NATURAL_KEY),
    unique_check("users", "user_id"),
    _not_null("users", "user_id", "level"),
    unique_check("songs", "song_id"),
    _not_null("songs", "song_id", "title"),
    unique_check("artists", "artist_id"),
    _not_null("artists", "artist_id", "name"),
    unique_check("time", "start_time"),
    _not_null("time", "start_time", "hour"),
    _in("songplays", "user_id", "users"),
    _in("songplays", "start_time", "time"),
    _in("songplays", "song_id", "songs"),
    _in("songplays", "artist_id", "artists"),
    _single("time.columns_match_start_time", "time: hour/day/week/month/year/weekday differ from start_time",
            f"select start_time from time where {time_columns_differ()}"),
    # time holds the start times of the plays, and nothing else
    _single("time.start_time_in_songplays", "time.start_time has no play in songplays",
            "select t.start_time from time as t "
            "where not exists (select 1 from songplays as p where p.start_time = t.start_time)"),
    unique_check("loaded_objects", "table_name", "object_url",
            key_expression="table_name || ' ' || object_url"),
    *REPORT_CHECKS,
)

# analytics.py --check: every check of whole tables.
table_check_groups = CheckRun("table_check_groups", "", groups=CHECKS, when=(When.CHECKS_ASKED,),
                              note="data-quality checks of whole tables (--check)")
