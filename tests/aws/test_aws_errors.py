"""Error mapping, bounded waiting with progress lines, and public-IP detection (local http.server)."""

from __future__ import annotations

import logging
import socket

import boto3
import botocore.exceptions as bx
import pytest
from botocore.stub import Stubber

from sparkify.aws.base import Timing
from sparkify.aws.cluster import wait_for_cluster
from sparkify.aws.errors import aws_call, aws_error_message
from sparkify.aws.network import detect_public_ip, resolve_allowed_cidr
from sparkify.aws.provision import create_all
from sparkify.config import DwhSettings, load_dwh_settings
from sparkify.errors import ProvisioningError

RESOURCE = "Redshift cluster 'test-dwh'"


def client_error(code: str, message: str = "details from AWS", op: str = "CreateCluster") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": message}}, op)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AccessDenied", ["access denied", RESOURCE, "permissions"]),
        ("AccessDeniedException", ["access denied", RESOURCE]),
        ("UnauthorizedOperation", ["access denied", RESOURCE]),
        ("ClusterQuotaExceeded", ["quota exceeded", RESOURCE, "us-west-2", "Service Quotas"]),
        ("NumberOfNodesQuotaExceeded", ["quota exceeded", "Service Quotas"]),
        ("InsufficientClusterCapacity", ["no capacity", "DWH_NODE_TYPE", "DWH_REGION"]),
        ("InvalidClusterState", [RESOURCE, "state that forbids creating", "run the script again"]),
        ("ClusterNotFound", [RESOURCE, "not found in us-west-2", "DWH_CLUSTER_IDENTIFIER", "DWH_REGION"]),
        ("InvalidClientTokenId", ["rejected the credentials", "aws configure", "AWS_ACCESS_KEY_ID"]),
        ("UnrecognizedClientException", ["rejected the credentials", "[AWS] KEY/SECRET"]),
        ("AuthFailure", ["rejected the credentials"]),
        ("ExpiredToken", ["expired", "refresh"]),
        ("OptInRequired", ["not enabled", "DWH_REGION"]),
        ("Throttling", ["throttling", "again"]),
        ("SomethingNew", ["AWS error SomethingNew", RESOURCE, "details from AWS"]),
    ],
)
def test_client_error_codes_map_to_one_line(code, expected):
    msg = aws_error_message(client_error(code), action="creating", resource=RESOURCE, region="us-west-2")
    assert "\n" not in msg
    for part in expected:
        assert part in msg, (part, msg)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (bx.NoCredentialsError(), ("no AWS credentials: configure a profile (aws configure) or set "
                                  "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")),
        (bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY"),
        (bx.EndpointConnectionError(endpoint_url="https://redshift.us-west-9.amazonaws.com/"), "check DWH_REGION"),
        (bx.ConnectTimeoutError(endpoint_url="https://x"), "did not answer in time"),
        (bx.ProfileNotFound(profile="nope"), "AWS profile 'nope' not found"),
    ],
)
def test_botocore_errors_map_to_one_line(exc, expected):
    msg = aws_error_message(exc, action="creating", resource=RESOURCE, region="us-west-9")
    assert expected in msg and "\n" not in msg


def test_aws_call_raises_provisioning_error_without_chain():
    with pytest.raises(ProvisioningError, match="quota exceeded") as info, aws_call("creating", RESOURCE, "us-west-2"):
        raise client_error("ClusterQuotaExceeded")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_wrong_region_end_to_end_is_one_line(monkeypatch, provisioning_cfg):
    """A region whose endpoint does not resolve: the real botocore error path, no network needed."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused at once
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    settings = DwhSettings(db_password="Sup3rSecretPw", allowed_cidr="203.0.113.7/32")
    with pytest.raises(ProvisioningError, match="cannot reach AWS at http://127.0.0.1:9.*check DWH_REGION"):
        create_all(settings, provisioning_cfg)


def test_no_credentials_end_to_end(monkeypatch, provisioning_cfg):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings = load_dwh_settings(provisioning_cfg)
    with pytest.raises(ProvisioningError, match=r"^no AWS credentials: configure a profile \(aws configure\)"):
        create_all(settings, provisioning_cfg)


# ---- waiting -------------------------------------------------------------------------------------------


def _described(status: str) -> dict:
    return {"Clusters": [{"ClusterIdentifier": "test-dwh", "ClusterStatus": status}]}


@pytest.fixture
def stubbed():
    client = boto3.client("redshift", region_name="us-west-2")
    with Stubber(client) as stub:
        yield client, stub


def test_wait_logs_progress_until_available(stubbed, caplog, sleeps):
    client, stub = stubbed
    for status in ("creating", "creating", "creating", "available"):
        stub.add_response("describe_clusters", _described(status), {"ClusterIdentifier": "test-dwh"})
    timing = Timing(delay=0, max_attempts=10, progress_every=0, sleep=sleeps.append)
    wait_for_cluster(client, "test-dwh", "cluster_available", timing, "us-west-2")
    stub.assert_no_pending_responses()
    progress = [r.getMessage() for r in caplog.records if "waiting until it is available" in r.getMessage()]
    assert len(progress) == 3 and "is creating" in progress[0]
    assert any("is available" in r.getMessage() for r in caplog.records)


def test_wait_is_bounded(stubbed):
    client, stub = stubbed
    for _ in range(3):
        stub.add_response("describe_clusters", _described("creating"), {"ClusterIdentifier": "test-dwh"})
    timing = Timing(delay=0, max_attempts=3, progress_every=0, sleep=lambda s: None)
    with pytest.raises(ProvisioningError, match="still creating after .* run the script again to keep waiting"):
        wait_for_cluster(client, "test-dwh", "cluster_available", timing, "us-west-2")
    stub.assert_no_pending_responses()


def test_wait_uses_the_boto3_waiter_with_a_bounded_config(stubbed, monkeypatch):
    client, _ = stubbed
    seen = []

    class FakeWaiter:
        def wait(self, **kwargs):
            seen.append(kwargs)

    monkeypatch.setattr(client, "get_waiter", lambda name: seen.append(name) or FakeWaiter())
    wait_for_cluster(client, "test-dwh", "cluster_deleted", Timing(), "us-west-2")
    assert seen == ["cluster_deleted",
                    {"ClusterIdentifier": "test-dwh", "WaiterConfig": {"Delay": 15, "MaxAttempts": 2}}]


def test_wait_stops_on_a_terminal_state(stubbed):
    client, stub = stubbed
    stub.add_response("describe_clusters", _described("deleting"), {"ClusterIdentifier": "test-dwh"})
    with pytest.raises(ProvisioningError, match="became deleting while waiting until it is available"):
        wait_for_cluster(client, "test-dwh", "cluster_available", Timing(delay=0), "us-west-2")


def test_wait_maps_an_aws_error(stubbed):
    client, stub = stubbed
    stub.add_client_error("describe_clusters", "AccessDenied", "nope",
                          expected_params={"ClusterIdentifier": "test-dwh"})
    with pytest.raises(ProvisioningError, match="access denied"):
        wait_for_cluster(client, "test-dwh", "cluster_available", Timing(delay=0), "us-west-2")


# ---- public IP ------------------------------------------------------------------------------------------


def test_detect_public_ip_from_a_local_server(checkip):
    assert detect_public_ip(checkip(b"198.51.100.23\n")) == "198.51.100.23/32"


@pytest.mark.parametrize(("body", "status"), [(b"<html>oops</html>", 200), (b"", 200), (b"boom", 500),
                                              (b"2001:db8::1", 200)])
def test_detect_public_ip_failures_tell_the_user_to_set_the_cidr(checkip, body, status):
    with pytest.raises(ProvisioningError, match="set \\[DWH\\] DWH_ALLOWED_CIDR"):
        detect_public_ip(checkip(body, status))


def test_detect_public_ip_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(ProvisioningError, match="could not detect your public IP.*DWH_ALLOWED_CIDR"):
        detect_public_ip(f"http://127.0.0.1:{port}/", timeout=2)


def test_open_to_the_world_only_when_written_and_then_warned(caplog):
    settings = DwhSettings(allowed_cidr="0.0.0.0/0")
    assert resolve_allowed_cidr(settings, "http://127.0.0.1:9/never-called") == "0.0.0.0/0"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "whole internet" in warnings[0].getMessage()
    caplog.clear()
    assert resolve_allowed_cidr(DwhSettings(allowed_cidr="203.0.113.0/24")) == "203.0.113.0/24"
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
