"""JSONPaths files and expressions, as Redshift's COPY reads them. Pure.

A JSONPaths file is one JSON object whose member "jsonpaths" is an array of JSONPath expressions, one per
target column, in column order. Redshift accepts only explicit paths to one element: `$`, then members in
bracket notation (`['name']` or `["name"]`) or dot notation (`.name`), and array indexes (`[0]`);
wildcards, `..`, filters and slices are errors. If the file's object has no "jsonpaths" member (its name
is anything else), COPY ignores the file and works as with 'auto'.
"""

from __future__ import annotations

import re

import orjson

Path = tuple  # of str (member) and int (array index)

_DOT_NAME_RE = re.compile(r"\.([^.\[\]'\"*?@$ ]+)")
_BRACKET_RE = re.compile(r"\[\s*(?:'([^']*)'|\"([^\"]*)\"|(\d+))\s*\]")


class JsonPathsError(ValueError):
    """The JSONPaths file or one of its expressions is invalid (message names what and why)."""


def parse_expression(expr: str) -> Path:
    """`$['a'].b[0]` -> ('a', 'b', 0). Raises JsonPathsError for anything Redshift does not accept."""
    if not isinstance(expr, str):
        raise JsonPathsError(f"JSONPath expression {expr!r} is not a string")
    text = expr.strip()
    if not text.startswith("$"):
        raise JsonPathsError(f"Invalid JSONPath format {expr!r}: an expression starts with '$'")
    steps: list = []
    pos = 1
    while pos < len(text):
        m = _DOT_NAME_RE.match(text, pos) if text[pos] == "." else _BRACKET_RE.match(text, pos)
        if m is None:
            raise JsonPathsError(
                f"Invalid JSONPath format {expr!r} at position {pos}: use $['name'], $[\"name\"], $.name or [index]; "
                "wildcards, '..', filters and slices are not supported")
        if text[pos] == ".":
            steps.append(m.group(1))
        elif m.group(3) is not None:
            steps.append(int(m.group(3)))
        else:
            steps.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
    if not steps:
        raise JsonPathsError(f"Invalid JSONPath format {expr!r}: '$' alone names no element")
    return tuple(steps)


def parse_jsonpaths_file(data: bytes, location: str) -> list[Path] | None:
    """The paths of a JSONPaths file, or None when its object has no "jsonpaths" member ('auto' applies)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JsonPathsError(f"JSONPaths file {location} is not valid JSON ({exc}); it must hold one object "
                             '{"jsonpaths": ["$[\'column1\']", ...]}') from None
    if not isinstance(doc, dict):
        raise JsonPathsError(f"JSONPaths file {location} must hold one JSON object "
                             f'{{"jsonpaths": [...]}}, not a {type(doc).__name__}')
    if "jsonpaths" not in doc:
        return None
    paths = doc["jsonpaths"]
    if not isinstance(paths, list) or not paths:
        raise JsonPathsError(f"JSONPaths file {location}: \"jsonpaths\" must be a non-empty array of expressions")
    try:
        return [parse_expression(p) for p in paths]
    except JsonPathsError as exc:
        raise JsonPathsError(f"JSONPaths file {location}: {exc}") from None
