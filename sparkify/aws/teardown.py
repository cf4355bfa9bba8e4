"""delete_cluster.py's job: show what will be deleted, ask, then delete in dependency order and wait.

Only what carries the sparkify:managed tag is deleted, --yes or not; anything else of the configured names
is reported ("keep ... not created by sparkify") and left in place.
cluster mode: the cluster (no final snapshot unless asked: DeleteCluster always says which, as AWS requires;
retried while busy; waited for until gone), then its parameter group, the IAM role (after its policies) and
the security group.
serverless mode: the workgroup (waited for until gone), then the namespace (a final snapshot only with
--final-snapshot NAME; waited for), then the role and the security group.
Security groups are looked up in the VPC in use (the cluster's, else DWH_VPC_ID, else the default VPC) only.
When nothing exists: an empty report, exit 0.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sparkify.aws import cluster as cluster_mod
from sparkify.aws import paramgroup, serverless
from sparkify.aws.base import TAG_KEY, ResourceOutcome, Timing, client, has_tag, make_session
from sparkify.aws.errors import aws_call
from sparkify.aws.iam import delete_role, get_role, role_is_ours
from sparkify.aws.network import default_vpc, delete_security_group, find_security_groups
from sparkify.config import DwhSettings
from sparkify.errors import ConfigError, ProvisioningError

log = logging.getLogger("sparkify.aws")

_SNAPSHOT_RE = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")


@dataclass
class Found:
    """What exists of the configured names, as seen before deleting, and whether sparkify made it."""

    cluster: dict | None = None
    parameter_group: dict | None = None
    workgroup: dict | None = None
    workgroup_managed: bool = False
    namespace: dict | None = None
    namespace_managed: bool = False
    role: dict | None = None
    role_managed: bool = False
    vpc_id: str | None = None
    groups: list[dict] = field(default_factory=list)

    @property
    def cluster_managed(self) -> bool:
        return self.cluster is not None and has_tag(self.cluster.get("Tags"))

    @property
    def parameter_group_managed(self) -> bool:
        return self.parameter_group is not None and has_tag(self.parameter_group.get("Tags"))

    @property
    def deletable(self) -> bool:
        """Whether anything would be deleted (only what carries the tag ever is)."""
        return (self.cluster_managed or self.parameter_group_managed
                or (self.workgroup is not None and self.workgroup_managed)
                or (self.namespace is not None and self.namespace_managed)
                or (self.role is not None and self.role_managed) or any(has_tag(g.get("Tags")) for g in self.groups))


@dataclass
class DeleteReport:
    steps: list[ResourceOutcome]

    @property
    def removed(self) -> list[ResourceOutcome]:
        return [s for s in self.steps if s.outcome == "deleted"]

    def lines(self) -> list[str]:
        return [s.line() for s in self.steps]


def find_resources(session, settings: DwhSettings) -> Found:
    """Look up what the settings name: the cluster and its parameter group, or the workgroup and namespace; the
    role; the security group in the VPC in use."""
    region = settings.region
    iam, ec2 = client(session, "iam"), client(session, "ec2")
    found = Found()
    if settings.serverless:
        rs = client(session, "redshift-serverless")
        found.workgroup = serverless.get_workgroup(rs, settings)
        if found.workgroup is not None:
            found.workgroup_managed = serverless.is_ours(rs, found.workgroup.get("workgroupArn"),
                                                         serverless.workgroup_resource(settings), region)
        found.namespace = serverless.get_namespace(rs, settings)
        if found.namespace is not None:
            found.namespace_managed = serverless.is_ours(rs, found.namespace.get("namespaceArn"),
                                                         serverless.namespace_resource(settings), region)
    else:
        redshift = client(session, "redshift")
        found.cluster = cluster_mod.describe_cluster(redshift, settings.cluster_identifier, region)
        found.parameter_group = paramgroup.get_group(redshift, settings)
    found.role = get_role(iam, settings)
    found.role_managed = found.role is not None and role_is_ours(iam, settings, found.role)
    found.vpc_id = (found.cluster or {}).get("VpcId") or default_vpc(ec2, settings)
    found.groups = find_security_groups(ec2, settings, found.vpc_id)
    return found


def describe_plan(found: Found, settings: DwhSettings, final_snapshot: str | None) -> list[str]:
    """Human lines for the confirmation prompt: what will be deleted and what will be kept."""
    lines = []
    snap = f"final snapshot '{final_snapshot}'" if final_snapshot else "NO final snapshot: its data is lost"
    kept = " (not created by sparkify)"
    if found.cluster is not None:
        if found.cluster_managed:
            lines.append(f"delete Redshift cluster '{settings.cluster_identifier}' in {settings.region} "
                         f"({found.cluster.get('ClusterStatus')}; {snap})")
        else:
            lines.append(f"keep Redshift cluster '{settings.cluster_identifier}' in {settings.region}{kept}")
    if found.parameter_group is not None:
        verb = "delete" if found.parameter_group_managed else "keep"
        lines.append(f"{verb} cluster parameter group '{paramgroup.group_name(settings)}'"
                     + ("" if found.parameter_group_managed else kept))
    for kind, name, resource, managed, extra in (
            ("workgroup", settings.workgroup, found.workgroup, found.workgroup_managed, ""),
            ("namespace", settings.namespace, found.namespace, found.namespace_managed, f"; {snap}")):
        if resource is not None:
            verb = "delete" if managed else "keep"
            note = f" ({resource.get('status')}{extra})" if managed else kept
            lines.append(f"{verb} Redshift Serverless {kind} '{name}' in {settings.region}{note}")
    if found.role is not None:
        if found.role_managed:
            lines.append(f"delete IAM role '{settings.iam_role_name}' (with its policies)")
        else:
            lines.append(f"keep IAM role '{settings.iam_role_name}'{kept}")
    for g in found.groups:
        verb = "delete" if has_tag(g.get("Tags")) else "keep"
        extra = "" if verb == "delete" else kept
        lines.append(f"{verb} security group '{g['GroupName']}' ({g['GroupId']}){extra}")
    return lines


def _left(kind: str, name: str, detail: str = "not created by sparkify") -> ResourceOutcome:
    log.warning("%s '%s' has no %s tag: not created by sparkify, left in place", kind, name, TAG_KEY)
    return ResourceOutcome(kind, name, "left in place", detail)


def _delete_if_ours(kind: str, name: str, resource, managed: bool,
                    delete: Callable[[], ResourceOutcome]) -> ResourceOutcome:
    """delete() for a resource that exists and carries the tag; "not found" or "left in place" otherwise."""
    if resource is None:
        return ResourceOutcome(kind, name, "not found")
    if not managed:
        return _left(kind, name)
    return delete()


def delete_all(settings: DwhSettings, *, confirm: Callable[[list[str]], bool] | None = None,
               final_snapshot: str | None = None, timing: Timing | None = None,
               session=None) -> DeleteReport | None:
    """Delete what sparkify made (waiting until the warehouse is gone), keeping anything else.

    `confirm` gets the plan's lines and returns whether to go ahead; it is not called when nothing would be
    deleted. Returns None if the user declined, else the report (its `removed` is empty when nothing was deleted).
    """
    if final_snapshot is not None and not _SNAPSHOT_RE.match(final_snapshot):
        raise ConfigError(f"--final-snapshot {final_snapshot!r} is not a valid snapshot name: 1-255 letters, digits "
                          f"or single hyphens, starting with a letter and not ending with a hyphen")
    timing = timing or Timing()
    session = session or make_session(settings)
    with aws_call("checking", "the AWS credentials", settings.region):
        client(session, "sts").get_caller_identity()
    found = find_resources(session, settings)
    if found.deletable and confirm is not None and not confirm(describe_plan(found, settings, final_snapshot)):
        return None
    iam, ec2 = client(session, "iam"), client(session, "ec2")
    steps: list[ResourceOutcome] = []
    if settings.serverless:
        steps += _delete_serverless(client(session, "redshift-serverless"), settings, found, final_snapshot, timing)
    else:
        steps += _delete_cluster(client(session, "redshift"), settings, found, final_snapshot, timing)
    steps.append(_delete_if_ours("IAM role", settings.iam_role_name, found.role, found.role_managed,
                                 lambda: delete_role(iam, settings)))
    if not found.groups:
        steps.append(ResourceOutcome("security group", settings.security_group_name, "not found"))
    for group in found.groups:
        if has_tag(group.get("Tags")):
            steps.append(delete_security_group(ec2, settings, group, timing))
        else:
            steps.append(_left("security group", group["GroupName"], f"{group['GroupId']}, not created by sparkify"))
    return DeleteReport(steps=steps)


def _delete_cluster(redshift, settings: DwhSettings, found: Found, final_snapshot: str | None,
                    timing: Timing) -> list[ResourceOutcome]:
    return [
        _delete_if_ours("Redshift cluster", settings.cluster_identifier, found.cluster, found.cluster_managed,
                        lambda: cluster_mod.delete_cluster(redshift, settings, found.cluster, final_snapshot, timing)),
        _delete_if_ours("parameter group", paramgroup.group_name(settings), found.parameter_group,
                        found.parameter_group_managed, lambda: paramgroup.delete_group(redshift, settings)),
    ]


def _delete_serverless(rs, settings: DwhSettings, found: Found, final_snapshot: str | None,
                       timing: Timing) -> list[ResourceOutcome]:
    def delete_namespace() -> ResourceOutcome:
        if found.workgroup is not None and not found.workgroup_managed:
            raise ProvisioningError(f"Redshift Serverless namespace '{settings.namespace}' is still used by workgroup "
                                    f"'{settings.workgroup}', which sparkify did not create: delete that workgroup "
                                    f"first (the namespace, the role and the security group were kept)")
        return serverless.delete_namespace(rs, settings, final_snapshot, timing)

    return [
        _delete_if_ours("workgroup", settings.workgroup, found.workgroup, found.workgroup_managed,
                        lambda: serverless.delete_workgroup(rs, settings, timing)),
        _delete_if_ours("namespace", settings.namespace, found.namespace, found.namespace_managed, delete_namespace),
    ]


def make_confirm(*, assume_yes: bool, interactive: bool, ask: Callable[[str], str]) -> Callable[[list[str]], bool]:
    """The confirmation used by delete_cluster.py: --yes skips it; without a terminal it refuses to guess."""

    def confirm(plan: list[str]) -> bool:
        if assume_yes:
            return True
        if not interactive:
            raise ProvisioningError("refusing to delete without confirmation: standard input is not a terminal; "
                                    "run delete_cluster.py --yes to delete without asking")
        text = "\n".join(["This will:"] + [f"  - {line}" for line in plan] + ["Type 'yes' to continue: "])
        try:
            answer = ask(text)
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return confirm
