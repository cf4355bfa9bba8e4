"""The preflight's S3 checks, with the caller's AWS credentials (what COPY will read, and where etl.py writes).

* s3.region: each source bucket's region (s3:GetBucketLocation, else the x-amz-bucket-region header of
  HeadBucket) equals [S3] REGION; when REGION is not set, equals the cluster's region (COPY assumes the
  cluster's region unless told otherwise: the most common COPY failure).
* s3.log_data, s3.song_data: the prefixes hold at least one object (s3:ListBucket, one key).
* s3.log_jsonpath: the object exists, is a JSONPaths file Redshift accepts (sparkify.copy.jsonpaths) and has
  exactly as many paths as staging_events has columns.
* s3.manifest_region (MANIFEST_PREFIX set): its bucket is in [S3] REGION, else the cluster's region. AWS's COPY
  page: with REGION, "all resources, including a manifest file or multiple Amazon S3 buckets, must be located
  in the specified Region" (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html).
* s3.manifest_write (MANIFEST_PREFIX set): your credentials may put an object there, proven without writing
  one: a PutObject whose Content-MD5 is not the body's. S3 authorizes the request first (AccessDenied: you may
  not write there), then refuses the body as corrupt (BadDigest) and stores nothing ("Amazon S3 checks the
  object against the provided MD5 value and, if they do not match, returns an error": PutObject, Amazon S3 API
  Reference). An endpoint that stores it anyway (not S3) gets the object deleted again and a warning.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

from sparkify.awsnames import split_s3
from sparkify.config import Config
from sparkify.preflight.clients import AwsClients, aws_errors, error_code
from sparkify.preflight.database import staging_events_column_count
from sparkify.preflight.findings import Finding, fatal, ok, warn

PROBE_NAME = ".sparkify-preflight-write-check"  # never stored: the request is refused as corrupt


def location_to_region(constraint: str | None) -> str:
    """GetBucketLocation's LocationConstraint -> region (empty means us-east-1, 'EU' eu-west-1)."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def region_finding(bucket: str, bucket_region: str, configured: str | None, cluster_region: str | None) -> Finding:
    """Is COPY told the bucket's region? REGION must equal it; without REGION, the cluster's region must."""
    check = "s3.region"
    if configured:
        if configured == bucket_region:
            return ok(check, f"bucket {bucket} is in {bucket_region} = [S3] REGION")
        return fatal(check, f"bucket {bucket} is in {bucket_region} but [S3] REGION = {configured}: "
                            f"set REGION = {bucket_region}")
    if cluster_region is None:
        return warn(check, f"bucket {bucket} is in {bucket_region}, [S3] REGION is not set and the cluster's region "
                           f"is unknown: set REGION = {bucket_region} to be sure")
    if cluster_region == bucket_region:
        return ok(check, f"bucket {bucket} is in {bucket_region}, like the cluster ([S3] REGION not needed)")
    return fatal(check, f"bucket {bucket} is in {bucket_region}, the cluster in {cluster_region}, and [S3] REGION "
                        f"is not set: set REGION = {bucket_region}")


def jsonpaths_finding(location: str, data: bytes, expected: int) -> Finding:
    """Is `data` a JSONPaths file Redshift accepts, with one path per staging_events column?"""
    from sparkify.copy.jsonpaths import JsonPathsError, parse_jsonpaths_file

    check = "s3.log_jsonpath"
    try:
        paths = parse_jsonpaths_file(data, location)
    except JsonPathsError as exc:
        return fatal(check, f"{exc}: check [S3] LOG_JSONPATH")
    if paths is None:
        return fatal(check, f'{location} has no "jsonpaths" member, so COPY would map JSON keys to columns by name '
                            "('auto') and leave most staging_events columns empty: check [S3] LOG_JSONPATH")
    if len(paths) != expected:
        return fatal(check, f"{location} has {len(paths)} paths but staging_events has {expected} columns "
                            "(COPY maps paths to columns by position): check [S3] LOG_JSONPATH")
    return ok(check, f"{location} has {len(paths)} JSONPaths = the {expected} columns of staging_events")


def bucket_region(aws: AwsClients, bucket: str) -> tuple[str | None, str | None]:
    """(region, None) or (None, why not)."""
    ClientError, BotoCoreError = aws_errors()
    s3 = aws.client("s3", "us-east-1")
    try:
        return location_to_region(s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")), None
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return None, "NoSuchBucket"
        first = error_code(exc)
    except BotoCoreError as exc:
        return None, str(exc)
    try:  # GetBucketLocation is for the bucket's owner; HeadBucket's answer names the region even when denied
        headers = s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as exc:
        headers = (exc.response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    except BotoCoreError:
        headers = {}
    region = headers.get("x-amz-bucket-region")
    return (region, None) if region else (None, first)


def _list_one(aws: AwsClients, region: str | None, bucket: str, prefix: str) -> tuple[str | None, str | None]:
    """(first key, None), (None, None) when empty, or (None, error code)."""
    ClientError, BotoCoreError = aws_errors()
    try:
        page = aws.client("s3", region).list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except ClientError as exc:
        return None, error_code(exc)
    except BotoCoreError as exc:
        return None, str(exc)
    contents = page.get("Contents") or []
    return (contents[0]["Key"], None) if contents else (None, None)


def check_prefix(aws: AwsClients, regions: Mapping[str, str | None], key: str, url: str) -> tuple[Finding, str | None]:
    """s3.<key>: the prefix holds objects. Returns the finding and a key found under the prefix."""
    check = f"s3.{key.lower()}"
    bucket, prefix = split_s3(url)
    first, error = _list_one(aws, regions.get(bucket), bucket, prefix)
    if first:
        return ok(check, f"{url} holds objects (e.g. {first})"), first
    if error is None:
        return fatal(check, f"no object under {url}: check [S3] {key}"), None
    if error == "NoSuchBucket":
        return fatal(check, f"bucket {bucket} does not exist: check [S3] {key}"), None
    return warn(check, f"cannot list {url} with your AWS credentials ({error}): not checked"), None


def check_jsonpath(aws: AwsClients, regions: Mapping[str, str | None], url: str) -> Finding:
    ClientError, BotoCoreError = aws_errors()
    bucket, key = split_s3(url)
    try:
        data = aws.client("s3", regions.get(bucket)).get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = error_code(exc)
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            return fatal("s3.log_jsonpath", f"{url} does not exist: check [S3] LOG_JSONPATH")
        return warn("s3.log_jsonpath", f"cannot read {url} with your AWS credentials ({code}): not checked")
    except BotoCoreError as exc:
        return warn("s3.log_jsonpath", f"cannot read {url} ({exc}): not checked")
    return jsonpaths_finding(url, data, staging_events_column_count())


def manifest_region_finding(bucket: str, bucket_region: str, configured: str | None,
                            cluster_region: str | None) -> Finding:
    """Is the MANIFEST_PREFIX bucket where COPY will look for the manifest: [S3] REGION, else the cluster's?"""
    check = "s3.manifest_region"
    where = f"MANIFEST_PREFIX bucket {bucket} is in {bucket_region}"
    if configured:
        if configured == bucket_region:
            return ok(check, f"{where} = [S3] REGION")
        return fatal(check, f"{where} but COPY reads with REGION {configured}, where all resources, including a "
                            f"manifest file, must be: choose a MANIFEST_PREFIX in a bucket in {configured}")
    if cluster_region is None:
        return warn(check, f"{where}, [S3] REGION is not set and the cluster's region is unknown: set REGION "
                           f"to be sure")
    if cluster_region == bucket_region:
        return ok(check, f"{where}, like the cluster")
    return fatal(check, f"{where}, the cluster in {cluster_region}, and [S3] REGION is not set: choose a "
                        f"MANIFEST_PREFIX in a bucket in {cluster_region}")


def check_manifest_write(aws: AwsClients, regions: Mapping[str, str | None], url: str) -> Finding:
    """s3.manifest_write: may your credentials put etl.py's manifests under `url`? Nothing is written."""
    ClientError, BotoCoreError = aws_errors()
    check = "s3.manifest_write"
    bucket, prefix = split_s3(url)
    key = f"{prefix.rstrip('/')}/{PROBE_NAME}" if prefix.rstrip("/") else PROBE_NAME
    s3 = aws.client("s3", regions.get(bucket))
    not_the_body = base64.b64encode(hashlib.md5(b"not the body").digest()).decode()  # Content-MD5 is an MD5 by definition
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"", ContentMD5=not_the_body)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("BadDigest", "InvalidDigest"):
            return ok(check, f"your AWS credentials may write under {url} (etl.py's COPY manifests; checked "
                             f"without writing)")
        if code in ("AccessDenied", "AllAccessDisabled", "403"):
            return fatal(check, f"your AWS credentials may not s3:PutObject on arn:aws:s3:::{bucket}/{key}: etl.py "
                                f"writes its COPY manifests under {url}; allow it, or choose another MANIFEST_PREFIX")
        if code == "NoSuchBucket":
            return fatal(check, f"bucket {bucket} does not exist: check [S3] MANIFEST_PREFIX")
        return warn(check, f"cannot check that your AWS credentials may write under {url} ({code}): not checked")
    except BotoCoreError as exc:
        return warn(check, f"cannot check that your AWS credentials may write under {url} ({exc}): not checked")
    try:  # stored although the digest is wrong: not S3's behaviour; leave nothing behind
        s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError):
        return warn(check, f"the endpoint stored s3://{bucket}/{key} although its Content-MD5 was wrong (not "
                           f"Amazon S3?) and it could not be deleted: delete it")
    return warn(check, f"your AWS credentials may write under {url}, but the endpoint accepted a body whose "
                       f"Content-MD5 was wrong (not Amazon S3?); the test object was deleted")


def check_s3(aws: AwsClients, config: Config, cluster_region: str | None) -> tuple[list[Finding], dict]:
    """Every S3 finding, and a key found under each source prefix (for the role's check): (findings, keys)."""
    urls = {"LOG_DATA": config.s3.log_data, "SONG_DATA": config.s3.song_data, "LOG_JSONPATH": config.s3.log_jsonpath}
    buckets = list(dict.fromkeys(split_s3(u)[0] for u in urls.values() if u.startswith("s3://")))
    manifest = config.s3.manifest_prefix
    manifest_bucket = split_s3(manifest)[0] if manifest else None
    findings: list[Finding] = []
    regions: dict[str, str | None] = {}
    for bucket in list(dict.fromkeys([*buckets, *([manifest_bucket] if manifest_bucket else [])])):
        region, error = bucket_region(aws, bucket)
        regions[bucket] = region
        if bucket not in buckets:
            continue
        if region is not None:
            findings.append(region_finding(bucket, region, config.s3.region, cluster_region))
        elif error == "NoSuchBucket":
            findings.append(fatal("s3.region", f"bucket {bucket} does not exist: check [S3]"))
        else:
            findings.append(warn("s3.region", f"cannot find the region of bucket {bucket} ({error}): not checked"))

    sample_keys: dict[str, str | None] = {}
    for key in ("LOG_DATA", "SONG_DATA"):
        finding, sample_keys[key] = check_prefix(aws, regions, key, urls[key])
        findings.append(finding)
    if urls["LOG_JSONPATH"].startswith("s3://"):
        findings.append(check_jsonpath(aws, regions, urls["LOG_JSONPATH"]))
    if manifest_bucket:
        region = regions[manifest_bucket]
        findings.append(manifest_region_finding(manifest_bucket, region, config.s3.region, cluster_region)
                        if region else warn("s3.manifest_region", f"cannot find the region of bucket "
                                                                  f"{manifest_bucket}: not checked"))
        findings.append(check_manifest_write(aws, regions, manifest))
    return findings, sample_keys
