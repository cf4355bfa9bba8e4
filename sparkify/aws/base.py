"""What the provisioning modules share: the boto3 session and clients, timings, the managed tag, the outcome of
each resource's step (a report line), and a bounded wait with progress lines.

boto3 clients are created inside functions, from a boto3.Session built from `[AWS] KEY/SECRET` when given,
else from boto3's default chain (profile, environment, instance role); boto3 itself honours
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, which is how the scripts run against a local moto server
(and a local Redshift Serverless stand-in in the tests).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sparkify.aws.errors import aws_error_message
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

log = logging.getLogger("sparkify.aws")

TAG_KEY = "sparkify:managed"
TAG_VALUE = "true"


def make_session(settings: DwhSettings):
    """A boto3 Session: explicit [AWS] KEY/SECRET when given, else boto3's default credential chain."""
    import boto3
    import botocore.exceptions as bx

    kwargs = {"region_name": settings.region}
    if settings.aws_key and settings.aws_secret:
        kwargs.update(aws_access_key_id=settings.aws_key, aws_secret_access_key=settings.aws_secret)
    try:
        return boto3.Session(**kwargs)
    except bx.BotoCoreError as exc:
        raise ProvisioningError(aws_error_message(exc, action="starting", resource="the AWS session",
                                                  region=settings.region)) from None


def client(session, service: str):
    """A client with bounded retries and timeouts (boto3 clients are made here, never at import)."""
    from botocore.config import Config

    return session.client(service, config=Config(retries={"mode": "standard"},
                                                 connect_timeout=10, read_timeout=60))


@dataclass(frozen=True)
class Timing:
    """How long to wait and retry. The defaults suit real AWS; tests pass zeros."""

    delay: float = 15  # seconds between two status reads while waiting
    max_attempts: int = 80  # bound of a wait: 80 x 15 s = 20 minutes
    progress_every: float = 30  # seconds between two progress lines while waiting
    retry_delay: float = 15  # delete_cluster while the cluster is in a transitional state
    retry_attempts: int = 40  # 40 x 15 s = 10 minutes
    sg_retry_delay: float = 10  # delete_security_group while the cluster's network interfaces go away
    sg_retry_attempts: int = 30  # 30 x 10 s = 5 minutes
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    @property
    def reads_per_progress_line(self) -> int:
        return max(1, math.ceil(self.progress_every / self.delay)) if self.delay > 0 else 1


@dataclass
class ResourceOutcome:
    """What create_cluster.py or delete_cluster.py did to one resource: one line of its report."""

    kind: str  # "IAM role", "security group", "parameter group", "Redshift cluster", "namespace", "workgroup", ...
    name: str
    outcome: str  # "created", "reused", "updated", "deleted", "not found", "left in place", "unchanged"
    detail: str = ""

    def line(self) -> str:
        return f"{self.outcome:<14} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")


def has_tag(tags: list[Mapping] | None) -> bool:
    """Whether a resource's tags (EC2/IAM/Redshift `Key`/`Value`, or Redshift Serverless `key`/`value`) mark
    it as created by sparkify."""
    return any((t.get("Key", t.get("key")), t.get("Value", t.get("value"))) == (TAG_KEY, TAG_VALUE)
               for t in tags or [])


def tags() -> list[dict]:
    return [{"Key": TAG_KEY, "Value": TAG_VALUE}]


def serverless_tags() -> list[dict]:
    """The tag in Redshift Serverless's spelling (lower-case members)."""
    return [{"key": TAG_KEY, "value": TAG_VALUE}]


def wait_until(read_status: Callable[[], str | None], *, goal: str, resource: str, timing: Timing,
               transitional: set[str], what: str = "available") -> None:
    """Poll `read_status()` until it returns `goal` (None means: the resource is gone), logging progress.

    Bounded by timing.max_attempts reads; a status outside `transitional` and `goal` stops the wait with a
    ProvisioningError, as does running out of attempts (the message says to run the script again)."""
    started = time.monotonic()
    last_line = started
    for attempt in range(1, max(1, timing.max_attempts) + 1):
        status = read_status()
        if status == goal:
            log.info("%s is %s (after %.0f s)", resource, what, time.monotonic() - started)
            return
        shown = "gone" if status is None else status
        if status is None or status not in transitional:
            raise ProvisioningError(f"{resource} became {shown} while waiting until it is {what}: check the Redshift "
                                    f"console, then run the script again")
        now = time.monotonic()
        if attempt % timing.reads_per_progress_line == 0 or now - last_line >= timing.progress_every:
            last_line = now
            log.info("%s is %s; waiting until it is %s (%.0f s so far)", resource, shown, what, now - started)
        if attempt < timing.max_attempts:
            timing.sleep(timing.delay)
    waited = time.monotonic() - started
    raise ProvisioningError(f"{resource} is still {shown} after {waited / 60:.0f} min of waiting until it is {what}: "
                            f"run the script again to keep waiting (check the Redshift console if it stays {shown})")
