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


def _reference_copy_text(plan: ledger.TablePlan, run_id: int, loaded_at) -> str:
    """ledger_rows in COPY text, one value at a time: what ledger_copy_chunks must send."""
    from sparkify.copy.convert import copy_escape

    def field(v):
        return "\\N" if v is None else copy_escape(v) if isinstance(v, str) else str(v)

    return "".join("\t".join(field(v) for v in row) + "\n" for row in ledger.ledger_rows(plan, run_id, loaded_at))


@pytest.mark.parametrize("names, version", [
    (["a", "b", "c", "d", "e"], '"etag-1"'),
    (["plain", "back\\slash"], '"etag-1"'),  # one value needs escaping, the other not
    (["tab\there", "new\nline", "carriage\rreturn"], "mtime:1"),
    (["a"], "\x02"),  # a version equal to the NULL marker
    ([], '"etag-1"'),
], ids=["plain", "backslash", "control", "null-marker", "none"])
@pytest.mark.parametrize("rows", [1, 2, 512])
def test_ledger_copy_chunks_send_the_rows_one_value_at_a_time_would(names, version, rows):
    from datetime import datetime

    loaded_at = datetime(2026, 12, 7, 5, 20, 1, 123456)
    plan = ledger.TablePlan("staging_events", PREFIX, new=[obj(n, version=version) for n in names])
    plan.new.append(ListedObject("/data/x.json", "x.json", 3, "mtime:1796606437957795877", None,
                                 1796606437957795877))
    chunks = list(ledger.ledger_copy_chunks(plan, 7, loaded_at, rows=rows))
    assert b"".join(chunks).decode() == _reference_copy_text(plan, 7, loaded_at)
    assert len(chunks) == -(-len(plan.to_load) // rows)
    assert ledger.ledger_copy_text(plan, 7, loaded_at) == _reference_copy_text(plan, 7, loaded_at)
