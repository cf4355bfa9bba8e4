"""etl.py --preflight, and the preflight that starts every Redshift etl.py: moto for AWS, the embedded PostgreSQL
behind a TLS endpoint on localhost standing in for the cluster (tests/helpers/tls_server.py; its certificate
verified against the test CA, [CLUSTER] SSL_ROOT_CERT), found through [DWH] DWH_CLUSTER_IDENTIFIER, as its HOST
is not an AWS endpoint name."""

from __future__ import annotations

import pytest

import etl
import sql_queries
from sparkify.pipeline import RunResult, create_tables, plans
from tests.helpers.dwhcfg import DwhCfg


@pytest.fixture
def cluster_cfg(schema, aws_world, local_config, tmp_path, tls_endpoint, test_ca):
    """cluster_cfg(region=...) -> a dwh.cfg with ENGINE = redshift whose [CLUSTER] is this test's PostgreSQL
    database behind the verified TLS endpoint, whose role, cluster and bucket are in moto, and whose tables
    exist."""
    world = aws_world()
    c = local_config.cluster

    def write(region="us-west-2", **overrides):
        cfg = DwhCfg.redshift(host="localhost", port=tls_endpoint().port, db_name=c.db_name, db_user=c.db_user,
                              arn=world.role_arn, region=region, **overrides)
        cfg.set("CLUSTER", SSL_ROOT_CERT=test_ca.path)
        return cfg.set("DWH", DWH_CLUSTER_IDENTIFIER="sparkify-dwh", DWH_REGION="us-west-2").write(tmp_path / "dwh.cfg")

    return write


@pytest.fixture
def etl_must_not_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("run_etl must not start")

    monkeypatch.setattr(etl, "run_etl", refuse)


@pytest.fixture
def fake_etl(monkeypatch):
    calls = []

    def run(config, **kwargs):
        calls.append(config)
        return RunResult(staged={"staging_events": 0, "staging_songs": 0})

    monkeypatch.setattr(etl, "run_etl", run)
    return calls


def test_preflight_of_a_misconfigured_region(cluster_cfg, capsys):
    cfg = cluster_cfg(region="us-east-1")
    assert etl.main(["--config", str(cfg), "--preflight"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("FATAL")] == [
        "FATAL s3.region: bucket udacity-dend is in us-west-2 but [S3] REGION = us-east-1: set REGION = us-west-2"]
    assert [line.split(":")[0] for line in out] == [
        "ok    cluster.login", "ok    tables", "ok    aws.credentials", "ok    iam.role", "ok    iam.attached",
        "FATAL s3.region", "ok    s3.log_data", "ok    s3.song_data", "ok    s3.log_jsonpath", "ok    iam.s3_read",
        "WARN  copy.staging_events", "WARN  copy.staging_songs"]
    # the PostgreSQL standing in for the cluster cannot run Redshift's COPY ... NOLOAD: said, not failed
    assert out[-1].startswith("WARN  copy.staging_songs: the server is not Redshift (PostgreSQL ")


def test_preflight_all_ok_exits_0(cluster_cfg, capsys):
    assert etl.main(["--config", str(cluster_cfg()), "--preflight"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("ok    ") for line in lines[:-2])
    assert [line.split(":")[0] for line in lines[-2:]] == ["WARN  copy.staging_events", "WARN  copy.staging_songs"]


def test_a_fatal_preflight_stops_the_load_before_any_sql(cluster_cfg, etl_must_not_run, capsys):
    cfg = cluster_cfg(region="us-east-1")
    assert etl.main(["--config", str(cfg)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    last = captured.err.strip().splitlines()[-1]
    assert last == ("etl.py: preflight: s3.region: bucket udacity-dend is in us-west-2 but [S3] REGION = us-east-1: "
                    "set REGION = us-west-2; nothing was loaded (etl.py --preflight lists every finding; "
                    "--skip-preflight bypasses it)")


def test_a_passing_preflight_lets_the_load_run(cluster_cfg, fake_etl, capsys):
    assert etl.main(["--config", str(cluster_cfg())]) == 0
    assert len(fake_etl) == 1
    assert "preflight: 10 ok, 0 warnings, 0 fatal" in capsys.readouterr().err


def test_skip_preflight(cluster_cfg, fake_etl, monkeypatch, capsys):
    from sparkify import preflight

    monkeypatch.setattr(preflight, "run_preflight", lambda *a, **k: pytest.fail("preflight must not run"))
    assert etl.main(["--config", str(cluster_cfg(region="us-east-1")), "--skip-preflight"]) == 0
    assert len(fake_etl) == 1


def test_other_engines_load_without_preflight(config_file, monkeypatch, fake_etl):
    from sparkify import preflight

    monkeypatch.setattr(preflight, "require_ok", lambda *a, **k: pytest.fail("preflight must not run"))
    assert etl.main(["--config", str(config_file())]) == 0


def test_preflight_on_postgres_checks_the_database(config_file, local_config, capsys):
    cfg = config_file()
    assert etl.main(["--config", str(cfg), "--preflight"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok    cluster.login: logged in to ")
    assert out[1] == "FATAL tables.staging_events: table staging_events does not exist: run create_tables.py"
    assert out[-1] == "WARN  copy: COPY ... NOLOAD not run: the tables are missing or differ"
    create_tables(local_config)
    assert etl.main(["--config", str(cfg), "--preflight"]) == 1  # the tables exist; the sources do not
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"ok    tables: the {len(sql_queries.SCHEMA_TABLES)} tables exist with the expected columns"
    assert out[3].startswith("FATAL copy.staging_songs: COPY ... NOLOAD failed: staging_songs: COPY found no file: "
                             "the specified S3 prefix ")
    assert out[3].endswith("no file or directory's path starts with it; check [S3] SONG_DATA)")


def test_dry_run_and_preflight_are_exclusive(capsys):
    with pytest.raises(SystemExit) as info:
        etl.main(["--dry-run", "--preflight"])
    assert info.value.code == 2


def test_the_plans_are_what_etl_runs():
    """run_etl and create_tables walk these plans; the dry run walks the same ones (no second list)."""
    assert [s.name for s in plans.etl_plan()][:13] == ["etl_lock", "schema_tables_select", "schema_version_select",
                                                       "schema_current", "etl_run_next_id", "latest_etl_totals",
                                                       "loaded_objects_select", "staging_events_clear",
                                                       "staging_songs_clear", "staging_events_copy",
                                                       "staging_songs_copy", "loaded_objects_delete",
                                                       "loaded_objects_insert"]
    names = [s.name for s in plans.etl_plan()]
    assert names[-len(plans.merge_plan()):] == [s.name for s in plans.merge_plan()]


# ---- [CLUSTER] AUTH = iam: temporary credentials from AWS (moto's GetClusterCredentials), right before connecting


@pytest.fixture
def iam_role_in_postgres(pg_server):
    """The database user GetClusterCredentials names ("IAM:" + DB_USER), in the PostgreSQL standing in for the
    cluster (which trusts local connections, so the temporary password itself is not checked there)."""
    import psycopg2

    conn = psycopg2.connect(pg_server.uri)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('drop role if exists "IAM:postgres"')
        cur.execute('create role "IAM:postgres" login superuser')
    yield "IAM:postgres"
    with conn.cursor() as cur:
        cur.execute('drop role if exists "IAM:postgres"')
    conn.close()


@pytest.fixture
def issued_tokens(monkeypatch):
    """Every DbPassword AWS issues to sparkify.dbauth, so a test can prove none is printed or logged."""
    from sparkify import dbauth

    tokens: list[str] = []
    make_session = dbauth.make_session

    def recording(config):
        session = make_session(config)
        session.events.register("after-call.redshift.GetClusterCredentials",
                                lambda parsed, **kwargs: tokens.append(parsed["DbPassword"]))
        return session

    monkeypatch.setattr(dbauth, "make_session", recording)
    dbauth.forget()
    yield tokens
    dbauth.forget()


def test_without_a_password_the_preflight_and_the_warehouse_use_iam_credentials(
        cluster_cfg, iam_role_in_postgres, issued_tokens, capsys, caplog, tls_endpoint):
    """IAM-issued credentials over verified TLS: the connection is encrypted, and went through the endpoint."""
    from sparkify.config import load_config
    from sparkify.warehouse import Warehouse

    cfg = cluster_cfg(password="")  # no password anywhere, AWS credentials (moto's) available: AUTH = iam
    assert etl.main(["--config", str(cfg), "--preflight"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("ok    cluster.login: logged in to ")
    assert out.splitlines()[0].endswith(" as IAM:postgres (temporary credentials from IAM)")
    mark = tls_endpoint().mark()
    conn = Warehouse(load_config(cfg)).connect()
    assert conn.info.ssl_in_use and conn.info.ssl_attribute("protocol").startswith("TLS")
    with conn.cursor() as cur:
        cur.execute("select current_user")
        assert cur.fetchone()[0] == "IAM:postgres"
    conn.close()
    (through,) = tls_endpoint().since(mark)
    assert through.tls_asked and through.refused is None and through.to_server > 0
    assert len(issued_tokens) == 1  # fetched once, reused by the second connection
    assert issued_tokens[0] and issued_tokens[0] not in out + err + caplog.text
