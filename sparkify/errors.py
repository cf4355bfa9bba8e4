"""Typed errors raised by library code. Only the scripts turn them into exit codes."""

from __future__ import annotations


class SparkifyError(Exception):
    """Base class: the message is one line that names the object and, where possible, the fix."""

    exit_code = 1


class ConfigError(SparkifyError):
    """The configuration file (or the environment) is invalid. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[str] | str, path: str | None = None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(where + "; ".join(self.problems))


class WarehouseError(SparkifyError):
    """The warehouse could not be reached, started or used."""


class LockTimeout(WarehouseError):
    """Another run holds the ETL lock for longer than we were willing to wait."""


class LoadError(SparkifyError):
    """A COPY into a staging table failed; carries the rejected records (dicts shaped like sys_load_error_detail rows)."""

    def __init__(self, message: str, *, table: str | None = None, rejected: list[dict] | None = None):
        super().__init__(message)
        self.table = table
        self.rejected = list(rejected or [])


class CheckError(SparkifyError):
    """One or more data-quality checks failed; carries the failing CheckResult objects."""

    def __init__(self, message: str, failures: list | None = None):
        super().__init__(message)
        self.failures = list(failures or [])


class ProvisioningError(SparkifyError):
    """An AWS provisioning or teardown step failed."""


class ReportError(SparkifyError):
    """The HTML report could not be written."""
