"""A warehouse's schema version, as read from it, and what a job may do with it. Pure: no I/O.

`SchemaFound.of(rows)` takes what sql_queries.schema_tables_select returned (each of the toolkit's tables in
the warehouse, with its columns in order); a versioned warehouse (it has schema_versions) then has the version
it recorded (sql_queries.schema_version_select); an older one is recognised by its tables alone
(sql_queries.RELEASE_TABLES). `problem(current=...)` is the one-line reason a job stops, naming the fix:
etl.py and analytics.py need the current version; `create_tables.py --upgrade` needs a version it knows,
not newer than the current one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sql_queries

UPGRADE_FIX = "run create_tables.py --upgrade, which keeps every row and the load ledger"
AFRESH_FIX = ("create_tables.py makes a new warehouse (it drops every table), then etl.py loads every source object "
              "again")


@dataclass
class SchemaFound:
    """The toolkit's tables in the warehouse (table -> columns in order) and the version it recorded, if any."""

    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    recorded: int | None = None  # max(version) of schema_versions (a versioned warehouse), once read

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str]]) -> SchemaFound:
        tables: dict[str, list[str]] = {}
        for table, column in rows:
            tables.setdefault(table, []).append(column)
        return cls({t: tuple(c) for t, c in tables.items()})

    @property
    def versioned(self) -> bool:
        return sql_queries.VERSION_TABLE in self.tables

    @property
    def recognised(self) -> int | None:
        """The release whose tables are exactly these (a warehouse that records no version), or None."""
        if self.versioned:
            return None
        return next((v for v, tables in sql_queries.RELEASE_TABLES.items() if tables == self.tables), None)

    @property
    def version(self) -> int | None:
        """The warehouse's version: the one it recorded, else the one its tables show, else None (unknown)."""
        return self.recorded if self.versioned else self.recognised

    def describe(self) -> str:
        if self.versioned:
            return f"schema version {self.recorded}"
        return (f"schema version {self.recognised} ({sql_queries.DESCRIPTIONS[self.recognised]}; recognised by its "
                "tables: it records no version)")

    def problem(self, *, current: bool, target: int = sql_queries.SCHEMA_VERSION) -> str | None:
        """Why a job stops here (one line with the fix), or None. `current`: the job needs version `target`
        (etl.py, analytics.py); else it brings a known, older or current, version to `target` (the upgrade)."""
        if not self.tables:
            return f"the warehouse has none of the toolkit's tables: {create_fix(upgrade=not current)}"
        if self.versioned and self.recorded is None:
            return ("the warehouse's schema_versions table holds no version: it was not made by create_tables.py; "
                    f"{AFRESH_FIX}")
        if self.version is None:
            return f"the warehouse's tables match no schema version this toolkit knows ({self.differences()}): {AFRESH_FIX}"
        if self.version > target:
            return (f"the warehouse is at schema version {self.version}, newer than this toolkit's ({target}): run a "
                    "newer release of the toolkit")
        if current and self.version < target:
            return f"the warehouse is at {self.describe()} and this toolkit needs version {target}: {UPGRADE_FIX}"
        return None

    def differences(self) -> str:
        """How the tables differ from those of the latest release that recorded no version."""
        release = max(sql_queries.RELEASE_TABLES)
        expected = sql_queries.RELEASE_TABLES[release]
        missing = [t for t in expected if t not in self.tables]
        changed = [t for t in expected if t in self.tables and self.tables[t] != expected[t]]
        extra = [t for t in self.tables if t not in expected]
        parts = [f"{what}: {', '.join(tables)}" for what, tables in (
            ("missing tables", missing), ("other columns in", changed), ("tables it should not have", extra)) if tables]
        if {"loaded_objects", "song_records"} <= set(missing):
            parts.append("made before the load ledger, whose first release is version 1, it cannot be upgraded in "
                         "place")
        return f"compared with version {release}: " + "; ".join(parts)

    def applied(self, migrations) -> list:
        """The migrations of `migrations` a warehouse at this version has not reached, in order."""
        return [m for m in migrations if self.version is not None and m.version > self.version]

    def rows(self, migrations, at) -> list[tuple]:
        """The schema_versions rows the upgrade records: the version recognised by its tables (if the warehouse
        recorded none), then each migration it applies, all at `at`."""
        out = [] if self.versioned or self.recognised is None else \
            [(self.recognised, sql_queries.DESCRIPTIONS[self.recognised], "recognised", at)]
        return out + [(m.version, m.description, "upgraded", at) for m in self.applied(migrations)]


def create_fix(*, upgrade: bool = False) -> str:
    """The fix for a warehouse without the toolkit's tables; `upgrade`: as told to create_tables.py --upgrade, which
    has nothing to bring up to date there."""
    if upgrade:
        return "nothing to upgrade: run create_tables.py without --upgrade, then etl.py"
    return "run create_tables.py, then etl.py"


def created_rows(migrations, at) -> list[tuple]:
    """The schema_versions rows of a warehouse create_tables.py makes: every version up to the last migration."""
    return [(v, d, "created", at) for v, d in sql_queries.BASELINE.items()] + \
        [(m.version, m.description, "created", at) for m in migrations]
