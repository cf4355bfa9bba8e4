"""The boto3 clients the preflight's AWS checks use: the caller's own credentials (boto3's default chain,
AWS_ENDPOINT_URL honoured), short timeouts and two attempts, so a check that cannot answer soon says so and
the preflight goes on; one client per (service, region), made on first use."""

from __future__ import annotations


def _botocore_config():
    from botocore.config import Config as BotoConfig

    return BotoConfig(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})


class AwsClients:
    """boto3 clients from one session, with short timeouts (created on first use)."""

    def __init__(self, session=None):
        if session is None:
            import boto3

            session = boto3.Session()
        self.session = session
        self._clients: dict = {}

    def client(self, service: str, region: str | None = None):
        key = (service, region)
        if key not in self._clients:
            region = region or self.session.region_name or "us-east-1"
            self._clients[key] = self.session.client(service, region_name=region, config=_botocore_config())
        return self._clients[key]


def aws_errors():
    """(ClientError, BotoCoreError), imported when needed."""
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def error_code(exc) -> str:
    """The AWS error code of a botocore error, else the exception's type name."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))
