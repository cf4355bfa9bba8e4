"""The preflight's AWS checks (ENGINE = redshift), in order: whose credentials, then the IAM role
(sparkify.preflight.role), then S3 (sparkify.preflight.s3), then whether the role may read what COPY reads.

They use *your* AWS credentials (boto3's default chain, AWS_ENDPOINT_URL honoured); without any, they are
skipped with a warning (aws.credentials): etl.py itself needs none.
"""

from __future__ import annotations

from sparkify.awsnames import parse_redshift_host
from sparkify.config import Config
from sparkify.preflight.clients import AwsClients, aws_errors, error_code
from sparkify.preflight.findings import Finding, fatal, ok, warn
from sparkify.preflight.role import arn_account, check_attached, check_role, check_role_can_read, dwh_setting
from sparkify.preflight.s3 import check_s3


def cluster_region_from_host(host: str | None) -> str | None:
    """`<id>.<hash>.<region>.redshift.amazonaws.com` (or a serverless workgroup's) -> region; None for any other host."""
    parsed = parse_redshift_host(host)
    return parsed.region if parsed else None


def check_credentials(aws: AwsClients, *, needed_by_etl: bool = False) -> tuple[list[Finding], str | None]:
    """(findings, account) — account None means: skip the AWS checks. `needed_by_etl`: the run itself needs AWS
    credentials (TRANSPORT = data-api), so having none is fatal rather than a skipped check."""
    from botocore.exceptions import NoCredentialsError

    ClientError, BotoCoreError = aws_errors()
    try:
        identity = aws.client("sts").get_caller_identity()
    except NoCredentialsError:
        if needed_by_etl:
            return [fatal("aws.credentials", "no AWS credentials found: TRANSPORT = data-api sends every statement "
                                             "with them (aws configure, or AWS_PROFILE)")], None
        return [warn("aws.credentials", "no AWS credentials found: the IAM role and S3 checks are skipped (they use "
                                        "your credentials; etl.py itself needs none)")], None
    except (ClientError, BotoCoreError) as exc:
        return [warn("aws.credentials", f"AWS did not accept your credentials ({error_code(exc)}): the IAM role and "
                                        "S3 checks are skipped")], None
    account = identity["Account"]
    return [ok("aws.credentials", f"checking as {identity.get('Arn', account)}")], account


def check_aws(config: Config, *, session=None) -> list[Finding]:
    """The IAM role and S3 checks (ENGINE = redshift), with the caller's AWS credentials."""
    aws = AwsClients(session)
    findings, account = check_credentials(aws, needed_by_etl=config.cluster is not None and config.cluster.data_api)
    if account is None:
        return findings
    cluster_region = cluster_region_from_host(config.cluster.host) or dwh_setting(config, "DWH_REGION")

    role = None
    if config.iam_role_arn:
        role_findings, role = check_role(aws, config.iam_role_arn, account)
        findings += role_findings
        if role is not None or arn_account(config.iam_role_arn) == account:
            findings += check_attached(aws, config, cluster_region)

    s3_findings, sample_keys = check_s3(aws, config, cluster_region)
    findings += s3_findings
    if role is not None:
        findings.append(check_role_can_read(aws, config, role, sample_keys))
    return findings
