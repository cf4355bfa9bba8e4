"""create_tables against the real embedded PostgreSQL."""

from __future__ import annotations

import psycopg2
import pytest

import create_tables as script
import sql_queries
from sparkify.pipeline import create_tables
from sparkify.warehouse import table_columns


def test_creates_every_table_empty(local_config, pg_conn):
    counts = create_tables(local_config)
    assert counts == {t: 0 for t in sql_queries.ALL_TABLES + sql_queries.BOOKKEEPING_TABLES}
    with pg_conn.cursor() as cur:
        assert table_columns(cur, "staging_events")[:3] == ["artist", "auth", "first_name"]
        assert len(table_columns(cur, "staging_events")) == 18
        assert table_columns(cur, "users") == ["user_id", "first_name", "last_name", "gender", "level",
                                               "last_event_at"]


def test_the_script_prints_its_result_on_stdout(config_file, local_config, capsys):
    """One line, the only one with -q: how many tables, and where (the README: every script prints its result)."""
    c = local_config.cluster
    assert script.main(["--config", str(config_file()), "-q"]) == 0
    out, err = capsys.readouterr()
    assert out == f"created {len(sql_queries.SCHEMA_TABLES)} tables in the postgres at {c.host}:{c.db_port}/" \
                  f"{c.db_name} as {c.db_user}\n"
    assert err == ""


def test_is_rerunnable_and_drops_data(local_config, pg_conn):
    create_tables(local_config)
    with pg_conn.cursor() as cur:
        cur.execute("insert into users values (1, 'a', 'b', 'F', 'free', now())")
    pg_conn.commit()
    create_tables(local_config)
    with pg_conn.cursor() as cur:
        cur.execute("select count(*) from users")
        assert cur.fetchone()[0] == 0


def test_primary_keys_are_informational_like_redshift(local_config, pg_conn):
    create_tables(local_config)
    with pg_conn.cursor() as cur:
        cur.execute("insert into users values (1, 'a', 'b', 'F', 'free', now()), (1, 'a', 'b', 'F', 'paid', now())")
        cur.execute("select count(*) from users where user_id = 1")
        assert cur.fetchone()[0] == 2


def test_identity_starts_at_zero(local_config, pg_conn):
    create_tables(local_config)
    with pg_conn.cursor() as cur:
        cur.execute("insert into songplays (start_time, user_id, session_id, item_in_session) "
                    "values (now(), 1, 1, 0), (now(), 1, 1, 1) returning songplay_id")
        assert [r[0] for r in cur.fetchall()] == [0, 1]


def test_wrong_database_is_reported(tmp_path):
    from sparkify.config import ClusterSettings, Config, S3Settings
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import Warehouse

    cfg = Config(engine="postgres", s3=S3Settings("a", "b", "c"),
                 cluster=ClusterSettings(host="127.0.0.1", db_name="x", db_user="u", db_port=1, db_password="pw-123"))
    with pytest.raises(WarehouseError) as info:
        Warehouse(cfg).connect()
    assert "postgres at 127.0.0.1:1/x as u" in str(info.value)
    assert "pw-123" not in str(info.value)
    assert not isinstance(info.value, psycopg2.Error)


@pytest.mark.parametrize("change, key", [({"db_user": "no_such_role"}, "DB_USER"),
                                         ({"db_name": "no_such_database"}, "DB_NAME")])
def test_a_user_or_database_the_server_lacks_names_its_key(local_config, change, key):
    """The server says which of the two does not exist; the hint names that key, not the other."""
    import dataclasses

    from sparkify.errors import WarehouseError
    from sparkify.warehouse import Warehouse

    config = dataclasses.replace(local_config, cluster=dataclasses.replace(local_config.cluster, **change))
    with pytest.raises(WarehouseError) as info:
        Warehouse(config).connect()
    assert f'"{next(iter(change.values()))}" does not exist' in str(info.value)
    assert str(info.value).endswith(f"(check [CLUSTER] {key})")
