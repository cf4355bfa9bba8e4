"""create_cluster.py / delete_cluster.py main(): exit codes, prompts and what they print (in-process, mock_aws)."""

from __future__ import annotations

import io

import boto3
import pytest

import create_cluster
import delete_cluster
from sparkify import cli
from tests.helpers.dwhcfg import FAKE_PASSWORD, DwhCfg


@pytest.fixture(autouse=True)
def _keep_pytest_logging(monkeypatch):
    """The scripts replace the root logger's handlers; keep pytest's capture intact."""
    monkeypatch.setattr(cli, "setup_logging", lambda args=None: None)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def clusters():
    return boto3.client("redshift", region_name="us-west-2").describe_clusters()["Clusters"]


def test_missing_config_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert create_cluster.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("create_cluster.py: config file not found: dwh.cfg (copy dwh.cfg.example to dwh.cfg")
    assert delete_cluster.main(["--config", str(tmp_path / "other.cfg"), "--yes"]) == 2
    assert "config file not found: " in capsys.readouterr().err


def test_invalid_config_exits_2_with_every_problem(tmp_path, capsys):
    path = tmp_path / "dwh.cfg"
    path.write_text("[DWH]\nDWH_PORT = 80\nDWH_REGION = mars\nDWH_DB_PASSWORD = weak\n")
    assert create_cluster.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DWH_PORT" in err and "DWH_REGION" in err and "DWH_DB_PASSWORD" in err
    assert "weak" not in err


def test_create_prints_the_report_and_never_the_password(moto, provisioning_cfg, capsys, caplog):
    assert create_cluster.main(["--config", str(provisioning_cfg)]) == 0
    out, err = capsys.readouterr()
    assert "created        Redshift cluster test-dwh" in out and "cluster ready: test-dwh." in out
    assert FAKE_PASSWORD not in out + err + caplog.text
    assert len(clusters()) == 1


def test_delete_refuses_without_a_terminal_and_without_yes(moto, provisioning_cfg, capsys, monkeypatch):
    assert create_cluster.main(["--config", str(provisioning_cfg)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert delete_cluster.main(["--config", str(provisioning_cfg)]) == 1
    assert "standard input is not a terminal; run delete_cluster.py --yes" in capsys.readouterr().err
    assert len(clusters()) == 1


def test_delete_asks_and_respects_the_answer(moto, provisioning_cfg, capsys, monkeypatch):
    assert create_cluster.main(["--config", str(provisioning_cfg)]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", _Tty(""))
    prompts = []
    monkeypatch.setattr("builtins.input", lambda text: prompts.append(text) or "no")
    assert delete_cluster.main(["--config", str(provisioning_cfg)]) == 1
    assert "not confirmed, nothing was deleted" in capsys.readouterr().err
    assert "delete Redshift cluster 'test-dwh'" in prompts[0] and "NO final snapshot" in prompts[0]
    assert len(clusters()) == 1
    monkeypatch.setattr("builtins.input", lambda text: "yes")
    assert delete_cluster.main(["--config", str(provisioning_cfg)]) == 0
    out = capsys.readouterr().out
    assert "deleted        Redshift cluster test-dwh" in out and "removed 4 resource(s)" in out
    assert clusters() == []
    monkeypatch.setattr("builtins.input", lambda text: pytest.fail("asked although nothing exists"))
    assert delete_cluster.main(["--config", str(provisioning_cfg)]) == 0
    assert "nothing to delete in us-west-2" in capsys.readouterr().out


def test_aws_errors_exit_1_with_one_line(moto, provisioning_cfg, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert create_cluster.main(["--config", str(provisioning_cfg)]) == 1
    err = capsys.readouterr().err
    assert err == ("create_cluster.py: no AWS credentials: configure a profile (aws configure) or set "
                   "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or [AWS] KEY/SECRET in the config file)\n")


def test_create_without_s3_locations_exits_2_before_anything_is_created(moto, provisioning_cfg, capsys):
    DwhCfg.provisioning().drop("S3").write(provisioning_cfg)
    assert create_cluster.main(["--config", str(provisioning_cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[S3] LOG_DATA and SONG_DATA are required to create the warehouse" in err
    assert clusters() == []
    assert boto3.client("iam").list_roles()["Roles"] == []
