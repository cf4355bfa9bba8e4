"""Reading a parsed dwh.cfg through the key table: each value parsed by its key's kind, every problem collected.

The section rules (sparkify.config.rules, sparkify.config.dwh) ask for values here by section and key; a
key the table does not declare is a KeyError, so a rule cannot read an undocumented key.
"""

from __future__ import annotations

import configparser
from typing import Any

from sparkify.config.inifile import get_value
from sparkify.config.keys import key as table_key
from sparkify.config.kinds import Invalid

_TABLE_DEFAULT = object()


class Reader:
    """The values of one parsed file; `problems` collects every one found, in the order the rules ask."""

    def __init__(self, cp: configparser.ConfigParser):
        self.cp = cp
        self.problems: list[str] = []

    def raw(self, section: str, name: str) -> str | None:
        """The value as written (stripped, unquoted), or None if unset or empty."""
        table_key(section, name)
        return get_value(self.cp, section, name)

    def given(self, section: str, name: str) -> bool:
        return self.raw(section, name) is not None

    def get(self, section: str, name: str, default: Any = _TABLE_DEFAULT) -> Any:
        """The parsed value; the default (the table's, unless given) if unset, or if invalid (a problem then)."""
        key = table_key(section, name)
        fallback = key.default if default is _TABLE_DEFAULT else default
        raw = get_value(self.cp, section, name)
        if raw is None:
            return fallback
        try:
            return key.kind.parse(raw)
        except Invalid as exc:
            self.problem(section, name, str(exc))
            return fallback

    def require(self, section: str, name: str, why: str, default: Any = "") -> Any:
        """Like get, but an unset key is a problem: "[SECTION] KEY is required <why>"."""
        if self.raw(section, name) is None:
            self.problem(section, name, f"is required {why}")
            return default
        return self.get(section, name, default)

    def problem(self, section: str, name: str, text: str) -> None:
        self.problems.append(f"[{section}] {name} {text}")
