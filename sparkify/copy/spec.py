"""What one COPY loads, with which options: the data shared by the Redshift renderer and the emulator.

`CopyTemplate` constants live in sql_queries.py (no config there); `CopyTemplate.bind(config)`
turns one into a `CopySpec` at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify.config import Config


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


@dataclass(frozen=True)
class CopyTemplate:
    """A COPY as declared in sql_queries.py: which [S3] settings feed it, and its fixed options."""

    table: str
    source_key: str  # attribute of S3Settings: 'log_data' or 'song_data'
    json_key: str | None = None  # attribute of S3Settings holding a JSONPaths location; None: 'auto'
    timeformat: str | None = None

    def bind(self, config: Config) -> CopySpec:
        json_value = getattr(config.s3, self.json_key) if self.json_key else "auto"
        return CopySpec(
            table=self.table,
            source=getattr(config.s3, self.source_key),
            json=json_value,
            timeformat=self.timeformat,
            region=config.s3.region,
            iam_role=config.iam_role_arn,
            endpoint_url=config.s3.endpoint_url,
            maxerror=config.maxerror,
        )
