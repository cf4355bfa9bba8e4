"""The COPY statement Redshift runs, and how its failures are reported. Pure functions, no I/O.

`render_copy` turns a CopySpec into Redshift SQL; every value is validated and quoted as a SQL literal,
so a configuration value can never change the statement's shape. When a real COPY fails, psycopg2 only
says "Load into table ... failed. Check 'stl_load_errors' system table for details" (a view Redshift
Serverless does not have): the pipeline sends sql_queries.load_errors, which reads SYS_LOAD_ERROR_DETAIL, and
shows `format_load_errors(...)` of its rows instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sparkify.awsnames import REGION_RE, ROLE_ARN_RE, S3_URI_RE
from sparkify.copy.spec import CopySpec
from sparkify.errors import ConfigError
from sql_queries import LOAD_ERRORS_VIEW

# Redshift accepts MAXERROR up to 100000 (larger values are silently capped to it).
MAX_MAXERROR = 100_000
TIMEFORMAT_KEYWORDS = ("auto", "epochsecs", "epochmillisecs")

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_S3_URI_RE = S3_URI_RE  # the rules live in sparkify.awsnames, shared with the configuration
_ARN_RE = ROLE_ARN_RE
_TIMEFORMAT_RE = re.compile(r"^[A-Za-z0-9 :.,/_+-]{1,64}$")


class CopySpecError(ConfigError, ValueError):
    """A CopySpec value that cannot be rendered into a COPY statement (names the field and the fix)."""


def quote_literal(value: str) -> str:
    """A SQL string literal: single quotes doubled. Control characters and backslashes are refused,
    because Redshift treats a backslash in a literal as an escape character."""
    if re.search(r"[\x00-\x1f\x7f\\]", value):
        raise CopySpecError(f"value {value!r} contains a control character or a backslash")
    return "'" + value.replace("'", "''") + "'"


def validate_spec(spec: CopySpec) -> None:
    """Raise CopySpecError naming every field of `spec` that Redshift's COPY would not accept."""
    problems: list[str] = []
    if not _IDENT_RE.match(spec.table or ""):
        problems.append(f"table {spec.table!r} is not a table name (letters, digits, _; optionally schema.table)")
    if not _S3_URI_RE.match(spec.source or ""):
        problems.append(f"source {spec.source!r} is not an s3://bucket/prefix URI (Redshift loads only from S3 here)")
    if spec.json not in ("auto", "auto ignorecase") and not _S3_URI_RE.match(spec.json or ""):
        problems.append(f"json {spec.json!r} must be 'auto', 'auto ignorecase' or the s3:// URI of a JSONPaths file")
    if not spec.iam_role:
        problems.append("iam_role is required: set [IAM_ROLE] ARN (arn:aws:iam::<account>:role/<name>)")
    elif not _ARN_RE.match(spec.iam_role):
        problems.append(f"iam_role {spec.iam_role!r} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)")
    if spec.region is not None and not REGION_RE.match(spec.region):
        problems.append(f"region {spec.region!r} is not an AWS region name (like us-west-2)")
    if spec.timeformat is not None and not _TIMEFORMAT_RE.match(spec.timeformat):
        problems.append(f"timeformat {spec.timeformat!r} is not 'epochmillisecs', 'epochsecs', 'auto' "
                        "or a format string")
    char = spec.acceptinvchars
    if char is not None and not (len(char) == 1 and 0x20 <= ord(char) < 0x7f and char not in "'\\"):
        problems.append(f"acceptinvchars {spec.acceptinvchars!r} must be one printable ASCII character (default '?')")
    if isinstance(spec.maxerror, bool) or not isinstance(spec.maxerror, int) or not 0 <= spec.maxerror <= MAX_MAXERROR:
        problems.append(f"maxerror {spec.maxerror!r} must be an integer from 0 to {MAX_MAXERROR}")
    if problems:
        raise CopySpecError(problems)


def render_copy(spec: CopySpec) -> str:
    """The Redshift COPY statement for `spec`, on one line. Raises CopySpecError (a ValueError) on bad values."""
    validate_spec(spec)
    parts = [f"copy {spec.table}", f"from {quote_literal(spec.source)}", f"iam_role {quote_literal(spec.iam_role)}"]
    if spec.region:
        parts.append(f"region {quote_literal(spec.region)}")
    if spec.manifest:
        parts.append("manifest")
    parts.append(f"format as json {quote_literal(spec.json)}")
    if spec.timeformat:
        timeformat = spec.timeformat.lower() if spec.timeformat.lower() in TIMEFORMAT_KEYWORDS else spec.timeformat
        parts.append(f"timeformat {quote_literal(timeformat)}")
    if spec.truncatecolumns:
        parts.append("truncatecolumns")
    if spec.blanksasnull:
        parts.append("blanksasnull")
    if spec.emptyasnull:
        parts.append("emptyasnull")
    if spec.acceptinvchars is not None:
        parts.append(f"acceptinvchars as {quote_literal(spec.acceptinvchars)}")
    parts.append(f"maxerror {spec.maxerror}")
    parts.append(f"compupdate {'on' if spec.compupdate else 'off'}")
    parts.append(f"statupdate {'on' if spec.statupdate else 'off'}")
    if spec.noload:
        parts.append("noload")
    return " ".join(parts)


def display_key(row: Mapping) -> str:
    """The file of a sys_load_error_detail row as shown to users: an S3 key (without s3://bucket/), or the
    emulator's path relative to the COPY's source prefix's parent (the row's `key`)."""
    key = row.get("key")
    if key:
        return str(key)
    file_name = str(row.get("file_name") or "").strip()
    match = re.match(r"^s3://[^/]+/(.*)$", file_name)
    return match.group(1) if match else file_name


def _clip(value: str, limit: int) -> str:
    value = value.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return value if len(value) <= limit else value[: limit - 3] + "..."


def format_load_errors(table: str, rows: Sequence[Mapping], maxerror: int) -> str:
    """One line for the user: how many records were rejected and where the first one is, from rows shaped like
    sys_load_error_detail's (which has no raw line or value: error_message quotes the value where it matters).

    e.g. `staging_events: COPY rejected 3 records (MAXERROR 0); first: log_data/2018/11/2018-11-05-events.json
    line 17, column user_id: Invalid digit, Value 'a', Pos 0, Type: Integer (see sys_load_error_detail)`
    """
    if not rows:
        return (f"{table}: COPY failed and {LOAD_ERRORS_VIEW} holds no row for it (MAXERROR {maxerror}); "
                "the database error above is the cause")
    n = len(rows)
    first = rows[0]
    where = display_key(first)
    line = first.get("line_number")
    if line is not None and int(line) >= 0:
        where += f" line {int(line)}"
    column = str(first.get("column_name") or "").strip()
    if column:
        where += f", column {column}"
    reason = str(first.get("error_message") or "").strip() or f"error {first.get('error_code')}"
    noun = "record" if n == 1 else "records"
    return (f"{table}: COPY rejected {n} {noun} (MAXERROR {maxerror}); first: {where}: {_clip(reason, 200)} "
            f"(see {LOAD_ERRORS_VIEW})")
