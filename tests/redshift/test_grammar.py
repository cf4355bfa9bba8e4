"""Every statement the scripts send to Redshift parses in sqlfluff's Redshift grammar, with no unparsable section.

The statements are those of the three dry runs (create_tables.py, etl.py, analytics.py --check) for a
realistic ENGINE = redshift configuration (so the COPY statements carry the real options, role ARN and
region), plus the statements sent only on other paths (lock retry, a failed COPY's stl_load_errors query,
a failed check's sample query), the preflight's information_schema query and its COPY ... NOLOAD statements. One test per statement, named
after it, so a failure names the statement. The negative tests prove the grammar check can fail.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from sparkify import dryrun, noload, pipeline, preflight
from sparkify.config import parse_config

REALISTIC_CFG = """\
[WAREHOUSE]
ENGINE = redshift
[CLUSTER]
HOST = sparkify-dwh.c1a2b3c4d5e6.us-west-2.redshift.amazonaws.com
DB_NAME = dev
DB_USER = awsuser
DB_PASSWORD = Passw0rd-Very-Secret
DB_PORT = 5439
[IAM_ROLE]
ARN = arn:aws:iam::123456789012:role/sparkify-dwh-s3-read
[S3]
LOG_DATA = s3://udacity-dend/log_data
LOG_JSONPATH = s3://udacity-dend/log_json_path.json
SONG_DATA = s3://udacity-dend/song_data
REGION = us-west-2
[ETL]
MAXERROR = 10
LOCK_TIMEOUT = 120
"""


def realistic_config():
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(REALISTIC_CFG)
    return parse_config(cp, Path("/nonexistent/dwh.cfg"), {})


CONFIG = realistic_config()
RUNS = [
    dryrun.create_tables_dry_run(CONFIG),
    dryrun.etl_dry_run(CONFIG),
    dryrun.analytics_dry_run(CONFIG, with_checks=True),
]
CASES = [(f"{run.prog} {i:02d} {s.id}", s.sql) for run in RUNS for i, s in enumerate(run.statements)]
CASES += [(f"other path: {s.id}", s.sql) for s in dryrun.conditional_statements(CONFIG)]
CASES.append(("preflight tables query", pipeline.render_params(preflight.TABLES_QUERY,
                                                               preflight.tables_query_params())))
CASES.append(("preflight server version", "select version()"))
CASES += [(f"preflight noload {i}", sql) for i, sql in enumerate(noload.noload_statements(CONFIG))]

# The statement type sqlfluff must recognise, by first keyword (a statement parsed as something else is a bug).
EXPECTED_TYPES = {
    "begin": {"transaction_statement"}, "commit": {"transaction_statement"}, "rollback": {"transaction_statement"},
    "set": {"set_statement"}, "lock": {"lock_table_statement"}, "copy": {"copy_statement"},
    "drop": {"drop_table_statement"}, "delete": {"delete_statement"}, "insert": {"insert_statement"},
    "create": {"create_table_statement", "create_table_as_statement"},
    "select": {"select_statement"}, "with": {"with_compound_statement"}, "analyze": {"analyze_statement"},
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
    assert sum(sql.endswith(" noload") for sql in copies) == 2  # the preflight's, beside etl.py's two
    assert len(copies) == 4 and all("iam_role 'arn:aws:iam::123456789012:role/sparkify-dwh-s3-read'" in c
                                    and "region 'us-west-2'" in c and "maxerror 10" in c for c in copies)
    assert sum("diststyle" in sql for _, sql in CASES) >= 6  # the DDL is Redshift's, untranslated


@pytest.mark.parametrize("prog", ["create_tables.py", "etl.py", "analytics.py"])
def test_each_dry_run_output_is_one_valid_redshift_script(prog, parse_redshift):
    """The printed text as a whole (comments, `;` separators) parses, statement for statement."""
    run = dryrun.dry_run_for(prog, CONFIG, with_checks=True)
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
