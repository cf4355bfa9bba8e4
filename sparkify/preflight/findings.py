"""The preflight's findings: one line each (`ok`, `warn`: could not be checked or may fail, `fatal`: the load
will fail), how they are printed and summed up, and the error raised when one is fatal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sparkify.errors import SparkifyError

LEVELS = ("ok", "warn", "fatal")
_LABELS = {"ok": "ok", "warn": "WARN", "fatal": "FATAL"}


class PreflightError(SparkifyError):
    """At least one preflight finding is fatal: the load would fail."""

    def __init__(self, message: str, findings: list | None = None):
        super().__init__(message)
        self.findings = list(findings or [])


@dataclass(frozen=True)
class Finding:
    level: str  # "ok" | "warn" | "fatal"
    check: str
    message: str

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {self.level!r}")

    def line(self) -> str:
        return f"{_LABELS[self.level]:<5} {self.check}: {self.message}"


def ok(check: str, message: str) -> Finding:
    return Finding("ok", check, message)


def warn(check: str, message: str) -> Finding:
    return Finding("warn", check, message)


def fatal(check: str, message: str) -> Finding:
    return Finding("fatal", check, message)


def format_findings(findings: Sequence[Finding]) -> str:
    return "\n".join(f.line() for f in findings)


def exit_code(findings: Sequence[Finding]) -> int:
    return 1 if any(f.level == "fatal" for f in findings) else 0


def summary(findings: Sequence[Finding]) -> str:
    counts = {level: sum(1 for f in findings if f.level == level) for level in LEVELS}
    return f"preflight: {counts['ok']} ok, {counts['warn']} warnings, {counts['fatal']} fatal"
