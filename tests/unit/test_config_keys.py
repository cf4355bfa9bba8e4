"""Unknown keys and sections: reported with the nearest known key; an error in [DWH] for the provisioning
scripts (a misspelt key would create or delete something else), a warning everywhere else."""

from __future__ import annotations

import configparser
import logging

import pytest

from sparkify.config import KNOWN_KEYS, file_secrets, load_config, load_dwh_settings, unknown_keys
from sparkify.errors import ConfigError

LOCAL = "[WAREHOUSE]\nENGINE = local\n[S3]\nLOG_DATA = logs\nLOG_JSONPATH = auto\nSONG_DATA = songs\n"


def parsed(text: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(text)
    return cp


@pytest.mark.parametrize("text, expected", [
    ("[DWH]\nDWH_NODETYPE = ra3.large\n", [("DWH", "DWH_NODETYPE", "did you mean DWH_NODE_TYPE?")]),
    ("[DWH]\nDWH_ALLOWED_CIRD = 1.2.3.4/32\n", [("DWH", "DWH_ALLOWED_CIRD", "did you mean DWH_ALLOWED_CIDR?")]),
    ("[S3]\nLOG_DTA = x\n", [("S3", "LOG_DTA", "did you mean LOG_DATA?")]),
    ("[ETL]\nMAX_ERROR = 3\n", [("ETL", "MAX_ERROR", "did you mean MAXERROR?")]),
    ("[CLUSTER]\nAUHT = iam\n", [("CLUSTER", "AUHT", "did you mean AUTH?")]),
    ("[ETL]\nFOO = 1\n", [("ETL", "FOO", "known keys: MAXERROR, LOCK_TIMEOUT")]),
    ("[S3]\nDWH_REGION = us-west-2\n", [("S3", "DWH_REGION", "it belongs in [DWH]")]),
    ("[CLUSTR]\nHOST = x\n", [("CLUSTR", None, "did you mean [CLUSTER]?")]),
    ("[S3]\nMANIFEST_PREFIX = s3://b/manifests/\nREGION = us-west-2\n", []),  # issue 11's key is known
    ("[dwh]\nx = 1\n", [("dwh", None, "did you mean [DWH]?")]),  # sections are case-sensitive, as configparser's
])
def test_unknown_keys_name_the_nearest_known_one(text, expected):
    assert unknown_keys(parsed(text)) == expected


def test_every_documented_key_is_known():
    """dwh.cfg.example mentions every key (commented or not): none of them may be reported as unknown."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "dwh.cfg.example").read_text()
    section = None
    mentioned = set()
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)\s*=", line)
        if m and section:
            mentioned.add((section, m.group(1)))
    assert mentioned and all(key in KNOWN_KEYS[section] for section, key in mentioned), sorted(
        (s, k) for s, k in mentioned if k not in KNOWN_KEYS[s])
    assert {(s, k) for s, keys in KNOWN_KEYS.items() for k in keys} - mentioned <= {("S3", "MANIFEST_PREFIX")}


def test_unknown_keys_are_warnings_for_the_warehouse_scripts(tmp_path, caplog):
    path = tmp_path / "dwh.cfg"
    path.write_text(LOCAL + "LOG_DTA = x\n[DWH]\nDWH_NODETYPE = ra3.large\n")
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        load_config(path, environ={})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{path}: [S3] LOG_DTA is not a known key and is ignored (did you mean LOG_DATA?)",
                        f"{path}: [DWH] DWH_NODETYPE is not a known key and is ignored (did you mean DWH_NODE_TYPE?)"]


def test_an_unknown_dwh_key_stops_the_provisioning_scripts(tmp_path, caplog):
    path = tmp_path / "dwh.cfg"
    path.write_text("[DWH]\nDWH_NODETYPE = ra3.large\nDWH_DB_PASSWORD = Sup3rSecretPw\n[S3]\nLOG_DTA = x\n")
    with pytest.raises(ConfigError) as info:
        load_dwh_settings(path, environ={})
    assert info.value.problems == [("[DWH] DWH_NODETYPE is not a known key (did you mean DWH_NODE_TYPE?); fix it, or "
                                   "remove it, so nothing is created or deleted on a misspelt setting")]
    assert "[S3] LOG_DTA is not a known key" in caplog.text  # elsewhere: a warning


def test_an_unknown_dwh_key_stops_delete_cluster_too(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[DWH]\nDWH_CLUSTER_IDENTIFER = my-dwh\n")  # would delete the default sparkify-dwh
    with pytest.raises(ConfigError, match="DWH_CLUSTER_IDENTIFER is not a known key .did you mean "
                                          "DWH_CLUSTER_IDENTIFIER"):
        load_dwh_settings(path, environ={}, need_password=False)


@pytest.mark.parametrize("auth, problem", [
    ("iam", None), ("password", None), ("IAM", None),
    ("kerberos", "[CLUSTER] AUTH must be password or iam, not 'kerberos'"),
])
def test_cluster_auth(tmp_path, auth, problem):
    path = tmp_path / "dwh.cfg"
    path.write_text("[WAREHOUSE]\nENGINE = redshift\n[CLUSTER]\nHOST = h\nDB_NAME = dev\nDB_USER = u\nDB_PORT = 5439\n"
                    f"AUTH = {auth}\n[IAM_ROLE]\nARN = arn:aws:iam::123456789012:role/r\n[S3]\nLOG_DATA = s3://b/l\n"
                    "LOG_JSONPATH = s3://b/j.json\nSONG_DATA = s3://b/s\n")
    if problem is None:
        assert load_config(path, environ={}).cluster.auth == auth.lower()
    else:
        with pytest.raises(ConfigError) as info:
            load_config(path, environ={})
        assert info.value.problems == [problem]


def test_iam_auth_needs_redshift(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[WAREHOUSE]\nENGINE = postgres\n[CLUSTER]\nHOST = h\nDB_NAME = dev\nDB_USER = u\nDB_PORT = 5432\n"
                    "AUTH = iam\n[S3]\nLOG_DATA = l\nLOG_JSONPATH = auto\nSONG_DATA = s\n")
    with pytest.raises(ConfigError, match="AUTH = iam needs ENGINE = redshift"):
        load_config(path, environ={})


def test_file_secrets_are_every_secret_looking_value():
    cp = parsed("[CLUSTER]\nDB_PASSWORD = 'Pw-From-File1'\nHOST = h\n[AWS]\nKEY = AKIDEXAMPLE\nSECRET = s3cr3t-value\n"
                "[DWH]\nDWH_DB_PASSWORD = Dwh-Pw-2\n")
    assert sorted(file_secrets(cp)) == ["AKIDEXAMPLE", "Dwh-Pw-2", "Pw-From-File1", "s3cr3t-value"]
