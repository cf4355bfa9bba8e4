"""What one COPY loads, with which options: the data shared by the Redshift renderer and the emulator.

The COPY statements are declared in sql_queries (sql_queries.Copy: which [S3] settings feed them, their fixed
options), which reads no configuration; `bind(template, config)` turns one into a `CopySpec` at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify.awsnames import is_s3
from sparkify.config import Config
from sql_queries import Copy


@dataclass(frozen=True)
class CopySpec:
    """One COPY <table> FROM <source> ... FORMAT AS JSON ..., with Redshift's option semantics."""

    table: str
    source: str  # s3://bucket/prefix, a local path prefix, or (manifest=True) the manifest's location
    json: str = "auto"  # 'auto' | 'auto ignorecase' | location (s3:// or local) of a JSONPaths file
    timeformat: str | None = None  # e.g. 'epochmillisecs'
    region: str | None = None
    iam_role: str | None = None
    endpoint_url: str | None = None  # S3-compatible store (emulator only)
    manifest: bool = False
    # Emulator only: load exactly these files (the run's new objects, sparkify.ledger) instead of listing
    # `source`, which then only names the prefix in messages. Redshift gets a manifest instead.
    files: tuple | None = None  # of objects with a SourceFile's url, key and size (sparkify.ledger.ListedObject)
    maxerror: int = 0
    truncatecolumns: bool = True
    blanksasnull: bool = True
    emptyasnull: bool = True
    acceptinvchars: str | None = None  # replacement character, e.g. '?'; None: invalid UTF-8 is an error
    compupdate: bool = False
    statupdate: bool = False
    noload: bool = False  # NOLOAD: read and check every record, load none (etl.py --preflight)
    setting: str = ""  # where `source` comes from in the configuration ("[S3] LOG_DATA"), for messages


def bind(template: Copy, config: Config) -> CopySpec:
    """The COPY `template` (a statement of sql_queries) loads under `config`: its [S3] settings, the role, MAXERROR."""
    json_value = getattr(config.s3, template.json_key) if template.json_key else "auto"
    return CopySpec(
        table=template.table,
        source=getattr(config.s3, template.source_key),
        json=json_value,
        timeformat=template.timeformat,
        region=config.s3.region,
        iam_role=config.iam_role_arn,
        endpoint_url=config.s3.endpoint_url,
        maxerror=config.maxerror,
        noload=template.noload,
        setting=setting_of(template),
    )


def setting_of(template: Copy) -> str:
    """The configuration key a COPY's source comes from: "[S3] LOG_DATA", "[S3] SONG_DATA"."""
    return f"[S3] {template.source_key.upper()}"


def prefix_not_found(source: str, setting: str = "", gone: str = "") -> str:
    """A FROM that matches nothing: Redshift's own words (the emulation keeps them for a local path too), then what
    was looked for and the key to check (`gone`: what the ledger says was there before)."""
    where = ("a key prefix: no object's key starts with it" if is_s3(source)
             else "a local path, read as a prefix: no file or directory's path starts with it")
    return (f"the specified S3 prefix '{source}' does not exist{gone} ({where}; check "
            f"{setting or '[S3] in the configuration'})")
