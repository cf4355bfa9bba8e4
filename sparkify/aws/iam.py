"""The IAM role Redshift assumes to read S3 (both modes): created, or reused only when sparkify made it, with a
trust policy that lets Redshift assume it for this account alone and one inline policy that reads what [S3]
names (sparkify.aws.s3access); found, and deleted after its policies.

A role of the configured name is reused only if it carries the sparkify:managed tag, trusts the Redshift
service alone, in this account, and has no policy but sparkify's own (or AmazonS3ReadOnlyAccess, which earlier
versions attached and which is replaced); anything else stops create_cluster.py before it changes anything.
"""

from __future__ import annotations

import json
import logging

from sparkify.aws import s3access
from sparkify.aws.base import ResourceOutcome, has_tag, tags
from sparkify.aws.errors import aws_call
from sparkify.aws.policies import canonical, trust_policy, trust_problem
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

# What earlier versions of create_cluster.py attached: read access to every bucket. Replaced by the scoped policy.
LEGACY_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def get_role(iam, settings: DwhSettings) -> dict | None:
    with aws_call("reading", f"IAM role '{settings.iam_role_name}'", settings.region):
        try:
            return iam.get_role(RoleName=settings.iam_role_name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            return None


def role_is_ours(iam, settings: DwhSettings, role: dict) -> bool:
    """Whether the role carries the sparkify:managed tag (GetRole may omit the tags: then ListRoleTags)."""
    role_tags = role.get("Tags")
    if role_tags is None:
        with aws_call("reading the tags of", f"IAM role '{settings.iam_role_name}'", settings.region):
            role_tags = iam.list_role_tags(RoleName=settings.iam_role_name)["Tags"]
    return has_tag(role_tags)


def source_arn(settings: DwhSettings, account: str, partition: str = "aws") -> str | None:
    """The ARN Redshift acts for, when it is known before the warehouse exists: a cluster's (its identifier is
    ours); None for Serverless, whose namespace ARN ends with an id AWS generates."""
    if settings.serverless:
        return None
    return f"arn:{partition}:redshift:{settings.region}:{account}:cluster:{settings.cluster_identifier}"


def ensure_role(iam, settings: DwhSettings, *, account: str, locations: s3access.S3Locations,
                partition: str = "aws") -> tuple[str, ResourceOutcome]:
    """The role, created or checked and brought up to date (trust policy, S3 policy). Returns (arn, outcome)."""
    name = settings.iam_role_name
    resource = f"IAM role '{name}'"
    region = settings.region
    trust = trust_policy(account, source_arn(settings, account, partition))
    changes: list[str] = []
    role = get_role(iam, settings)
    outcome = "reused"
    if role is None:
        with aws_call("creating", resource, region):
            try:
                role = iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(trust),
                    Description="Lets the Sparkify Redshift warehouse read the S3 locations of its configuration",
                    Tags=tags(),
                )["Role"]
                outcome = "created"
            except iam.exceptions.EntityAlreadyExistsException:  # created meanwhile by another run
                role = iam.get_role(RoleName=name)["Role"]
            iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 15})
    if outcome == "reused":
        _check_reusable(iam, settings, role, account)
        if canonical(role.get("AssumeRolePolicyDocument")) != canonical(trust):
            with aws_call("updating the trust policy of", resource, region):
                iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            changes.append(f"trust policy: Redshift for account {account} only")
    changes += _ensure_s3_policy(iam, settings, locations, new=outcome == "created")
    if changes and outcome == "reused":
        outcome = "updated"
    log.info("%s %s%s", resource, outcome, f": {'; '.join(changes)}" if changes else "")
    return role["Arn"], ResourceOutcome("IAM role", name, outcome, s3access.describe(locations))


def _check_reusable(iam, settings: DwhSettings, role: dict, account: str) -> None:
    resource = f"IAM role '{settings.iam_role_name}'"
    if not role_is_ours(iam, settings, role):
        raise ProvisioningError(f"{resource} exists but was not created by sparkify (no sparkify:managed tag): "
                                f"sparkify changes only the roles it made; choose another DWH_IAM_ROLE_NAME, or "
                                f"delete that role (nothing was created)")
    problem = trust_problem(role.get("AssumeRolePolicyDocument"), account)
    if problem:
        raise ProvisioningError(f"{resource} {problem}: sparkify reuses a role only if its trust policy lets "
                                f"Redshift alone assume it, for account {account}; remove the other principals "
                                f"from its trust policy, or choose another DWH_IAM_ROLE_NAME (nothing was created)")


def _ensure_s3_policy(iam, settings: DwhSettings, locations: s3access.S3Locations, *, new: bool) -> list[str]:
    """The role's only policy is sparkify's inline S3 policy for `locations`; returns what changed."""
    name = settings.iam_role_name
    resource = f"IAM role '{name}'"
    region = settings.region
    with aws_call("checking the policies of", resource, region):
        attached = [p["PolicyArn"] for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                    for p in page["AttachedPolicies"]]
        inline = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
                  for n in page["PolicyNames"]]
    extra = [a for a in attached if a != LEGACY_POLICY_ARN] + [f"inline {n}" for n in inline
                                                               if n != s3access.POLICY_NAME]
    if extra:
        raise ProvisioningError(f"{resource} has policies sparkify did not give it ({', '.join(extra)}): Redshift "
                                f"needs read access to the [S3] locations only; detach them, or choose another "
                                f"DWH_IAM_ROLE_NAME (nothing was created)")
    wanted = s3access.role_policy(locations)
    current = None
    if s3access.POLICY_NAME in inline:
        with aws_call("reading the S3 policy of", resource, region):
            current = iam.get_role_policy(RoleName=name, PolicyName=s3access.POLICY_NAME)["PolicyDocument"]
    changes = []
    if current is None or canonical(current) != canonical(wanted):
        with aws_call("writing the S3 policy of", resource, region):
            iam.put_role_policy(RoleName=name, PolicyName=s3access.POLICY_NAME, PolicyDocument=json.dumps(wanted))
        if current is not None:
            changes.append(f"[S3] changed: the role may now read {', '.join(g.url for g in s3access.grants(locations))}"
                           f" and nothing else")
        elif not new:
            changes.append(f"S3 policy {s3access.POLICY_NAME} added")
    if LEGACY_POLICY_ARN in attached:
        with aws_call("detaching AmazonS3ReadOnlyAccess from", resource, region):
            iam.detach_role_policy(RoleName=name, PolicyArn=LEGACY_POLICY_ARN)
        changes.append("AmazonS3ReadOnlyAccess (every bucket) detached: replaced by the policy scoped to [S3]")
    return changes


def delete_role(iam, settings: DwhSettings) -> ResourceOutcome:
    name = settings.iam_role_name
    resource = f"IAM role '{name}'"
    with aws_call("deleting", resource, settings.region):
        try:
            detached = []
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for p in page["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
                    detached.append(p["PolicyName"])
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy_name in page["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
                    detached.append(f"inline {policy_name}")
            for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
                for prof in page["InstanceProfiles"]:
                    iam.remove_role_from_instance_profile(InstanceProfileName=prof["InstanceProfileName"],
                                                          RoleName=name)
            iam.delete_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return ResourceOutcome("IAM role", name, "not found", "already gone")
    log.info("%s deleted (its policies: %s)", resource, ", ".join(detached) or "none")
    return ResourceOutcome("IAM role", name, "deleted", f"with {', '.join(detached)}" if detached else "")
