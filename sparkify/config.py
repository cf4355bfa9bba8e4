"""Read and validate dwh.cfg into immutable settings, reporting every problem at once: the only parser of dwh.cfg.

Resolution order for the file: the --config path if given (it must exist), else ./dwh.cfg if
present, else the built-in local default (embedded PostgreSQL + generated sample data under
.sparkify/ in the project directory). The database password comes from the environment variable
SPARKIFY_DB_PASSWORD, else [CLUSTER] DB_PASSWORD, else [DWH] DWH_DB_PASSWORD (the cluster's master
password, as create_cluster.py reads it); it is never printed or logged.

Two entry points read the file: `load_config` (create_tables.py, etl.py, analytics.py: every section,
`[DWH]` included, into a `Config`) and `load_dwh_settings` (create_cluster.py, delete_cluster.py:
`[DWH]` and `[AWS]` only, into `DwhSettings`, because the other sections are written by
create_cluster.py and may still be empty). Both report keys this toolkit does not know, with the nearest
known key (`check_keys`): a warning, or an error in `[DWH]` for the two provisioning scripts, where a
misspelt key would silently create (or delete) something else than what was meant. `cfgedit` writes
the file but parses it through `parse_config_text`.
"""

from __future__ import annotations

import configparser
import difflib
import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkify.awsnames import REGION_RE
from sparkify.errors import ConfigError

log = logging.getLogger("sparkify.config")

ENGINES = ("local", "postgres", "redshift")
AUTH_MODES = ("password", "iam")
DWH_MODES = ("cluster", "serverless")
PASSWORD_ENV = "SPARKIFY_DB_PASSWORD"
PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_DIR / ".sparkify"
DEFAULT_MAXERROR = 0
DEFAULT_LOCK_TIMEOUT = 300
CONFIG_EXAMPLE = "dwh.cfg.example"

# Every key of every section this toolkit reads. A key not listed here is reported (check_keys).
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "WAREHOUSE": ("ENGINE", "DATA_DIR", "DB_NAME"),
    "CLUSTER": ("HOST", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_PORT", "AUTH"),
    "IAM_ROLE": ("ARN",),
    "S3": ("LOG_DATA", "LOG_JSONPATH", "SONG_DATA", "REGION", "ENDPOINT_URL", "MANIFEST_PREFIX"),
    "ETL": ("MAXERROR", "LOCK_TIMEOUT"),
    "DWH": ("DWH_MODE", "DWH_CLUSTER_IDENTIFIER", "DWH_CLUSTER_TYPE", "DWH_NUM_NODES", "DWH_NODE_TYPE",
            "DWH_IAM_ROLE_NAME", "DWH_DB", "DWH_DB_USER", "DWH_DB_PASSWORD", "DWH_MANAGED_PASSWORD", "DWH_PORT",
            "DWH_REGION", "DWH_ALLOWED_CIDR", "DWH_PUBLICLY_ACCESSIBLE", "DWH_VPC_ID", "DWH_SUBNET_GROUP",
            "DWH_SUBNET_IDS", "DWH_KMS_KEY_ID", "DWH_NAMESPACE", "DWH_WORKGROUP", "DWH_BASE_CAPACITY",
            "DWH_USAGE_LIMIT", "DWH_USAGE_LIMIT_ACTION"),
    "AWS": ("KEY", "SECRET"),
}

_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_S3_PREFIX_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\x00-\x1f\x7f\\']*)?$")
_SECRET_KEY_RE = re.compile(r"(?i)(password|secret|token|^key$|access_key)")


# --------------------------------------------------------------------------------------------------
# The settings


@dataclass(frozen=True)
class ClusterSettings:
    host: str
    db_name: str
    db_user: str
    db_port: int
    db_password: str = field(default="", repr=False)
    auth: str | None = None  # "password" | "iam" | None: iam when no password is set and AWS credentials exist

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


# [DWH] defaults; documented in the README ("Provisioning") and dwh.cfg.example.
DWH_DEFAULTS = {
    "DWH_CLUSTER_IDENTIFIER": "sparkify-dwh",
    "DWH_DB": "sparkify",
    "DWH_DB_USER": "sparkify_admin",
    "DWH_PORT": 5439,
    "DWH_REGION": "us-west-2",
    "DWH_BASE_CAPACITY": 4,  # RPUs: the smallest base capacity AWS's current documentation allows
    "DWH_USAGE_LIMIT": 8,  # RPU-hours per day; then DWH_USAGE_LIMIT_ACTION
    "DWH_USAGE_LIMIT_ACTION": "deactivate",
}
USAGE_LIMIT_ACTIONS = ("deactivate", "emit-metric", "log")


@dataclass(frozen=True)
class DwhSettings:
    """The validated [DWH] (and optional [AWS]) settings of create_cluster.py / delete_cluster.py.

    Secrets are kept out of repr(). `given` names the [DWH] keys the file sets (the others are defaults)."""

    mode: str = "cluster"
    cluster_identifier: str = DWH_DEFAULTS["DWH_CLUSTER_IDENTIFIER"]
    cluster_type: str = "single-node"
    num_nodes: int = 1
    node_type: str | None = None  # None: chosen among the region's orderable node types at create time
    iam_role_name: str = "sparkify-dwh-s3-read"  # default: <cluster_identifier>-s3-read
    db_name: str = DWH_DEFAULTS["DWH_DB"]
    db_user: str = DWH_DEFAULTS["DWH_DB_USER"]
    port: int = DWH_DEFAULTS["DWH_PORT"]
    region: str = DWH_DEFAULTS["DWH_REGION"]
    allowed_cidr: str | None = None  # None: detect the caller's public IP at create time
    publicly_accessible: bool = True
    vpc_id: str | None = None  # None: the region's default VPC
    subnet_group: str | None = None  # cluster mode, with vpc_id
    subnet_ids: tuple[str, ...] = ()  # serverless mode, with vpc_id
    kms_key_id: str | None = None  # None: AWS's own key (the data is encrypted either way)
    namespace: str = "sparkify-dwh"  # serverless; default: cluster_identifier
    workgroup: str = "sparkify-dwh"  # serverless; default: cluster_identifier
    base_capacity: int = DWH_DEFAULTS["DWH_BASE_CAPACITY"]
    usage_limit: int = DWH_DEFAULTS["DWH_USAGE_LIMIT"]
    usage_limit_action: str = DWH_DEFAULTS["DWH_USAGE_LIMIT_ACTION"]
    managed_password: bool = False  # AWS Secrets Manager keeps the admin password (ManageMasterPassword)
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
    local_db_name: str = "sparkify"
    cluster: ClusterSettings | None = None
    iam_role_arn: str | None = None
    maxerror: int = DEFAULT_MAXERROR
    lock_timeout: int = DEFAULT_LOCK_TIMEOUT
    sample_dir: Path | None = None  # set when the sources are the generated sample (built-in default)
    dwh: DwhSettings = DwhSettings()
    file_secrets: tuple[str, ...] = field(default=(), repr=False)  # values of the file's secret-looking keys

    @property
    def source_name(self) -> str:
        return str(self.path) if self.path else "built-in local default"


# --------------------------------------------------------------------------------------------------
# Reading the file


def default_config(home: Path = DEFAULT_HOME) -> Config:
    """The built-in default: embedded PostgreSQL and the generated sample data, all under `home`."""
    sample = home / "sample"
    return Config(
        engine="local",
        path=None,
        data_dir=home / "pgdata",
        s3=S3Settings(
            log_data=str(sample / "log_data"),
            log_jsonpath=str(sample / "log_json_path.json"),
            song_data=str(sample / "song_data"),
        ),
        sample_dir=sample,
    )


def resolve_config_path(path: Path | str | None) -> Path | None:
    """The file to read, or None for the built-in default."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (copy {CONFIG_EXAMPLE} to {p} and edit it)")
        return p
    cwd_cfg = Path("dwh.cfg")
    return cwd_cfg if cwd_cfg.is_file() else None


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load the configuration; raise ConfigError listing every problem found."""
    resolved = resolve_config_path(path)
    if resolved is None:
        return default_config()
    parser = read_config_file(resolved)
    return parse_config(parser, resolved, os.environ if environ is None else environ)


def read_config_file(path: Path) -> configparser.ConfigParser:
    """Parse an INI file; ConfigError (naming the file) if it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], path=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(["cannot read: not UTF-8 text"], path=str(path)) from None
    return parse_config_text(text, path)


def parse_config_text(text: str, path: Path | str) -> configparser.ConfigParser:
    """Parse INI text as dwh.cfg (no interpolation); ConfigError naming `path` if it does not parse."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError([f"cannot parse: {str(exc).splitlines()[0]}"], path=str(path)) from None
    return parser


def get_value(cp: configparser.ConfigParser, section: str, key: str) -> str | None:
    """The stripped value of section/key, without matching surrounding quotes; None if absent or empty."""
    if not cp.has_section(section):
        return None
    value = cp.get(section, key, fallback=None)
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    return value or None


def file_secrets(cp: configparser.ConfigParser) -> tuple[str, ...]:
    """The values of every PASSWORD/SECRET/TOKEN/KEY-like key of the file (for masking, never for use)."""
    out = []
    for section in cp.sections():
        for key, value in cp.items(section):
            if _SECRET_KEY_RE.search(key) and value and value.strip():
                out.append(value.strip().strip("'\"").strip())
    return tuple(v for v in out if v)


def unknown_keys(cp: configparser.ConfigParser) -> list[tuple[str, str | None, str]]:
    """(section, key, what it may have meant) for every key or section this toolkit does not read.

    `key` is None for an unknown section. The hint names the nearest known key of the section (difflib),
    or the section where the key belongs."""
    out: list[tuple[str, str | None, str]] = []
    sections = {s.upper(): s for s in KNOWN_KEYS}
    for section in cp.sections():
        known = KNOWN_KEYS.get(section)
        if known is None:
            near = difflib.get_close_matches(section.upper(), list(sections), n=1, cutoff=0.6)
            out.append((section, None, f"did you mean [{near[0]}]?" if near else
                        f"known sections: {', '.join(f'[{s}]' for s in KNOWN_KEYS)}"))
            continue
        for key in cp[section]:
            upper = key.upper()
            if upper in known:
                continue
            home = next((s for s, keys in KNOWN_KEYS.items() if upper in keys), None)
            near = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
            if home:
                hint = f"it belongs in [{home}]"
            elif near:
                hint = f"did you mean {near[0]}?"
            else:
                hint = f"known keys: {', '.join(known)}"
            out.append((section, upper, hint))
    return out


def check_keys(cp: configparser.ConfigParser, path: Path | str | None, *, strict_sections: tuple[str, ...] = ()
               ) -> list[str]:
    """Warn about every unknown key or section; return the problems for those in `strict_sections`."""
    problems = []
    for section, key, hint in unknown_keys(cp):
        if key is None:
            log.warning("%s: unknown section [%s] is ignored (%s)", path or "config", section, hint)
        elif section in strict_sections:
            problems.append(f"[{section}] {key} is not a known key ({hint}); fix it, or remove it, so nothing is "
                            f"created or deleted on a misspelt setting")
        else:
            log.warning("%s: [%s] %s is not a known key and is ignored (%s)", path or "config", section, key, hint)
    return problems


# --------------------------------------------------------------------------------------------------
# create_tables.py, etl.py, analytics.py


def parse_config(cp: configparser.ConfigParser, path: Path, environ: Mapping[str, str]) -> Config:
    """Validate a parsed file. Pure, but for the unknown-key warnings: reads nothing but `cp` and `environ`."""
    problems: list[str] = check_keys(cp, path)
    base = path.resolve().parent

    def need(section: str, key: str, why: str) -> str:
        value = get_value(cp, section, key)
        if value is None:
            problems.append(f"[{section}] {key} is required {why}")
            return ""
        return value

    engine = get_value(cp, "WAREHOUSE", "ENGINE")
    if engine is None:
        if get_value(cp, "CLUSTER", "HOST"):
            problems.append("[WAREHOUSE] ENGINE is required when [CLUSTER] HOST is set: "
                            "write ENGINE = redshift or ENGINE = postgres")
            engine = "redshift"
        else:
            engine = "local"
    engine = engine.lower()
    if engine not in ENGINES:
        problems.append(f"[WAREHOUSE] ENGINE must be one of {', '.join(ENGINES)}, not {engine!r}")
        engine = "local"

    data_dir_raw = get_value(cp, "WAREHOUSE", "DATA_DIR")
    data_dir = _local_path(data_dir_raw, base) if data_dir_raw else base / ".sparkify" / "pgdata"
    local_db_name = get_value(cp, "WAREHOUSE", "DB_NAME") or "sparkify"
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", local_db_name):
        problems.append(f"[WAREHOUSE] DB_NAME must be a lower-case identifier, not {local_db_name!r}")

    cluster = None
    if engine in ("postgres", "redshift"):
        why = f"for ENGINE = {engine}"
        host = need("CLUSTER", "HOST", why)
        db_name = need("CLUSTER", "DB_NAME", why)
        db_user = need("CLUSTER", "DB_USER", why)
        port_raw = need("CLUSTER", "DB_PORT", why)
        port = 0
        if port_raw:
            if port_raw.isdigit() and 0 < int(port_raw) < 65536:
                port = int(port_raw)
            else:
                problems.append(f"[CLUSTER] DB_PORT must be a port number, not {port_raw!r}")
        # the environment first; then [CLUSTER], then [DWH] (where create_cluster.py users put it)
        password = (environ.get(PASSWORD_ENV) or get_value(cp, "CLUSTER", "DB_PASSWORD")
                    or get_value(cp, "DWH", "DWH_DB_PASSWORD") or "")
        # A missing password is reported when connecting (sparkify.dbauth): --dry-run needs none.
        auth = (get_value(cp, "CLUSTER", "AUTH") or "").lower() or None
        if auth is not None and auth not in AUTH_MODES:
            problems.append(f"[CLUSTER] AUTH must be password or iam, not {auth!r}")
            auth = None
        elif auth == "iam" and engine != "redshift":
            problems.append("[CLUSTER] AUTH = iam needs ENGINE = redshift (temporary credentials come from "
                            "Redshift); use AUTH = password for a PostgreSQL server")
        cluster = ClusterSettings(host=host, db_name=db_name, db_user=db_user, db_port=port, db_password=password,
                                  auth=auth)

    arn = get_value(cp, "IAM_ROLE", "ARN")
    if engine == "redshift":
        if arn is None:
            problems.append("[IAM_ROLE] ARN is required for ENGINE = redshift (create_cluster.py writes it)")
        elif not _ARN_RE.match(arn):
            problems.append(f"[IAM_ROLE] ARN is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>): {arn!r}")

    s3_values = {}
    for key in ("LOG_DATA", "LOG_JSONPATH", "SONG_DATA"):
        value = need("S3", key, "(an s3:// URI" + ("" if engine == "redshift" else " or a local path") + ")")
        if value and not value.startswith("s3://"):
            if engine == "redshift":
                problems.append(f"[S3] {key} must be an s3:// URI for ENGINE = redshift, not {value!r}")
            elif not (key == "LOG_JSONPATH" and value.lower() in ("auto", "auto ignorecase")):
                value = str(_local_path(value, base))
        s3_values[key.lower()] = value
    region = get_value(cp, "S3", "REGION")
    if region is not None and not REGION_RE.match(region):
        problems.append(f"[S3] REGION is not an AWS region name (like us-west-2): {region!r}")
    endpoint = get_value(cp, "S3", "ENDPOINT_URL")
    if endpoint is not None and not re.match(r"^https?://", endpoint):
        problems.append(f"[S3] ENDPOINT_URL must start with http:// or https://, not {endpoint!r}")

    manifest_prefix = get_value(cp, "S3", "MANIFEST_PREFIX")
    if manifest_prefix is not None and not _S3_PREFIX_RE.match(manifest_prefix):
        problems.append(f"[S3] MANIFEST_PREFIX must be an s3://bucket/prefix URI (where etl.py may write its COPY "
                        f"manifests), not {manifest_prefix!r}")

    maxerror = _int(cp, "ETL", "MAXERROR", DEFAULT_MAXERROR, 0, 100000, problems)
    lock_timeout = _int(cp, "ETL", "LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT, 0, 86400, problems)

    dwh = DwhSettings()
    try:
        dwh = parse_dwh_settings(cp, environ, path=path, need_password=False, check=False)
    except ConfigError as exc:
        problems += exc.problems

    if problems:
        raise ConfigError(problems, path=str(path))
    return Config(
        engine=engine,
        path=path,
        data_dir=data_dir,
        local_db_name=local_db_name,
        cluster=cluster,
        iam_role_arn=arn,
        s3=S3Settings(region=region, endpoint_url=endpoint, manifest_prefix=manifest_prefix, **s3_values),
        maxerror=maxerror,
        lock_timeout=lock_timeout,
        dwh=dwh,
        file_secrets=file_secrets(cp),
    )


def _local_path(value: str, base: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _int(cp, section, key, default, lo, hi, problems) -> int:
    raw = get_value(cp, section, key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"[{section}] {key} must be a whole number, not {raw!r}")
        return default
    if not lo <= value <= hi:
        problems.append(f"[{section}] {key} must be between {lo} and {hi}, not {value}")
        return default
    return value


# --------------------------------------------------------------------------------------------------
# create_cluster.py, delete_cluster.py: [DWH] and [AWS]

CONFIG_HELP = "configuration file with a [DWH] section (default: ./dwh.cfg, which must exist)"

_CLUSTER_ID_RE = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_SERVERLESS_NAME_RE = re.compile(r"^[a-z0-9-]{3,64}$")  # namespaceName / workgroupName (the API's pattern)
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
_DB_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_DB_USER_RE = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
_NODE_TYPE_RE = re.compile(r"^[a-z0-9]+\.[a-z0-9]+$")
_VPC_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SUBNET_GROUP_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{0,254}$")
_KMS_KEY_RE = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/-]+|[0-9a-f-]{36}|alias/[\w/-]+)$")
_PASSWORD_FORBIDDEN = set("'\"\\/@ ")
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
# Redshift Serverless accepts these workgroup ports only (CreateWorkgroup's documentation).
SERVERLESS_PORTS = (range(5431, 5456), range(8191, 8216))


def require_config_path(path: Path | str | None) -> Path:
    """The config file the provisioning scripts use: --config, else ./dwh.cfg; it must exist."""
    p = Path("dwh.cfg") if path is None else Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p} (copy {CONFIG_EXAMPLE} to dwh.cfg, edit its [DWH] section "
                          f"and pass it with --config if it is not ./dwh.cfg)")
    return p


def load_dwh_settings(path: Path | str, environ: Mapping[str, str] | None = None, *,
                      need_password: bool = True) -> DwhSettings:
    """Read and validate [DWH] and [AWS] of the file at `path` for create_cluster.py / delete_cluster.py.

    ConfigError lists every problem at once, unknown [DWH] keys included (elsewhere they are warnings)."""
    path = Path(path)
    cp = read_config_file(path)
    return parse_dwh_settings(cp, os.environ if environ is None else environ, path=path,
                              need_password=need_password, strict=True)


def password_problem(password: str) -> str | None:
    """Why `password` breaks Redshift's master password rules, without quoting it; None if it is valid."""
    reasons = []
    if not 8 <= len(password) <= 64:
        reasons.append("be 8 to 64 characters long")
    if not (re.search(r"[A-Z]", password) and re.search(r"[a-z]", password) and re.search(r"\d", password)):
        reasons.append("contain an upper-case letter, a lower-case letter and a digit")
    if any(c in _PASSWORD_FORBIDDEN or not 33 <= ord(c) <= 126 for c in password):
        reasons.append("use printable ASCII only, without quotes, backslash, slash, @ or spaces")
    return " and ".join(reasons) if reasons else None


def valid_base_capacity(rpus: int) -> bool:
    """AWS's current documentation: 4 RPUs, or 8 to 512 in steps of 8, or up to 1,024 in steps of 32."""
    return rpus == 4 or (8 <= rpus <= 512 and rpus % 8 == 0) or (512 < rpus <= 1024 and rpus % 32 == 0)


def parse_dwh_settings(cp: configparser.ConfigParser, environ: Mapping[str, str], *, path: Path | str | None = None,
                       need_password: bool = True, strict: bool = False, check: bool = True) -> DwhSettings:
    """Validate a parsed file's [DWH]/[AWS]. Pure: reads only `cp` and `environ`.

    `strict`: unknown [DWH] keys are problems (create_cluster.py, delete_cluster.py), else warnings; `check`:
    report unknown keys at all (parse_config has already done it for the whole file)."""
    problems: list[str] = check_keys(cp, path, strict_sections=("DWH",) if strict else ()) if check else []
    given = frozenset(k.upper() for k in cp["DWH"]) if cp.has_section("DWH") else frozenset()

    def get(key: str) -> str | None:
        return get_value(cp, "DWH", key)

    def flag(key: str, default: bool) -> bool:
        raw = get(key)
        if raw is None:
            return default
        if raw.lower() not in _BOOLEANS:
            problems.append(f"[DWH] {key} must be true or false, not {raw!r}")
            return default
        return _BOOLEANS[raw.lower()]

    def number(key: str) -> int:
        raw = get(key)
        if raw is None:
            return DWH_DEFAULTS[key]
        if not raw.isdigit():
            problems.append(f"[DWH] {key} must be a whole number, not {raw!r}")
            return DWH_DEFAULTS[key]
        return int(raw)

    mode = (get("DWH_MODE") or "cluster").lower()
    if mode not in DWH_MODES:
        problems.append(f"[DWH] DWH_MODE must be cluster or serverless, not {mode!r}")
        mode = "cluster"
    serverless = mode == "serverless"

    cluster_id = (get("DWH_CLUSTER_IDENTIFIER") or DWH_DEFAULTS["DWH_CLUSTER_IDENTIFIER"]).lower()
    if not _CLUSTER_ID_RE.match(cluster_id):
        problems.append(f"[DWH] DWH_CLUSTER_IDENTIFIER must be 1-63 letters, digits or single hyphens, starting "
                        f"with a letter and not ending with a hyphen, not {cluster_id!r}")

    nodes_raw = get("DWH_NUM_NODES")
    num_nodes: int | None = None
    if nodes_raw is not None:
        if nodes_raw.isdigit():
            num_nodes = int(nodes_raw)
        else:
            problems.append(f"[DWH] DWH_NUM_NODES must be a whole number, not {nodes_raw!r}")
    cluster_type = (get("DWH_CLUSTER_TYPE") or ("multi-node" if num_nodes and num_nodes > 1 else "single-node")).lower()
    if cluster_type not in ("single-node", "multi-node"):
        problems.append(f"[DWH] DWH_CLUSTER_TYPE must be single-node or multi-node, not {cluster_type!r}")
    elif cluster_type == "single-node":
        if num_nodes not in (None, 1):
            problems.append(f"[DWH] DWH_NUM_NODES must be 1 for DWH_CLUSTER_TYPE = single-node, not {num_nodes} "
                            f"(or set DWH_CLUSTER_TYPE = multi-node)")
        num_nodes = 1
    else:
        if num_nodes is None:
            num_nodes = 2
        elif not 2 <= num_nodes <= 128:
            problems.append(f"[DWH] DWH_NUM_NODES must be between 2 and 128 for DWH_CLUSTER_TYPE = multi-node, "
                            f"not {num_nodes}")

    node_type = (get("DWH_NODE_TYPE") or "").lower() or None
    if node_type is not None and not _NODE_TYPE_RE.match(node_type):
        problems.append(f"[DWH] DWH_NODE_TYPE must be a Redshift node type like ra3.large or ra3.xlplus, "
                        f"not {node_type!r}")

    role_name = get("DWH_IAM_ROLE_NAME") or f"{cluster_id}-s3-read"
    if not _ROLE_NAME_RE.match(role_name):
        problems.append(f"[DWH] DWH_IAM_ROLE_NAME must be 1-64 letters, digits or +=,.@_- characters, "
                        f"not {role_name!r}")

    db_name = get("DWH_DB") or DWH_DEFAULTS["DWH_DB"]
    if not _DB_NAME_RE.match(db_name):
        problems.append(f"[DWH] DWH_DB must be a lower-case identifier of at most 64 characters "
                        f"(letters, digits, underscores), not {db_name!r}")

    db_user = get("DWH_DB_USER") or DWH_DEFAULTS["DWH_DB_USER"]
    if not _DB_USER_RE.match(db_user) or db_user == "public":
        problems.append(f"[DWH] DWH_DB_USER must be a lower-case identifier starting with a letter "
                        f"(letters, digits, underscores; not 'public'), not {db_user!r}")

    managed = flag("DWH_MANAGED_PASSWORD", False)
    password = ""
    if managed:
        if need_password and (environ.get(PASSWORD_ENV) or get("DWH_DB_PASSWORD")):
            log.info("DWH_MANAGED_PASSWORD = true: AWS Secrets Manager keeps the admin password; the configured "
                     "password is not used")
    elif need_password:
        from_env = bool(environ.get(PASSWORD_ENV))
        password = environ.get(PASSWORD_ENV) or get("DWH_DB_PASSWORD") or ""
        where = f"the environment variable {PASSWORD_ENV}" if from_env else "[DWH] DWH_DB_PASSWORD"
        if not password:
            problems.append(f"[DWH] DWH_DB_PASSWORD is required to create the {'workgroup' if serverless else 'cluster'}"
                            f" (or set the environment variable {PASSWORD_ENV}, or DWH_MANAGED_PASSWORD = true to "
                            f"let AWS Secrets Manager keep it)")
        else:
            why = password_problem(password)
            if why:
                problems.append(f"{where}: the {'admin' if serverless else 'master'} password must {why}")

    port_raw = get("DWH_PORT")
    port = DWH_DEFAULTS["DWH_PORT"]
    if port_raw is not None:
        if port_raw.isdigit() and 1150 <= int(port_raw) <= 65535:
            port = int(port_raw)
        else:
            problems.append(f"[DWH] DWH_PORT must be a port number between 1150 and 65535 (Redshift's range), "
                            f"not {port_raw!r}")
    if serverless and not any(port in r for r in SERVERLESS_PORTS):
        problems.append(f"[DWH] DWH_PORT must be 5431-5455 or 8191-8215 for DWH_MODE = serverless, not {port}")

    region = (get("DWH_REGION") or DWH_DEFAULTS["DWH_REGION"]).lower()
    if not REGION_RE.match(region):
        problems.append(f"[DWH] DWH_REGION is not an AWS region name (like us-west-2): {region!r}")

    cidr = get("DWH_ALLOWED_CIDR")
    if cidr is not None:
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            hint = ""
            try:
                hint = f" (did you mean {ipaddress.ip_network(cidr, strict=False)}?)"
            except ValueError:
                pass
            problems.append(f"[DWH] DWH_ALLOWED_CIDR must be an IPv4 address or range like 203.0.113.7/32, "
                            f"not {cidr!r}{hint}")
        else:
            if net.version != 4:
                problems.append(f"[DWH] DWH_ALLOWED_CIDR must be an IPv4 range (the cluster's public endpoint "
                                f"is IPv4), not {cidr!r}")
            else:
                cidr = str(net)
    public = flag("DWH_PUBLICLY_ACCESSIBLE", True)

    vpc_id = get("DWH_VPC_ID")
    if vpc_id is not None and not _VPC_RE.match(vpc_id):
        problems.append(f"[DWH] DWH_VPC_ID must look like vpc-0123456789abcdef0, not {vpc_id!r}")
    subnet_group = get("DWH_SUBNET_GROUP")
    if subnet_group is not None:
        subnet_group = subnet_group.lower()
        if not _SUBNET_GROUP_RE.match(subnet_group):
            problems.append(f"[DWH] DWH_SUBNET_GROUP is not a cluster subnet group name: {subnet_group!r}")
    subnet_ids = tuple(s.strip() for s in (get("DWH_SUBNET_IDS") or "").split(",") if s.strip())
    bad = [s for s in subnet_ids if not _SUBNET_RE.match(s)]
    if bad:
        problems.append(f"[DWH] DWH_SUBNET_IDS must be subnet ids like subnet-0123456789abcdef0, separated by "
                        f"commas, not {', '.join(repr(b) for b in bad)}")
    if vpc_id and not serverless and not subnet_group:
        problems.append("[DWH] DWH_SUBNET_GROUP is required with DWH_VPC_ID: a cluster outside the default VPC "
                        "needs a cluster subnet group (with public subnets) in that VPC")
    if vpc_id and serverless and not subnet_ids:
        problems.append("[DWH] DWH_SUBNET_IDS is required with DWH_VPC_ID in serverless mode: a workgroup outside "
                        "the default VPC needs subnets in that VPC (at least three, in three Availability Zones)")

    kms_key_id = get("DWH_KMS_KEY_ID")
    if kms_key_id is not None and not _KMS_KEY_RE.match(kms_key_id):
        problems.append(f"[DWH] DWH_KMS_KEY_ID must be a KMS key id, key ARN or alias, not {kms_key_id!r}")

    names = {}
    for key in ("DWH_NAMESPACE", "DWH_WORKGROUP"):
        names[key] = (get(key) or cluster_id).lower()
        if serverless and not _SERVERLESS_NAME_RE.match(names[key]):
            source = key if get(key) else f"DWH_CLUSTER_IDENTIFIER (the default {key})"
            problems.append(f"[DWH] {source} must be 3-64 lower-case letters, digits or hyphens for Redshift "
                            f"Serverless, not {names[key]!r}")

    base_capacity = number("DWH_BASE_CAPACITY")
    if not valid_base_capacity(base_capacity):
        problems.append(f"[DWH] DWH_BASE_CAPACITY must be 4 RPUs, or 8 to 512 in steps of 8 (up to 1024 in steps "
                        f"of 32 in some regions), not {base_capacity}")
    usage_limit = number("DWH_USAGE_LIMIT")
    if usage_limit < 1:
        problems.append(f"[DWH] DWH_USAGE_LIMIT must be at least 1 RPU-hour per day, not {usage_limit}")
    action = (get("DWH_USAGE_LIMIT_ACTION") or DWH_DEFAULTS["DWH_USAGE_LIMIT_ACTION"]).lower()
    if action not in USAGE_LIMIT_ACTIONS:
        problems.append(f"[DWH] DWH_USAGE_LIMIT_ACTION must be one of {', '.join(USAGE_LIMIT_ACTIONS)}, "
                        f"not {action!r}")

    key = get_value(cp, "AWS", "KEY")
    secret = get_value(cp, "AWS", "SECRET")
    if bool(key) != bool(secret):
        problems.append("[AWS] KEY and SECRET must be given together (or both left empty to use your AWS profile "
                        "or environment)")

    if problems:
        raise ConfigError(problems, path=str(path) if path else None)
    return DwhSettings(
        mode=mode, cluster_identifier=cluster_id, cluster_type=cluster_type, num_nodes=num_nodes,
        node_type=node_type, iam_role_name=role_name, db_name=db_name, db_user=db_user, port=port, region=region,
        allowed_cidr=cidr, publicly_accessible=public, vpc_id=vpc_id, subnet_group=subnet_group,
        subnet_ids=subnet_ids, kms_key_id=kms_key_id, namespace=names["DWH_NAMESPACE"],
        workgroup=names["DWH_WORKGROUP"], base_capacity=base_capacity, usage_limit=usage_limit,
        usage_limit_action=action, managed_password=managed, db_password=password, aws_key=key,
        aws_secret=secret, given=given,
    )
