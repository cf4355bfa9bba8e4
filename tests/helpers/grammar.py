"""sqlfluff's Redshift grammar: whether a statement parses, and as what."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _linter():
    from sqlfluff.core import Linter

    return Linter(dialect="redshift")


@functools.cache
def redshift_parse(sql: str) -> tuple[list[str], list[str]]:
    """(problems, top-level statement types) of `sql` in sqlfluff's redshift dialect; parsed once per text."""
    parsed = _linter().parse_string(sql)
    problems = [v.desc() if hasattr(v, "desc") else str(v) for v in parsed.violations]
    tree = parsed.tree
    if tree is None:
        return problems or ["no parse tree"], []
    problems += [f"unparsable: {seg.raw[:120]!r}" for seg in tree.recursive_crawl("unparsable")]
    types = []
    for seg in tree.recursive_crawl("statement", recurse_into=False):
        inner = [c for c in seg.segments if not (c.is_whitespace or c.is_meta or c.is_comment)]
        types.append(inner[0].get_type() if inner else "empty")
    return problems, types
