"""Data-quality checks, shared by etl.py (before it commits) and analytics.py --check.

Each check is a query returning the offending keys; it passes when there are none. The queries
are plain SQL that runs unchanged on Redshift and PostgreSQL. Redshift does not enforce primary
keys, so uniqueness is checked here rather than assumed.

Every check runs on whole tables, after every load (etl.py, before it commits) and on demand
(analytics.py --check). They are not narrowed to the keys a run touched: a first load touches every
key, so narrowing would not make the largest loads cheaper, only add joins to the batch tables.

run_checks sends one counting statement per check (count_query) and, only for a failing check, one
more for a few offending keys (sample_query). A check's count is always the exact number of its
offenders. The uniqueness checks count them in two steps inside that one statement: first a cheap
test that proves there are none (every non-NULL key counted once by COUNT(DISTINCT), which sorts; at
most one NULL key); only if the test cannot prove it, the exact GROUP BY ... HAVING count of the
duplicated keys, which hashes every key of the table (at a million plays the test takes about a third
of the time of that count on PostgreSQL; see _unique).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sparkify.errors import CheckError

log = logging.getLogger(__name__)
SAMPLE = 5


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    offenders: str  # a SELECT of the offending keys (first column sorts them)
    # The statement that counts the offenders, when cheaper than `select count(*) from (offenders)`;
    # it must return exactly that number (see _unique).
    counter: str | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    passed: bool
    count: int
    sample: list

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        if self.passed:
            return f"ok    {self.name}"
        keys = ", ".join(_fmt(k) for k in self.sample)
        more = ", …" if self.count > len(self.sample) else ""
        return f"FAIL  {self.name}: {self.count} offending ({self.description}); e.g. {keys}{more}"


def _fmt(key) -> str:
    if isinstance(key, (tuple, list)):
        return "(" + ", ".join(str(k) for k in key) + ")"
    return str(key)


def _unique(table: str, *key: str, key_expression: str | None = None) -> Check:
    """Offenders: the duplicated keys (a NULL key counts as one key, as GROUP BY groups NULLs).

    The counter first proves the common case, no duplicates, with one COUNT(DISTINCT) of the key:
    no two rows share a non-NULL key, and at most one row has a NULL key. Only when that does not hold
    does it count the offenders exactly (the CASE evaluates the subquery only then). A key of several
    columns needs `key_expression`, one value that is NULL when any key column is NULL and otherwise
    differs exactly when the key differs (COUNT(DISTINCT) takes one expression on Redshift).
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

select
    case
        when keyed_rows = distinct_keys and all_rows - keyed_rows <= 1 then 0
        else (select count(*) from ({offenders}) as offenders)
    end
from key_counts
"""
    return Check(
        name=f"{table}.{'_'.join(key)}_unique",
        description=f"{table}: ({cols}) duplicated",
        offenders=offenders,
        counter=counter,
    )


# The natural key of a play as one BIGINT: session_id in the high 32 bits, item_in_session shifted
# into [0, 2^32) in the low ones, so two (integer, integer) pairs give the same value only if they are
# equal, and the value fits a BIGINT for every pair of INTEGERs.
SONGPLAY_NATURAL_KEY = "session_id::bigint * 4294967296 + (item_in_session::bigint + 2147483648)"


def _not_null(table: str, key: str, label: str | None = None) -> Check:
    return Check(
        name=f"{table}.{key}_not_null",
        description=f"{table}: {key} is NULL",
        offenders=f"select {label or key} from {table} where {key} is null",
    )


def _in(table: str, key: str, parent: str, parent_key: str | None = None) -> Check:
    parent_key = parent_key or key
    return Check(
        name=f"{table}.{key}_in_{parent}",
        description=f"{table}.{key} not found in {parent}",
        offenders=(
            f"select distinct c.{key} from {table} as c "
            f"where c.{key} is not null "
            f"and not exists (select 1 from {parent} as p where p.{parent_key} = c.{key})"
        ),
    )


CHECKS: tuple[Check, ...] = (
    _unique("songplays", "songplay_id"),
    _not_null("songplays", "songplay_id", "session_id"),
    _unique("songplays", "session_id", "item_in_session", key_expression=SONGPLAY_NATURAL_KEY),
    _unique("users", "user_id"),
    _not_null("users", "user_id", "level"),
    _unique("songs", "song_id"),
    _not_null("songs", "song_id", "title"),
    _unique("artists", "artist_id"),
    _not_null("artists", "artist_id", "name"),
    _unique("time", "start_time"),
    _not_null("time", "start_time", "hour"),
    _in("songplays", "user_id", "users"),
    _in("songplays", "start_time", "time"),
    _in("songplays", "song_id", "songs"),
    _in("songplays", "artist_id", "artists"),
    Check(
        name="time.columns_match_start_time",
        description="time: hour/day/week/month/year/weekday differ from start_time",
        offenders="""
            select start_time from time
            where hour <> extract(hour from start_time)
               or day <> extract(day from start_time)
               or week <> extract(week from start_time)
               or month <> extract(month from start_time)
               or year <> extract(year from start_time)
               or weekday <> extract(dow from start_time)
        """,
    ),
    # staging holds the latest run's batch: every NextSong event in it must be a songplay. The
    # batch's songplays count therefore equals its de-duplicated NextSong events. The anti-join runs
    # before the DISTINCT (whether a key is missing depends on the key alone, so the offending keys
    # are the same): de-duplicating every staged event first would hash the whole batch to find none.
    Check(
        name="songplays.match_staged_next_song_events",
        description="NextSong events in staging (latest run, de-duplicated) missing from songplays",
        offenders="""
            select distinct e.session_id, e.item_in_session
            from staging_events as e
            where e.page = 'NextSong'
              and not exists (
                  select 1 from songplays as p
                  where p.session_id = e.session_id and p.item_in_session = e.item_in_session
              )
        """,
    ),
)


def count_query(check: Check) -> str:
    """The query run_checks sends first for each check: the number of offenders."""
    if check.counter is not None:
        return check.counter.strip()
    return f"select count(*) from ({check.offenders}) as offenders"


def sample_query(check: Check) -> str:
    """The query run_checks sends only when a check fails, for a few offending keys."""
    return f"select * from ({check.offenders}) as offenders order by 1 limit {SAMPLE}"


def run_checks(cur, checks: tuple[Check, ...] = CHECKS) -> list[CheckResult]:
    results = []
    for check in checks:
        cur.execute(count_query(check))
        count = cur.fetchone()[0]
        sample: list = []
        if count:
            cur.execute(sample_query(check))
            sample = [row[0] if len(row) == 1 else tuple(row) for row in cur.fetchall()]
        result = CheckResult(check.name, check.description, count == 0, count, sample)
        (log.debug if result.passed else log.error)("check %s", result.line())
        results.append(result)
    return results


def raise_on_failures(results: list[CheckResult]) -> None:
    failures = [r for r in results if not r.passed]
    if failures:
        first = failures[0]
        others = f" (and {len(failures) - 1} more failing checks)" if len(failures) > 1 else ""
        raise CheckError(
            f"data-quality check {first.name} failed: {first.count} offending rows ({first.description}); "
            f"e.g. {', '.join(_fmt(k) for k in first.sample)}{others}",
            failures,
        )
