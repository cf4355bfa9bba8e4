"""delete_cluster.py's job: show what will be deleted, ask, then delete in dependency order and wait.

cluster mode: the cluster (no final snapshot unless asked; retried while busy; waited for until gone), then
the IAM role (after detaching its policies) and the security group. The cluster is the one the user named
(DWH_CLUSTER_IDENTIFIER) and confirmed; the role and the group are deleted only if they carry the
sparkify:managed tag.
serverless mode: the workgroup (waited for until gone), then the namespace (a final snapshot only with
--final-snapshot NAME; waited for), then the role and the security group; each only if it carries the tag.
Anything without the tag is left in place and reported. When nothing exists: an empty report, exit 0.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sparkify.aws import cluster as cluster_mod
from sparkify.aws import serverless
from sparkify.aws.base import TAG_KEY, Step, Timing, client, has_tag, make_session
from sparkify.aws.errors import aws_call
from sparkify.aws.iam import delete_role, get_role, role_is_ours
from sparkify.aws.network import delete_security_group, find_security_groups
from sparkify.config import DwhSettings
from sparkify.errors import ConfigError, ProvisioningError

log = logging.getLogger("sparkify.aws")

_SNAPSHOT_RE = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")


@dataclass
class Found:
    """What exists of ours, as seen before deleting."""

    cluster: dict | None = None
    workgroup: dict | None = None
    workgroup_managed: bool = False
    namespace: dict | None = None
    namespace_managed: bool = False
    role: dict | None = None
    role_managed: bool = False
    groups: list[dict] = field(default_factory=list)

    @property
    def deletable(self) -> bool:
        """Whether anything would be deleted (what lacks our tag is never deleted, but a named cluster)."""
        return (self.cluster is not None or (self.workgroup is not None and self.workgroup_managed)
                or (self.namespace is not None and self.namespace_managed)
                or (self.role is not None and self.role_managed) or any(has_tag(g.get("Tags")) for g in self.groups))


@dataclass
class DeleteReport:
    steps: list[Step]

    @property
    def removed(self) -> list[Step]:
        return [s for s in self.steps if s.outcome == "deleted"]

    def lines(self) -> list[str]:
        return [s.line() for s in self.steps]


def find_resources(session, settings: DwhSettings) -> Found:
    """Look up what the settings name: the cluster or the workgroup and namespace, the role, the group."""
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
        found.cluster = cluster_mod.describe_cluster(client(session, "redshift"), settings.cluster_identifier, region)
    found.role = get_role(iam, settings)
    found.role_managed = found.role is not None and role_is_ours(iam, settings, found.role)
    found.groups = find_security_groups(ec2, settings)
    return found


def describe_plan(found: Found, settings: DwhSettings, final_snapshot: str | None) -> list[str]:
    """Human lines for the confirmation prompt: what will be deleted and what will be left."""
    lines = []
    snap = f"final snapshot '{final_snapshot}'" if final_snapshot else "NO final snapshot: its data is lost"
    if found.cluster is not None:
        mine = "" if has_tag(found.cluster.get("Tags")) else "; NOT created by sparkify"
        lines.append(f"delete Redshift cluster '{settings.cluster_identifier}' in {settings.region} "
                     f"({found.cluster.get('ClusterStatus')}; {snap}{mine})")
    for kind, name, resource, managed, extra in (
            ("workgroup", settings.workgroup, found.workgroup, found.workgroup_managed, ""),
            ("namespace", settings.namespace, found.namespace, found.namespace_managed, f"; {snap}")):
        if resource is not None:
            verb = "delete" if managed else "keep"
            note = f" ({resource.get('status')}{extra})" if managed else " (not created by sparkify)"
            lines.append(f"{verb} Redshift Serverless {kind} '{name}' in {settings.region}{note}")
    if found.role is not None:
        if found.role_managed:
            lines.append(f"delete IAM role '{settings.iam_role_name}' (after detaching its policies)")
        else:
            lines.append(f"keep IAM role '{settings.iam_role_name}' (not created by sparkify)")
    for g in found.groups:
        verb = "delete" if has_tag(g.get("Tags")) else "keep"
        extra = "" if verb == "delete" else " (not created by sparkify)"
        lines.append(f"{verb} security group '{g['GroupName']}' ({g['GroupId']}){extra}")
    return lines


def _left(kind: str, name: str, detail: str = "not created by sparkify") -> Step:
    log.warning("%s '%s' has no %s tag: not created by sparkify, left in place", kind, name, TAG_KEY)
    return Step(kind, name, "left in place", detail)


def delete_all(settings: DwhSettings, *, confirm: Callable[[list[str]], bool] | None = None,
               final_snapshot: str | None = None, timing: Timing = Timing(), session=None) -> DeleteReport | None:
    """Delete the warehouse (waiting until it is gone), then our role and our security group.

    `confirm` gets the plan's lines and returns whether to go ahead; it is not called when nothing would be
    deleted. Returns None if the user declined, else the report (its `removed` is empty when nothing existed).
    """
    if final_snapshot is not None and not _SNAPSHOT_RE.match(final_snapshot):
        raise ConfigError(f"--final-snapshot {final_snapshot!r} is not a valid snapshot name: 1-255 letters, digits "
                          f"or single hyphens, starting with a letter and not ending with a hyphen")
    session = session or make_session(settings)
    with aws_call("checking", "the AWS credentials", settings.region):
        client(session, "sts").get_caller_identity()
    found = find_resources(session, settings)
    if found.deletable and confirm is not None and not confirm(describe_plan(found, settings, final_snapshot)):
        return None
    iam, ec2 = client(session, "iam"), client(session, "ec2")
    steps: list[Step] = []
    if settings.serverless:
        steps += _delete_serverless(client(session, "redshift-serverless"), settings, found, final_snapshot, timing)
    elif found.cluster is not None:
        steps.append(cluster_mod.delete_cluster(client(session, "redshift"), settings, found.cluster, final_snapshot,
                                                timing))
    else:
        steps.append(Step("Redshift cluster", settings.cluster_identifier, "not found"))
    if found.role is None:
        steps.append(Step("IAM role", settings.iam_role_name, "not found"))
    elif not found.role_managed:
        steps.append(_left("IAM role", settings.iam_role_name))
    else:
        steps.append(delete_role(iam, settings))
    if not found.groups:
        steps.append(Step("security group", settings.security_group_name, "not found"))
    for group in found.groups:
        if has_tag(group.get("Tags")):
            steps.append(delete_security_group(ec2, settings, group, timing))
        else:
            steps.append(_left("security group", group["GroupName"], f"{group['GroupId']}, not created by sparkify"))
    return DeleteReport(steps=steps)


def _delete_serverless(rs, settings: DwhSettings, found: Found, final_snapshot: str | None,
                       timing: Timing) -> list[Step]:
    steps = []
    if found.workgroup is None:
        steps.append(Step("workgroup", settings.workgroup, "not found"))
    elif not found.workgroup_managed:
        steps.append(_left("workgroup", settings.workgroup))
    else:
        steps.append(serverless.delete_workgroup(rs, settings, timing))
    if found.namespace is None:
        steps.append(Step("namespace", settings.namespace, "not found"))
    elif not found.namespace_managed:
        steps.append(_left("namespace", settings.namespace))
    elif found.workgroup is not None and not found.workgroup_managed:
        raise ProvisioningError(f"Redshift Serverless namespace '{settings.namespace}' is still used by workgroup "
                                f"'{settings.workgroup}', which sparkify did not create: delete that workgroup "
                                f"first (the namespace, the role and the security group were kept)")
    else:
        steps.append(serverless.delete_namespace(rs, settings, final_snapshot, timing))
    return steps


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
