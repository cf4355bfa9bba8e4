"""A provisioned Redshift cluster: which node type can be ordered, create (or reuse) and wait, delete.

A cluster of the configured name is reused. One that carries the sparkify:managed tag is brought up to date (the
role attached, the parameter group that requires SSL set); one without it is used as it is, never modified,
and the warnings say what it lacks and the command that adds it. Deletion always names the snapshot choice
(SkipFinalClusterSnapshot, or a FinalClusterSnapshotIdentifier): AWS refuses a DeleteCluster that names neither.

Node type: before anything is created, DescribeOrderableClusterOptions lists the (node type, cluster type)
pairs the region offers. A configured DWH_NODE_TYPE must be among them (else ProvisioningError naming the
region and what it offers). Unset, the classic dc2.large is used where it can still be ordered (AWS stopped
creating DC2 clusters in 2025), else the smallest orderable type for the configured cluster type, ranked by
the size in its name (large < xlplus < xlarge < 2xlarge < 4xlarge < 8xlarge < 16xlarge; within a generation
AWS's on-demand price grows with the size), ties by name. An endpoint that does not implement the call (a
local emulator) gets one warning and the configured type, or dc2.large.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from sparkify.aws import paramgroup
from sparkify.aws.base import ResourceOutcome, Timing, has_tag, tags
from sparkify.aws.errors import aws_call, aws_error_message, not_implemented
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

CLASSIC_NODE_TYPE = "dc2.large"
# Cluster states that end by themselves (we wait), and states that need the user (we stop and say so).
GONE_STATES = {"deleting", "final-snapshot"}
STUCK_STATES = {
    "paused": "resume it (Redshift console, or: aws redshift resume-cluster --cluster-identifier {id})",
    "hardware-failure": "check the Redshift console; AWS support may be needed",
    "storage-full": "free space or resize it in the Redshift console",
    "incompatible-hsm": "fix its HSM settings in the Redshift console",
    "incompatible-network": "fix its VPC/subnet group in the Redshift console",
    "incompatible-parameters": "fix its parameter group in the Redshift console",
    "incompatible-restore": "delete it (delete_cluster.py) and create it again",
}


# --------------------------------------------------------------------------------------------------
# Node types


def node_size(node_type: str) -> tuple[int, str]:
    """Sort key, smallest first: the size in the name (large 1, xlplus/xlarge 2, Nxlarge 2N), then the name."""
    size = node_type.split(".", 1)[-1]
    if size == "large":
        rank = 1
    elif size in ("xlplus", "xlarge"):
        rank = 2
    else:
        m = re.fullmatch(r"(\d+)xlarge", size)
        rank = 2 * int(m.group(1)) if m else 1_000
    return rank, node_type


def orderable_options(redshift, region: str) -> list[dict] | None:
    """Every (NodeType, ClusterType) the region offers (DescribeOrderableClusterOptions, all pages);
    None when the endpoint does not implement the call."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    options: list[dict] = []
    try:
        for page in redshift.get_paginator("describe_orderable_cluster_options").paginate():
            options += [{"NodeType": o.get("NodeType"), "ClusterType": o.get("ClusterType")}
                        for o in page.get("OrderableClusterOptions", [])]
    except (NotImplementedError, ResponseParserError, bx.ClientError) as exc:
        if not_implemented(exc):
            return None
        raise ProvisioningError(aws_error_message(exc, action="listing the orderable node types of",
                                                  resource="Redshift", region=region)) from None
    except bx.BotoCoreError as exc:
        raise ProvisioningError(aws_error_message(exc, action="listing the orderable node types of",
                                                  resource="Redshift", region=region)) from None
    return options


def choose_node_type(settings: DwhSettings, options: list[Mapping] | None) -> tuple[str, str]:
    """(node type, one line saying why) for the settings, given the region's orderable options (None: unknown).

    ProvisioningError when the configured type cannot be ordered, or nothing fits the cluster type."""
    region, wanted = settings.region, settings.cluster_type
    if options is None:
        chosen = settings.node_type or CLASSIC_NODE_TYPE
        return chosen, (f"the endpoint does not implement DescribeOrderableClusterOptions (a local emulator?): "
                        f"node type {chosen} not checked")
    fitting = sorted({o["NodeType"] for o in options if o.get("ClusterType") == wanted}, key=node_size)
    every = sorted({o["NodeType"] for o in options}, key=node_size)
    if not every:
        raise ProvisioningError(f"AWS lists no orderable Redshift node type in {region}: choose another DWH_REGION, "
                                f"or DWH_MODE = serverless")
    if settings.node_type:
        if settings.node_type in fitting:
            return settings.node_type, f"DWH_NODE_TYPE = {settings.node_type} is orderable in {region}"
        if settings.node_type in every:
            raise ProvisioningError(f"DWH_NODE_TYPE = {settings.node_type} cannot be ordered as a {wanted} cluster "
                                    f"in {region}; {wanted} types there: {', '.join(fitting) or 'none'}: change "
                                    f"DWH_NODE_TYPE or DWH_CLUSTER_TYPE (nothing was created)")
        raise ProvisioningError(f"DWH_NODE_TYPE = {settings.node_type} is not orderable in {region}; orderable "
                                f"there: {', '.join(every)}: set DWH_NODE_TYPE to one of them, or leave it unset "
                                f"to let create_cluster.py choose (nothing was created)")
    if CLASSIC_NODE_TYPE in fitting:
        return CLASSIC_NODE_TYPE, f"DWH_NODE_TYPE not set: {CLASSIC_NODE_TYPE}, the classic default, is orderable in {region}"
    if not fitting:
        raise ProvisioningError(f"no node type can be ordered as a {wanted} cluster in {region} (orderable: "
                                f"{', '.join(every)}): change DWH_CLUSTER_TYPE/DWH_NUM_NODES (nothing was created)")
    chosen = fitting[0]
    return chosen, (f"DWH_NODE_TYPE not set and {CLASSIC_NODE_TYPE} is not orderable in {region}: using {chosen}, "
                    f"the smallest {wanted} type orderable there (of {', '.join(fitting)}; ranked by size, "
                    f"large < xlplus < 4xlarge < 8xlarge < 16xlarge, the order of AWS's on-demand prices)")


def select_node_type(redshift, settings: DwhSettings) -> str:
    """The node type to create, checked against the region's orderable options; logs why (one line)."""
    options = orderable_options(redshift, settings.region)
    node_type, why = choose_node_type(settings, options)
    if options is None:
        log.warning("%s", why)
    else:
        log.info("%s", why)
    return node_type


# --------------------------------------------------------------------------------------------------
# Waiting


def _cluster_status(response: Mapping | None) -> str:
    if not response:
        return "unknown"
    if "Error" in response:
        return str(response["Error"].get("Code", "error"))
    clusters = response.get("Clusters") or []
    return str(clusters[0].get("ClusterStatus", "unknown")) if clusters else "not found"


def wait_for_cluster(redshift, cluster_id: str, waiter_name: str, timing: Timing, region: str) -> None:
    """Run boto3's `cluster_available`/`cluster_deleted` waiter in short rounds, logging progress between them.

    Bounded by timing.max_attempts x timing.delay. Raises ProvisioningError on a terminal state,
    an AWS error, or time out.
    """
    import time

    import botocore.exceptions as bx
    from botocore.exceptions import WaiterError

    goal = "available" if waiter_name == "cluster_available" else "deleted"
    resource = f"Redshift cluster '{cluster_id}'"
    waiter = redshift.get_waiter(waiter_name)
    per_round = timing.reads_per_progress_line
    remaining = max(1, timing.max_attempts)
    started = time.monotonic()
    while True:
        attempts = min(per_round, remaining)
        try:
            waiter.wait(ClusterIdentifier=cluster_id, WaiterConfig={"Delay": timing.delay, "MaxAttempts": attempts})
            log.info("%s is %s (after %.0f s)", resource, goal, time.monotonic() - started)
            return
        except WaiterError as exc:
            remaining -= attempts
            reason = str(exc.kwargs.get("reason", ""))
            status = _cluster_status(exc.last_response)
            response = exc.last_response or {}
            if not reason.startswith("Max attempts exceeded") and "Error" in response:
                err = bx.ClientError(response, "DescribeClusters")
                raise ProvisioningError(aws_error_message(err, action=f"waiting until {goal}", resource=resource,
                                                          region=region)) from None
            if not reason.startswith("Max attempts exceeded"):
                raise ProvisioningError(f"{resource} became {status} while waiting until it is {goal}: "
                                        f"check the Redshift console, then run the script again") from None
            waited = time.monotonic() - started
            if remaining <= 0:
                raise ProvisioningError(f"{resource} is still {status} after {waited / 60:.0f} min of waiting until "
                                        f"it is {goal}: run the script again to keep waiting (check the Redshift "
                                        f"console if it stays {status})") from None
            log.info("%s is %s; waiting until it is %s (%.0f s so far)", resource, status, goal, waited)
            timing.sleep(timing.delay)
        except (bx.BotoCoreError, bx.ClientError) as exc:
            log.debug("waiting for %s failed", resource, exc_info=True)
            raise ProvisioningError(aws_error_message(exc, action=f"waiting until {goal}", resource=resource,
                                                      region=region)) from None


# --------------------------------------------------------------------------------------------------
# Create


def describe_cluster(redshift, cluster_id: str, region: str) -> dict | None:
    with aws_call("reading", f"Redshift cluster '{cluster_id}'", region):
        try:
            return redshift.describe_clusters(ClusterIdentifier=cluster_id)["Clusters"][0]
        except redshift.exceptions.ClusterNotFoundFault:
            return None


def ensure_cluster(redshift, settings: DwhSettings, node_type: str, role_arn: str, group_id: str,
                   parameter_group: str, timing: Timing) -> tuple[dict, ResourceOutcome]:
    """The encrypted cluster with the role, the security group and the parameter group, available.
    Returns (cluster, outcome).

    A cluster of that name is reused; if it carries the sparkify:managed tag it is brought up to date (the
    role attached, the parameter group set), else it is not modified and the warnings say what it lacks."""
    cid = settings.cluster_identifier
    resource = f"Redshift cluster '{cid}'"
    region = settings.region
    cluster = describe_cluster(redshift, cid, region)
    if cluster is None:
        params = {
            "ClusterIdentifier": cid,
            "ClusterType": settings.cluster_type,
            "NodeType": node_type,
            "DBName": settings.db_name,
            "MasterUsername": settings.db_user,
            "Port": settings.port,
            "IamRoles": [role_arn],
            "VpcSecurityGroupIds": [group_id],
            "ClusterParameterGroupName": parameter_group,
            "Encrypted": True,
            "PubliclyAccessible": settings.publicly_accessible,
            "Tags": tags(),
        }
        if settings.managed_password:
            params["ManageMasterPassword"] = True
        else:
            params["MasterUserPassword"] = settings.db_password
        if settings.kms_key_id:
            params["KmsKeyId"] = settings.kms_key_id
        if settings.cluster_type == "multi-node":
            params["NumberOfNodes"] = settings.num_nodes
        if settings.subnet_group:
            params["ClusterSubnetGroupName"] = settings.subnet_group
        with aws_call("creating", resource, region):
            try:
                redshift.create_cluster(**params)
                outcome = "created"
                log.info("%s: creation requested (%s x %s, encrypted, SSL required); this usually takes 5-15 "
                         "minutes", resource, settings.num_nodes, node_type)
            except redshift.exceptions.ClusterAlreadyExistsFault:
                outcome = "reused"
    else:
        outcome = "reused"
        status = cluster.get("ClusterStatus", "unknown")
        if status in GONE_STATES:
            raise ProvisioningError(f"{resource} is being deleted ({status}): wait until the deletion has finished "
                                    f"(delete_cluster.py waits for it), then run create_cluster.py again")
        if status in STUCK_STATES:
            raise ProvisioningError(f"{resource} is {status}: {STUCK_STATES[status].format(id=cid)}, then run "
                                    f"create_cluster.py again")
        log.info("%s exists (%s): reusing it", resource, status)
    wait_for_cluster(redshift, cid, "cluster_available", timing, region)
    cluster = describe_cluster(redshift, cid, region)
    if cluster is None:
        raise ProvisioningError(f"{resource} disappeared while waiting for it: run create_cluster.py again")
    ours = has_tag(cluster.get("Tags"))
    if outcome == "reused" and ours:
        cluster = _bring_up_to_date(redshift, settings, cluster, role_arn, parameter_group, timing)
    elif outcome == "reused":
        _warn_foreign(settings, cluster, role_arn, parameter_group)
    if outcome == "reused":
        _warn_differences(settings, cluster, group_id)
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise ProvisioningError(f"{resource} is available but has no endpoint yet: run create_cluster.py again "
                                f"in a minute")
    detail = f"{cluster.get('ClusterStatus')}, {endpoint['Address']}:{endpoint.get('Port') or settings.port}"
    detail += f", {cluster.get('NodeType') or node_type}"
    detail += ", encrypted" if cluster.get("Encrypted") else ", NOT encrypted"
    if not ours:
        detail += ", not created by sparkify: not modified"
    return cluster, ResourceOutcome("Redshift cluster", cid, outcome, detail)


def _bring_up_to_date(redshift, settings: DwhSettings, cluster: dict, role_arn: str, parameter_group: str,
                      timing: Timing) -> dict:
    """Our cluster: attach the role and set the parameter group when they are missing."""
    cid = settings.cluster_identifier
    resource = f"Redshift cluster '{cid}'"
    region = settings.region
    if role_arn not in [r.get("IamRoleArn") for r in cluster.get("IamRoles", [])]:
        with aws_call("attaching the IAM role to", resource, region):
            redshift.modify_cluster_iam_roles(ClusterIdentifier=cid, AddIamRoles=[role_arn])
        log.info("%s: attached IAM role %s", resource, role_arn)
        wait_for_cluster(redshift, cid, "cluster_available", timing, region)
        cluster = describe_cluster(redshift, cid, region) or cluster
    if parameter_group not in paramgroup.cluster_groups(cluster):
        with aws_call("setting the parameter group of", resource, region):
            redshift.modify_cluster(ClusterIdentifier=cid, ClusterParameterGroupName=parameter_group)
        wait_for_cluster(redshift, cid, "cluster_available", timing, region)
        cluster = describe_cluster(redshift, cid, region) or cluster
    status = paramgroup.cluster_groups(cluster).get(parameter_group)
    if status not in (None, "in-sync"):
        log.warning("%s: parameter group %s is %s: require_ssl takes effect after a reboot (aws redshift "
                    "reboot-cluster --cluster-identifier %s)", resource, parameter_group, status, cid)
    return cluster


def _warn_foreign(settings: DwhSettings, cluster: dict, role_arn: str, parameter_group: str) -> None:
    """A cluster sparkify did not create is used as it is: say what it lacks, and how to add it."""
    cid = settings.cluster_identifier
    resource = f"Redshift cluster '{cid}'"
    log.warning("%s exists without the sparkify:managed tag: using it as it is (not modified); delete_cluster.py "
                "will leave it in place", resource)
    if role_arn not in [r.get("IamRoleArn") for r in cluster.get("IamRoles", [])]:
        log.warning("%s does not have IAM role %s, so COPY cannot read S3 with it: aws redshift "
                    "modify-cluster-iam-roles --cluster-identifier %s --add-iam-roles %s", resource, role_arn, cid,
                    role_arn)
    if parameter_group not in paramgroup.cluster_groups(cluster):
        log.warning("%s uses parameter group %s, not %s: whether it requires SSL is up to that group "
                    "(require_ssl)", resource, ", ".join(paramgroup.cluster_groups(cluster)) or "none",
                    parameter_group)


def _warn_differences(settings: DwhSettings, cluster: dict, group_id: str) -> None:
    resource = f"Redshift cluster '{settings.cluster_identifier}'"
    if not cluster.get("Encrypted"):
        log.warning("%s exists but is NOT encrypted; sparkify creates encrypted clusters. To fix it, delete it "
                    "(delete_cluster.py) and run create_cluster.py again, or enable encryption in the console.",
                    resource)
    if cluster.get("PubliclyAccessible") and not settings.publicly_accessible:
        log.warning("%s exists and is publicly accessible, which DWH_PUBLICLY_ACCESSIBLE (or TRANSPORT = data-api) "
                    "does not need: aws redshift modify-cluster --cluster-identifier %s --no-publicly-accessible",
                    resource, settings.cluster_identifier)
    groups = [g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])]
    if group_id not in groups:
        log.warning("%s exists but does not use security group %s (it uses %s): its network access is "
                    "whatever those groups allow", resource, group_id, ", ".join(groups) or "none")
    for key, want, have in (("DWH_DB", settings.db_name, cluster.get("DBName")),
                            ("DWH_DB_USER", settings.db_user, cluster.get("MasterUsername"))):
        if have and have != want:
            log.warning("%s exists with %s = %s, not %s as configured: writing the cluster's value to "
                        "[CLUSTER]", resource, key, have, want)


# --------------------------------------------------------------------------------------------------
# Delete


def delete_cluster(redshift, settings: DwhSettings, cluster: dict, final_snapshot: str | None,
                   timing: Timing) -> ResourceOutcome:
    cid = settings.cluster_identifier
    resource = f"Redshift cluster '{cid}'"
    region = settings.region
    params: dict = {"ClusterIdentifier": cid}
    if final_snapshot:
        params.update(SkipFinalClusterSnapshot=False, FinalClusterSnapshotIdentifier=final_snapshot)
    else:
        params.update(SkipFinalClusterSnapshot=True)
    status = cluster.get("ClusterStatus")
    if status not in GONE_STATES:
        attempt = 0
        while True:
            attempt += 1
            busy = False
            with aws_call("deleting", resource, region):
                try:
                    redshift.delete_cluster(**params)
                except redshift.exceptions.ClusterNotFoundFault:
                    return ResourceOutcome("Redshift cluster", cid, "not found", "already gone")
                except redshift.exceptions.InvalidClusterStateFault:
                    if attempt >= timing.retry_attempts:
                        raise
                    busy = True
            if not busy:
                break
            current = describe_cluster(redshift, cid, region)
            if current is None:
                return ResourceOutcome("Redshift cluster", cid, "not found", "already gone")
            if current.get("ClusterStatus") in GONE_STATES:
                break
            log.info("%s is %s: retrying the deletion in %.0f s (attempt %d of %d)", resource,
                     current.get("ClusterStatus"), timing.retry_delay, attempt, timing.retry_attempts)
            timing.sleep(timing.retry_delay)
        log.info("%s: deletion requested (%s)", resource,
                 f"final snapshot '{final_snapshot}'" if final_snapshot else "no final snapshot")
    else:
        log.info("%s is already being deleted", resource)
    wait_for_cluster(redshift, cid, "cluster_deleted", timing, region)
    return ResourceOutcome("Redshift cluster", cid, "deleted",
                f"final snapshot '{final_snapshot}'" if final_snapshot else "no final snapshot")
