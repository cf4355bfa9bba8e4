"""[DWH]/[AWS] settings: defaults, validation of every key, secrets kept out of messages and repr."""

from __future__ import annotations

import configparser
import logging

import pytest

from sparkify.config import (
    DwhSettings,
    load_config,
    load_dwh_settings,
    parse_dwh_settings,
    password_problem,
    require_config_path,
)
from sparkify.errors import ConfigError

GOOD_PW = "Sup3rSecretPw"


def parse(text: str, environ=None, **kw) -> DwhSettings:
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(text)
    return parse_dwh_settings(cp, environ or {}, path="dwh.cfg", **kw)


def test_defaults():
    s = parse(f"[DWH]\nDWH_DB_PASSWORD = {GOOD_PW}\n")
    assert (s.cluster_identifier, s.cluster_type, s.num_nodes, s.node_type) == ("sparkify-dwh", "single-node", 1,
                                                                               None)  # None: chosen at create time
    assert (s.mode, s.namespace, s.workgroup, s.base_capacity, s.usage_limit, s.usage_limit_action) \
        == ("cluster", "sparkify-dwh", "sparkify-dwh", 4, 8, "deactivate")
    assert s.publicly_accessible is True and s.managed_password is False and s.kms_key_id is None
    assert (s.iam_role_name, s.db_name, s.db_user, s.port, s.region) == ("sparkify-dwh-s3-read", "sparkify",
                                                                        "sparkify_admin", 5439, "us-west-2")
    assert s.allowed_cidr is None and s.vpc_id is None and s.aws_key is None and s.aws_secret is None
    assert s.security_group_name == "sparkify-dwh-sg"
    assert s.db_password == GOOD_PW


def test_seed_project_keys_are_read():
    s = parse("[DWH]\nDWH_CLUSTER_TYPE = multi-node\nDWH_NUM_NODES = 4\nDWH_NODE_TYPE = dc2.large\n"
              "DWH_IAM_ROLE_NAME = dwhRole\nDWH_CLUSTER_IDENTIFIER = dwhCluster\nDWH_DB = dwh\n"
              "DWH_DB_USER = dwhuser\nDWH_DB_PASSWORD = Passw0rd\nDWH_PORT = 5439\n"
              "[AWS]\nKEY = AKIDEXAMPLE\nSECRET = 'secret-example'\n")
    assert (s.cluster_type, s.num_nodes, s.iam_role_name, s.cluster_identifier) == ("multi-node", 4, "dwhRole",
                                                                                   "dwhcluster")
    assert s.aws_key == "AKIDEXAMPLE" and s.aws_secret == "secret-example"


def test_num_nodes_alone_implies_multi_node():
    assert parse(f"[DWH]\nDWH_NUM_NODES = 3\nDWH_DB_PASSWORD = {GOOD_PW}\n").cluster_type == "multi-node"
    assert parse(f"[DWH]\nDWH_CLUSTER_TYPE = multi-node\nDWH_DB_PASSWORD = {GOOD_PW}\n").num_nodes == 2


def test_every_problem_is_reported_at_once():
    text = ("[DWH]\nDWH_CLUSTER_TYPE = single-node\nDWH_NUM_NODES = 4\nDWH_NODE_TYPE = huge\n"
            "DWH_CLUSTER_IDENTIFIER = 1bad--id\nDWH_DB = Bad-Name\nDWH_DB_USER = Admin\n"
            "DWH_DB_PASSWORD = short\nDWH_PORT = 80\nDWH_REGION = mars\nDWH_ALLOWED_CIDR = 10.0.0.1/8\n"
            "DWH_VPC_ID = vpc-nope\nDWH_IAM_ROLE_NAME = has space\n[AWS]\nKEY = AKIDONLY\n")
    with pytest.raises(ConfigError) as info:
        parse(text)
    problems = info.value.problems
    for key in ("DWH_NUM_NODES", "DWH_NODE_TYPE", "DWH_CLUSTER_IDENTIFIER", "DWH_DB ", "DWH_DB_USER",
                "DWH_DB_PASSWORD", "DWH_PORT", "DWH_REGION", "DWH_ALLOWED_CIDR", "DWH_VPC_ID", "DWH_SUBNET_GROUP",
                "DWH_IAM_ROLE_NAME", "[AWS] KEY"):
        assert any(key in p for p in problems), (key, problems)
    assert len(problems) == 13
    assert str(info.value).startswith("dwh.cfg: ")
    assert "10.0.0.0/8" in str(info.value)  # the CIDR hint


@pytest.mark.parametrize("nodes", ["1", "129", "x"])
def test_multi_node_needs_2_to_128_nodes(nodes):
    with pytest.raises(ConfigError, match="DWH_NUM_NODES"):
        parse(f"[DWH]\nDWH_CLUSTER_TYPE = multi-node\nDWH_NUM_NODES = {nodes}\nDWH_DB_PASSWORD = {GOOD_PW}\n")


@pytest.mark.parametrize(
    "password",
    ["Sh0rt", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere", "Has space1A", "Quote'1Aaaaa", 'Dq"1Aaaaaa',
     "Slash/1Aaaaa", "Back\\1Aaaaa", "At@1Aaaaaaa", "Ünïcode1Aaa", "A1a" + "x" * 62],
)
def test_bad_passwords_are_rejected_without_being_echoed(password):
    assert password_problem(password)
    with pytest.raises(ConfigError) as info:
        parse(f"[DWH]\nDWH_DB_PASSWORD = {password}\n")
    assert password not in str(info.value)
    assert "[DWH] DWH_DB_PASSWORD" in str(info.value)


@pytest.mark.parametrize("password", ["Passw0rd", "A1b" + "!#$%^&*()" , "A1a" + "x" * 61])
def test_good_passwords(password):
    assert password_problem(password) is None


def test_password_from_the_environment_wins_and_is_not_echoed():
    env = {"SPARKIFY_DB_PASSWORD": "Fr0mTheEnvironment"}
    assert parse("[DWH]\nDWH_DB_PASSWORD = Fr0mTheFile1\n", env).db_password == "Fr0mTheEnvironment"
    assert parse("[DWH]\n", env).db_password == "Fr0mTheEnvironment"
    with pytest.raises(ConfigError, match="SPARKIFY_DB_PASSWORD") as info:
        parse("[DWH]\n", {"SPARKIFY_DB_PASSWORD": "weak"})
    assert "weak" not in str(info.value)


def test_missing_password_is_an_error_only_when_needed():
    with pytest.raises(ConfigError, match="DWH_DB_PASSWORD is required"):
        parse("[DWH]\n")
    assert parse("[DWH]\n", need_password=False).db_password == ""


def test_secrets_are_not_in_repr():
    s = parse(f"[DWH]\nDWH_DB_PASSWORD = {GOOD_PW}\n[AWS]\nKEY = AKIDEXAMPLEKEY\nSECRET = TopSecretValue\n")
    text = repr(s)
    assert GOOD_PW not in text and "AKIDEXAMPLEKEY" not in text and "TopSecretValue" not in text
    assert "sparkify-dwh" in text


@pytest.mark.parametrize(("raw", "expected"), [("203.0.113.7", "203.0.113.7/32"), ("10.1.0.0/16", "10.1.0.0/16"),
                                               ("0.0.0.0/0", "0.0.0.0/0")])
def test_allowed_cidr_is_normalised(raw, expected):
    assert parse(f"[DWH]\nDWH_ALLOWED_CIDR = {raw}\n", need_password=False).allowed_cidr == expected


@pytest.mark.parametrize(("cidr", "reach"), [("198.51.100.0/23", "512 addresses"), ("10.0.0.0/8", "16,777,216 addresses"),
                                          ("0.0.0.0/0", "the whole internet")])
def test_a_range_wider_than_a_24_is_warned_about(cidr, reach, caplog):
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        parse(f"[DWH]\nDWH_ALLOWED_CIDR = {cidr}\n", need_password=False)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        (f"dwh.cfg: [DWH] DWH_ALLOWED_CIDR = {cidr} opens the warehouse port to {reach}, and only the password "
        f"protects it: prefer your own address as a /32 (or leave DWH_ALLOWED_CIDR unset to detect it)")]


@pytest.mark.parametrize("cidr", ["203.0.113.7/32", "198.51.100.0/24", "198.51.100.128/25"])
def test_a_24_or_narrower_is_not_warned_about(cidr, caplog):
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        parse(f"[DWH]\nDWH_ALLOWED_CIDR = {cidr}\n", need_password=False)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_the_warehouse_scripts_do_not_warn_about_the_cidr(tmp_path, caplog):
    path = tmp_path / "dwh.cfg"
    path.write_text("[S3]\nLOG_DATA = l\nLOG_JSONPATH = auto\nSONG_DATA = s\n[DWH]\nDWH_ALLOWED_CIDR = 0.0.0.0/0\n")
    with caplog.at_level(logging.WARNING, logger="sparkify.config"):
        load_config(path, environ={})
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("cidr", ["0.0.0.0/32", "0.0.0.0", "0.0.0.0/8", "127.0.0.1/32", "224.0.0.1",
                                  "255.255.255.255/32"])
def test_an_address_no_client_connects_from_is_refused(cidr):
    with pytest.raises(ConfigError) as info:
        parse(f"[DWH]\nDWH_ALLOWED_CIDR = {cidr}\n", need_password=False)
    assert info.value.problems == [(f"[DWH] DWH_ALLOWED_CIDR must be an address or range clients connect from, not "
                                   f"{cidr!r}: give your public address as a /32 (like 203.0.113.7/32), or leave it "
                                   f"unset to detect it")]


def test_ipv6_cidr_is_rejected():
    with pytest.raises(ConfigError, match="IPv4"):
        parse("[DWH]\nDWH_ALLOWED_CIDR = 2001:db8::/32\n", need_password=False)


def test_unknown_keys_are_warned_about(caplog):
    parse("[DWH]\nDWH_ALLOWED_CIRD = 1.2.3.4/32\n", need_password=False)
    assert any("DWH_ALLOWED_CIRD" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_require_config_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"config file not found: dwh.cfg \(copy dwh.cfg.example to dwh.cfg"):
        require_config_path(None)
    with pytest.raises(ConfigError, match="other.cfg"):
        require_config_path(tmp_path / "other.cfg")
    (tmp_path / "dwh.cfg").write_text("[DWH]\n")
    assert require_config_path(None).name == "dwh.cfg"


def test_load_dwh_settings_reports_parse_errors(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("no section header\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_dwh_settings(path)


# ---- DWH_MODE = serverless, and the keys both modes share -------------------------------------------------


def test_serverless_settings():
    s = parse(f"[DWH]\nDWH_MODE = Serverless\nDWH_CLUSTER_IDENTIFIER = my-dwh\nDWH_BASE_CAPACITY = 16\n"
              f"DWH_USAGE_LIMIT = 3\nDWH_USAGE_LIMIT_ACTION = emit-metric\nDWH_PUBLICLY_ACCESSIBLE = no\n"
              f"DWH_DB_PASSWORD = {GOOD_PW}\n")
    assert (s.mode, s.serverless, s.namespace, s.workgroup) == ("serverless", True, "my-dwh", "my-dwh")
    assert (s.base_capacity, s.usage_limit, s.usage_limit_action, s.publicly_accessible) == (16, 3, "emit-metric",
                                                                                             False)
    assert s.security_group_name == "my-dwh-sg" and s.iam_role_name == "my-dwh-s3-read"
    assert "DWH_BASE_CAPACITY" in s.given and "DWH_REGION" not in s.given


@pytest.mark.parametrize("rpus, valid", [(4, True), (8, True), (16, True), (512, True), (544, True), (1024, True),
                                         (0, False), (2, False), (6, False), (12, False), (520, False),
                                         (2048, False)])
def test_base_capacity_follows_the_documented_steps(rpus, valid):
    text = f"[DWH]\nDWH_MODE = serverless\nDWH_BASE_CAPACITY = {rpus}\n"
    if valid:
        assert parse(text, need_password=False).base_capacity == rpus
    else:
        with pytest.raises(ConfigError, match="DWH_BASE_CAPACITY must be 4 RPUs, or 8 to 512 in steps of 8"):
            parse(text, need_password=False)


def test_every_serverless_problem_at_once():
    text = ("[DWH]\nDWH_MODE = serverless\nDWH_CLUSTER_IDENTIFIER = ab\nDWH_PORT = 5439\nDWH_USAGE_LIMIT = 0\n"
            "DWH_USAGE_LIMIT_ACTION = stop\nDWH_VPC_ID = vpc-0123456789abcdef0\nDWH_PUBLICLY_ACCESSIBLE = maybe\n"
            "DWH_WORKGROUP = Bad_Name\n")
    with pytest.raises(ConfigError) as info:
        parse(text, need_password=False)
    problems = info.value.problems
    assert any("DWH_CLUSTER_IDENTIFIER (the default DWH_NAMESPACE) must be 3-64" in p for p in problems)
    assert any("DWH_WORKGROUP must be 3-64" in p for p in problems)
    assert any("DWH_USAGE_LIMIT must be at least 1" in p for p in problems)
    assert any("DWH_USAGE_LIMIT_ACTION must be one of deactivate, emit-metric, log" in p for p in problems)
    assert any("DWH_SUBNET_IDS is required with DWH_VPC_ID in serverless mode" in p for p in problems)
    assert any("DWH_PUBLICLY_ACCESSIBLE must be true or false" in p for p in problems)
    assert len(problems) == 6  # 5439 is a valid Redshift Serverless port


def test_serverless_ports():
    with pytest.raises(ConfigError, match="DWH_PORT must be 5431-5455 or 8191-8215 for DWH_MODE = serverless"):
        parse("[DWH]\nDWH_MODE = serverless\nDWH_PORT = 5500\n", need_password=False)
    assert parse("[DWH]\nDWH_MODE = serverless\nDWH_PORT = 8200\n", need_password=False).port == 8200
    assert parse("[DWH]\nDWH_PORT = 5500\n", need_password=False).port == 5500  # any port for a cluster


def test_a_managed_password_needs_none_and_ignores_one():
    s = parse("[DWH]\nDWH_MANAGED_PASSWORD = true\n")
    assert s.managed_password is True and s.db_password == ""
    s = parse(f"[DWH]\nDWH_MANAGED_PASSWORD = true\nDWH_DB_PASSWORD = {GOOD_PW}\n")
    assert s.db_password == ""  # never sent: AWS Secrets Manager generates and keeps it


def test_missing_password_names_the_managed_alternative():
    with pytest.raises(ConfigError, match="DWH_DB_PASSWORD is required to create the workgroup .* "
                                          "DWH_MANAGED_PASSWORD = true"):
        parse("[DWH]\nDWH_MODE = serverless\n")


@pytest.mark.parametrize("key_id, valid", [
    ("alias/my-key", True), ("1234abcd-12ab-34cd-56ef-1234567890ab", True),
    ("arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", True), ("my key", False)])
def test_kms_key_id(key_id, valid):
    text = f"[DWH]\nDWH_KMS_KEY_ID = {key_id}\n"
    if valid:
        assert parse(text, need_password=False).kms_key_id == key_id
    else:
        with pytest.raises(ConfigError, match="DWH_KMS_KEY_ID must be a KMS key id"):
            parse(text, need_password=False)
