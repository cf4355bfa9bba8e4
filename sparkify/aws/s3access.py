"""What the warehouse's IAM role may read on S3: the locations [S3] names, as COPY reads them, and nothing else.

COPY needs LIST on the bucket and GET on the objects ("to load data from Amazon S3, COPY must have LIST access
to the bucket and GET access for the bucket objects": Redshift Database Developer Guide, "Permissions to access
other AWS Resources", https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-access-permissions.html).
COPY's FROM value is a key prefix ('s3://udacity-dend/log_data' loads every key that starts with 'log_data'), so
each prefix is granted as `<prefix>*`: s3:ListBucket on its bucket, limited by an s3:prefix condition, and
s3:GetObject on the keys under it. The JSONPaths file is granted alone; MANIFEST_PREFIX (where etl.py writes a
run's COPY manifests, which COPY then reads with the role) like a source prefix. No `*` resource, no other bucket.

create_cluster.py reads these from the configuration file (`read_locations`): a config without them is refused
before anything is created, as the role could not be scoped; the preflight builds them from the loaded Config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sparkify.awsnames import is_s3, split_s3
from sparkify.config import S3Settings, get_value, read_config_file
from sparkify.errors import ConfigError

POLICY_NAME = "sparkify-s3-read"  # the role's inline policy (it lives and dies with the role)
SOURCE_KEYS = ("LOG_DATA", "SONG_DATA")


@dataclass(frozen=True)
class S3Locations:
    """The s3:// locations of [S3] that COPY reads with the role."""

    log_data: str
    song_data: str
    log_jsonpath: str | None = None  # None: 'auto' (no JSONPaths file)
    manifest_prefix: str | None = None

    @classmethod
    def from_settings(cls, s3: S3Settings) -> S3Locations:
        return cls(log_data=s3.log_data, song_data=s3.song_data,
                   log_jsonpath=s3.log_jsonpath if is_s3(s3.log_jsonpath) else None,
                   manifest_prefix=s3.manifest_prefix)


@dataclass(frozen=True)
class Grant:
    """One location the role may read: every key starting with `key` (a prefix), or the one object `key`."""

    source: str  # the [S3] key it comes from: LOG_DATA, SONG_DATA, LOG_JSONPATH, MANIFEST_PREFIX
    bucket: str
    key: str
    exact: bool = False  # one object (the JSONPaths file), not a prefix

    @property
    def object_arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}" + ("" if self.exact else "*")

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}" + ("" if self.exact else "*")


def read_locations(path: Path | str) -> S3Locations:
    """[S3] LOG_DATA, SONG_DATA, LOG_JSONPATH and MANIFEST_PREFIX of the configuration file, for create_cluster.py.

    ConfigError (every problem, with the fix) when LOG_DATA or SONG_DATA is missing, or a location is not an
    s3:// URI: the role is scoped to these, so without them there is nothing to grant."""
    cp = read_config_file(Path(path))
    problems = []
    values: dict[str, str | None] = {}
    for key in (*SOURCE_KEYS, "LOG_JSONPATH", "MANIFEST_PREFIX"):
        value = get_value(cp, "S3", key)
        if key == "LOG_JSONPATH" and value is not None and value.lower() in ("auto", "auto ignorecase"):
            value = None
        if value is not None and not _is_bucket_uri(value):
            problems.append(f"[S3] {key} must be an s3://bucket/prefix URI for the IAM role, not {value!r}")
        values[key] = value
    missing = [key for key in SOURCE_KEYS if values[key] is None]
    if missing:
        problems.insert(0, f"[S3] {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required to create "
                           f"the warehouse: the IAM role may read only the locations [S3] names (copy the [S3] "
                           f"section of dwh.cfg.example for the udacity-dend data, or name your own bucket)")
    if problems:
        raise ConfigError(problems, path=str(path))
    return S3Locations(log_data=values["LOG_DATA"] or "", song_data=values["SONG_DATA"] or "",
                       log_jsonpath=values["LOG_JSONPATH"], manifest_prefix=values["MANIFEST_PREFIX"])


def _is_bucket_uri(value: str) -> bool:
    if not is_s3(value):
        return False
    try:
        split_s3(value)
    except ValueError:
        return False
    return True


def grants(locations: S3Locations) -> list[Grant]:
    """Every location the role may read, in the order of [S3], without duplicates."""
    out = [Grant(key, *split_s3(url)) for key, url in (("LOG_DATA", locations.log_data),
                                                       ("SONG_DATA", locations.song_data))]
    if locations.log_jsonpath:
        out.append(Grant("LOG_JSONPATH", *split_s3(locations.log_jsonpath), exact=True))
    if locations.manifest_prefix:
        out.append(Grant("MANIFEST_PREFIX", *split_s3(locations.manifest_prefix)))
    seen: set[tuple[str, str, bool]] = set()
    return [g for g in out if (g.bucket, g.key, g.exact) not in seen and not seen.add((g.bucket, g.key, g.exact))]


def role_policy(locations: S3Locations) -> dict:
    """The role's S3 policy: ListBucket on each bucket for the configured prefixes, GetObject on them.

    A prefix that is a whole bucket (s3://bucket) lists the bucket without an s3:prefix condition."""
    statements = []
    listed: dict[str, list[str]] = {}
    for g in grants(locations):
        if not g.exact:
            listed.setdefault(g.bucket, []).append(g.key)
    for i, (bucket, prefixes) in enumerate(listed.items(), start=1):
        st: dict = {"Sid": f"ListConfiguredPrefixes{i}", "Effect": "Allow", "Action": "s3:ListBucket",
                    "Resource": f"arn:aws:s3:::{bucket}"}
        if all(prefixes):  # s3:prefix is the Prefix of the ListObjects request COPY sends
            st["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in dict.fromkeys(prefixes)]}}
        statements.append(st)
    statements.append({"Sid": "ReadConfiguredObjects", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": [g.object_arn for g in grants(locations)]})
    return {"Version": "2012-10-17", "Statement": statements}


def describe(locations: S3Locations) -> str:
    """One line for the report: what the role may read."""
    return "S3 read-only on " + ", ".join(g.url for g in grants(locations))
