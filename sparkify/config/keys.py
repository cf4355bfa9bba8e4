"""Every key of dwh.cfg, declared once: its section, kind of value, default, meaning, and when it is required.

This table drives the parsing (sparkify.config.reader reads no key it does not declare), the unknown-key
hints, the secrets masked in the dry run, and the generated reference: dwh.cfg.example and the key tables
of docs/configuration.md (sparkify.config.reference; tools/config_reference.py writes them and a test
checks they agree). Adding a key is one entry here plus its use in a rule (sparkify.config.rules or .dwh).

`doc` is Markdown (backticks for code); the example file shows it as comments, backticks removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sparkify.awsnames import is_role_arn, is_s3_uri
from sparkify.config.kinds import Choice, Cidr, Flag, Integer, Kind, Port, Region, Secret, SubnetIds, Text

PASSWORD_ENV = "SPARKIFY_DB_PASSWORD"
ENGINES = ("local", "postgres", "redshift")
AUTH_MODES = ("password", "iam")
TRANSPORTS = ("psycopg2", "data-api")
SSL_MODES = ("verify-full", "disable")
DWH_MODES = ("cluster", "serverless")
USAGE_LIMIT_ACTIONS = ("deactivate", "emit-metric", "log")
# Redshift Serverless accepts these workgroup ports only (CreateWorkgroup's documentation).
SERVERLESS_PORTS = (range(5431, 5456), range(8191, 8216))


def valid_base_capacity(rpus: int) -> bool:
    """AWS's current documentation: 4 RPUs, or 8 to 512 in steps of 8, or up to 1,024 in steps of 32."""
    return rpus == 4 or (8 <= rpus <= 512 and rpus % 8 == 0) or (512 < rpus <= 1024 and rpus % 32 == 0)


@dataclass(frozen=True)
class Section:
    name: str
    doc: str  # what the section is for (Markdown)
    read_by: str  # the scripts that read it


@dataclass(frozen=True)
class Key:
    section: str
    name: str
    kind: Kind
    doc: str  # what it means (Markdown)
    default: Any = None  # the value when unset; None: no value, or one a rule derives (then `default_doc`)
    default_doc: str | None = None  # the default as documented, when `default` alone does not say it
    required: str | None = None  # when it is required (Markdown), e.g. "for `ENGINE = redshift`"
    example: str | None = None  # the value dwh.cfg.example shows (default: `default`)
    in_example: bool = False  # set in dwh.cfg.example (else shown commented out)

    @property
    def secret(self) -> bool:
        """Never printed; masked in the dry run's output."""
        return isinstance(self.kind, Secret)

    @property
    def example_value(self) -> str:
        if self.example is not None:
            return self.example
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return "" if self.default is None else str(self.default)


_LOCAL_ONLY = "`local` only: "
_SERVERLESS = "serverless: "
_CLUSTER = "cluster: "

SECTIONS: tuple[Section, ...] = (
    Section("WAREHOUSE", "Which warehouse the scripts use.",
            "create_tables.py, etl.py, analytics.py, stop_local.py"),
    Section("CLUSTER", "The server or cluster of `ENGINE = postgres` or `redshift`. `create_cluster.py` writes "
            "`HOST`, `DB_NAME`, `DB_USER` and `DB_PORT`, keeping every other line and comment of the file.",
            "create_tables.py, etl.py, analytics.py"),
    Section("IAM_ROLE", "The role Redshift assumes to read S3 (`ENGINE = redshift` only); `create_cluster.py` "
            "writes it.", "create_tables.py, etl.py, analytics.py"),
    Section("S3", "Where the input data is: key prefixes, exactly as COPY reads them. For `ENGINE = local` or "
            "`postgres` they may also be local paths (a path is a prefix too: every file whose path starts with "
            "it is loaded; a relative path is relative to this file).",
            "create_tables.py, etl.py, analytics.py; create_cluster.py reads `LOG_DATA`, `SONG_DATA`, "
            "`LOG_JSONPATH` and `MANIFEST_PREFIX`, the only locations its IAM role may read"),
    Section("ETL", "How `etl.py` loads.", "etl.py"),
    Section("DWH", "What `create_cluster.py` creates and `delete_cluster.py` deletes: a provisioned cluster or "
            "Redshift Serverless. Every key has a default except the password. A key these two scripts do not "
            "know stops them: a misspelt key would create or delete something else than what was meant.",
            "create_cluster.py, delete_cluster.py; the other scripts validate it, and read the password and "
            "the cluster's name and region from it"),
    Section("AWS", "Optional AWS credentials. Leave them out to use your AWS profile or environment (`aws "
            "configure`, `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`...), which is recommended.",
            "create_cluster.py, delete_cluster.py, and the other scripts with `AUTH = iam`"),
)

_CLUSTER_ID = r"[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)"
_KMS_KEY = r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/-]+|[0-9a-f-]{36}|alias/[\w/-]+"
_REQUIRED_CLUSTER = "for `ENGINE = postgres` or `redshift`"
_SECRET_ARN = r"arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}"

KEYS: tuple[Key, ...] = (
    # ---------------------------------------------------------------------------------------------- WAREHOUSE
    Key("WAREHOUSE", "ENGINE", Choice(ENGINES), default="local", in_example=True,
        required="when `[CLUSTER] HOST` is set",
        doc="`local`: an embedded PostgreSQL the toolkit starts (data in `DATA_DIR`), COPY emulated. "
            "`postgres`: an existing PostgreSQL server given by `[CLUSTER]`, COPY emulated. "
            "`redshift`: the Redshift cluster or workgroup given by `[CLUSTER]`, real COPY from S3."),
    Key("WAREHOUSE", "DATA_DIR", Text(label="local path"), default=".sparkify/pgdata", in_example=True,
        doc=_LOCAL_ONLY + "where the embedded server keeps its data (a relative path is relative to this file)."),
    Key("WAREHOUSE", "DB_NAME", Text(r"[a-z_][a-z0-9_]*", must="be a lower-case identifier",
                                     label="lower-case identifier"),
        default="sparkify", in_example=True, doc=_LOCAL_ONLY + "the database created in the embedded server."),
    # ---------------------------------------------------------------------------------------------- CLUSTER
    Key("CLUSTER", "HOST", Text(label="host name"),
        required=_REQUIRED_CLUSTER + " (with `TRANSPORT = data-api`: or let `[DWH]` name the warehouse)",
        in_example=True,
        doc="The server's host name, or the cluster's or workgroup's endpoint."),
    Key("CLUSTER", "DB_NAME", Text(), required=_REQUIRED_CLUSTER, example="sparkify", in_example=True,
        doc="The database."),
    Key("CLUSTER", "DB_USER", Text(),
        required=_REQUIRED_CLUSTER + " (with `TRANSPORT = data-api`: for a cluster without `SECRET_ARN`)",
        example="sparkify_admin", in_example=True,
        doc="The database user."),
    Key("CLUSTER", "DB_PASSWORD", Secret(), in_example=True,
        doc=f"The password. The environment variable `{PASSWORD_ENV}` wins over it (prefer it to writing the "
            "password here); if both are empty, `[DWH] DWH_DB_PASSWORD` is used."),
    Key("CLUSTER", "DB_PORT", Port(), required=_REQUIRED_CLUSTER + " with `TRANSPORT = psycopg2`", example="5439",
        in_example=True,
        doc="The port."),
    Key("CLUSTER", "AUTH", Choice(AUTH_MODES), example="iam",
        default_doc="`password` if a password is set, else `iam` when AWS credentials are available",
        doc="`password`: `DB_USER` with the password. `iam` (`ENGINE = redshift` only): temporary credentials "
            "from AWS, fetched right before connecting with your AWS credentials; nothing to store."),
    Key("CLUSTER", "TRANSPORT", Choice(TRANSPORTS), default="psycopg2", example="data-api",
        doc="How statements reach the warehouse. `psycopg2`: a connection to `HOST:DB_PORT` (the warehouse must be "
            "reachable from this machine). `data-api` (`ENGINE = redshift` only): the Redshift Data API over "
            "HTTPS with your AWS credentials, no connection to the warehouse's port and no password; the "
            "cluster or workgroup is the one `HOST` names (its endpoint), else the one `[DWH]` names."),
    Key("CLUSTER", "SECRET_ARN",
        Text(_SECRET_ARN, must="be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:"
                               "secret:<name>)", label="Secrets Manager secret ARN"),
        example="arn:aws:secretsmanager:us-west-2:123456789012:secret:sparkify-dwh-AbCdEf",
        default_doc="temporary credentials for `DB_USER` (a cluster) or your IAM identity (a workgroup)",
        doc="For `TRANSPORT = data-api`: a Secrets Manager secret holding the database user and password, instead "
            "of temporary credentials."),
    Key("CLUSTER", "SSL_ROOT_CERT", Text(label="local path"), example="amazon-trust-ca-bundle.crt",
        default_doc="the system trust store",
        doc="The CA bundle (PEM) that verifies the server's TLS certificate; a relative path is relative to this "
            "file. Redshift's certificates are issued by AWS Certificate Manager and chain to roots the system "
            "store holds; where it lacks them, use the bundle AWS publishes "
            "(`https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt`)."),
    Key("CLUSTER", "SSL_MODE", Choice(SSL_MODES), default="verify-full",
        doc="`verify-full`: TLS, with the server's certificate verified and its host name checked before the "
            "password or any SQL is sent. `disable` (`ENGINE = postgres`, a server on this machine only: `HOST` "
            "`localhost`, `127.0.0.1` or `::1`): no TLS. A Unix-socket `HOST` (`ENGINE = postgres` only) is local "
            "and has no TLS either way."),
    # ---------------------------------------------------------------------------------------------- IAM_ROLE
    Key("IAM_ROLE", "ARN", Text(check=is_role_arn, is_not="an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)",
                                label="IAM role ARN"),
        required="for `ENGINE = redshift`", in_example=True,
        doc="The role Redshift assumes to read S3, `arn:aws:iam::<account>:role/<name>`."),
    # ---------------------------------------------------------------------------------------------- S3
    Key("S3", "LOG_DATA", Text(label="`s3://` URI, or a local path"), required="always",
        example="s3://udacity-dend/log_data", in_example=True, doc="Key prefix of the event logs."),
    Key("S3", "LOG_JSONPATH", Text(label="`s3://` URI, or a local path"), required="always",
        example="s3://udacity-dend/log_json_path.json", in_example=True,
        doc="The JSONPaths file that maps the events' fields to columns (`local`/`postgres`: also `auto` or "
            "`auto ignorecase`, fields matched by name)."),
    Key("S3", "SONG_DATA", Text(label="`s3://` URI, or a local path"), required="always",
        example="s3://udacity-dend/song_data", in_example=True, doc="Key prefix of the song files."),
    Key("S3", "REGION", Region(), example="us-west-2", in_example=True, default_doc="the cluster's region",
        doc="The buckets' region (`udacity-dend` is in `us-west-2`); needed when it differs from the cluster's."),
    Key("S3", "ENDPOINT_URL", Text(r"https?://.*", must="start with http:// or https://", label="http(s) URL"),
        example="http://127.0.0.1:9000", default_doc="AWS's S3",
        doc="`local`/`postgres`: an S3-compatible endpoint for the emulated COPY (e.g. a MinIO server)."),
    Key("S3", "MANIFEST_PREFIX",
        Text(check=is_s3_uri, must="be an s3://bucket/prefix URI (where etl.py may write its COPY manifests)",
             label="`s3://` URI"),
        example="s3://my-bucket/sparkify/manifests/",
        default_doc="on Redshift, a run with new objects COPYs whole prefixes",
        doc="Where `etl.py` writes each run's COPY manifests, so that a daily run on Redshift COPYs only the "
            "objects it has not loaded yet."),
    # ---------------------------------------------------------------------------------------------- ETL
    Key("ETL", "MAXERROR", Integer(0, 100_000), default=0, in_example=True,
        doc="Records COPY may reject per table before the whole load fails (Redshift's `MAXERROR`)."),
    Key("ETL", "LOCK_TIMEOUT", Integer(0, 86_400), default=300, in_example=True,
        doc="Seconds a second `etl.py` run waits for a running one before giving up."),
    # ---------------------------------------------------------------------------------------------- DWH
    Key("DWH", "DWH_MODE", Choice(DWH_MODES), default="cluster",
        doc="`cluster`: a provisioned cluster, billed per node-hour while it exists. `serverless`: Redshift "
            "Serverless (a namespace and a workgroup), billed per RPU-hour while queries run."),
    Key("DWH", "DWH_CLUSTER_IDENTIFIER",
        Text(_CLUSTER_ID, lower=True, label="1–63 letters, digits, single hyphens",
             must="be 1-63 letters, digits or single hyphens, starting with a letter and not ending with a hyphen"),
        default="sparkify-dwh",
        doc="The cluster's name; in serverless mode the namespace's and the workgroup's. Also names the security "
            "group (`<id>-sg`) and the role."),
    Key("DWH", "DWH_CLUSTER_TYPE", Choice(("single-node", "multi-node")), example="single-node",
        default_doc="`multi-node` if `DWH_NUM_NODES` > 1, else `single-node`",
        doc=_CLUSTER + "one node, or several."),
    Key("DWH", "DWH_NUM_NODES", Integer(rule="1, or 2–128 for `multi-node`"), example="1",
        default_doc="1 (2 for `multi-node`)", doc=_CLUSTER + "the number of nodes."),
    Key("DWH", "DWH_NODE_TYPE", Text(r"[a-z0-9]+\.[a-z0-9]+", lower=True, label="node type",
                                     must="be a Redshift node type like ra3.large or ra3.xlplus"),
        example="ra3.large",
        default_doc="`dc2.large` where the region can still order it, else the smallest type it can order",
        doc=_CLUSTER + "the node type, checked against what the region can order before anything is created."),
    Key("DWH", "DWH_IAM_ROLE_NAME", Text(r"[A-Za-z0-9_+=,.@-]{1,64}", label="IAM role name",
                                         must="be 1-64 letters, digits or +=,.@_- characters"),
        example="sparkify-dwh-s3-read", default_doc="`<DWH_CLUSTER_IDENTIFIER>-s3-read`",
        doc="The role Redshift assumes to read S3."),
    Key("DWH", "DWH_DB", Text(r"[a-z_][a-z0-9_]{0,63}", label="lower-case identifier",
                              must="be a lower-case identifier of at most 64 characters (letters, digits, "
                                   "underscores)"),
        default="sparkify", doc="The database created with the warehouse."),
    Key("DWH", "DWH_DB_USER", Text(r"[a-z][a-z0-9_]{0,127}", check=lambda user: user != "public",
                                   label="lower-case identifier",
                                   must="be a lower-case identifier starting with a letter (letters, digits, "
                                        "underscores; not 'public')"),
        default="sparkify_admin", doc="The admin user."),
    Key("DWH", "DWH_DB_PASSWORD", Secret(), required="to create, unless `DWH_MANAGED_PASSWORD = true`",
        doc=f"The admin password: 8–64 characters, with an upper-case letter, a lower-case letter and a digit; no "
            f"`'` `\"` `\\` `/` `@` or spaces. The environment variable `{PASSWORD_ENV}` wins over it (prefer it "
            "to writing the password here)."),
    Key("DWH", "DWH_MANAGED_PASSWORD", Flag(), default=False,
        doc="`true`: AWS Secrets Manager creates and keeps the admin password (then use `[CLUSTER] AUTH = iam`)."),
    Key("DWH", "DWH_PORT", Port(1150, 65535, " (Redshift's range)"), default=5439,
        doc="The port: a cluster's 1150–65535; serverless 5431–5455 or 8191–8215."),
    Key("DWH", "DWH_REGION", Region(lower=True), default="us-west-2",
        doc="The region (the `udacity-dend` bucket is in `us-west-2`)."),
    Key("DWH", "DWH_ALLOWED_CIDR", Cidr(), example="203.0.113.7/32", default_doc="your public IP address as a /32",
        doc="Who may connect to the warehouse port. A range wider than /24 gets a warning: `0.0.0.0/0` opens "
            "the port to the whole internet."),
    Key("DWH", "DWH_PUBLICLY_ACCESSIBLE", Flag(), default=True, doc="Whether the endpoint gets a public address."),
    Key("DWH", "DWH_KMS_KEY_ID", Text(_KMS_KEY, must="be a KMS key id, key ARN or alias", label="KMS key"),
        example="alias/my-key", default_doc="AWS's own key",
        doc="Your KMS key (id, ARN or alias) for encryption at rest; the data is encrypted either way."),
    Key("DWH", "DWH_VPC_ID", Text(r"vpc-[0-9a-f]{8,17}", must="look like vpc-0123456789abcdef0", label="VPC id"),
        example="vpc-0123456789abcdef0", default_doc="the region's default VPC",
        doc="A VPC other than the region's default; then also `DWH_SUBNET_GROUP` (cluster) or `DWH_SUBNET_IDS` "
            "(serverless)."),
    Key("DWH", "DWH_SUBNET_GROUP", Text(r"[a-z0-9](?!.*--)[a-z0-9-]{0,254}", lower=True,
                                        is_not="a cluster subnet group name", label="subnet group name"),
        example="my-public-subnet-group", required="with `DWH_VPC_ID` in cluster mode",
        doc=_CLUSTER + "a cluster subnet group (with public subnets) in `DWH_VPC_ID`."),
    Key("DWH", "DWH_SUBNET_IDS", SubnetIds(), default=(), required="with `DWH_VPC_ID` in serverless mode",
        example="subnet-0123456789abcdef0, subnet-0123456789abcdef1, subnet-0123456789abcdef2",
        doc=_SERVERLESS + "subnets in `DWH_VPC_ID`, in at least three Availability Zones."),
    Key("DWH", "DWH_NAMESPACE", Text(lower=True, label="3–64 lower-case letters, digits, hyphens"),
        example="sparkify-dwh", default_doc="`DWH_CLUSTER_IDENTIFIER`", doc=_SERVERLESS + "the namespace's name."),
    Key("DWH", "DWH_WORKGROUP", Text(lower=True, label="3–64 lower-case letters, digits, hyphens"),
        example="sparkify-dwh", default_doc="`DWH_CLUSTER_IDENTIFIER`", doc=_SERVERLESS + "the workgroup's name."),
    Key("DWH", "DWH_BASE_CAPACITY",
        Integer(check=valid_base_capacity, rule="4 RPUs, or 8 to 512 in steps of 8 (up to 1024 in steps of 32 in "
                                                "some regions)"),
        default=4, doc=_SERVERLESS + "base capacity in RPUs."),
    Key("DWH", "DWH_USAGE_LIMIT", Integer(lo=1, unit=" RPU-hour per day"), default=8,
        doc=_SERVERLESS + "RPU-hours per day, then `DWH_USAGE_LIMIT_ACTION`."),
    Key("DWH", "DWH_USAGE_LIMIT_ACTION", Choice(USAGE_LIMIT_ACTIONS), default="deactivate",
        doc=_SERVERLESS + "at the limit, `deactivate` (queries stop until the next day), or only record it "
            "(`emit-metric`, `log`)."),
    # ---------------------------------------------------------------------------------------------- AWS
    Key("AWS", "KEY", Secret(), required="with `SECRET`", doc="An AWS access key id."),
    Key("AWS", "SECRET", Secret(), required="with `KEY`", doc="Its secret access key."),
)

KEY_BY_NAME: dict[tuple[str, str], Key] = {(k.section, k.name): k for k in KEYS}
# Every key of every section, in the table's order: a key not listed here is reported (check_keys).
KNOWN_KEYS: dict[str, tuple[str, ...]] = {s.name: tuple(k.name for k in KEYS if k.section == s.name)
                                          for s in SECTIONS}


def key(section: str, name: str) -> Key:
    """The table's entry for section/name; KeyError for a key the table does not declare (a bug in a rule)."""
    return KEY_BY_NAME[(section, name)]


def default(section: str, name: str) -> Any:
    return key(section, name).default
