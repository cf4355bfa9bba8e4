"""The one builder of dwh.cfg files for tests: a file is sections of keys in order, made by a preset for each
engine, transport and mode the tests use, then changed key by key and written.

    DwhCfg.redshift(host="no-such-cluster.invalid").write(tmp_path / "dwh.cfg")
    DwhCfg.provisioning(cidr=None).set("DWH", DWH_MODE="serverless").write(path)
    DwhCfg.postgres(host=..., db_name=..., log_data=..., log_jsonpath=..., song_data=...)

Presets (each value a keyword argument; `set` changes or adds any key, None removes one):
- `local`: ENGINE = local, the toolkit's own embedded server in a DATA_DIR;
- `postgres`: ENGINE = postgres, a database of the embedded server, local or s3:// sources;
- `redshift`: ENGINE = redshift over psycopg2, a cluster endpoint, a password, an IAM role, the udacity-dend
  sources (or another bucket's);
- `data_api`: ENGINE = redshift with [CLUSTER] TRANSPORT = data-api, the warehouse named by [DWH] (no host,
  port or password), the Data API stand-in's cluster test-dwh;
- `provisioning`: what create_cluster.py reads ([DWH] with DWH_ALLOWED_CIDR), with comments and a lower-case
  key, as a user's file has them (create_cluster.py must keep every other line).

Nothing here knows which keys exist: a test of an unknown key sets one like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

Value = str | int | Path | None

HOST = "sparkify-dwh.c1a2b3c4d5e6.us-west-2.redshift.amazonaws.com"
SERVERLESS_HOST = "sparkify-dwh.123456789012.us-west-2.redshift-serverless.amazonaws.com"  # a workgroup's endpoint
ROLE_ARN = "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read"
PASSWORD = "Passw0rd-Very-Secret"
FAKE_PASSWORD = "Sup3rSecretPw"  # the provisioning preset's DWH_DB_PASSWORD and DB_PASSWORD
DATA_API_ROLE_ARN = "arn:aws:iam::123456789012:role/test-dwh-s3-read"
BUCKET = "udacity-dend"
OPS_BUCKET = "sparkify-ops"


@dataclass
class _Line:
    key: str | None  # None: a comment line
    text: str  # the value, or the whole comment line


@dataclass
class DwhCfg:
    """A dwh.cfg under construction. `mode` is the file's permission bits once written (None: the umask's)."""

    header: list[str] = field(default_factory=list)  # comment lines before the first section
    sections: dict[str, list[_Line]] = field(default_factory=dict)
    mode: int | None = None

    # ---- changing it

    def set(self, section: str, **keys: Value) -> DwhCfg:
        """Set keys of `section` (made if absent, at the end): a key already there (in any case) keeps its place
        and its spelling; None removes it."""
        lines = self.sections.setdefault(section, [])
        for key, value in keys.items():
            at = next((i for i, line in enumerate(lines) if line.key and line.key.upper() == key.upper()), None)
            if value is None:
                if at is not None:
                    del lines[at]
            elif at is None:
                lines.append(_Line(key, str(value)))
            else:
                lines[at].text = str(value)
        return self

    def comment(self, section: str, text: str) -> DwhCfg:
        """A comment line (written as is: '# ...' or '; ...') at the current end of `section`."""
        self.sections.setdefault(section, []).append(_Line(None, text))
        return self

    def drop(self, section: str) -> DwhCfg:
        """Remove a whole section."""
        self.sections.pop(section, None)
        return self

    # ---- the file

    def text(self) -> str:
        out = [*self.header]
        for n, (name, lines) in enumerate(self.sections.items()):
            if n:
                out.append("")
            out.append(f"[{name}]")
            out += [line.text if line.key is None else f"{line.key} = {line.text}" for line in lines]
        return "\n".join(out) + "\n"

    def write(self, path: Path) -> Path:
        path.write_text(self.text(), encoding="utf-8")
        if self.mode is not None:
            path.chmod(self.mode)
        return path

    # ---- presets

    @classmethod
    def postgres(cls, *, host: str, db_name: str, log_data: Value, log_jsonpath: Value, song_data: Value,
                 db_user: str = "postgres", db_port: int = 5432, maxerror: int = 0, lock_timeout: int = 5) -> DwhCfg:
        """ENGINE = postgres: a database of the embedded server (host: its socket directory)."""
        return (cls().set("WAREHOUSE", ENGINE="postgres")
                .set("CLUSTER", HOST=host, DB_NAME=db_name, DB_USER=db_user, DB_PORT=db_port)
                .set("S3", LOG_DATA=log_data, LOG_JSONPATH=log_jsonpath, SONG_DATA=song_data)
                .set("ETL", MAXERROR=maxerror, LOCK_TIMEOUT=lock_timeout))

    @classmethod
    def local(cls, *, data_dir: Value, log_data: Value, log_jsonpath: Value, song_data: Value) -> DwhCfg:
        """ENGINE = local: the toolkit starts (or reuses) its own embedded server in DATA_DIR."""
        return (cls().set("WAREHOUSE", ENGINE="local", DATA_DIR=data_dir)
                .set("S3", LOG_DATA=log_data, LOG_JSONPATH=log_jsonpath, SONG_DATA=song_data))

    @classmethod
    def redshift(cls, *, host: str = HOST, port: int = 5439, password: str | None = PASSWORD, db_name: str = "dev",
                 db_user: str = "awsuser", arn: str = ROLE_ARN, region: str | None = "us-west-2",
                 bucket: str = BUCKET, log_data: str | None = None, song_data: str | None = None,
                 log_jsonpath: str | None = None) -> DwhCfg:
        """ENGINE = redshift over psycopg2, as a real user's file: the udacity-dend sources, an IAM role, MAXERROR
        10."""
        return (cls().set("WAREHOUSE", ENGINE="redshift")
                .set("CLUSTER", HOST=host, DB_NAME=db_name, DB_USER=db_user, DB_PASSWORD=password, DB_PORT=port)
                .set("IAM_ROLE", ARN=arn)
                .set("S3", LOG_DATA=log_data or f"s3://{bucket}/log_data",
                     LOG_JSONPATH=log_jsonpath or f"s3://{bucket}/log_json_path.json",
                     SONG_DATA=song_data or f"s3://{bucket}/song_data", REGION=region)
                .set("ETL", MAXERROR=10, LOCK_TIMEOUT=120))

    @classmethod
    def data_api(cls, *, host: str | None = None, port: int | None = None, arn: str = DATA_API_ROLE_ARN,
                 bucket: str = BUCKET, log_prefix: str = "log_data", song_prefix: str = "song_data",
                 manifest_prefix: str | None = f"s3://{OPS_BUCKET}/manifests", maxerror: int = 0,
                 lock_timeout: int = 30) -> DwhCfg:
        """[CLUSTER] TRANSPORT = data-api for the Data API stand-in's cluster test-dwh (named by [DWH] unless
        `host` is given): no password."""
        return (cls().set("WAREHOUSE", ENGINE="redshift")
                .set("CLUSTER", TRANSPORT="data-api", HOST=host, DB_NAME="dev", DB_USER="awsuser", DB_PORT=port)
                .set("IAM_ROLE", ARN=arn)
                .set("S3", LOG_DATA=f"s3://{bucket}/{log_prefix}", LOG_JSONPATH=f"s3://{bucket}/log_json_path.json",
                     SONG_DATA=f"s3://{bucket}/{song_prefix}", REGION="us-west-2", MANIFEST_PREFIX=manifest_prefix)
                .set("ETL", MAXERROR=maxerror, LOCK_TIMEOUT=lock_timeout)
                .set("DWH", DWH_CLUSTER_IDENTIFIER="test-dwh", DWH_REGION="us-west-2"))

    @classmethod
    def provisioning(cls, *, cidr: str | None = "203.0.113.7/32", password: str = FAKE_PASSWORD) -> DwhCfg:
        """What create_cluster.py reads: cluster test-dwh in us-west-2, the udacity-dend [S3]; with comments and
        a lower-case `host`, as a user's file; mode 0600 (it holds a password)."""
        cfg = cls(header=["# Sparkify configuration (test copy)", "; a semicolon comment too"], mode=0o600)
        cfg.set("WAREHOUSE", ENGINE="redshift")
        cfg.comment("DWH", "# the cluster").set(
            "DWH", DWH_CLUSTER_IDENTIFIER="test-dwh", DWH_CLUSTER_TYPE="single-node", DWH_NUM_NODES=1,
            DWH_DB="sparkify", DWH_DB_USER="sparkify_admin", DWH_DB_PASSWORD=password, DWH_PORT=5439,
            DWH_REGION="us-west-2", DWH_ALLOWED_CIDR=cidr)
        cfg.comment("CLUSTER", "# HOST is written by create_cluster.py").set(
            "CLUSTER", host="old-host.example.invalid", DB_PASSWORD=password)
        return cfg.set("S3", LOG_DATA="s3://udacity-dend/log_data", LOG_JSONPATH="s3://udacity-dend/log_json_path.json",
                       SONG_DATA="s3://udacity-dend/song_data")


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one line `old` of a written file by `new` (a test changing a file between two runs)."""
    text = path.read_text()
    assert re.search(f"^{re.escape(old)}$", text, re.MULTILINE), f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
