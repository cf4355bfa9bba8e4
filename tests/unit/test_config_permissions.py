"""A dwh.cfg holding a secret that other users can read gets a warning naming the file and the fix, never the
secret; a file without a secret, or readable by its owner only, gets none; Windows (no POSIX bits) gets none."""

from __future__ import annotations

import logging

import pytest

from sparkify.config import inifile, load_config, load_dwh_settings

LOCAL = "[WAREHOUSE]\nENGINE = local\n[S3]\nLOG_DATA = logs\nLOG_JSONPATH = auto\nSONG_DATA = songs\n"
SECRET = "Very-Secret-9"


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "sparkify.config"]


def write(tmp_path, text: str, mode: int):
    path = tmp_path / "dwh.cfg"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666])
@pytest.mark.parametrize("text, keys", [
    (LOCAL + f"[CLUSTER]\nDB_PASSWORD = {SECRET}\n", "[CLUSTER] DB_PASSWORD"),
    (LOCAL + f"[DWH]\nDWH_DB_PASSWORD = '{SECRET}'\n[AWS]\nKEY = AKIDEXAMPLE\nSECRET = {SECRET}\n",
     "[DWH] DWH_DB_PASSWORD and [AWS] KEY and [AWS] SECRET"),
])
def test_a_secret_others_can_read_is_warned_about(tmp_path, caplog, mode, text, keys):
    path = write(tmp_path, text, mode)
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        load_config(path, environ={})
    assert warnings(caplog) == [(f"{path} holds {keys} and other users can read it (mode {mode:04o}): "
                                f"run chmod 600 {path}")]
    assert SECRET not in caplog.text


@pytest.mark.parametrize("text, mode", [
    (LOCAL + f"[CLUSTER]\nDB_PASSWORD = {SECRET}\n", 0o600),  # the owner's only
    (LOCAL + f"[CLUSTER]\nDB_PASSWORD = {SECRET}\n", 0o400),
    (LOCAL + "[CLUSTER]\nDB_PASSWORD =\n[DWH]\nDWH_MANAGED_PASSWORD = true\n", 0o644),  # no secret in it
])
def test_no_warning_without_a_readable_secret(tmp_path, caplog, text, mode):
    path = write(tmp_path, text, mode)
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        load_config(path, environ={})
    assert warnings(caplog) == []


def test_the_provisioning_scripts_warn_too(tmp_path, caplog):
    path = write(tmp_path, f"[DWH]\nDWH_DB_PASSWORD = {SECRET}\n", 0o644)
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        load_dwh_settings(path, environ={})
    assert warnings(caplog) == [(f"{path} holds [DWH] DWH_DB_PASSWORD and other users can read it (mode 0644): "
                                f"run chmod 600 {path}")]


def test_nothing_is_said_without_posix_permission_bits(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(inifile, "HAS_POSIX_MODES", False)  # Windows
    path = write(tmp_path, LOCAL + f"[CLUSTER]\nDB_PASSWORD = {SECRET}\n", 0o644)
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        load_config(path, environ={})
    assert warnings(caplog) == []
