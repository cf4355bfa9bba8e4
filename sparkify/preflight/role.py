"""The preflight's checks of the IAM role COPY uses ([IAM_ROLE] ARN), with the caller's AWS credentials.

* iam.role: the role exists (iam:GetRole) and its trust policy lets redshift.amazonaws.com assume it, for the
  role's own account when the policy pins one (aws:SourceAccount).
* iam.attached: the cluster, found by its endpoint address (= [CLUSTER] HOST) or by [DWH] DWH_CLUSTER_IDENTIFIER
  in the region of the host name (or [DWH] DWH_REGION), lists the role in its IamRoles
  (redshift:DescribeClusters). For a Redshift Serverless workgroup, COPY ... NOLOAD is the check (a warning
  says so).
* iam.s3_read: the role's own policies (attached managed and inline, and its permissions boundary if any) allow
  every request COPY makes for the configured [S3]: s3:ListBucket on each source bucket with the source's
  prefix as s3:prefix, s3:GetObject on an object of each prefix, on the JSONPaths file and on a run's manifest
  under MANIFEST_PREFIX. A static evaluation of those documents (wildcards, Deny, NotAction/NotResource, the
  String conditions on s3:prefix); other conditions make the result a warning. The first missing permission
  is named (action and resource). Not evaluated: bucket policies, SCPs, session policies, KMS key policies
  (IAM's policy simulator would, but it is not available in every account or in moto, so one tested path is
  used; COPY ... NOLOAD proves the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sparkify import ledger
from sparkify.aws.policies import evaluate_policies, trusts_redshift
from sparkify.aws.s3access import S3Locations, grants
from sparkify.awsnames import parse_redshift_host
from sparkify.config import Config
from sparkify.preflight.clients import AwsClients, aws_errors, error_code
from sparkify.preflight.findings import Finding, fatal, ok, warn


def role_name(arn: str) -> str:
    return arn.split(":role/", 1)[1].rsplit("/", 1)[-1]


def arn_account(arn: str) -> str:
    return arn.split(":")[4]


def dwh_setting(config: Config, key: str) -> str | None:
    """[DWH] DWH_CLUSTER_IDENTIFIER or DWH_REGION when the configuration file sets it (None: not set)."""
    if key not in config.dwh.given:
        return None
    return {"DWH_CLUSTER_IDENTIFIER": config.dwh.cluster_identifier, "DWH_REGION": config.dwh.region}[key]


def check_role(aws: AwsClients, arn: str, account: str) -> tuple[list[Finding], dict | None]:
    ClientError, BotoCoreError = aws_errors()
    name = role_name(arn)
    if arn_account(arn) != account:
        return [warn("iam.role", f"the role is in account {arn_account(arn)} but your credentials are for "
                                 f"{account}: the role checks are skipped")], None
    try:
        role = aws.client("iam").get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return [fatal("iam.role", f"role {name} does not exist in account {account}: check [IAM_ROLE] ARN "
                                      "(create_cluster.py creates the role and writes it)")], None
        return [warn("iam.role", f"cannot read role {name} ({error_code(exc)}): not checked")], None
    except BotoCoreError as exc:
        return [warn("iam.role", f"cannot reach IAM ({exc}): not checked")], None
    if role.get("Arn") != arn:
        return [fatal("iam.role", f"[IAM_ROLE] ARN = {arn}, but the role named {name} is {role.get('Arn')}: "
                                  "copy its ARN")], None
    trust = role.get("AssumeRolePolicyDocument", {})
    if not trusts_redshift(trust, account):
        if trusts_redshift(trust):
            return [fatal("iam.role", f"role {name} lets Redshift assume it only for another account "
                                      f"(aws:SourceAccount), not {account}: fix its trust policy")], role
        return [fatal("iam.role", f"role {name} exists but Redshift cannot assume it: its trust policy must allow "
                                  "redshift.amazonaws.com to sts:AssumeRole")], role
    return [ok("iam.role", f"role {name} exists and Redshift may assume it")], role


def find_cluster(aws: AwsClients, region: str | None, host: str, identifier: str | None) -> dict | None:
    client = aws.client("redshift", region)
    ClientError, _ = aws_errors()
    if identifier:
        try:
            clusters = client.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
            return clusters[0] if clusters else None
        except ClientError as exc:
            if error_code(exc) == "ClusterNotFound":
                return None
            raise
    for page in client.get_paginator("describe_clusters").paginate():
        for cluster in page.get("Clusters", []):
            address = (cluster.get("Endpoint") or {}).get("Address", "")
            if address.lower() == host.lower():
                return cluster
    return None


def check_attached(aws: AwsClients, config: Config, region: str | None) -> list[Finding]:
    ClientError, BotoCoreError = aws_errors()
    arn = config.iam_role_arn
    host = config.cluster.host
    parsed = parse_redshift_host(host)
    if (parsed is not None and parsed.kind == "serverless") or (parsed is None and config.dwh.serverless):
        return [warn("iam.attached", f"the warehouse is a Redshift Serverless workgroup: whether role {role_name(arn)} "
                                     "is attached to its namespace is proven by etl.py --preflight's COPY ... NOLOAD")]
    identifier = dwh_setting(config, "DWH_CLUSTER_IDENTIFIER")
    what = f"cluster {identifier}" if identifier else f"a cluster with endpoint {host}"
    try:
        cluster = find_cluster(aws, region, host, identifier)
    except (ClientError, BotoCoreError) as exc:
        return [warn("iam.attached", f"cannot list clusters ({error_code(exc)}): not checked")]
    if cluster is None:
        where = region or "the default region"
        return [warn("iam.attached", f"{what} is not visible to your AWS credentials in {where}: cannot check that "
                                     "the role is attached")]
    cid = cluster["ClusterIdentifier"]
    roles = {r.get("IamRoleArn"): r.get("ApplyStatus") for r in cluster.get("IamRoles", [])}
    if arn not in roles:
        others = f" (attached: {', '.join(roles)})" if roles else " (it has no role)"
        return [fatal("iam.attached", f"role {role_name(arn)} is not attached to cluster {cid}{others}: "
                                      f"aws redshift modify-cluster-iam-roles --cluster-identifier {cid} "
                                      f"--add-iam-roles {arn}")]
    if roles[arn] != "in-sync":
        return [warn("iam.attached", f"role {role_name(arn)} is being attached to cluster {cid} "
                                     f"(ApplyStatus {roles[arn]}): retry in a minute")]
    return [ok("iam.attached", f"role {role_name(arn)} is attached to cluster {cid}")]


def role_policy_documents(aws: AwsClients, role: dict) -> tuple[list, list]:
    """(identity policy documents, permissions boundary documents) of a role (raises ClientError)."""
    iam = aws.client("iam")
    name = role["RoleName"]
    docs: list = []
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for policy in page.get("AttachedPolicies", []):
            docs.append(_managed_policy_document(iam, policy["PolicyArn"]))
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page.get("PolicyNames", []):
            docs.append(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
    boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return docs, ([_managed_policy_document(iam, boundary)] if boundary else [])


def _managed_policy_document(iam, policy_arn: str):
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]


@dataclass(frozen=True)
class Need:
    """One request COPY makes with the role: an action on a resource (ListBucket: with the s3:prefix it sends)."""

    action: str
    resource: str
    prefix: str | None = None

    def text(self) -> str:
        return f"{self.action} on {self.resource}" + (f" (prefix '{self.prefix}')" if self.prefix is not None else "")

    @property
    def context(self) -> dict[str, str]:
        return {"s3:prefix": self.prefix} if self.prefix is not None else {}


def copy_needs(config: Config, sample_keys: Mapping[str, str | None]) -> list[Need]:
    """What COPY asks S3 for, with the role, for the configured [S3]: ListBucket on each source bucket for its
    prefix, GetObject on an object of each prefix (a key found there, else the prefix itself), on the JSONPaths
    file, and on a run's manifest under MANIFEST_PREFIX (sparkify.ledger.manifest_url)."""
    needs: list[Need] = []
    for g in grants(S3Locations.from_settings(config.s3)):
        bucket_arn = f"arn:aws:s3:::{g.bucket}"
        if g.source == "MANIFEST_PREFIX":
            key = ledger.manifest_url(f"s3://{g.bucket}/{g.key}", None, "staging_events").split("/", 3)[3]
            needs.append(Need("s3:GetObject", f"{bucket_arn}/{key}"))
        elif g.exact:
            needs.append(Need("s3:GetObject", f"{bucket_arn}/{g.key}"))
        else:
            needs.append(Need("s3:ListBucket", bucket_arn, g.key))
            needs.append(Need("s3:GetObject", f"{bucket_arn}/{sample_keys.get(g.source) or g.key}"))
    return list(dict.fromkeys(needs))


def check_role_can_read(aws: AwsClients, config: Config, role: dict, sample_keys: Mapping[str, str | None]) -> Finding:
    ClientError, BotoCoreError = aws_errors()
    name = role["RoleName"]
    try:
        docs, boundary = role_policy_documents(aws, role)
    except (ClientError, BotoCoreError) as exc:
        return warn("iam.s3_read", f"cannot read the policies of role {name} ({error_code(exc)}): not checked")
    denied, conditional = [], []
    for need in copy_needs(config, sample_keys):
        verdict = evaluate_policies(docs, need.action, need.resource, need.context)
        if boundary and verdict == "allow":
            verdict = evaluate_policies(boundary, need.action, need.resource, need.context)
        if verdict in ("deny", "none"):
            denied.append(need.text() + (" (denied)" if verdict == "deny" else ""))
        elif verdict == "conditional":
            conditional.append(need.text())
    if denied:
        return fatal("iam.s3_read", f"role {name} may not {denied[0]}"
                                    + (f" (and {len(denied) - 1} more)" if len(denied) > 1 else "")
                                    + ": COPY needs it; run create_cluster.py (it scopes the role it made to [S3]), "
                                      "or allow it in one of the role's policies")
    if conditional:
        return warn("iam.s3_read", f"role {name} may {conditional[0]} only under a Condition the preflight does "
                                   "not evaluate")
    buckets = sorted({g.bucket for g in grants(S3Locations.from_settings(config.s3))})
    return ok("iam.s3_read", f"role {name}'s policies allow s3:ListBucket and s3:GetObject on the configured "
                             f"prefixes of {', '.join(buckets)}")
