"""Every statement the scripts send to Redshift parses in sqlfluff's Redshift grammar, with no unparsable section.

The statements are those of the three dry runs (create_tables.py, etl.py, analytics.py --check) for a
realistic ENGINE = redshift configuration (so the COPY statements carry the real options, role ARN and
region), plus the statements sent only on other paths (lock retry, a failed COPY's load-errors query,
a failed check's sample query), the preflight's information_schema query and its COPY ... NOLOAD statements. One test per statement, named
after it, so a failure names the statement. The negative tests prove the grammar check can fail.
"""

from __future__ import annotations

import re

import pytest

import sql_queries
from sparkify import dryrun
from tests.helpers.statements import CASES, CONFIG, RUNS

pytestmark = pytest.mark.slow  # sqlfluff's parser: up to seconds per statement, more per whole dry run


# The statement type sqlfluff must recognise, by first keyword (a statement parsed as something else is a bug).
EXPECTED_TYPES = {
    "begin": {"transaction_statement"}, "commit": {"transaction_statement"}, "rollback": {"transaction_statement"},
    "set": {"set_statement"}, "lock": {"lock_table_statement"}, "copy": {"copy_statement"},
    "drop": {"drop_table_statement"}, "delete": {"delete_statement"}, "insert": {"insert_statement"},
    "create": {"create_table_statement", "create_table_as_statement"},
    "select": {"select_statement"}, "with": {"with_compound_statement"}, "analyze": {"analyze_statement"},
    "update": {"update_statement"},
}


@pytest.mark.parametrize("sql", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_statement_parses_in_redshift_grammar(sql, parse_redshift):
    problems, types = parse_redshift(sql)
    assert problems == [], f"sqlfluff --dialect redshift: {problems}\n{sql}"
    assert len(types) == 1, f"expected exactly one statement, sqlfluff found {types}"
    assert types[0] in EXPECTED_TYPES[sql.split()[0].lower()], types


def test_the_cases_cover_every_kind_of_statement():
    kinds = {sql.split()[0].lower() for _, sql in CASES}
    assert kinds == set(EXPECTED_TYPES)
    copies = [sql for _, sql in CASES if sql.startswith("copy ")]
    assert sum(sql.endswith(" noload") for sql in copies) == 2  # the preflight's, beside the two etl.py runs' four
    assert len(copies) == 6 and all("iam_role 'arn:aws:iam::123456789012:role/sparkify-dwh-s3-read'" in c
                                    and "region 'us-west-2'" in c and "maxerror 10" in c for c in copies)
    assert sum(" manifest " in c and "'s3://sparkify-ops/manifests/run-000042/" in c for c in copies) == 2
    ids = {name.split()[-1] for name, _ in CASES}
    assert {"loaded_objects_delete", "loaded_objects_insert", "songplay_rematch", "songplay_conflict_update",
            "time_orphans_delete", "etl_run_next_id", "latest_etl_totals", "batch_corrections_create"} <= ids
    assert sum("diststyle" in sql for _, sql in CASES) >= 6  # the DDL is Redshift's, untranslated


# The merges' UPDATEs read a table joined on the target's key ("Examples of UPDATE statements" in the Redshift
# developer guide), never a WITH clause, which the WITH clause page documents for an UPDATE only inside a WHERE
# clause's subquery.
@pytest.mark.parametrize("name", ["songplay_rematch", "songplay_conflict_update"])
def test_the_merge_updates_are_updates_from_a_table(name):
    sql = getattr(sql_queries, name).sql.strip()
    assert sql.startswith("update songplays\nset ") and "\nfrom batch_" in sql and " with " not in f" {sql} "
    tree = redshift_tree(sql)
    assert any(True for _ in tree.recursive_crawl("update_statement"))


def _main_query_names(tree) -> tuple[set[str], set[str]]:
    """(the CTE names of a statement's top-level WITH clause, the tables its main query's FROM clause names)."""
    with_compound = next(tree.recursive_crawl("with_compound_statement"), None)
    if with_compound is None:
        return set(), set()
    ctes = {seg.raw.lower() for cte in with_compound.recursive_crawl("common_table_expression")
            for seg in cte.segments if seg.is_type("identifier", "naked_identifier")}
    main = [seg for seg in with_compound.segments if seg.is_type("select_statement", "set_expression")][-1]
    selects = [main] if main.is_type("select_statement") else [
        seg for seg in main.segments if seg.is_type("select_statement")]
    tables = {ref.raw.lower() for select in selects for clause in select.segments if clause.is_type("from_clause")
              for ref in clause.recursive_crawl("table_reference")}
    return ctes, tables


# A WITH clause whose tables the query's FROM clause does not name "is ignored" ("WITH clause", usage notes):
# every statement with one names at least one of its tables in the main query's FROM clause.
WITH_CASES = [(name, sql) for name, sql in CASES if re.search(r"^with \w+", sql, re.MULTILINE)]


@pytest.mark.parametrize("sql", [sql for _, sql in WITH_CASES], ids=[name for name, _ in WITH_CASES])
def test_a_with_clause_is_read_by_the_main_query(sql):
    ctes, tables = _main_query_names(redshift_tree(sql))
    assert ctes, "a WITH clause sqlfluff did not find"
    assert ctes & tables, f"the main query reads {sorted(tables)}, none of the WITH clause's {sorted(ctes)}"


def redshift_tree(sql: str):
    from sqlfluff.core import Linter

    return Linter(dialect="redshift").parse_string(sql).tree


@pytest.mark.parametrize("run", RUNS, ids=[f"{r.prog} {i}" for i, r in enumerate(RUNS)])
def test_each_dry_run_output_is_one_valid_redshift_script(run, parse_redshift):
    """The printed text as a whole (comments, `;` separators) parses, statement for statement."""
    problems, types = parse_redshift(dryrun.format_dry_run(run, CONFIG))
    assert problems == []
    assert len(types) == len(run.statements)


@pytest.mark.parametrize("sql", [
    "COPY t FROM 's3://b/p' IAM_ROLE 'arn:aws:iam::123456789012:role/r' FORMAT AS JSON 'auto' BOGUSOPTION",
    "copy t from 's3://b/p' iam_role 'arn:aws:iam::123456789012:role/r' format as json 'auto' maxerror",
    "create table t (a integer) diststyle sideways",
    "savepoint copy_start",  # PostgreSQL only: Redshift has no SAVEPOINT (so the pipeline does not use one)
], ids=["unknown COPY option", "MAXERROR without a value", "unknown DISTSTYLE", "SAVEPOINT"])
def test_the_grammar_check_rejects_what_redshift_rejects(sql, parse_redshift):
    problems, _ = parse_redshift(sql)
    assert any("unparsable" in p.lower() for p in problems), problems
