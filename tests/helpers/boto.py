"""boto3 sessions for tests, and botocore event hooks that answer or record calls before they reach moto."""

from __future__ import annotations

import functools


@functools.cache
def _data_loader():
    from botocore.loaders import create_loader

    return create_loader()


def new_session(region: str | None = "us-west-2"):
    """A new boto3 Session (own credentials, own event handlers) sharing one botocore model loader with the other
    tests' sessions: parsing the EC2/IAM/Redshift models again for every session costs ~0.4 s."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _data_loader())
    return boto3.Session(botocore_session=core, region_name=region)


def fake_response(session, event: str, responses: list) -> None:
    """Make the next calls of `event` ("redshift.DeleteCluster") answer `responses` in order without reaching
    moto: a dict with "Error" becomes a ClientError (HTTP 400), another dict a successful parsed response; when
    the list is used up, calls go through to moto again."""
    from botocore.awsrequest import AWSResponse

    queue = list(responses)

    def handler(**kwargs):
        if not queue:
            return None
        response = queue.pop(0)
        status = 400 if "Error" in response else 200
        return AWSResponse("https://fake.invalid/", status, {}, None), response

    session.events.register(f"before-call.{event}", handler)


def capture_params(session, event: str) -> list[dict]:
    """Record the parameters of every `event` call ("redshift.DeleteCluster") made by clients of `session`."""
    calls: list[dict] = []

    def handler(params, **kwargs):
        calls.append(dict(params))

    session.events.register(f"provide-client-params.{event}", handler)
    return calls
