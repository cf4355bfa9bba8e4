"""Config: every problem reported at once, secrets never shown, paths resolved against the file."""

from __future__ import annotations

import pytest

from sparkify.config import PASSWORD_ENV, default_config, load_config
from sparkify.errors import ConfigError

REDSHIFT_CFG = """
[WAREHOUSE]
ENGINE = redshift
[CLUSTER]
HOST = example.abc123.us-west-2.redshift.amazonaws.com
DB_NAME = dev
DB_USER = awsuser
DB_PASSWORD = Secret-Passw0rd
DB_PORT = 5439
[IAM_ROLE]
ARN = arn:aws:iam::123456789012:role/sparkify-redshift-s3-read
[S3]
LOG_DATA = s3://udacity-dend/log_data
LOG_JSONPATH = s3://udacity-dend/log_json_path.json
SONG_DATA = s3://udacity-dend/song_data
REGION = us-west-2
"""


def write(tmp_path, text, name="dwh.cfg"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_redshift_config_parses(tmp_path):
    cfg = load_config(write(tmp_path, REDSHIFT_CFG), environ={})
    assert cfg.engine == "redshift"
    assert cfg.cluster.db_port == 5439
    assert cfg.cluster.db_password == "Secret-Passw0rd"
    assert cfg.iam_role_arn.endswith(":role/sparkify-redshift-s3-read")
    assert cfg.s3.region == "us-west-2"
    assert cfg.maxerror == 0


def test_password_never_in_repr(tmp_path):
    cfg = load_config(write(tmp_path, REDSHIFT_CFG), environ={})
    assert "Secret-Passw0rd" not in repr(cfg)
    assert "Secret-Passw0rd" not in str(cfg)


def test_password_from_environment_wins(tmp_path):
    cfg = load_config(write(tmp_path, REDSHIFT_CFG), environ={PASSWORD_ENV: "From-Env-1"})
    assert cfg.cluster.db_password == "From-Env-1"


def test_every_problem_is_reported_at_once(tmp_path):
    bad = """
[WAREHOUSE]
ENGINE = redshift
[CLUSTER]
HOST = h
DB_PORT = not-a-port
[IAM_ROLE]
ARN = admin
[S3]
LOG_DATA = ./log_data
SONG_DATA = s3://b/song_data
REGION = mars
[ETL]
MAXERROR = -1
"""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, bad), environ={})
    problems = "\n".join(info.value.problems)
    for expected in ("[CLUSTER] DB_NAME is required", "[CLUSTER] DB_USER is required", "[CLUSTER] DB_PORT must be",
                     "[IAM_ROLE] ARN is not an IAM role ARN",
                     "[S3] LOG_DATA must be an s3:// URI", "[S3] LOG_JSONPATH is required",
                     "[S3] REGION is not an AWS region", "[ETL] MAXERROR must be between"):
        assert expected in problems
    assert len(info.value.problems) == 8
    assert str(info.value).startswith(str(tmp_path / "dwh.cfg"))


@pytest.mark.parametrize(
    ("engine_line", "message"),
    [("ENGINE = oracle", "ENGINE must be one of local, postgres, redshift"),
     ("", "[WAREHOUSE] ENGINE is required when [CLUSTER] HOST is set")],
)
def test_engine_problems(tmp_path, engine_line, message):
    text = f"[WAREHOUSE]\n{engine_line}\n[CLUSTER]\nHOST = h\n[S3]\nLOG_DATA=a\nLOG_JSONPATH=b\nSONG_DATA=c\n"
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(write(tmp_path, text), environ={})


def test_local_paths_resolve_against_the_config_file(tmp_path):
    text = "[WAREHOUSE]\nENGINE = local\nDATA_DIR = db\n[S3]\nLOG_DATA = data/log_data\n" \
           "LOG_JSONPATH = data/log_json_path.json\nSONG_DATA = /abs/song_data\n"
    cfg = load_config(write(tmp_path, text), environ={})
    assert cfg.data_dir == tmp_path / "db"
    assert cfg.s3.log_data == str(tmp_path / "data" / "log_data")
    assert cfg.s3.song_data == "/abs/song_data"
    assert cfg.cluster is None


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.cfg")


def test_builtin_default_when_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None)
    assert cfg == default_config()
    assert cfg.engine == "local" and cfg.sample_dir is not None


def test_dwh_cfg_in_current_directory_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, REDSHIFT_CFG)
    assert load_config(None, environ={}).engine == "redshift"


def test_unparsable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(write(tmp_path, "no section header\n"))


def test_password_falls_back_to_the_dwh_section(tmp_path):
    text = REDSHIFT_CFG.replace("DB_PASSWORD = Secret-Passw0rd\n", "") + "[DWH]\nDWH_DB_PASSWORD = Dwh-Passw0rd\n"
    assert load_config(write(tmp_path, text), environ={}).cluster.db_password == "Dwh-Passw0rd"


def test_the_example_file_is_a_valid_local_config():
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[2] / "dwh.cfg.example", environ={})
    assert cfg.engine == "local" and cfg.s3.log_data == "s3://udacity-dend/log_data" and cfg.maxerror == 0


def test_redshift_password_is_only_needed_to_connect(tmp_path, monkeypatch):
    from sparkify.warehouse import Warehouse

    # no AWS credentials anywhere either (else AUTH would default to iam): nothing may reach AWS
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    cfg = load_config(write(tmp_path, REDSHIFT_CFG.replace("DB_PASSWORD = Secret-Passw0rd\n", "")), environ={})
    assert cfg.cluster.db_password == ""
    with pytest.raises(ConfigError, match=f"DB_PASSWORD is required to connect to Redshift: set the environment "
                                          f"variable {PASSWORD_ENV}"):
        Warehouse(cfg).connect()
