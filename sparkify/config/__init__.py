"""dwh.cfg: the only reader of the configuration, reporting every problem at once (docs/configuration.md).

The file is the --config path if given (it must exist), else ./dwh.cfg if present, else the built-in local
default (embedded PostgreSQL and generated sample data under .sparkify/ in the project directory, in a
database of its own). `--sample` (BUILT_IN) asks for the built-in default even when ./dwh.cfg exists.

Two entry points read it: `load_config` (create_tables.py, etl.py, analytics.py: every section, `[DWH]`
included, into a `Config`) and `load_dwh_settings` (create_cluster.py, delete_cluster.py: `[DWH]` and
`[AWS]` only, into `DwhSettings`, because the other sections are written by create_cluster.py and may still
be empty). Both report keys the table (sparkify.config.keys) does not declare, with the nearest known key: a
warning, or an error in `[DWH]` for the two provisioning scripts, where a misspelt key would create (or
delete) something else than what was meant; and both warn when the file holds a secret others can read.

The modules: `keys` (the table of keys) and `kinds` (their kinds of values); `inifile` (the file);
`reader`, `rules` and `dwh` (the validation); `settings` (the results); `edit` (writing keys back);
`reference` (dwh.cfg.example and the documentation's key tables, generated from the table).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sparkify.config.dwh import parse_dwh_settings, password_problem
from sparkify.config.inifile import (
    check_keys,
    file_secrets,
    get_value,
    parse_config_text,
    read_config_file,
    unknown_keys,
    warn_if_readable_by_others,
)
from sparkify.config.keys import (
    AUTH_MODES,
    DWH_MODES,
    ENGINES,
    KNOWN_KEYS,
    PASSWORD_ENV,
    SERVERLESS_PORTS,
    USAGE_LIMIT_ACTIONS,
    valid_base_capacity,
)
from sparkify.config.rules import parse_config
from sparkify.config.settings import (
    DEFAULT_HOME,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_MAXERROR,
    PROJECT_DIR,
    SAMPLE_DB_NAME,
    ClusterSettings,
    Config,
    DwhSettings,
    S3Settings,
    default_config,
)
from sparkify.errors import ConfigError

__all__ = [
    "AUTH_MODES", "BUILT_IN", "CONFIG_EXAMPLE", "CONFIG_HELP", "DEFAULT_HOME", "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_MAXERROR", "DWH_MODES", "ENGINES", "KNOWN_KEYS", "PASSWORD_ENV", "PROJECT_DIR", "SAMPLE_DB_NAME",
    "SERVERLESS_PORTS", "USAGE_LIMIT_ACTIONS",
    "ClusterSettings", "Config", "ConfigError", "DwhSettings", "S3Settings", "check_keys", "default_config",
    "file_secrets", "get_value", "load_config", "load_dwh_settings", "parse_config", "parse_config_text",
    "parse_dwh_settings", "password_problem", "read_config_file", "require_config_path", "resolve_config_path",
    "unknown_keys", "valid_base_capacity",
]

CONFIG_EXAMPLE = "dwh.cfg.example"
CONFIG_HELP = "configuration file with a [DWH] section (default: ./dwh.cfg, which must exist)"


class _BuiltIn:
    """The marker `--sample` stores in place of a path: the built-in default, whatever ./dwh.cfg holds."""

    def __repr__(self) -> str:
        return "BUILT_IN"


BUILT_IN = _BuiltIn()


def resolve_config_path(path: Path | str | _BuiltIn | None) -> Path | None:
    """The file to read, or None for the built-in default (asked for with BUILT_IN, or no --config and no
    ./dwh.cfg)."""
    if path is BUILT_IN:
        return None
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (copy {CONFIG_EXAMPLE} to {p} and edit it)")
        return p
    cwd_cfg = Path("dwh.cfg")
    return cwd_cfg if cwd_cfg.is_file() else None


def load_config(path: Path | str | _BuiltIn | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load the configuration; raise ConfigError listing every problem found."""
    resolved = resolve_config_path(path)
    if resolved is None:
        return default_config()
    cp = read_config_file(resolved)
    config = parse_config(cp, resolved, os.environ if environ is None else environ)
    warn_if_readable_by_others(resolved, cp)  # after the problems, which end the script in one line
    return config


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
    settings = parse_dwh_settings(cp, os.environ if environ is None else environ, path=path,
                                  need_password=need_password, strict=True)
    warn_if_readable_by_others(path, cp)
    return settings
