"""The path `make demo` takes: the built-in local default (no dwh.cfg, or --sample). The toolkit starts its
embedded PostgreSQL server (a server of this test's own, not the session's), etl.py generates the sample data (saying where; the
library never does), stop_local.py stops the server; a server that cannot start is one clear error."""

from __future__ import annotations

import dataclasses
import re

import pytest

import create_tables
import etl
import sql_queries
import stop_local
from sparkify import config as config_module
from sparkify import localdb
from sparkify.errors import LoadError, WarehouseError
from tests.helpers.dwhcfg import DwhCfg

pytestmark = pytest.mark.db  # each test starts a PostgreSQL server of its own


@pytest.fixture
def default_home(tmp_path, monkeypatch):
    """The built-in default with its home (.sparkify/) under tmp_path, run from a directory without dwh.cfg."""
    home = tmp_path / ".sparkify"
    real = config_module.default_config
    monkeypatch.setattr(config_module, "default_config", lambda: real(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield home
    localdb.stop_server(home / "pgdata")  # whatever the test did


def test_the_demo_path_on_the_builtin_default(default_home, capsys):
    sample_dir, data_dir = default_home / "sample", default_home / "pgdata"
    assert create_tables.main([]) == 0
    assert capsys.readouterr().out == (f"created {len(sql_queries.SCHEMA_TABLES)} tables in the embedded PostgreSQL "
                                       f"at {data_dir} (database {config_module.SAMPLE_DB_NAME})\n")
    assert localdb.is_running(data_dir)
    assert not sample_dir.exists()  # only etl.py, which loads it, generates the sample

    assert etl.main([]) == 0
    out, err = capsys.readouterr()
    assert f"built-in default: generating the sample data it loads, in {sample_dir}" in err
    assert re.match(r"loaded staging_events 8000, staging_songs 500 \(530 objects; 0 unchanged skipped\); songplays \d+", out)
    assert (sample_dir / "SAMPLE.json").exists()

    assert etl.main([]) == 0  # the second run reuses it, and says where it loads from
    assert f"built-in default: loading the sample data in {sample_dir}" in capsys.readouterr().err

    assert stop_local.main([]) == 0
    assert capsys.readouterr().out == f"embedded PostgreSQL in {data_dir}: stopped\n"
    assert not localdb.is_running(data_dir)
    assert stop_local.main([]) == 0
    assert capsys.readouterr().out == f"embedded PostgreSQL in {data_dir}: was not running\n"


def test_a_dwh_cfg_beside_the_sample_shares_its_server_not_its_database(default_home, tmp_path, capsys):
    """A local dwh.cfg with DATA_DIR's default (the project's .sparkify/pgdata) and the built-in default: one
    server, two databases. Dropping the dwh.cfg's tables leaves the sample's warehouse and ledger as they were,
    and --sample reaches the sample's even with ./dwh.cfg in the working directory (make demo runs it so)."""
    data_dir = default_home / "pgdata"
    assert create_tables.main(["--sample", "-q"]) == 0
    assert capsys.readouterr().out.endswith(f"(database {config_module.SAMPLE_DB_NAME})\n")
    assert etl.main(["--sample", "-q"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("loaded staging_events 8000, staging_songs 500 (530 objects")
    star = first[first.index("; songplays "):]

    empty = tmp_path / "empty"
    (empty / "log_data").mkdir(parents=True)
    (empty / "song_data").mkdir()
    (empty / "log_json_path.json").write_text('{"jsonpaths": ["$.ts"]}')
    DwhCfg.local(data_dir=data_dir, log_data=empty / "log_data", log_jsonpath=empty / "log_json_path.json",
                 song_data=empty / "song_data").write(tmp_path / "work" / "dwh.cfg")
    assert create_tables.main(["-q"]) == 0  # ./dwh.cfg: its own database, on the same server
    assert capsys.readouterr().out.endswith(f"at {data_dir} (database sparkify)\n")

    assert etl.main(["--sample", "-q"]) == 0
    assert capsys.readouterr().out == f"loaded nothing new (0 objects; 530 unchanged skipped){star}"
    assert stop_local.main(["--sample"]) == 0
    assert capsys.readouterr().out == f"embedded PostgreSQL in {data_dir}: stopped\n"


def test_stop_local_with_another_engine_has_nothing_to_stop(config_file, capsys):
    assert stop_local.main(["--config", str(config_file())]) == 0
    assert "ENGINE = postgres" in capsys.readouterr().out


def test_run_etl_never_generates_data(local_config, tmp_path):
    """The library loads what is there: a missing sample is a missing source, not generated behind the back."""
    from sparkify.pipeline import create_tables as create
    from sparkify.pipeline import run_etl

    sample_dir = tmp_path / "sample"
    config = dataclasses.replace(
        local_config, sample_dir=sample_dir,
        s3=dataclasses.replace(local_config.s3, log_data=str(sample_dir / "log_data"),
                               log_jsonpath=str(sample_dir / "log_json_path.json"),
                               song_data=str(sample_dir / "song_data")))
    create(config)
    with pytest.raises(LoadError, match=r"staging_events: no object to COPY: the specified S3 prefix .*sample/log_data. does not exist"):
        run_etl(config, show_progress=False)
    assert not sample_dir.exists()


def test_a_server_that_cannot_start_is_one_clear_error(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    data_dir = blocker / "pgdata"
    with pytest.raises(WarehouseError) as info:
        localdb.ensure_server(data_dir)
    message = str(info.value)
    assert message.startswith(f"{data_dir}: the embedded PostgreSQL server did not start (")
    assert message.endswith(f"see {data_dir / 'log'}, or delete {data_dir} to start afresh")


def test_a_script_whose_server_cannot_start_prints_one_line(tmp_path, capsys):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    cfg = DwhCfg.local(data_dir=blocker / "pgdata", log_data=f"{tmp_path}/l", log_jsonpath=f"{tmp_path}/j.json",
                       song_data=f"{tmp_path}/s").write(tmp_path / "dwh.cfg")
    assert create_tables.main(["--config", str(cfg), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"create_tables.py: {blocker / 'pgdata'}: the embedded PostgreSQL server did not start")
    assert err.count("\n") == 1
