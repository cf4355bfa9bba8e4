"""The IAM role Redshift assumes to read S3: created with AmazonS3ReadOnlyAccess and nothing else, found,
deleted (after detaching its policies). Used by both modes (cluster and serverless)."""

from __future__ import annotations

import json
import logging

from sparkify.aws.base import Step, has_tag, tags
from sparkify.aws.errors import aws_call
from sparkify.aws.policies import TRUST_POLICY, trusts_redshift
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

S3_READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


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


def ensure_role(iam, settings: DwhSettings) -> tuple[str, Step]:
    """The IAM role Redshift assumes, with AmazonS3ReadOnlyAccess and nothing else. Returns (arn, step)."""
    name = settings.iam_role_name
    resource = f"IAM role '{name}'"
    region = settings.region
    role = get_role(iam, settings)
    if role is None:
        with aws_call("creating", resource, region):
            try:
                role = iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                    Description="Lets the Sparkify Redshift warehouse read the source data from S3 (read-only)",
                    Tags=tags(),
                )["Role"]
                outcome = "created"
            except iam.exceptions.EntityAlreadyExistsException:  # created meanwhile by another run
                role = iam.get_role(RoleName=name)["Role"]
                outcome = "reused"
            iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 15})
    else:
        outcome = "reused"
    if outcome == "reused":
        if not trusts_redshift(role.get("AssumeRolePolicyDocument")):
            raise ProvisioningError(f"{resource} exists but does not trust redshift.amazonaws.com: choose another "
                                    f"DWH_IAM_ROLE_NAME (or fix the role's trust policy)")
        log.info("%s exists: reusing it", resource)
    else:
        log.info("%s created", resource)

    with aws_call("checking the policies of", resource, region):
        attached = [p["PolicyArn"] for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                    for p in page["AttachedPolicies"]]
        inline = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
                  for n in page["PolicyNames"]]
    extra = [a for a in attached if a != S3_READ_ONLY_POLICY_ARN] + [f"inline:{n}" for n in inline]
    if extra:
        raise ProvisioningError(f"{resource} has policies besides AmazonS3ReadOnlyAccess ({', '.join(extra)}): "
                                f"Redshift needs read-only S3 access only; detach them or choose another "
                                f"DWH_IAM_ROLE_NAME")
    if S3_READ_ONLY_POLICY_ARN not in attached:
        with aws_call("attaching AmazonS3ReadOnlyAccess to", resource, region):
            iam.attach_role_policy(RoleName=name, PolicyArn=S3_READ_ONLY_POLICY_ARN)
        log.info("%s: attached %s", resource, S3_READ_ONLY_POLICY_ARN)
    return role["Arn"], Step("IAM role", name, outcome, "S3 read-only")


def delete_role(iam, settings: DwhSettings) -> Step:
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
            return Step("IAM role", name, "not found", "already gone")
    log.info("%s deleted (detached: %s)", resource, ", ".join(detached) or "nothing")
    return Step("IAM role", name, "deleted", f"detached {', '.join(detached)}" if detached else "")
