"""etl.py --preflight: catch the classic Redshift mistakes before a load, one line per finding.

Run by `etl.py --preflight`, and at the start of every `etl.py` with ENGINE = redshift (which stops
before any ETL statement if a finding is fatal; `--skip-preflight` bypasses it). Each finding is
`ok`, `warn` (could not be checked, or may fail) or `fatal` (the load will fail: fix it first).

In order: the database (sparkify.preflight.database: cluster.login, tables), then with ENGINE = redshift the
AWS checks with your own credentials (sparkify.preflight.aws: aws.credentials, iam.*, s3.*), then with
`etl.py --preflight` each COPY with NOLOAD in a rolled-back transaction (copy.<table>, sparkify.noload):
Redshift itself proves what the lines above can only explain (attachment, bucket policies, KMS, region); on the
PostgreSQL engines the emulated COPY reads and converts everything and reports rejections, inserting nothing.
The preflight that starts every Redshift etl.py leaves the COPYs out: it would read all the sources twice.
"""

from __future__ import annotations

import logging

from sparkify.config import Config
from sparkify.preflight.aws import check_aws
from sparkify.preflight.database import TABLES_QUERY, check_database, tables_query_params
from sparkify.preflight.findings import Finding, PreflightError, exit_code, fatal, format_findings, ok, summary, warn

__all__ = ["TABLES_QUERY", "Finding", "PreflightError", "check_aws", "check_database", "check_noload", "exit_code",
           "format_findings", "report", "require_ok", "run_preflight", "summary", "tables_query_params"]

log = logging.getLogger(__name__)


def check_noload(config: Config) -> list[Finding]:
    """copy.<table>: each COPY of etl.py with NOLOAD, rolled back (sparkify.noload), one finding per table."""
    import psycopg2

    from sparkify import noload
    from sparkify.errors import SparkifyError

    try:
        results = noload.run_all(config)
    except (psycopg2.Error, SparkifyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [warn("copy", f"COPY ... NOLOAD not run: {first}")]
    findings = []
    engine = "Redshift" if config.engine == "redshift" else "the emulated COPY"
    for r in results:
        check = f"copy.{r.table}"
        if r.outcome == "ok":
            findings.append(ok(check, f"COPY ... NOLOAD from {r.source}: {engine} read it, {r.message}; nothing "
                                      "was loaded"))
        elif r.outcome == "rejected":
            findings.append(warn(check, f"COPY ... NOLOAD from {r.source}: {r.message}"))
        elif r.outcome == "skipped":
            findings.append(warn(check, r.message))
        else:
            why = (": Redshift itself refused the load (the iam.* and s3.* lines above explain what can be seen "
                   "without it)" if config.engine == "redshift" else "")
            findings.append(fatal(check, f"COPY ... NOLOAD failed: {r.message}{why}"))
    return findings


def run_preflight(config: Config, *, session=None, noload: bool = False) -> list[Finding]:
    """Every check that applies to config's engine, in order. Never raises for a finding.

    `noload`: also run each COPY with NOLOAD (etl.py --preflight; not the preflight before every load, which
    would read all the sources twice), when the tables exist."""
    findings = check_database(config)
    if config.engine == "redshift":
        findings += check_aws(config, session=session)
    else:
        log.info("ENGINE = %s: only the database checks apply (the IAM and S3 checks are for ENGINE = redshift)",
                 config.engine)
    if noload:
        if any(f.check == "cluster.login" and f.level == "fatal" for f in findings):
            findings.append(warn("copy", "COPY ... NOLOAD not run: cannot log in"))
        elif any(f.check.startswith("tables") and f.level == "fatal" for f in findings):
            findings.append(warn("copy", "COPY ... NOLOAD not run: the tables are missing or differ"))
        else:
            findings += check_noload(config)
    return findings


def report(config: Config, *, session=None) -> tuple[str, int]:
    """etl.py --preflight: (one line per finding, exit code 1 if any is fatal); the summary goes to the log.

    Includes each COPY with NOLOAD, rolled back."""
    findings = run_preflight(config, session=session, noload=True)
    log.info("%s", summary(findings))
    return format_findings(findings), exit_code(findings)


def require_ok(config: Config, *, session=None) -> list[Finding]:
    """The preflight before a Redshift load: log every finding; PreflightError if any is fatal."""
    findings = run_preflight(config, session=session)
    for f in findings:
        {"ok": log.info, "warn": log.warning, "fatal": log.error}[f.level]("preflight %s", f.line())
    log.info("%s", summary(findings))
    fatals = [f for f in findings if f.level == "fatal"]
    if fatals:
        first = fatals[0]
        more = f" (and {len(fatals) - 1} more)" if len(fatals) > 1 else ""
        raise PreflightError(f"preflight: {first.check}: {first.message}{more}; nothing was loaded "
                             "(etl.py --preflight lists every finding; --skip-preflight bypasses it)", findings)
    return findings
