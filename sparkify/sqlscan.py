"""The names a SQL statement uses, read as the server reads them: string literals, dollar-quoted text and comments
are skipped, quoted identifiers are names. Pure, no I/O.

The local engines refuse, as Redshift Serverless does, a statement that names a provisioned-only system view
(`provisioned_only_views`); a word inside a literal or a comment (an S3 key, a note) is not a name.
"""

from __future__ import annotations

import re

# The views AWS lists under "System monitoring (provisioned only)": STL, STV, SVL and SVCS
# (https://docs.aws.amazon.com/redshift/latest/dg/c_intro_system_views.html). SVV and SYS views serve Redshift
# Serverless too.
PROVISIONED_ONLY_PREFIXES = ("stl_", "stv_", "svl_", "svcs_")

_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<string>[eEbBxXnN]?'(?:[^']|'')*'?)
    | (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
    | (?P<quoted>"(?:[^"]|"")*"?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def names(sql: str) -> list[str]:
    """Every word and quoted identifier of `sql` outside literals and comments, in order: unquoted words
    lower-cased, quoted identifiers unquoted (`""` as `"`) and lower-cased too (Redshift folds them unless
    enable_case_sensitive_identifier is on). Keywords are words as well."""
    out: list[str] = []
    pos, end = 0, len(sql)
    while pos < end:
        m = _TOKEN.match(sql, pos)
        kind, pos = m.lastgroup, m.end()
        if kind == "word":
            out.append(m.group().lower())
        elif kind == "quoted":
            out.append(m.group()[1:-1].replace('""', '"').lower())
        elif kind == "block_comment":
            pos = _block_comment_end(sql, pos)
        elif kind == "dollar":
            close = sql.find(m.group(), pos)
            pos = end if close < 0 else close + len(m.group())
    return out


def _block_comment_end(sql: str, pos: int) -> int:
    """The end of the block comment opened just before `pos` (they nest, as in PostgreSQL)."""
    depth = 1
    while depth and pos < len(sql):
        if sql.startswith("/*", pos):
            depth, pos = depth + 1, pos + 2
        elif sql.startswith("*/", pos):
            depth, pos = depth - 1, pos + 2
        else:
            pos += 1
    return pos


def provisioned_only_views(sql: str) -> list[str]:
    """The provisioned-only system views (STL_, STV_, SVL_, SVCS_) `sql` names, in order, without repeats."""
    return list(dict.fromkeys(n for n in names(sql) if n.startswith(PROVISIONED_ONLY_PREFIXES)))
