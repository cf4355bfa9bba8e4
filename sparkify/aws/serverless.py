"""Redshift Serverless: a namespace (the databases, the admin user, the IAM role, the encryption key) and a
workgroup (the compute: base capacity in RPUs, the network, a daily usage limit), created (or reused) and
waited for, then deleted in the reverse order.

What create_cluster.py asks for (DWH_MODE = serverless), all tagged sparkify:managed = true:

* CreateNamespace: adminUsername DWH_DB_USER with the configured password (adminUserPassword), or
  manageAdminPassword = true (DWH_MANAGED_PASSWORD: Secrets Manager keeps it); dbName DWH_DB; the S3 read-only
  role as defaultIamRoleArn and in iamRoles; kmsKeyId only when DWH_KMS_KEY_ID is set. The API has no
  "encrypted" switch: AWS documents Serverless data as always encrypted at rest, with a key AWS owns unless
  kmsKeyId names one of yours (GetNamespace then shows that key).
* CreateWorkgroup: baseCapacity DWH_BASE_CAPACITY (default 4 RPUs, the smallest AWS's current documentation
  allows), the dedicated security group (its one ingress rule: DWH_PORT from DWH_ALLOWED_CIDR),
  publiclyAccessible DWH_PUBLICLY_ACCESSIBLE, port DWH_PORT, subnetIds DWH_SUBNET_IDS when set (else AWS uses
  the default VPC's), and configParameters require_ssl = true (the workgroup refuses connections without SSL).
* CreateUsageLimit on the workgroup: serverless-compute, DWH_USAGE_LIMIT RPU-hours per day, breachAction
  DWH_USAGE_LIMIT_ACTION (default deactivate: user queries stop for the rest of the day), so a forgotten
  workgroup cannot run up a bill.

Redshift Serverless has no boto3 waiters: `base.wait_until` polls GetNamespace/GetWorkgroup with progress
lines. A namespace or workgroup of the configured name is reused; without the tag it is never modified (no role
attached, no require_ssl, no usage limit: warnings give the commands). delete_cluster.py deletes only a workgroup
and a namespace that carry the tag.
"""

from __future__ import annotations

import logging
import re

from sparkify.aws.base import ResourceOutcome, Timing, has_tag, serverless_tags, wait_until
from sparkify.aws.errors import aws_call, error_code
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

USAGE_TYPE = "serverless-compute"
SSL_PARAMETERS = {"require_ssl": "true"}
USAGE_PERIOD = "daily"
_ARN_IN_TEXT = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")


def _not_found(exc: BaseException) -> bool:
    return error_code(exc) == "ResourceNotFoundException"


def namespace_resource(settings: DwhSettings) -> str:
    return f"Redshift Serverless namespace '{settings.namespace}'"


def workgroup_resource(settings: DwhSettings) -> str:
    return f"Redshift Serverless workgroup '{settings.workgroup}'"


def get_namespace(rs, settings: DwhSettings) -> dict | None:
    with aws_call("reading", namespace_resource(settings), settings.region):
        try:
            return rs.get_namespace(namespaceName=settings.namespace)["namespace"]
        except Exception as exc:
            if _not_found(exc):
                return None
            raise


def get_workgroup(rs, settings: DwhSettings) -> dict | None:
    with aws_call("reading", workgroup_resource(settings), settings.region):
        try:
            return rs.get_workgroup(workgroupName=settings.workgroup)["workgroup"]
        except Exception as exc:
            if _not_found(exc):
                return None
            raise


def is_ours(rs, arn: str | None, resource: str, region: str) -> bool:
    if not arn:
        return False
    with aws_call("reading the tags of", resource, region):
        return has_tag(rs.list_tags_for_resource(resourceArn=arn).get("tags"))


def namespace_roles(namespace: dict) -> list[str]:
    """The role ARNs of a namespace (GetNamespace gives each as text such as 'IamRole(applyStatus=in-sync,
    iamRoleArn=arn:aws:iam::123456789012:role/x)', or as the bare ARN)."""
    return [m.group(0) for text in namespace.get("iamRoles") or [] for m in [_ARN_IN_TEXT.search(str(text))] if m]


def _status(read) -> str | None:
    current = read()
    return None if current is None else str(current.get("status") or "unknown")


# --------------------------------------------------------------------------------------------------
# Create


def ensure_namespace(rs, settings: DwhSettings, role_arn: str, timing: Timing) -> tuple[dict, ResourceOutcome]:
    resource = namespace_resource(settings)
    region = settings.region
    namespace = get_namespace(rs, settings)
    if namespace is None:
        params: dict = {
            "namespaceName": settings.namespace,
            "adminUsername": settings.db_user,
            "dbName": settings.db_name,
            "defaultIamRoleArn": role_arn,
            "iamRoles": [role_arn],
            "tags": serverless_tags(),
        }
        if settings.managed_password:
            params["manageAdminPassword"] = True
        else:
            params["adminUserPassword"] = settings.db_password
        if settings.kms_key_id:
            params["kmsKeyId"] = settings.kms_key_id
        with aws_call("creating", resource, region):
            try:
                rs.create_namespace(**params)
                outcome = "created"
                ours = True
                log.info("%s: creation requested (database %s, admin %s, %s)", resource, settings.db_name,
                         settings.db_user, "password kept by AWS Secrets Manager" if settings.managed_password
                         else "configured password")
            except Exception as exc:
                if error_code(exc) != "ConflictException":
                    raise
                outcome = "reused"  # created meanwhile by another run
                ours = is_ours(rs, (get_namespace(rs, settings) or {}).get("namespaceArn"), resource, region)
    else:
        outcome = "reused"
        if namespace.get("status") == "DELETING":
            raise ProvisioningError(f"{resource} is being deleted: wait until it is gone (delete_cluster.py waits "
                                    f"for it), then run create_cluster.py again")
        ours = is_ours(rs, namespace.get("namespaceArn"), resource, region)
        if not ours:
            log.warning("%s exists without the sparkify:managed tag: using it as it is (not modified); "
                        "delete_cluster.py will leave it in place", resource)
        log.info("%s exists (%s): reusing it", resource, namespace.get("status"))
    wait_until(lambda: _status(lambda: get_namespace(rs, settings)), goal="AVAILABLE", resource=resource,
               timing=timing, transitional={"MODIFYING", "CREATING"})
    namespace = get_namespace(rs, settings) or {}
    if outcome == "reused":
        roles = namespace_roles(namespace)
        missing = role_arn not in roles or namespace.get("defaultIamRoleArn") != role_arn
        if missing and not ours:
            log.warning("%s does not have IAM role %s as its default role, so COPY cannot read S3 with it: aws "
                        "redshift-serverless update-namespace --namespace-name %s --iam-roles %s "
                        "--default-iam-role-arn %s", resource, role_arn, settings.namespace,
                        " ".join(dict.fromkeys(roles + [role_arn])), role_arn)
        elif missing:
            with aws_call("attaching the IAM role to", resource, region):
                rs.update_namespace(namespaceName=settings.namespace, iamRoles=list(dict.fromkeys(roles + [role_arn])),
                                    defaultIamRoleArn=role_arn)
            log.info("%s: IAM role %s attached and made the default", resource, role_arn)
            wait_until(lambda: _status(lambda: get_namespace(rs, settings)), goal="AVAILABLE", resource=resource,
                       timing=timing, transitional={"MODIFYING"})
            namespace = get_namespace(rs, settings) or namespace
        for key, want, have in (("DWH_DB", settings.db_name, namespace.get("dbName")),
                                ("DWH_DB_USER", settings.db_user, namespace.get("adminUsername"))):
            if have and have != want:
                log.warning("%s exists with %s = %s, not %s as configured: writing the namespace's value to "
                            "[CLUSTER]", resource, key, have, want)
    key = namespace.get("kmsKeyId")
    encryption = "encrypted with an AWS-owned key" if not key or key == "AWS_OWNED_KMS_KEY" else f"encrypted with {key}"
    detail = f"{namespace.get('status', 'AVAILABLE')}, database {namespace.get('dbName') or settings.db_name}, {encryption}"
    return namespace, ResourceOutcome("namespace", settings.namespace, outcome, detail)


def ensure_workgroup(rs, settings: DwhSettings, group_id: str,
                     timing: Timing) -> tuple[dict, ResourceOutcome, bool]:
    """The workgroup, available, requiring SSL when it is ours. Returns (workgroup, outcome, whether it is ours)."""
    resource = workgroup_resource(settings)
    region = settings.region
    workgroup = get_workgroup(rs, settings)
    if workgroup is None:
        params: dict = {
            "workgroupName": settings.workgroup,
            "namespaceName": settings.namespace,
            "baseCapacity": settings.base_capacity,
            "publiclyAccessible": settings.publicly_accessible,
            "securityGroupIds": [group_id],
            "port": settings.port,
            "configParameters": require_ssl_parameters(),
            "tags": serverless_tags(),
        }
        if settings.subnet_ids:
            params["subnetIds"] = list(settings.subnet_ids)
        with aws_call("creating", resource, region):
            try:
                rs.create_workgroup(**params)
                outcome, ours = "created", True
                log.info("%s: creation requested (base capacity %d RPUs, %s, SSL required)",
                         resource, settings.base_capacity,
                         "publicly accessible" if settings.publicly_accessible else "not publicly accessible")
            except Exception as exc:
                if error_code(exc) != "ConflictException":
                    raise
                outcome = "reused"
                ours = is_ours(rs, (get_workgroup(rs, settings) or {}).get("workgroupArn"), resource, region)
    else:
        outcome = "reused"
        if workgroup.get("status") == "DELETING":
            raise ProvisioningError(f"{resource} is being deleted: wait until it is gone (delete_cluster.py waits "
                                    f"for it), then run create_cluster.py again")
        if workgroup.get("namespaceName") and workgroup["namespaceName"] != settings.namespace:
            raise ProvisioningError(f"{resource} exists but uses namespace '{workgroup['namespaceName']}', not "
                                    f"'{settings.namespace}': set DWH_NAMESPACE to it, or choose another DWH_WORKGROUP")
        ours = is_ours(rs, workgroup.get("workgroupArn"), resource, region)
        if not ours:
            log.warning("%s exists without the sparkify:managed tag: using it as it is (not modified); "
                        "delete_cluster.py will leave it in place", resource)
        log.info("%s exists (%s): reusing it", resource, workgroup.get("status"))
    wait_until(lambda: _status(lambda: get_workgroup(rs, settings)), goal="AVAILABLE", resource=resource,
               timing=timing, transitional={"CREATING", "MODIFYING"})
    workgroup = get_workgroup(rs, settings)
    if workgroup is None:
        raise ProvisioningError(f"{resource} disappeared while waiting for it: run create_cluster.py again")
    if outcome == "reused":
        workgroup, updated = _require_ssl(rs, settings, workgroup, ours=ours, timing=timing)
        outcome = "updated" if updated else outcome
        _warn_differences(settings, workgroup, group_id)
    endpoint = workgroup.get("endpoint") or {}
    if not endpoint.get("address"):
        raise ProvisioningError(f"{resource} is available but has no endpoint yet: run create_cluster.py again "
                                f"in a minute")
    detail = (f"{workgroup.get('status')}, {endpoint['address']}:{endpoint.get('port') or settings.port}, base "
              f"{workgroup.get('baseCapacity', settings.base_capacity)} RPUs, "
              + ("publicly accessible" if workgroup.get("publiclyAccessible") else "not publicly accessible")
              + ("" if ours else ", not created by sparkify: not modified"))
    return workgroup, ResourceOutcome("workgroup", settings.workgroup, outcome, detail), ours


def require_ssl_parameters() -> list[dict]:
    """CreateWorkgroup's configParameters: require_ssl, one of the keys the Redshift Serverless API documents for
    it (auto_mv, datestyle, enable_case_sensitive_identifier, enable_user_activity_logging, query_group,
    search_path, require_ssl, use_fips_ssl, and query monitoring metrics: API reference, CreateWorkgroup)."""
    return [{"parameterKey": key, "parameterValue": value} for key, value in SSL_PARAMETERS.items()]


def _config_values(workgroup: dict) -> dict[str, str]:
    return {p.get("parameterKey"): str(p.get("parameterValue")) for p in workgroup.get("configParameters") or []}


def _require_ssl(rs, settings: DwhSettings, workgroup: dict, *, ours: bool, timing: Timing) -> tuple[dict, bool]:
    """Our workgroup gets require_ssl = true when it lacks it (UpdateWorkgroup); another's is only warned about."""
    resource = workgroup_resource(settings)
    wrong = {k: v for k, v in SSL_PARAMETERS.items() if _config_values(workgroup).get(k) != v}
    if not wrong:
        return workgroup, False
    if not ours:
        log.warning("%s does not require SSL (require_ssl is %s): connections may fall back to plaintext unless "
                    "the client insists; aws redshift-serverless update-workgroup --workgroup-name %s "
                    "--config-parameters parameterKey=require_ssl,parameterValue=true", resource,
                    _config_values(workgroup).get("require_ssl", "not set"), settings.workgroup)
        return workgroup, False
    with aws_call("setting require_ssl = true on", resource, settings.region):
        rs.update_workgroup(workgroupName=settings.workgroup,
                            configParameters=[{"parameterKey": k, "parameterValue": v} for k, v in wrong.items()])
    log.info("%s: require_ssl = true set", resource)
    wait_until(lambda: _status(lambda: get_workgroup(rs, settings)), goal="AVAILABLE", resource=resource,
               timing=timing, transitional={"MODIFYING"})
    return get_workgroup(rs, settings) or workgroup, True


def _warn_differences(settings: DwhSettings, workgroup: dict, group_id: str) -> None:
    resource = workgroup_resource(settings)
    groups = workgroup.get("securityGroupIds") or []
    if group_id not in groups:
        log.warning("%s exists but does not use security group %s (it uses %s): its network access is whatever "
                    "those groups allow", resource, group_id, ", ".join(groups) or "none")
    if workgroup.get("baseCapacity") not in (None, settings.base_capacity):
        log.warning("%s exists with a base capacity of %s RPUs, not %d as configured (change it in the console "
                    "or with aws redshift-serverless update-workgroup)", resource, workgroup.get("baseCapacity"),
                    settings.base_capacity)
    if workgroup.get("publiclyAccessible") is not None and \
            workgroup.get("publiclyAccessible") != settings.publicly_accessible:
        log.warning("%s exists with publiclyAccessible = %s, not %s as configured", resource,
                    workgroup.get("publiclyAccessible"), settings.publicly_accessible)


def ensure_usage_limit(rs, settings: DwhSettings, workgroup: dict, *, ours: bool = True) -> ResourceOutcome:
    """A daily serverless-compute limit on the workgroup, DWH_USAGE_LIMIT RPU-hours then DWH_USAGE_LIMIT_ACTION
    (on a workgroup sparkify did not create: none is added or changed)."""
    resource = f"the usage limit of {workgroup_resource(settings)}"
    region = settings.region
    if not ours:
        log.warning("%s: not set (the workgroup was not created by sparkify); aws redshift-serverless "
                    "create-usage-limit sets one", resource)
        return ResourceOutcome("usage limit", settings.workgroup, "left in place", "workgroup not created by sparkify")
    arn = workgroup["workgroupArn"]
    with aws_call("reading", resource, region):
        limits = [limit for page in rs.get_paginator("list_usage_limits").paginate(resourceArn=arn,
                                                                                   usageType=USAGE_TYPE)
                  for limit in page.get("usageLimits", [])]
    daily = [limit for limit in limits if limit.get("period") == USAGE_PERIOD]
    detail = f"{settings.usage_limit} RPU-hours per day, then {settings.usage_limit_action}"
    if daily:
        current = daily[0]
        if (current.get("amount"), current.get("breachAction")) == (settings.usage_limit, settings.usage_limit_action):
            return ResourceOutcome("usage limit", settings.workgroup, "reused", detail)
        with aws_call("updating", resource, region):
            rs.update_usage_limit(usageLimitId=current["usageLimitId"], amount=settings.usage_limit,
                                  breachAction=settings.usage_limit_action)
        log.info("%s: now %s (was %s, then %s)", resource, detail, current.get("amount"), current.get("breachAction"))
        return ResourceOutcome("usage limit", settings.workgroup, "updated", detail)
    with aws_call("creating", resource, region):
        rs.create_usage_limit(resourceArn=arn, usageType=USAGE_TYPE, amount=settings.usage_limit,
                              period=USAGE_PERIOD, breachAction=settings.usage_limit_action)
    log.info("%s: %s", resource, detail)
    return ResourceOutcome("usage limit", settings.workgroup, "created", detail)


# --------------------------------------------------------------------------------------------------
# Delete


def _retrying(call, *, resource: str, region: str, action: str, timing: Timing) -> bool:
    """Run `call()`, retrying while AWS answers ConflictException (busy); False if the resource is gone."""
    attempt = 0
    while True:
        attempt += 1
        with aws_call(action, resource, region):
            try:
                call()
                return True
            except Exception as exc:
                if _not_found(exc):
                    return False
                if error_code(exc) != "ConflictException" or attempt >= timing.retry_attempts:
                    raise
        log.info("%s is busy: retrying in %.0f s (attempt %d of %d)", resource, timing.retry_delay, attempt,
                 timing.retry_attempts)
        timing.sleep(timing.retry_delay)


def delete_workgroup(rs, settings: DwhSettings, timing: Timing) -> ResourceOutcome:
    resource = workgroup_resource(settings)
    if not _retrying(lambda: rs.delete_workgroup(workgroupName=settings.workgroup), resource=resource,
                     region=settings.region, action="deleting", timing=timing):
        return ResourceOutcome("workgroup", settings.workgroup, "not found", "already gone")
    log.info("%s: deletion requested", resource)
    wait_until(lambda: _status(lambda: get_workgroup(rs, settings)), goal=None, resource=resource, timing=timing,
               transitional={"DELETING", "AVAILABLE", "MODIFYING"}, what="deleted")
    return ResourceOutcome("workgroup", settings.workgroup, "deleted")


def delete_namespace(rs, settings: DwhSettings, final_snapshot: str | None, timing: Timing) -> ResourceOutcome:
    resource = namespace_resource(settings)
    params = {"namespaceName": settings.namespace}
    if final_snapshot:
        params["finalSnapshotName"] = final_snapshot
    if not _retrying(lambda: rs.delete_namespace(**params), resource=resource, region=settings.region,
                     action="deleting", timing=timing):
        return ResourceOutcome("namespace", settings.namespace, "not found", "already gone")
    snapshot = f"final snapshot '{final_snapshot}'" if final_snapshot else "no final snapshot"
    log.info("%s: deletion requested (%s)", resource, snapshot)
    wait_until(lambda: _status(lambda: get_namespace(rs, settings)), goal=None, resource=resource, timing=timing,
               transitional={"DELETING", "AVAILABLE", "MODIFYING"}, what="deleted")
    return ResourceOutcome("namespace", settings.namespace, "deleted", snapshot)
