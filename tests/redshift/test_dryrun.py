"""--dry-run of the three scripts: the Redshift SQL in order on stdout, secrets masked, no connection opened."""

from __future__ import annotations

import importlib
import re

import pytest

import sql_queries
from sparkify import dryrun
from sparkify.copy.redshift import render_copy
from sparkify.copy.spec import bind
from sql_queries import When, group_counter
from tests.helpers.dryrun import statements_of
from tests.helpers.dwhcfg import DwhCfg

SCRIPTS = ["create_tables", "etl", "analytics"]


@pytest.mark.parametrize("name", ["create_tables", "analytics"])
def test_dry_run_prints_sql_only_and_opens_no_connection(name, redshift_cfg, no_connection, capsys):
    assert importlib.import_module(name).main(["--config", str(redshift_cfg), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"-- {name}.py --dry-run: the ")
    for line in captured.out.splitlines():
        assert line == "" or line.startswith("-- ") or not line.startswith(("INFO", "WARNING"))
    stmts = statements_of(captured.out)
    assert stmts[0] == "begin" and stmts[-1] in ("commit", "rollback")
    assert captured.out.rstrip().endswith(";")
    assert "dry-run" in captured.err  # the log line goes to stderr


def test_etl_dry_run_prints_sql_and_only_reads(redshift_cfg, udacity_bucket, recorded, capsys):
    """etl.py --dry-run lists the prefixes and reads the ledger (selects only, rolled back), and prints SQL."""
    import etl

    assert etl.main(["--config", str(redshift_cfg), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("-- etl.py --dry-run: the ")
    stmts = statements_of(captured.out)
    assert stmts[0] == "begin" and stmts[-1] == "commit"
    # the schema's tables and version, the run's id and previous totals, the ledger of each table
    assert [s.split()[0] for s in recorded] == ["begin", *["select"] * 6, "rollback"]
    assert "staging_events: 2 new, 0 changed, 0 unchanged (skipped)" in captured.out


def test_dry_run_needs_no_reachable_cluster(tmp_path, udacity_bucket, capsys):
    """An unresolvable HOST: the ledger cannot be read, which the dry run says; every object counts as new."""
    cfg = DwhCfg.redshift(host="no-such-cluster.invalid").write(tmp_path / "dwh.cfg")
    import etl

    assert etl.main(["--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "copy staging_events from 's3://udacity-dend/log_data'" in out
    assert "-- NOTE: the load ledger could not be read (cannot connect to the redshift at no-such-cluster.invalid" in out


def test_etl_dry_run_says_when_a_prefix_cannot_be_listed(redshift_cfg, recorded, moto, capsys):
    """No bucket (moto is empty): the dry run says so and shows the COPY of the whole prefix."""
    import etl

    assert etl.main(["--config", str(redshift_cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-- NOTE: staging_events: the source prefix could not be listed (cannot list s3://udacity-dend/log_data" \
        in out
    assert "copy staging_events from 's3://udacity-dend/log_data'" in out


def etl_expected(config, tables=("staging_events", "staging_songs")) -> list[str]:
    """The statements of a first run (empty ledger) that loads both prefixes, without the ledger's INSERTs."""
    from sparkify.warehouse import render_params

    copies = [render_copy(bind(t, config)) for t in sql_queries.copy_table_queries]
    return [
        "begin", "set statement_timeout = 2000", "lock etl_runs", "set statement_timeout = 0",
        sql_queries.schema_tables_select.sql.strip(), sql_queries.schema_version_select.sql,
        sql_queries.etl_run_next_id.sql, sql_queries.latest_etl_totals.sql.strip(),
        *(render_params(sql_queries.loaded_objects_select.sql, {"table_name": t}).strip() for t in tables),
        *(q.sql for q in sql_queries.clear_staging_queries),
        copies[0], sql_queries.copy_rejected_count.sql, 'select count(*) from "staging_events"',
        copies[1], sql_queries.copy_rejected_count.sql, 'select count(*) from "staging_songs"',
    ]


def test_etl_dry_run_is_the_plan_in_order(redshift_cfg, redshift_config, udacity_bucket, recorded, capsys):
    import etl

    etl.main(["--config", str(redshift_cfg), "--dry-run"])
    stmts = statements_of(capsys.readouterr().out)
    expected_prefix = etl_expected(redshift_config)
    assert stmts[:len(expected_prefix)] == expected_prefix
    rest = stmts[len(expected_prefix):]
    assert [s.split("\n")[0] for s in rest[:2]] == [("insert into loaded_objects (table_name, object_url, size, "
                                                     "version, last_modified, run_id, loaded_at)")] * 2
    assert "'s3://udacity-dend/log_data/2018/11/2018-11-02-events.json'" in rest[0]
    rest = rest[2:]
    assert rest[:5] == [f'select count(*) from "{t}"' for t in sql_queries.STAR_TABLES]  # before the merge
    rest = rest[5:]
    # a first load: the statements of runs onto plays loaded before are not sent (there are none)
    later = {When.SONGPLAYS_HAD_ROWS, When.PLAYS_SEEN_AGAIN, When.PLAYS_CORRECTED}
    merge = [q.sql.strip() for q in (*sql_queries.song_merge_queries, *sql_queries.event_merge_queries,
                                     *sql_queries.report_rebuild_queries)
             if not later & set(q.when)]
    assert sql_queries.songplay_first_insert.sql.strip() in merge
    assert rest[:len(merge)] == merge
    rest = rest[len(merge):]
    assert rest[:7] == [f'select count(*) from "{t}"' for t in sql_queries.ALL_TABLES]
    # no run before (the recorder's totals are 0): the plays are checked in their first-load form
    groups = (sql_queries.RUN_PLAYS_FIRST_LOAD, *sql_queries.RUN_CHECKS[1:])
    assert rest[7:10] == [group_counter(g).strip() for g in groups]
    assert rest[10].startswith("insert into etl_runs") and "::timestamp" in rest[10] and "%(" not in rest[10]
    # the checks it passes, recorded for the report: one row per check of the groups, plus never_shrinks
    assert rest[11].startswith("insert into etl_run_checks (run_id, check_name, description, offenders)")
    n_checks = sum(len(g.checks) for g in groups)
    assert rest[11].count("), (") + 1 > n_checks and "'songplays.run_plays_once'" in rest[11], rest[11]
    assert rest[12:] == ["commit"]


def test_etl_dry_run_skips_what_the_ledger_has_and_copies_the_rest_through_a_manifest(
        tmp_path, udacity_bucket, recorded, capsys):
    """One log day loaded before (same size and ETag), no song new: only the other day is COPYed, through the
    run's manifest; the songs' COPY and merge are not sent."""
    head = udacity_bucket.head_object(Bucket="udacity-dend", Key="log_data/2018/11/2018-11-01-events.json")
    songs = [(f"s3://udacity-dend/{o['Key']}", o["Size"], o["ETag"]) for o in udacity_bucket.list_objects_v2(
        Bucket="udacity-dend", Prefix="song_data")["Contents"]]
    recorded.results["where table_name = 'staging_events'"] = [
        ("s3://udacity-dend/log_data/2018/11/2018-11-01-events.json", head["ContentLength"], head["ETag"])]
    recorded.results["where table_name = 'staging_songs'"] = songs
    recorded.results["coalesce(max(run_id)"] = [(42,)]
    recorded.results["select songplays_rows, users_rows"] = [(6820, 97, 1943, 1809, 6813)]
    cfg = DwhCfg.redshift().set("S3", MANIFEST_PREFIX="s3://sparkify-ops/manifests/").write(tmp_path / "dwh.cfg")
    import etl

    assert etl.main(["--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-- staging_events: 1 new, 0 changed, 1 unchanged (skipped) under s3://udacity-dend/log_data" in out
    assert "-- staging_songs: 0 new, 0 changed, 2 unchanged (skipped) under s3://udacity-dend/song_data" in out
    stmts = statements_of(out)
    copies = [s for s in stmts if s.startswith("copy ")]
    assert copies == [("copy staging_events from 's3://sparkify-ops/manifests/run-000042/staging_events.manifest' "
                      "iam_role 'arn:aws:iam::123456789012:role/sparkify-dwh-s3-read' region 'us-west-2' manifest "
                      "format as json 's3://udacity-dend/log_json_path.json' timeformat 'epochmillisecs' "
                      "truncatecolumns blanksasnull emptyasnull maxerror 10 compupdate off statupdate off")]
    assert sql_queries.song_records_insert.sql.strip() not in stmts
    assert sql_queries.songplay_table_insert.sql.strip() in stmts
    # songplays had plays before (the previous run's totals): the run's plays are matched with its keys
    assert group_counter(sql_queries.RUN_CHECKS[0]).strip() in stmts
    assert group_counter(sql_queries.RUN_PLAYS_FIRST_LOAD).strip() not in stmts
    assert not any(s.startswith("delete from loaded_objects") for s in stmts)


def test_etl_dry_run_with_reload_loads_everything_again(tmp_path, redshift_cfg, udacity_bucket, recorded, capsys):
    head = udacity_bucket.head_object(Bucket="udacity-dend", Key="log_data/2018/11/2018-11-01-events.json")
    recorded.results["where table_name = 'staging_events'"] = [
        ("s3://udacity-dend/log_data/2018/11/2018-11-01-events.json", head["ContentLength"], head["ETag"])]
    import etl

    assert etl.main(["--config", str(redshift_cfg), "--dry-run", "--reload"]) == 0
    out = capsys.readouterr().out
    assert "-- staging_events: 1 new, 1 reloaded, 0 unchanged (skipped)" in out
    assert ("delete from loaded_objects\nwhere table_name = 'staging_events'\n  and object_url in "
            "('s3://udacity-dend/log_data/2018/11/2018-11-01-events.json');") in out


def test_etl_dry_run_shows_the_real_copy_options(redshift_cfg, udacity_bucket, recorded, capsys):
    import etl

    etl.main(["--config", str(redshift_cfg), "--dry-run"])
    out = capsys.readouterr().out
    assert ("copy staging_events from 's3://udacity-dend/log_data' "
            "iam_role 'arn:aws:iam::123456789012:role/sparkify-dwh-s3-read' region 'us-west-2' "
            "format as json 's3://udacity-dend/log_json_path.json' timeformat 'epochmillisecs' truncatecolumns "
            "blanksasnull emptyasnull maxerror 10 compupdate off statupdate off;") in out
    assert "format as json 'auto'" in out
    assert "statement_timeout = 118000" in out  # the note on the second lock attempt (LOCK_TIMEOUT 120)


def test_only_redshift_sql_is_shown(redshift_config, udacity_bucket, recorded):
    """Statements of the local engines (translation, emulated COPY, savepoints, the merge's SET LOCAL tuning)
    are not in the dry run."""
    text = "\n".join(s.sql for p in dryrun.SCRIPTS
                     for s in dryrun.dry_run_for(p, redshift_config, with_checks=True).statements).lower()
    for local_only in ("savepoint", "from stdin", "generated by default", "table if not exists sys_load_error_detail",
                       "minvalue", "set local", "work_mem", "create index", "drop index", "truncate ",
                       "create unlogged", "set unlogged"):
        assert local_only not in text
    assert text.count("diststyle") == sum("diststyle" in q.sql for q in sql_queries.create_table_queries) > 10
    assert "identity(0, 1)" in text


def test_create_tables_dry_run(redshift_cfg, no_connection, capsys):
    import create_tables

    create_tables.main(["--config", str(redshift_cfg), "--dry-run"])
    stmts = statements_of(capsys.readouterr().out)
    versions = stmts[1 + len(sql_queries.drop_table_queries) + len(sql_queries.create_table_queries)]
    assert stmts == ["begin", *(q.sql for q in sql_queries.drop_table_queries),
                     *(q.sql.strip() for q in sql_queries.create_table_queries), versions,
                     *(f'select count(*) from "{t}"' for t in sql_queries.ALL_TABLES + sql_queries.BOOKKEEPING_TABLES),
                     "commit"]
    # every version, as created
    assert versions.startswith("insert into schema_versions (version, description, how, applied_at)\nvalues (1, ")
    assert versions.count("'created'") == sql_queries.SCHEMA_VERSION


@pytest.mark.parametrize("flags, with_checks", [([], False), (["--check"], True), (["--json"], False),
                                                (["--html", "never-written.html"], False),
                                                (["--html", "never-written.html", "--check"], True)])
def test_analytics_dry_run_follows_its_flags(flags, with_checks, redshift_cfg, no_connection, capsys):
    import analytics

    assert analytics.main(["--config", str(redshift_cfg), "--dry-run", *flags]) == 0
    stmts = statements_of(capsys.readouterr().out)
    queries = [q.sql.strip() for q in sql_queries.analytics_queries.values()]
    assert stmts[0] == "begin" and stmts[-1] == "rollback"
    assert stmts[1:3] == [q.sql.strip() for q in sql_queries.schema_version_queries]  # a current warehouse assumed
    assert stmts[3 + len(sql_queries.ALL_TABLES):3 + len(sql_queries.ALL_TABLES) + len(queries)] == queries
    rest = stmts[3 + len(sql_queries.ALL_TABLES) + len(queries):-1]
    # --check: the checks of whole tables; else the checks the latest load passed (one query)
    assert rest == ([group_counter(g).strip() for g in sql_queries.CHECKS] if with_checks
                    else [sql_queries.latest_run_checks.sql.strip()])


@pytest.mark.parametrize("name", SCRIPTS)
def test_dry_run_refuses_other_engines(name, config_file, no_connection, capsys):
    cfg = config_file()  # ENGINE = postgres
    assert importlib.import_module(name).main(["--config", str(cfg), "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "--dry-run shows the SQL that runs on Redshift: set [WAREHOUSE] ENGINE = redshift" in captured.err


def test_password_never_printed(tmp_path, monkeypatch, udacity_bucket, recorded, capsys):
    monkeypatch.setenv("SPARKIFY_DB_PASSWORD", "Env-Passw0rd-77")
    cfg = (DwhCfg.redshift(password="File-Passw0rd-66").set("DWH", DWH_DB_PASSWORD="Dwh-Passw0rd-55")
           .set("AWS", KEY="AKIAEXAMPLEKEY", SECRET="wJalrXUtnFEMI/K7MDENG").write(tmp_path / "dwh.cfg"))
    import etl

    assert etl.main(["--config", str(cfg), "--dry-run"]) == 0
    captured = capsys.readouterr()
    for secret in ("Env-Passw0rd-77", "File-Passw0rd-66", "Dwh-Passw0rd-55", "wJalrXUtnFEMI/K7MDENG"):
        assert secret not in captured.out + captured.err


# --------------------------------------------------------------------------------------------------
# Masking (pure)

FAKE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documentation example, assembled so no key-shaped literal is tracked


@pytest.mark.parametrize("text, expected", [
    ((f"copy t from 's3://b/p' access_key_id '{FAKE_KEY_ID}' secret_access_key 'wJalr/K7MDENG' "
     "session_token 'FwoGZX''IvYXdz' json 'auto'"),
     "copy t from 's3://b/p' access_key_id '****' secret_access_key '****' session_token '****' json 'auto'"),
    ((f"copy t from 's3://b/p' credentials 'aws_access_key_id={FAKE_KEY_ID};aws_secret_access_key=wJalr/K7MD' "
     "json 'auto'"),
     "copy t from 's3://b/p' credentials 'aws_access_key_id=****;aws_secret_access_key=****' json 'auto'"),
    ("credentials 'aws_iam_role=arn:aws:iam::123456789012:role/r;token=abc'",
     "credentials 'aws_iam_role=arn:aws:iam::123456789012:role/r;token=****'"),
    ("create user bob password 'Sekr3t-Pass'", "create user bob password '****'"),
    ("ACCESS_KEY_ID 'AKIA' SECRET_ACCESS_KEY 'x'", "ACCESS_KEY_ID '****' SECRET_ACCESS_KEY '****'"),
    ("copy t from 's3://b/p' iam_role 'arn:aws:iam::123456789012:role/r' format as json 'auto'",
     "copy t from 's3://b/p' iam_role 'arn:aws:iam::123456789012:role/r' format as json 'auto'"),
], ids=["credential clauses", "credentials string", "token in credentials", "password clause", "upper case",
        "iam_role is not a secret"])
def test_mask_secret_clauses(text, expected):
    assert dryrun.mask_secrets(text) == expected


def test_mask_known_values_longest_first():
    text = "-- host x; something Passw0rd-Long and Passw0rd inside"
    assert dryrun.mask_secrets(text, ["Passw0rd", "Passw0rd-Long"]) == "-- host x; something **** and **** inside"


def test_short_values_are_not_masked_by_value():
    assert dryrun.mask_secrets("select count(*) from time", ["time"]) == "select count(*) from time"


def test_secret_values_gathers_file_environment_and_config(tmp_path):
    from sparkify.config import load_config

    cfg = (DwhCfg.redshift(password="File-Passw0rd-66").set("AWS", KEY="AKIAEXAMPLEKEY", SECRET="wJalrXUtnFEMI/K7MDENG")
           .write(tmp_path / "dwh.cfg"))
    env = {"SPARKIFY_DB_PASSWORD": "Env-Passw0rd-77", "AWS_SECRET_ACCESS_KEY": "EnvSecretKey99",
           "AWS_SESSION_TOKEN": "EnvToken123"}
    config = load_config(cfg, environ=env)
    values = dryrun.secret_values(config, env)
    assert {"File-Passw0rd-66", "Env-Passw0rd-77", "AKIAEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG", "EnvSecretKey99",
            "EnvToken123"} <= set(values)
    assert not any(re.search(r"udacity|redshift|awsuser", v) for v in values)
