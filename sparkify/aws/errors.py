"""AWS errors as one line for the user: what failed, on which resource, and what to do about it.

`aws_call(action, resource, region)` wraps a block of boto3 calls and turns any botocore error into a
ProvisioningError carrying `aws_error_message(...)`, without the exception chain (nothing of botocore's
request, credentials included, reaches the user's screen).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

_CREDENTIAL_CODES = {
    "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch",
    "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken",
}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
                 "AccessDeniedFault", "UnauthorizedException"}
_QUOTA_CODES = {"ClusterQuotaExceeded", "NumberOfNodesQuotaExceeded", "NumberOfNodesPerClusterLimitExceeded",
                "LimitExceeded", "LimitExceededException", "SecurityGroupLimitExceeded",
                "RulesPerSecurityGroupLimitExceeded", "ServiceQuotaExceededException",
                "QuotaExceeded", "ClusterSecurityGroupQuotaExceeded"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
# What an endpoint answers for an operation it does not implement (moto_server, other local emulators).
_NOT_IMPLEMENTED_CODES = {"NotImplemented", "NotImplementedException", "InvalidAction", "UnknownOperationException",
                          "UnsupportedOperation", "501", "404"}
_CREDENTIAL_HELP = "configure a profile (aws configure) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None


def not_implemented(exc: BaseException) -> bool:
    """Whether `exc` says the endpoint does not implement the operation (a local emulator, never real AWS)."""
    if isinstance(exc, NotImplementedError):  # moto's in-process mock
        return True
    if type(exc).__name__ == "ResponseParserError":  # moto_server: an HTML error page, not an AWS answer
        return True
    code = error_code(exc)
    if code in _NOT_IMPLEMENTED_CODES:
        return True
    status = ((getattr(exc, "response", None) or {}).get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return status in (404, 501) and code in (None, "", str(status))


def aws_error_message(exc: BaseException, *, action: str, resource: str, region: str) -> str:
    """One line for a boto3/botocore error: what failed, on which resource, and what to do about it.

    `action` is a verb phrase ("creating", "deleting"...), `resource` names the object
    ("Redshift cluster 'sparkify-dwh'").
    """
    import botocore.exceptions as bx

    if isinstance(exc, bx.NoCredentialsError):
        return f"no AWS credentials: {_CREDENTIAL_HELP} (or [AWS] KEY/SECRET in the config file)"
    if isinstance(exc, bx.PartialCredentialsError):
        return f"incomplete AWS credentials ({exc.kwargs.get('cred_var', 'a value')} is missing): {_CREDENTIAL_HELP}"
    if isinstance(exc, bx.ProfileNotFound):
        return f"AWS profile {exc.kwargs.get('profile')!r} not found: check AWS_PROFILE and ~/.aws/config"
    if isinstance(exc, bx.EndpointConnectionError):
        return (f"cannot reach AWS at {exc.kwargs.get('endpoint_url')} while {action} {resource}: check DWH_REGION "
                f"({region!r} must be a region enabled for your account, like us-west-2), your network, "
                f"and AWS_ENDPOINT_URL if set")
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return f"AWS did not answer in time while {action} {resource} in {region}: check your network and retry"
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "Unknown")
        message = (str(err.get("Message") or "").strip().splitlines() or [""])[0]
        if code in _CREDENTIAL_CODES:
            return (f"AWS rejected the credentials ({code}) while {action} {resource}: check the access key and "
                    f"secret ({_CREDENTIAL_HELP}, or [AWS] KEY/SECRET), and that region {region} is enabled "
                    f"for your account")
        if code in _EXPIRED_CODES:
            return f"the AWS session token has expired ({code}): refresh your credentials (aws sso login, or new keys)"
        if code in _DENIED_CODES:
            return (f"access denied ({code}) while {action} {resource}: the AWS identity needs IAM role, EC2 "
                    f"security group and Redshift permissions; use a profile that has them or ask your "
                    f"administrator ({message})")
        if code in _QUOTA_CODES:
            return (f"quota exceeded ({code}) while {action} {resource} in {region}: delete unused resources or "
                    f"request a higher limit in the Service Quotas console ({message})")
        if code in ("InsufficientClusterCapacity", "InsufficientCapacityException"):
            return (f"AWS has no capacity for this node type ({code}) while {action} {resource} in {region}: "
                    f"retry later or choose another DWH_NODE_TYPE or DWH_REGION")
        if code in ("InvalidClusterState", "InvalidClusterStateFault"):
            return (f"{resource} is in a state that forbids {action} ({message or code}): wait until it is "
                    f"available (or gone) and run the script again")
        if code in ("ClusterNotFound", "ClusterNotFoundFault"):
            return (f"{resource} not found in {region}: check DWH_CLUSTER_IDENTIFIER and DWH_REGION "
                    f"(create it with create_cluster.py)")
        if code in ("ClusterSnapshotAlreadyExists", "ClusterSnapshotAlreadyExistsFault"):
            return (f"a snapshot with that name already exists while {action} {resource}: choose another "
                    f"--final-snapshot name")
        if code in ("InvalidVpcID.NotFound", "InvalidVpcId.NotFound"):
            return f"VPC not found while {action} {resource} in {region}: check DWH_VPC_ID and DWH_REGION"
        if code in ("ClusterSubnetGroupNotFoundFault", "ClusterSubnetGroupNotFound"):
            return f"cluster subnet group not found while {action} {resource} in {region}: check DWH_SUBNET_GROUP"
        if code == "InvalidNodeType" or (code == "InvalidParameterValue" and "node type" in message.lower()):
            return (f"AWS refused the node type while {action} {resource} in {region} ({message or code}): set "
                    f"DWH_NODE_TYPE to one the region offers (leave it unset to let create_cluster.py choose)")
        if code == "ConflictException":
            return (f"{resource} is busy or still in use while {action} ({message or code}): wait a minute and "
                    f"run the script again")
        if code == "ValidationException":
            return f"AWS refused a value while {action} {resource} in {region}: {message or code}"
        if code == "OptInRequired":
            return f"region {region} is not enabled for your account ({code}): enable it or choose another DWH_REGION"
        if code in _THROTTLE_CODES:
            return (f"AWS is throttling requests ({code}) while {action} {resource}: wait a minute and run the "
                    f"script again")
        return f"AWS error {code} while {action} {resource} in {region}: {message or 'no message'}"
    if isinstance(exc, bx.BotoCoreError):
        return f"AWS client error while {action} {resource} in {region}: {exc}"
    return f"unexpected error while {action} {resource}: {type(exc).__name__}: {exc}"


@contextmanager
def aws_call(action: str, resource: str, region: str) -> Iterator[None]:
    """Turn botocore errors raised in the block into a one-line ProvisioningError."""
    import botocore.exceptions as bx

    try:
        yield
    except (bx.BotoCoreError, bx.ClientError) as exc:
        log.debug("%s %s failed", action, resource, exc_info=True)
        raise ProvisioningError(aws_error_message(exc, action=action, resource=resource, region=region)) from None
