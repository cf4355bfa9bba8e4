"""ledger.plan_table: the listed objects sorted against the ledger's rows (pure)."""

from __future__ import annotations

import pytest

from sparkify import ledger
from sparkify.ledger import ListedObject

PREFIX = "s3://bucket/log_data"


def obj(name: str, size: int = 10, version: str = '"etag-1"') -> ListedObject:
    return ListedObject(f"{PREFIX}/{name}", f"log_data/{name}", size, version)


def ledger_of(*rows: tuple[str, int, str]) -> dict:
    return ledger.ledger_from_rows([(f"{PREFIX}/{name}", size, version) for name, size, version in rows])


@pytest.mark.parametrize("listed, rows, expected", [
    ([obj("a")], [], {"new": ["a"], "reloaded": [], "unchanged": 0, "missing": []}),
    ([obj("a")], [("a", 10, '"etag-1"')], {"new": [], "reloaded": [], "unchanged": 1, "missing": []}),
    ([obj("a", size=11)], [("a", 10, '"etag-1"')], {"new": [], "reloaded": ["a"], "unchanged": 0, "missing": []}),
    ([obj("a", version='"etag-2"')], [("a", 10, '"etag-1"')],
     {"new": [], "reloaded": ["a"], "unchanged": 0, "missing": []}),
    ([obj("a")], [("a", 10, None)], {"new": [], "reloaded": ["a"], "unchanged": 0, "missing": []}),
    ([obj("b")], [("a", 10, '"etag-1"')], {"new": ["b"], "reloaded": [], "unchanged": 0, "missing": ["a"]}),
], ids=["new", "unchanged", "other-size", "other-etag", "no-version-recorded", "gone-and-new"])
def test_objects_are_sorted_against_the_ledger(listed, rows, expected):
    plan = ledger.plan_table("staging_events", PREFIX, listed, ledger_of(*rows))
    got = {"new": [o.key.split("/")[-1] for o in plan.new], "reloaded": [o.key.split("/")[-1] for o in plan.reloaded],
           "unchanged": plan.unchanged, "missing": [u.rsplit("/", 1)[-1] for u in plan.missing]}
    assert got == expected


def test_reload_loads_unchanged_objects_again():
    plan = ledger.plan_table("staging_events", PREFIX, [obj("a"), obj("b")], ledger_of(("a", 10, '"etag-1"')),
                             reload=True)
    assert [o.url for o in plan.to_load] == [f"{PREFIX}/a", f"{PREFIX}/b"]
    assert plan.unchanged == 0 and plan.summary() == "1 new, 1 reloaded, 0 unchanged (skipped)"


def test_ledger_rows_outside_the_prefix_are_not_missing():
    """The ledger holds every object of the table; only those under the listed prefix can be gone from it."""
    rows = ledger.ledger_from_rows([(f"{PREFIX}/a", 10, '"etag-1"'), ("s3://bucket/other/b", 10, '"x"')])
    plan = ledger.plan_table("staging_events", PREFIX, [], rows)
    assert plan.missing == [f"{PREFIX}/a"]
