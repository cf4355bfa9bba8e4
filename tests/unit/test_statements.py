"""The statements of sql_queries are explicit named objects: each is `sql_queries.<its name>`, names are unique,
every statement a job sends (or sends on a failure path) is one of them, and what they declare (the tables
they write, the etl_runs columns they add to, their conditions) agrees with what the run needs."""

from __future__ import annotations

import pytest

import sql_queries
from sql_queries import Job, Statement, When


def statements_of(job: Job) -> list[Statement]:
    """Every statement a job may send: its own, and their parts (a lock's attempt, what follows a COPY, what
    PostgreSQL sends instead, what is sent on failure), depth first."""
    out: list[Statement] = []

    def walk(statement: Statement) -> None:
        for part in statement.parts():
            if part is statement:
                out.append(part)
            else:
                walk(part)

    for statement in job:
        walk(statement)
    return out


SENT = [s for job in sql_queries.JOBS for s in statements_of(job)]
DECLARED = [v for v in vars(sql_queries).values() if isinstance(v, Statement)]  # (the test may reflect)


def test_the_jobs_are_what_the_scripts_send():
    assert [job.name for job in sql_queries.JOBS] == ["create_tables_job", "upgrade_job", "etl_job", "analytics_job",
                                                      "noload_job"]
    assert len(SENT) > 90 and len(DECLARED) > 90


@pytest.mark.parametrize("statement", sorted(set(SENT) | set(DECLARED), key=lambda s: s.name), ids=lambda s: s.name)
def test_each_statement_is_reachable_under_its_own_name(statement):
    assert getattr(sql_queries, statement.name, None) is statement
    assert statement.name in sql_queries.__all__


def test_names_are_unique():
    names = [s.name for s in {id(s): s for s in [*SENT, *DECLARED]}.values()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("job", sql_queries.JOBS, ids=lambda j: j.name)
def test_each_job_is_reachable_under_its_own_name(job):
    assert getattr(sql_queries, job.name) is job


def test_every_statement_declared_is_sent_by_a_job():
    """(table_columns_select is read by the tests and the preflight's comparison, not by a job.)"""
    unsent = {s.name for s in DECLARED} - {s.name for s in SENT}
    assert unsent == {"table_columns_select"}


def test_the_merge_is_the_end_of_the_etl_job():
    assert sql_queries.etl_job.statements[-len(sql_queries.merge_queries):] == sql_queries.merge_queries


def test_the_tallies_are_the_etl_runs_columns_the_merge_adds_up():
    tallies = {s.tally for s in SENT if s.tally}
    assert tallies == {"songplays_added", "songplays_changed", "users_merged", "songs_merged", "artists_merged",
                       "time_added"}
    assert tallies <= set(sql_queries.ETL_RUN_COLUMNS)


def test_written_tables_exist():
    tables = set(sql_queries.SCHEMA_TABLES)
    for statement in SENT:
        assert set(statement.writes) <= tables, statement.name


def test_proven_conditions_are_proven_by_a_statement_before_the_statements_that_need_them():
    order = list(sql_queries.etl_job)
    for statement in order:
        for condition in statement.when:
            provers = [s for s in order if s.proves is condition]
            if condition in (When.PLAYS_SEEN_AGAIN, When.PLAYS_CORRECTED, When.PLAYS_CHANGED):
                assert provers and order.index(provers[0]) < order.index(statement), (statement.name, condition)
            else:
                assert not provers, (statement.name, condition)


@pytest.mark.parametrize("loaded, changed", [
    (set(), set()),
    ({"staging_events"}, {"songplays", "users", "time"}),
    ({"staging_songs"}, {"songs", "artists", "songplays", "song_records"}),
    ({"staging_events", "staging_songs"}, {"songplays", "users", "time", "songs", "artists", "song_records"}),
])
def test_the_tables_a_run_changes_follow_from_what_the_merge_writes(loaded, changed):
    from sparkify.config import Config, S3Settings
    from sparkify.pipeline.state import RunState

    state = RunState(Config(engine="local", s3=S3Settings("a", "b", "c")), loaded=loaded)
    assert state.changed() == changed


@pytest.mark.parametrize("condition", list(When), ids=lambda c: c.name)
def test_every_condition_is_evaluated(condition):
    from sparkify.config import Config, S3Settings
    from sparkify.pipeline.state import RunState

    state = RunState(Config(engine="local", s3=S3Settings("a", "b", "c")))
    assert state.holds(condition, sql_queries.staging_events_copy) in (True, False)
