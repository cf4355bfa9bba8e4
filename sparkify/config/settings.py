"""The validated settings the scripts use: immutable, secrets kept out of repr(), and the built-in default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sparkify.config.keys import default

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_HOME = PROJECT_DIR / ".sparkify"
# The built-in default's database: its own, so that the sample never merges into the warehouse of a dwh.cfg
# that uses the same data directory (DATA_DIR's default) and DB_NAME's default, `sparkify`.
SAMPLE_DB_NAME = "sparkify_sample"
DEFAULT_MAXERROR = default("ETL", "MAXERROR")
DEFAULT_LOCK_TIMEOUT = default("ETL", "LOCK_TIMEOUT")
_CLUSTER_ID = default("DWH", "DWH_CLUSTER_IDENTIFIER")


def role_name_for(cluster_identifier: str) -> str:
    """The default DWH_IAM_ROLE_NAME."""
    return f"{cluster_identifier}-s3-read"


@dataclass(frozen=True)
class ClusterSettings:
    host: str
    db_name: str
    db_user: str
    db_port: int
    db_password: str = field(default="", repr=False)
    auth: str | None = None  # "password" | "iam" | None: iam when no password is set and AWS credentials exist
    ssl_mode: str = "verify-full"  # "verify-full" | "disable" (sparkify.tls)
    ssl_root_cert: Path | None = None  # the CA bundle; None: the system trust store
    transport: str = "psycopg2"  # "psycopg2" | "data-api" (sparkify.dataapi: no connection to host:db_port)
    secret_arn: str | None = None  # data-api: a Secrets Manager secret instead of temporary credentials

    @property
    def data_api(self) -> bool:
        return self.transport == "data-api"

    def dsn_kwargs(self) -> dict:
        """Keyword arguments for psycopg2.connect (holds the password: never log this)."""
        return {
            "host": self.host,
            "dbname": self.db_name,
            "user": self.db_user,
            "password": self.db_password,
            "port": self.db_port,
        }


@dataclass(frozen=True)
class S3Settings:
    log_data: str
    log_jsonpath: str
    song_data: str
    region: str | None = None
    endpoint_url: str | None = None
    # Where etl.py writes each run's COPY manifests (an s3:// prefix); unset: on Redshift, a run with new
    # objects COPYs whole prefixes (sparkify.ledger).
    manifest_prefix: str | None = None


@dataclass(frozen=True)
class DwhSettings:
    """The validated [DWH] (and optional [AWS]) settings of create_cluster.py / delete_cluster.py.

    Secrets are kept out of repr(). `given` names the [DWH] keys the file sets (the others are defaults)."""

    mode: str = default("DWH", "DWH_MODE")
    cluster_identifier: str = _CLUSTER_ID
    cluster_type: str = "single-node"
    num_nodes: int = 1
    node_type: str | None = None  # None: chosen among the region's orderable node types at create time
    iam_role_name: str = role_name_for(_CLUSTER_ID)
    db_name: str = default("DWH", "DWH_DB")
    db_user: str = default("DWH", "DWH_DB_USER")
    port: int = default("DWH", "DWH_PORT")
    region: str = default("DWH", "DWH_REGION")
    allowed_cidr: str | None = None  # None: detect the caller's public IP at create time
    publicly_accessible: bool = default("DWH", "DWH_PUBLICLY_ACCESSIBLE")
    vpc_id: str | None = None  # None: the region's default VPC
    subnet_group: str | None = None  # cluster mode, with vpc_id
    subnet_ids: tuple[str, ...] = ()  # serverless mode, with vpc_id
    kms_key_id: str | None = None  # None: AWS's own key (the data is encrypted either way)
    namespace: str = _CLUSTER_ID  # serverless; default: cluster_identifier
    workgroup: str = _CLUSTER_ID  # serverless; default: cluster_identifier
    base_capacity: int = default("DWH", "DWH_BASE_CAPACITY")
    usage_limit: int = default("DWH", "DWH_USAGE_LIMIT")
    usage_limit_action: str = default("DWH", "DWH_USAGE_LIMIT_ACTION")
    managed_password: bool = default("DWH", "DWH_MANAGED_PASSWORD")  # AWS Secrets Manager keeps the password
    db_password: str = field(default="", repr=False)
    aws_key: str | None = field(default=None, repr=False)
    aws_secret: str | None = field(default=None, repr=False)
    given: frozenset[str] = frozenset()

    @property
    def security_group_name(self) -> str:
        return f"{self.cluster_identifier}-sg"

    @property
    def serverless(self) -> bool:
        return self.mode == "serverless"


@dataclass(frozen=True)
class Config:
    engine: str
    s3: S3Settings
    path: Path | None = None  # None: the built-in default
    data_dir: Path = DEFAULT_HOME / "pgdata"
    local_db_name: str = default("WAREHOUSE", "DB_NAME")
    cluster: ClusterSettings | None = None
    iam_role_arn: str | None = None
    maxerror: int = DEFAULT_MAXERROR
    lock_timeout: int = DEFAULT_LOCK_TIMEOUT
    sample_dir: Path | None = None  # set when the sources are the generated sample (built-in default)
    dwh: DwhSettings = DwhSettings()
    file_secrets: tuple[str, ...] = field(default=(), repr=False)  # values of the file's secret keys

    @property
    def source_name(self) -> str:
        return str(self.path) if self.path else "built-in local default"


def default_config(home: Path = DEFAULT_HOME) -> Config:
    """The built-in default: embedded PostgreSQL and the generated sample data, all under `home`."""
    sample = home / "sample"
    return Config(
        engine="local",
        path=None,
        data_dir=home / "pgdata",
        local_db_name=SAMPLE_DB_NAME,
        s3=S3Settings(
            log_data=str(sample / "log_data"),
            log_jsonpath=str(sample / "log_json_path.json"),
            song_data=str(sample / "song_data"),
        ),
        sample_dir=sample,
    )
