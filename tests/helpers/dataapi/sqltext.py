"""What the Data API stand-in reads in a statement's text: its named parameters, and a COPY the toolkit rendered.

`bind_named` finds the `:name` parameters the way the Data API does (not inside a string literal, a quoted
identifier or a comment, and not the `::` of a cast) and turns the text into psycopg2's `%(name)s` form; it is
strict where the Data API is: a parameter the text uses must be given, and a given one must be used.

`parse_copy` reads back the COPY statement sparkify.copy.redshift.render_copy writes (its grammar only: the
options it renders, each once) into the CopySpec it came from; anything else is refused.
"""

from __future__ import annotations

import re

from sparkify.copy.spec import CopySpec

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ParameterError(ValueError):
    """A statement's parameters do not match its text (the Data API's ValidationException)."""


def named_parameters(sql: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each :name parameter in `sql`, outside literals, quoted identifiers and comments."""
    found = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            i += 1
            while i < n:
                if sql[i] == "\\":
                    i += 2
                    continue
                if sql[i] == "'":
                    if i + 1 < n and sql[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif c == '"':
            end = sql.find('"', i + 1)
            i = n if end < 0 else end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif sql.startswith("::", i):
            i += 2
        elif c == ":" and (m := _NAME.match(sql, i + 1)):
            found.append((i, m.end(), m.group(0)))
            i = m.end()
        else:
            i += 1
    return found


def bind_named(sql: str, parameters: list[dict] | None) -> tuple[str, dict | None]:
    """(text for psycopg2, its parameters) of a Data API statement and its Parameters list."""
    if not parameters:
        return sql, None
    values = {}
    for p in parameters:
        if p["name"] in values:
            raise ParameterError(f"parameter {p['name']} is given twice")
        values[p["name"]] = p["value"]
    used = named_parameters(sql)
    missing = sorted({name for _, _, name in used} - set(values))
    if missing:
        raise ParameterError(f"the statement uses parameters that are not given: {', '.join(missing)}")
    unused = sorted(set(values) - {name for _, _, name in used})
    if unused:
        raise ParameterError(f"parameters given but not used in the statement: {', '.join(unused)}")
    out, last = [], 0
    for start, end, name in used:
        out.append(sql[last:start].replace("%", "%%"))
        out.append(f"%({name})s")
        last = end
    out.append(sql[last:].replace("%", "%%"))
    return "".join(out), values


# --------------------------------------------------------------------------------------------------
# COPY

_TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_.$]*)|(\d+))")


def is_copy(sql: str) -> bool:
    return re.match(r"^\s*copy\s", sql, re.IGNORECASE) is not None


def _tokens(sql: str) -> list[tuple[str, str]]:
    out, i, text = [], 0, sql.strip().rstrip(";").rstrip()
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            raise ValueError(f"cannot read the COPY statement at {text[i:i + 30]!r}")
        literal, word, number = m.groups()
        out.append(("literal", literal.replace("''", "'")) if literal is not None
                   else ("word", word.lower()) if word is not None else ("number", number))
        i = m.end()
    return out


def parse_copy(sql: str) -> CopySpec:
    """The CopySpec render_copy(spec) was made from (its text does not carry endpoint_url or files)."""
    tokens = _tokens(sql)
    pos = 0

    def take(kind: str, value: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens) or tokens[pos][0] != kind or (value is not None and tokens[pos][1] != value):
            got = tokens[pos] if pos < len(tokens) else "the end"
            raise ValueError(f"COPY: expected {value or kind}, got {got}")
        pos += 1
        return tokens[pos - 1][1]

    take("word", "copy")
    table = take("word")
    take("word", "from")
    values: dict = {"table": table, "source": take("literal"), "manifest": False, "truncatecolumns": False,
                    "blanksasnull": False, "emptyasnull": False, "noload": False}
    seen: set[str] = set()
    while pos < len(tokens):
        option = take("word")
        if option in seen:
            raise ValueError(f"COPY: option {option} given twice")
        seen.add(option)
        if option == "iam_role":
            values["iam_role"] = take("literal")
        elif option == "region":
            values["region"] = take("literal")
        elif option == "format":
            take("word", "as")
            take("word", "json")
            values["json"] = take("literal")
        elif option == "timeformat":
            values["timeformat"] = take("literal")
        elif option == "acceptinvchars":
            take("word", "as")
            values["acceptinvchars"] = take("literal")
        elif option == "maxerror":
            values["maxerror"] = int(take("number"))
        elif option in ("compupdate", "statupdate"):
            state = take("word")
            if state not in ("on", "off"):
                raise ValueError(f"COPY: {option} must be on or off, not {state}")
            values[option] = state == "on"
        elif option in ("manifest", "truncatecolumns", "blanksasnull", "emptyasnull", "noload"):
            values[option] = True
        else:
            raise ValueError(f"COPY: unknown option {option}")
    if "json" not in values:
        raise ValueError("COPY: only FORMAT AS JSON is read here")
    return CopySpec(**values)
