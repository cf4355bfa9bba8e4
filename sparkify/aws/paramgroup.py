"""The cluster parameter group that makes a provisioned cluster refuse connections without SSL (require_ssl = true).

A cluster's default parameter group cannot be changed, so create_cluster.py makes its own, tagged
sparkify:managed, named <DWH_CLUSTER_IDENTIFIER>-params, in the family AWS's CreateClusterParameterGroup page gives
as its example ("redshift-1.0"), with the one parameter it changes: require_ssl = true (Redshift Cluster
Management Guide, "Amazon Redshift parameter groups" and "Configuring security options for connections":
https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-parameter-groups.html,
https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html). The group is created before the
cluster (CreateCluster names it), reused when it carries the tag, and deleted by delete_cluster.py after the
cluster is gone (AWS refuses to delete a group a cluster uses). A group of that name without the tag stops
create_cluster.py: it is not sparkify's to change.
"""

from __future__ import annotations

import logging

from sparkify.aws.base import ResourceOutcome, has_tag, tags
from sparkify.aws.errors import aws_call, error_code
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

FAMILY = "redshift-1.0"
PARAMETERS = {"require_ssl": "true"}


def group_name(settings: DwhSettings) -> str:
    return f"{settings.cluster_identifier}-params"


def _resource(settings: DwhSettings) -> str:
    return f"cluster parameter group '{group_name(settings)}'"


def get_group(redshift, settings: DwhSettings) -> dict | None:
    with aws_call("reading", _resource(settings), settings.region):
        try:
            return redshift.describe_cluster_parameter_groups(
                ParameterGroupName=group_name(settings))["ParameterGroups"][0]
        except redshift.exceptions.ClusterParameterGroupNotFoundFault:
            return None


def _user_values(redshift, settings: DwhSettings) -> dict[str, str]:
    """The group's parameters that differ from the family's defaults (Source = user)."""
    values: dict[str, str] = {}
    with aws_call("reading the parameters of", _resource(settings), settings.region):
        for page in redshift.get_paginator("describe_cluster_parameters").paginate(
                ParameterGroupName=group_name(settings), Source="user"):
            for p in page.get("Parameters", []):
                if p.get("Source", "user") == "user":
                    values[p["ParameterName"]] = str(p.get("ParameterValue"))
    return values


def ensure_group(redshift, settings: DwhSettings) -> tuple[str, ResourceOutcome]:
    """The tagged group with require_ssl = true, created or reused. Returns (name, outcome)."""
    name = group_name(settings)
    resource = _resource(settings)
    region = settings.region
    group = get_group(redshift, settings)
    outcome = "reused"
    if group is None:
        with aws_call("creating", resource, region):
            try:
                redshift.create_cluster_parameter_group(
                    ParameterGroupName=name, ParameterGroupFamily=FAMILY, Tags=tags(),
                    Description=f"Sparkify: cluster {settings.cluster_identifier} accepts SSL connections only")
                outcome = "created"
            except redshift.exceptions.ClusterParameterGroupAlreadyExistsFault:  # made meanwhile by another run
                group = get_group(redshift, settings) or {}
    if outcome == "reused" and not has_tag(group.get("Tags")):  # (made meanwhile: refuse_foreign checked it first)
        raise ProvisioningError(foreign_message(settings))
    current = _user_values(redshift, settings) if outcome == "reused" else {}
    wrong = {k: v for k, v in PARAMETERS.items() if current.get(k) != v}
    if wrong:
        with aws_call("setting require_ssl = true in", resource, region):
            redshift.modify_cluster_parameter_group(
                ParameterGroupName=name,
                Parameters=[{"ParameterName": k, "ParameterValue": v} for k, v in wrong.items()])
        if outcome == "reused":
            outcome = "updated"
    log.info("%s %s (require_ssl = true)", resource, outcome)
    return name, ResourceOutcome("parameter group", name, outcome, "require_ssl = true")


def foreign_message(settings: DwhSettings) -> str:
    return (f"{_resource(settings)} exists but was not created by sparkify (no sparkify:managed tag): delete or "
            f"rename it, or choose another DWH_CLUSTER_IDENTIFIER")


def refuse_foreign(redshift, settings: DwhSettings) -> None:
    """Before anything is created: ProvisioningError if a group of our name exists that sparkify did not make."""
    group = get_group(redshift, settings)
    if group is not None and not has_tag(group.get("Tags")):
        raise ProvisioningError(foreign_message(settings) + " (nothing was created)")


def cluster_groups(cluster: dict) -> dict[str, str]:
    """The parameter groups a cluster uses -> their apply status ('in-sync', 'pending-reboot', ...)."""
    return {g.get("ParameterGroupName"): str(g.get("ParameterApplyStatus") or "unknown")
            for g in cluster.get("ClusterParameterGroups") or []}


def delete_group(redshift, settings: DwhSettings) -> ResourceOutcome:
    """Delete the group (after its cluster is gone); a group another cluster still uses is kept and said so."""
    name = group_name(settings)
    with aws_call("deleting", _resource(settings), settings.region):
        try:
            redshift.delete_cluster_parameter_group(ParameterGroupName=name)
        except Exception as exc:
            code = error_code(exc)
            if code in ("ClusterParameterGroupNotFound", "ClusterParameterGroupNotFoundFault"):
                return ResourceOutcome("parameter group", name, "not found", "already gone")
            if code in ("InvalidClusterParameterGroupState", "InvalidClusterParameterGroupStateFault"):
                log.warning("%s is still used by a cluster: left in place", _resource(settings))
                return ResourceOutcome("parameter group", name, "left in place", "still used by a cluster")
            raise
    log.info("%s deleted", _resource(settings))
    return ResourceOutcome("parameter group", name, "deleted")
