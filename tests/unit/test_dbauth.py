"""[CLUSTER] AUTH: which credentials a connection uses, and temporary ones from AWS for AUTH = iam.

GetClusterCredentials through botocore's Stubber (exact request, model-checked); redshift-serverless GetCredentials
through the local Redshift Serverless stand-in over HTTP (moto has no redshift-serverless). The end-to-end path
(etl.py --preflight logging in with IAM-issued credentials, moto + the embedded PostgreSQL) is in
tests/redshift/test_etl_preflight_cli.py.
"""

from __future__ import annotations

import datetime as dt
import logging

import boto3
import pytest
from botocore.stub import Stubber

from sparkify import dbauth
from sparkify.config import load_config
from sparkify.errors import ConfigError, WarehouseError
from tests.helpers.dwhcfg import DwhCfg

CLUSTER_HOST = "sparkify-dwh.c1a2b3c4d5e6.us-west-2.redshift.amazonaws.com"
WORKGROUP_HOST = "sparkify-wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com"
TOKEN = "Tmp-Token-From-AWS-4f9c2e"


def cfg(tmp_path, *, host=CLUSTER_HOST, password="", auth=None, dwh=None):
    built = DwhCfg.redshift(host=host, password=password or None, arn="arn:aws:iam::123456789012:role/r",
                            region=None, log_data="s3://b/l", log_jsonpath="s3://b/j.json", song_data="s3://b/s")
    built.set("CLUSTER", AUTH=auth)
    if dwh:
        built.set("DWH", **dwh)
    return load_config(built.write(tmp_path / "dwh.cfg"), environ={})


@pytest.fixture(autouse=True)
def _fresh_cache():
    dbauth.forget()
    yield
    dbauth.forget()


@pytest.fixture
def fake_aws(monkeypatch, tmp_path):
    """Fake AWS credentials, no profile or instance metadata: nothing can reach AWS."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_REDSHIFT",
                "AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS", "SPARKIFY_DB_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class OneClientSession:
    """A boto3 Session that hands out one prepared (stubbed) client."""

    def __init__(self, client, credentials=True):
        self._client, self._credentials = client, credentials

    def client(self, service, **kwargs):
        assert service == self._client.meta.service_model.service_name
        return self._client

    def get_credentials(self):
        return object() if self._credentials else None


@pytest.fixture
def redshift_stub(fake_aws):
    client = boto3.client("redshift", region_name="us-west-2")
    with Stubber(client) as stub:
        yield OneClientSession(client), stub
        stub.assert_no_pending_responses()


def _issued(expires_in_s=900):
    return {"DbUser": "IAM:awsuser", "DbPassword": TOKEN,
            "Expiration": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in_s)}


REQUEST = {"DbUser": "awsuser", "DbName": "dev", "ClusterIdentifier": "sparkify-dwh", "DurationSeconds": 900,
           "AutoCreate": False}


def test_target_comes_from_the_endpoint_name_else_from_dwh(tmp_path):
    assert dbauth.target_of(cfg(tmp_path)) == dbauth.Target("cluster", "sparkify-dwh", "us-west-2")
    assert dbauth.target_of(cfg(tmp_path, host=WORKGROUP_HOST)) == dbauth.Target("serverless", "sparkify-wg",
                                                                                 "eu-west-1")
    local = cfg(tmp_path, host="localhost",
                dwh={"DWH_MODE": "serverless", "DWH_WORKGROUP": "wg-1", "DWH_REGION": "eu-central-1"})
    assert dbauth.target_of(local) == dbauth.Target("serverless", "wg-1", "eu-central-1")


@pytest.mark.parametrize("password, auth, has_aws, expected", [
    ("Pw-123456", None, True, "password"),  # a configured password wins
    ("", None, True, "iam"),  # none: AWS credentials are there, use them
    ("Pw-123456", "iam", True, "iam"),  # asked for
    ("", "password", True, "password"),  # asked for (connecting will then say the password is missing)
])
def test_auth_mode(tmp_path, password, auth, has_aws, expected):
    assert dbauth.auth_mode(cfg(tmp_path, password=password, auth=auth),
                            OneClientSession(None, credentials=has_aws)) == expected


def test_neither_password_nor_aws_credentials(tmp_path):
    with pytest.raises(ConfigError, match="DB_PASSWORD is required to connect to Redshift: set the environment "
                                          "variable SPARKIFY_DB_PASSWORD .*AUTH = iam"):
        dbauth.credentials(cfg(tmp_path), session=OneClientSession(None, credentials=False))
    with pytest.raises(ConfigError, match="DB_PASSWORD is required"):
        dbauth.credentials(cfg(tmp_path, auth="password"), session=OneClientSession(None))


def test_cluster_credentials_are_asked_for_exactly_and_reused(tmp_path, redshift_stub, caplog):
    session, stub = redshift_stub
    stub.add_response("get_cluster_credentials", _issued(), REQUEST)
    config = cfg(tmp_path)  # no password: iam by default
    first = dbauth.credentials(config, session=session)
    again = dbauth.dsn_kwargs(config, session=session)  # cached: no second request (the Stubber has none)
    assert (first.user, first.password, first.source) == ("IAM:awsuser", TOKEN, "iam")
    from sparkify.tls import system_trust_store

    assert again == {"host": CLUSTER_HOST, "dbname": "dev", "user": "IAM:awsuser", "password": TOKEN, "port": 5439,
                     "sslmode": "verify-full", "sslrootcert": str(system_trust_store())}
    assert TOKEN not in repr(first) and TOKEN not in caplog.text
    assert "temporary database credentials for IAM:awsuser issued by AWS to cluster sparkify-dwh in us-west-2" \
        in caplog.text


def test_credentials_about_to_expire_are_fetched_again(tmp_path, redshift_stub):
    session, stub = redshift_stub
    stub.add_response("get_cluster_credentials", _issued(expires_in_s=30), REQUEST)  # inside the 60 s margin
    stub.add_response("get_cluster_credentials", _issued(), REQUEST)
    config = cfg(tmp_path, auth="iam")
    dbauth.credentials(config, session=session)
    dbauth.credentials(config, session=session)


def test_an_aws_refusal_is_one_line_without_the_token(tmp_path, redshift_stub):
    session, stub = redshift_stub
    stub.add_client_error("get_cluster_credentials", "AccessDenied", "not authorized to redshift:GetClusterCredentials",
                          http_status_code=403, expected_params=REQUEST)
    with pytest.raises(WarehouseError) as info:
        dbauth.credentials(cfg(tmp_path, auth="iam"), session=session)
    assert str(info.value).startswith("[CLUSTER] AUTH = iam: access denied (AccessDenied) while getting temporary "
                                      "database credentials for cluster sparkify-dwh in us-west-2 (user awsuser)")


def test_serverless_credentials_from_a_workgroup(tmp_path, fake_aws, monkeypatch, caplog):
    from tests.helpers.serverless import FakeServerless

    fake = FakeServerless(region="eu-west-1")
    try:
        fake.workgroups["sparkify-wg"] = {"workgroupName": "sparkify-wg", "status": "AVAILABLE"}
        monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS", fake.url)
        # sparkify's loggers at DEBUG, as with -v (cli.setup_logging keeps botocore's own loggers, which would
        # show response bodies, at WARNING)
        with caplog.at_level(logging.DEBUG, logger="sparkify"):
            creds = dbauth.credentials(cfg(tmp_path, host=WORKGROUP_HOST))
        assert fake.calls("GetCredentials") == [{"workgroupName": "sparkify-wg", "dbName": "dev",
                                                 "durationSeconds": 900}]
        assert creds.user == "IAM:tester" and len(creds.password) > 20 and creds.source == "iam"
        assert creds.password not in caplog.text
    finally:
        fake.close()


def test_postgres_engine_may_connect_without_a_password(tmp_path):
    path = DwhCfg.postgres(host="/tmp", db_name="d", db_user="u", log_data="l", log_jsonpath="auto",
                           song_data="s").write(tmp_path / "dwh.cfg")
    assert dbauth.credentials(load_config(path, environ={})) == dbauth.Credentials("u", "")
