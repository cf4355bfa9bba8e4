"""Read and validate dwh.cfg into an immutable Config, reporting every problem at once.

Resolution order for the file: the --config path if given (it must exist), else ./dwh.cfg if
present, else the built-in local default (embedded PostgreSQL + generated sample data under
.sparkify/ in the project directory). The database password comes from the environment variable
SPARKIFY_DB_PASSWORD, else [CLUSTER] DB_PASSWORD, else [DWH] DWH_DB_PASSWORD (the cluster's master
password, as create_cluster.py reads it); it is never printed or logged.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from sparkify.errors import ConfigError

ENGINES = ("local", "postgres", "redshift")
PASSWORD_ENV = "SPARKIFY_DB_PASSWORD"
PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_DIR / ".sparkify"
DEFAULT_MAXERROR = 0
DEFAULT_LOCK_TIMEOUT = 300

_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_S3_PREFIX_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\x00-\x1f\x7f\\']*)?$")


@dataclass(frozen=True)
class ClusterSettings:
    host: str
    db_name: str
    db_user: str
    db_port: int
    db_password: str = field(default="", repr=False)

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
            raise ConfigError(f"config file not found: {p} (copy dwh.cfg.example to {p} and edit it)")
        return p
    cwd_cfg = Path("dwh.cfg")
    return cwd_cfg if cwd_cfg.is_file() else None


def load_config(path: Path | str | None = None, environ: dict | None = None) -> Config:
    """Load the configuration; raise ConfigError listing every problem found."""
    resolved = resolve_config_path(path)
    if resolved is None:
        return default_config()
    parser = read_config_file(resolved)
    return parse_config(parser, resolved, os.environ if environ is None else environ)


def read_config_file(path: Path) -> configparser.ConfigParser:
    """Parse an INI file; ConfigError (naming the file) if it cannot be read or parsed."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], path=str(path)) from None
    except (configparser.Error, UnicodeDecodeError) as exc:
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


def parse_config(cp: configparser.ConfigParser, path: Path, environ) -> Config:
    """Validate a parsed file. Pure: reads nothing but `cp` and `environ`."""
    problems: list[str] = []
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
        # A missing password is reported when connecting (Warehouse.connect): --dry-run needs none.
        cluster = ClusterSettings(host=host, db_name=db_name, db_user=db_user, db_port=port, db_password=password)

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
    if region is not None and not _REGION_RE.match(region):
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
