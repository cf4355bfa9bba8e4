"""Running the data-quality checks of sql_queries and judging their results.

A check passes when its query finds no offending key. run_checks sends one counting statement per group of
checks (the group's checks share their CTEs, so a big table is scanned once per group) and, only for a
failing check, one more statement for a few examples of its offending keys. A check's count is always the
exact number of its offenders.

One check is not SQL: `never_shrinks` compares the row counts of the star tables a run changed, before and
after its merge (a run only adds or replaces rows, so a smaller table means it lost some; the one exception,
time's rows no play has any more after a correction, is counted as the run deletes them): a count per table
on each side, which Redshift answers from its metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import sql_queries
from sparkify.errors import CheckError
from sql_queries import CheckGroup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    passed: bool
    count: int
    examples: list  # a few of the offending keys (first column first), when it failed

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        if self.passed:
            return f"ok    {self.name}"
        keys = ", ".join(_fmt(k) for k in self.examples)
        more = ", …" if self.count > len(self.examples) else ""
        return f"FAIL  {self.name}: {self.count} offending ({self.description}); e.g. {keys}{more}"


def _fmt(key) -> str:
    if isinstance(key, (tuple, list)):
        return "(" + ", ".join(str(k) for k in key) + ")"
    return str(key)


def run_checks(cur, groups: Sequence[CheckGroup] = sql_queries.CHECKS,
               examples: int = sql_queries.table_check_groups.examples) -> list[CheckResult]:
    """Every check of `groups` on `cur` (a cursor or a Session): sql_queries.group_counter per group, then
    sql_queries.check_examples for each failing check (up to `examples` keys)."""
    results = []
    for group in groups:
        cur.execute(sql_queries.group_counter(group))
        counts = cur.fetchone()
        for i, check in enumerate(group.checks):
            count = int(counts[i] or 0)
            found: list = []
            if count:
                cur.execute(sql_queries.check_examples(group, check, examples))
                found = [row[0] if len(row) == 1 else tuple(row) for row in cur.fetchall()]
            result = CheckResult(check.name, check.description, count == 0, count, found)
            log.debug("check %s", result.line())  # (a failure is the caller's to report: one line on stderr)
            results.append(result)
    return results


def never_shrinks(before: Mapping[str, int], after: Mapping[str, int],
                  removed: Mapping[str, int] | None = None) -> list[CheckResult]:
    """One result per table counted before the merge: it has at least as many rows after it, less the rows the
    run deleted for good (`removed`, Statement.removes: time's rows no play has any more after a correction)."""
    results = []
    removed = removed or {}
    for table, rows in before.items():
        gone = removed.get(table, 0)
        lost = max(rows - gone - after.get(table, 0), 0)
        example = f"{rows} before, {after.get(table, 0)} after" + (f", {gone} removed for good" if gone else "")
        results.append(CheckResult(f"{table}.never_shrinks", f"{table}: fewer rows after the run than before it",
                                   lost == 0, lost, [example] if lost else []))
    return results


def raise_on_failures(results: list[CheckResult]) -> None:
    failures = [r for r in results if not r.passed]
    if failures:
        first = failures[0]
        others = f" (and {len(failures) - 1} more failing checks)" if len(failures) > 1 else ""
        raise CheckError(
            f"data-quality check {first.name} failed: {first.count} offending rows ({first.description}); "
            f"e.g. {', '.join(_fmt(k) for k in first.examples)}{others}",
            failures,
        )
