"""Running the data-quality checks: sql_queries.RUN_CHECKS inside every etl.py run (before it commits),
sql_queries.CHECKS (whole tables) for analytics.py --check.

The checks themselves (their SQL) live in sql_queries.py with every other statement. A check passes when
its query finds no offending key. run_checks sends one counting statement per group of checks (the
group's checks share their CTEs, so a big table is scanned once per group) and, only for a failing check,
one more statement for a few offending keys. A check's count is always the exact number of its offenders.

One check is not SQL: `never_shrinks` compares the row counts of the star tables a run changed, before and
after its merge (a run only adds or replaces rows, so a smaller table means it lost some): a count per
table on each side, which Redshift answers from its metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import sql_queries
from sql_queries import CheckGroup
from sparkify.errors import CheckError

log = logging.getLogger(__name__)
SAMPLE = 5


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


def count_query(group: CheckGroup) -> str:
    """The statement run_checks sends first for a group: the number of offenders of each of its checks."""
    return sql_queries.group_counter(group)


def sample_query(group: CheckGroup, index: int) -> str:
    """The statement run_checks sends only when check `index` of `group` fails, for a few offending keys."""
    return sql_queries.check_sample(group, group.checks[index], SAMPLE)


def run_checks(cur, groups: Sequence[CheckGroup] = sql_queries.CHECKS) -> list[CheckResult]:
    results = []
    for group in groups:
        cur.execute(count_query(group))
        counts = cur.fetchone()
        for i, check in enumerate(group.checks):
            count = int(counts[i] or 0)
            sample: list = []
            if count:
                cur.execute(sample_query(group, i))
                sample = [row[0] if len(row) == 1 else tuple(row) for row in cur.fetchall()]
            result = CheckResult(check.name, check.description, count == 0, count, sample)
            (log.debug if result.passed else log.error)("check %s", result.line())
            results.append(result)
    return results


def never_shrinks(before: Mapping[str, int], after: Mapping[str, int]) -> list[CheckResult]:
    """One result per table counted before the merge: it has at least as many rows after it."""
    results = []
    for table, rows in before.items():
        lost = max(rows - after.get(table, 0), 0)
        results.append(CheckResult(f"{table}.never_shrinks", f"{table}: fewer rows after the run than before it",
                                   lost == 0, lost, [f"{rows} before, {after.get(table, 0)} after"] if lost else []))
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
