"""Who may connect: the caller's public address, and the dedicated security group whose only ingress rule is
the warehouse port from that address (DWH_ALLOWED_CIDR). Used by both modes (cluster and serverless)."""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping

from sparkify.aws.base import ResourceOutcome, Timing, has_tag, tags
from sparkify.aws.errors import aws_call, error_code
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

CHECKIP_URL = "https://checkip.amazonaws.com"


def detect_public_ip(url: str = CHECKIP_URL, timeout: float = 5.0) -> str:
    """The caller's public IPv4 address as a /32 CIDR, from a checkip-style service (plain-text body)."""
    fix = ("set [DWH] DWH_ALLOWED_CIDR to the address range allowed to reach the warehouse "
           "(for example your public address as 203.0.113.7/32)")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # a fixed https URL (or a test's)
            body = resp.read(100).decode("ascii", "replace").strip()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ProvisioningError(f"could not detect your public IP address from {url} ({reason}): {fix}") from None
    try:
        address = ipaddress.ip_address(body)
    except ValueError:
        raise ProvisioningError(f"could not detect your public IP address: {url} answered {body[:40]!r}, "
                                f"not an IP address: {fix}") from None
    if address.version != 4:
        raise ProvisioningError(f"your public address from {url} is IPv6 ({address}), but the warehouse endpoint is "
                                f"IPv4: {fix}")
    return f"{address}/32"


def resolve_allowed_cidr(settings: DwhSettings, checkip_url: str = CHECKIP_URL) -> str:
    """DWH_ALLOWED_CIDR if set (a warning if it opens the warehouse to the world), else the caller's IP /32."""
    if settings.allowed_cidr:
        if ipaddress.ip_network(settings.allowed_cidr).prefixlen == 0:
            log.warning("DWH_ALLOWED_CIDR = %s: the warehouse port will be open to the whole internet; "
                        "only the password protects it. Prefer your own address as a /32.", settings.allowed_cidr)
        return settings.allowed_cidr
    cidr = detect_public_ip(checkip_url)
    log.info("DWH_ALLOWED_CIDR is not set: allowing only your public address %s", cidr)
    return cidr


def default_vpc(ec2, settings: DwhSettings) -> str | None:
    """The VPC sparkify uses: DWH_VPC_ID (checked to exist), else the region's default VPC (None: there is none)."""
    if settings.vpc_id:
        with aws_call("reading", f"VPC '{settings.vpc_id}'", settings.region):
            ec2.describe_vpcs(VpcIds=[settings.vpc_id])
        return settings.vpc_id
    with aws_call("looking up", "the default VPC", settings.region):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def _vpc_id(ec2, settings: DwhSettings) -> str:
    vpc_id = default_vpc(ec2, settings)
    if vpc_id is None:
        raise ProvisioningError(f"no default VPC in {settings.region}: set [DWH] DWH_VPC_ID (and DWH_SUBNET_GROUP, "
                                f"or DWH_SUBNET_IDS in serverless mode), or create a default VPC "
                                f"(aws ec2 create-default-vpc)")
    return vpc_id


def _split_permissions(perms: list[Mapping], port: int, cidr: str | None) -> tuple[bool, list[dict]]:
    """(whether the wanted rule is present, the other ingress permissions to revoke)."""
    present = False
    revoke: list[dict] = []
    for perm in perms:
        base = {"IpProtocol": perm["IpProtocol"]}
        for k in ("FromPort", "ToPort"):
            if k in perm and perm[k] is not None:
                base[k] = perm[k]
        wanted_port = perm["IpProtocol"] == "tcp" and perm.get("FromPort") == port and perm.get("ToPort") == port
        other_v4 = []
        for r in perm.get("IpRanges", []):
            if wanted_port and r.get("CidrIp") == cidr:
                present = True
            else:
                other_v4.append({"CidrIp": r["CidrIp"]})
        rest = {
            "IpRanges": other_v4,
            "Ipv6Ranges": [{"CidrIpv6": r["CidrIpv6"]} for r in perm.get("Ipv6Ranges", [])],
            "PrefixListIds": [{"PrefixListId": r["PrefixListId"]} for r in perm.get("PrefixListIds", [])],
            "UserIdGroupPairs": [{k: v for k, v in p.items() if k in ("GroupId", "UserId")}
                                 for p in perm.get("UserIdGroupPairs", [])],
        }
        rest = {k: v for k, v in rest.items() if v}
        if rest:
            revoke.append({**base, **rest})
    return present, revoke


def ensure_security_group(ec2, settings: DwhSettings, cidr: str | None) -> tuple[str, ResourceOutcome]:
    """The dedicated security group; its only ingress rule is TCP port from `cidr` (None: no ingress rule at all,
    [CLUSTER] TRANSPORT = data-api). Returns (group id, outcome)."""
    name = settings.security_group_name
    resource = f"security group '{name}'"
    region = settings.region
    vpc_id = _vpc_id(ec2, settings)
    with aws_call("reading", resource, region):
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]},
                                                       {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    if groups:
        group = groups[0]
        group_id = group["GroupId"]
        if not has_tag(group.get("Tags")):
            raise ProvisioningError(f"{resource} ({group_id}) exists in {vpc_id} but was not created by sparkify "
                                    f"(no sparkify:managed tag): delete or rename it, or choose another "
                                    f"DWH_CLUSTER_IDENTIFIER")
        outcome = "reused"
        log.info("%s (%s) exists: reusing it", resource, group_id)
        present, revoke = _split_permissions(group.get("IpPermissions", []), settings.port, cidr)
        if revoke:
            with aws_call("removing old ingress rules from", resource, region):
                ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=revoke)
            log.info("%s: removed ingress rules other than tcp/%s from %s: %s", resource, settings.port, cidr,
                     json.dumps(revoke))
            outcome = "updated"
    else:
        what = f"workgroup {settings.workgroup}" if settings.serverless else f"cluster {settings.cluster_identifier}"
        with aws_call("creating", resource, region):
            try:
                group_id = ec2.create_security_group(
                    GroupName=name,
                    Description=f"Sparkify: Redshift port {settings.port} of {what}",
                    VpcId=vpc_id,
                    TagSpecifications=[{"ResourceType": "security-group", "Tags": tags()}],
                )["GroupId"]
            except Exception as exc:
                if error_code(exc) != "InvalidGroup.Duplicate":
                    raise
                raise ProvisioningError(f"{resource} was created by someone else meanwhile: run the script "
                                        f"again") from None
        present = False
        outcome = "created"
        log.info("%s (%s) created in %s", resource, group_id, vpc_id)
    if not present and cidr is not None:
        with aws_call("adding the ingress rule to", resource, region):
            try:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
                    "IpProtocol": "tcp", "FromPort": settings.port, "ToPort": settings.port,
                    "IpRanges": [{"CidrIp": cidr, "Description": "Sparkify: Redshift clients"}],
                }])
            except Exception as exc:
                if error_code(exc) != "InvalidPermission.Duplicate":
                    raise
        if outcome == "reused":
            outcome = "updated"
    ingress = f"ingress tcp/{settings.port} from {cidr} only" if cidr is not None else "no ingress rule"
    return group_id, ResourceOutcome("security group", name, outcome, f"{group_id}, {ingress}")


def find_security_groups(ec2, settings: DwhSettings, vpc_id: str | None) -> list[dict]:
    """The groups named like ours in `vpc_id` (the VPC in use; None: no VPC, so none)."""
    if vpc_id is None:
        return []
    filters = [{"Name": "group-name", "Values": [settings.security_group_name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    with aws_call("reading", f"security group '{settings.security_group_name}'", settings.region):
        return ec2.describe_security_groups(Filters=filters)["SecurityGroups"]


def delete_security_group(ec2, settings: DwhSettings, group: dict, timing: Timing) -> ResourceOutcome:
    group_id, name = group["GroupId"], group["GroupName"]
    resource = f"security group '{name}' ({group_id})"
    attempt = 0
    while True:
        attempt += 1
        in_use = False
        with aws_call("deleting", resource, settings.region):
            try:
                ec2.delete_security_group(GroupId=group_id)
            except Exception as exc:
                if error_code(exc) == "InvalidGroup.NotFound":
                    return ResourceOutcome("security group", name, "not found", f"{group_id} already gone")
                if error_code(exc) != "DependencyViolation":
                    raise
                in_use = True
        if not in_use:
            break
        if attempt >= timing.sg_retry_attempts:
            raise ProvisioningError(f"{resource} is still in use after {attempt} attempts: another cluster, workgroup "
                                    f"or network interface uses it; run delete_cluster.py again later, or delete it "
                                    f"in the EC2 console")
        log.info("%s is still in use (the warehouse's network interfaces take a few minutes to go): retrying in "
                 "%.0f s (attempt %d of %d)", resource, timing.sg_retry_delay, attempt, timing.sg_retry_attempts)
        timing.sleep(timing.sg_retry_delay)
    log.info("%s deleted", resource)
    return ResourceOutcome("security group", name, "deleted", group_id)
