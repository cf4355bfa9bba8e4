"""Reading a dry run's output."""

from __future__ import annotations


def statements_of(text: str) -> list[str]:
    """The statements of a dry run's output: comment lines dropped, split on the `;` ending each one."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [s.strip() for s in (body + "\n").split(";\n") if s.strip()]
