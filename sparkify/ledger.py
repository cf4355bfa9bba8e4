"""The load ledger: which source objects a run COPYs, and the rows that record what it loaded.

Each etl.py run lists the prefix of every COPY (`list_objects`) with each object's size and version:
for an S3 object its ETag (both from the listing itself, no extra request), for a local file its
modification time in nanoseconds, 'mtime:<ns>' (one stat each, relative to an open directory). `plan_table` compares the listing with the ledger rows of that
staging table (sql_queries.loaded_objects_select) and sorts the objects:

- new: never loaded;
- reloaded: loaded before but changed (another size or ETag / modification time), or every loaded
  object with `reload` (etl.py --reload);
- unchanged: skipped, never read again;
- missing: ledger rows under the prefix that the listing no longer has. They are reported and kept:
  nothing a run loaded is ever taken out of the star schema.

The COPY of a table then loads `plan.to_load` only: on Redshift through a manifest written under
[S3] MANIFEST_PREFIX (`manifest_document`, `manifest_url`), on the local engines by handing the list to
the emulated COPY. `ledger_rows` are the rows the run writes, in its transaction, for what it loaded.
Everything here is pure but the listing and `write_manifest`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import NamedTuple

import orjson

from sparkify import s3io
from sparkify.copy import native
from sparkify.copy.convert import copy_escape
from sparkify.copy.sources import is_s3, list_s3, local_prefix, utf8_name
from sparkify.errors import LoadError

log = logging.getLogger(__name__)


class ListedObject(NamedTuple):
    """One source object as the listing sees it (a named tuple: listings hold 100,000s of them)."""

    url: str  # s3://bucket/key, or the absolute local path (loaded_objects.object_url)
    key: str  # as users see it: the S3 key, or the path relative to the prefix's parent
    size: int
    version: str  # the S3 ETag, or 'mtime:<nanoseconds>' for a local file (loaded_objects.version)
    last_modified: datetime | None = None  # S3: the object's LastModified (UTC, naive)
    mtime_ns: int | None = None  # local files

    def modified(self) -> datetime | None:
        """The last modification time, to the microsecond (UTC, naive): loaded_objects.last_modified."""
        if self.mtime_ns is not None:
            return EPOCH + timedelta(microseconds=self.mtime_ns // 1000)
        return self.last_modified


# What the ledger remembers of one loaded object: (size, version), loaded_objects_select's columns but the
# url (a plain tuple: a ledger holds 100,000s of them, read at every run).
LedgerRow = tuple[int, "str | None"]


@dataclass
class TablePlan:
    """What one run does with the objects under one COPY's prefix."""

    table: str
    prefix: str
    new: list[ListedObject] = field(default_factory=list)
    reloaded: list[ListedObject] = field(default_factory=list)  # in the ledger, loaded again
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)  # urls: loaded before, not listed any more
    reload: bool = False
    listing_error: str | None = None  # the dry run only: the prefix could not be listed (why)

    @property
    def to_load(self) -> list[ListedObject]:
        """The objects this run COPYs, in listing (key) order (sorted once: a first load has 100,000s)."""
        key = (len(self.new), len(self.reloaded))
        if getattr(self, "_to_load_key", None) != key:
            self._to_load = sorted(self.new + self.reloaded, key=lambda o: o.url)
            self._to_load_key = key
        return self._to_load

    @property
    def listed(self) -> int:
        return len(self.new) + len(self.reloaded) + self.unchanged

    def summary(self) -> str:
        """'3 new, 1 changed, 26 unchanged (skipped)'-style counts for log lines and the dry run."""
        if self.listing_error:
            return f"not listed ({self.listing_error})"
        again = "reloaded" if self.reload else "changed"
        parts = [f"{len(self.new)} new", f"{len(self.reloaded)} {again}", f"{self.unchanged} unchanged (skipped)"]
        if self.missing:
            parts.append(f"{len(self.missing)} missing")
        return ", ".join(parts)


EPOCH = datetime(1970, 1, 1)


def utc_naive(ts: datetime) -> datetime:
    """A TIMESTAMP value (UTC, no time zone) from an aware datetime."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


# --------------------------------------------------------------------------------------------------
# Listing


def list_objects(prefix: str, client_factory=None) -> Iterator[ListedObject]:
    """Every object under `prefix` (an s3:// key prefix, or a local path prefix) with its size and version.
    S3 objects come in key order, each page retried on transient faults (sparkify.s3io); local files in no
    particular order (the caller sorts what it loads). Raises LoadError when the listing fails, or names a
    local file whose name is not UTF-8."""
    if is_s3(prefix):
        for src in list_s3(client_factory(), prefix):
            yield ListedObject(url=src.url, key=src.key, size=src.size or 0, version=src.etag or "",
                               last_modified=utc_naive(src.last_modified) if src.last_modified else None)
        return
    yield from _list_local(prefix)


_DIRECTORY, _FILE = ord("d"), ord("f")  # native.list_stat's kinds


def _directory_entries(directory: str, fd: int) -> tuple[list[str], bytes, list[int], list[int]]:
    """(names, kinds, sizes, mtimes_ns) of the directories and regular files in `directory` (open as `fd`), links
    followed and entries gone meanwhile left out: the C lister's, one call per directory, or os.scandir's, the
    reference (size and time 0 for a directory). Kinds: one byte per entry, b'd' or b'f' (or b'o', other)."""
    listed = native.list_stat(directory) if native.load_library() is not None else None
    if listed is not None:
        return listed
    names: list[str] = []
    kinds = bytearray()
    sizes: list[int] = []
    mtimes: list[int] = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir():
                kind, size, mtime_ns = _DIRECTORY, 0, 0
            elif entry.is_file():
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue  # deleted while listed: not there
                kind, size, mtime_ns = _FILE, st.st_size, st.st_mtime_ns
            else:
                continue
            names.append(entry.name)
            kinds.append(kind)
            sizes.append(size)
            mtimes.append(mtime_ns)
    return names, bytes(kinds), sizes, mtimes


def _utf8_names(paths: list[str]) -> None:
    """LoadError naming the first of `paths` that is not valid UTF-8 (sparkify.copy.sources.utf8_name), checked
    with one encode for the whole directory."""
    try:
        "\0".join(paths).encode("utf-8")
    except UnicodeEncodeError:
        for path in paths:
            utf8_name(path)


def _list_local(prefix: str) -> Iterator[ListedObject]:
    """The regular files whose absolute path starts with `prefix` (the key-prefix rule of the COPY emulation,
    sparkify.copy.sources.list_local), with one stat each. Symbolic links are followed, as the COPY does.
    With the C library one call lists and stats a whole directory (sparkify.copy.native.list_stat); else
    os.scandir, the reference. Each directory's files become ListedObjects in bulk (a daily run lists every
    song file to find the few new ones): 100,000 one-song files in 704 directories, 0.34 s against 0.38 s one
    file at a time, of which the C calls 0.16-0.23 s (2026-12-07)."""
    full = local_prefix(prefix)
    parent = os.path.dirname(full.rstrip(os.sep)) if full.endswith(os.sep) else os.path.dirname(full)
    start = full.rstrip(os.sep) if full.endswith(os.sep) else parent
    cut = len(parent.rstrip(os.sep)) + 1
    stack = [start or os.sep]
    while stack:
        directory = stack.pop()
        base = directory if directory.endswith(os.sep) else directory + os.sep
        try:
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        try:
            names, kinds, sizes, mtimes = _directory_entries(directory, fd)
        except OSError as exc:
            raise LoadError(f"cannot list {directory}: {exc.strerror}") from None
        finally:
            os.close(fd)
        files = [i for i, kind in enumerate(kinds) if kind == _FILE]
        for i, kind in enumerate(kinds):
            if kind == _DIRECTORY:
                as_dir = base + names[i] + os.sep
                if as_dir.startswith(full) or full.startswith(as_dir):
                    stack.append(base + names[i])
        paths = [base + names[i] for i in files]
        if not base.startswith(full):  # the directory the prefix ends in: only the names that continue it
            kept = [j for j, path in enumerate(paths) if path.startswith(full)]
            files, paths = [files[j] for j in kept], [paths[j] for j in kept]
        _utf8_names(paths)
        yield from map(ListedObject._make, zip(
            paths, [path[cut:] for path in paths], [sizes[i] for i in files],
            [f"mtime:{mtimes[i]}" for i in files], repeat(None), [mtimes[i] for i in files], strict=False))


def _under(url: str, prefix: str) -> bool:
    """Whether a ledger url lies under the listed prefix (the same key-prefix rule as the listing)."""
    if is_s3(prefix):
        return url.startswith(prefix)
    return url.startswith(local_prefix(prefix))


# --------------------------------------------------------------------------------------------------
# Comparing


def plan_table(table: str, prefix: str, listed: Iterable[ListedObject], ledger: Mapping[str, LedgerRow], *,
               reload: bool = False) -> TablePlan:
    """Sort the listed objects against the ledger rows of `table` (see the module docstring): unchanged is the
    same size and version (ETag, or modification time for a local file) as when it was loaded."""
    plan = TablePlan(table=table, prefix=prefix, reload=reload)
    remaining = dict(ledger)
    pop = remaining.pop
    new, reloaded = plan.new.append, plan.reloaded.append
    skipped = 0
    for obj in listed:
        row = pop(obj.url, None)
        if row is None:
            new(obj)
        elif reload or (obj.size, obj.version) != row:
            reloaded(obj)
        else:
            skipped += 1
    plan.unchanged = skipped
    plan.missing = sorted(url for url in remaining if _under(url, prefix))
    return plan


def ledger_from_rows(rows: Iterable[Sequence]) -> dict[str, LedgerRow]:
    """sql_queries.loaded_objects_select's rows (url, size, version) -> {url: LedgerRow}."""
    return {row[0]: row[1:] for row in rows}


# --------------------------------------------------------------------------------------------------
# Writing


LEDGER_COLUMNS = ("table_name", "object_url", "size", "version", "last_modified", "run_id", "loaded_at")


def ledger_rows(plan: TablePlan, run_id: int, loaded_at: datetime) -> list[tuple]:
    """The loaded_objects rows for the objects `plan` loads (in LEDGER_COLUMNS order)."""
    return [(plan.table, o.url, o.size, o.version, o.modified(), run_id, loaded_at) for o in plan.to_load]


def ledger_copy_text(plan: TablePlan, run_id: int, loaded_at: datetime) -> str:
    """ledger_rows(...) as the text of a COPY FROM STDIN (LEDGER_COLUMNS order): ledger_copy_chunks, joined."""
    return b"".join(ledger_copy_chunks(plan, run_id, loaded_at)).decode("utf-8")


def ledger_copy_chunks(plan: TablePlan, run_id: int, loaded_at: datetime, rows: int = 512) -> Iterator[bytes]:
    """ledger_rows(...) as the text of a COPY FROM STDIN (LEDGER_COLUMNS order), `rows` rows per chunk, UTF-8:
    what the PostgreSQL engines send (100,000 rows in a fraction of a second, where building them as literals
    takes seconds). Each chunk is made while the server takes the one before; chunks of about 100 KB, which a
    socket's buffer holds, keep both sides busy (a first load's 100,030 rows: 0.25-0.32 s, against 0.42 s for
    4,096-row chunks and for the text made whole first, 2026-12-07)."""
    head = f"{copy_escape(plan.table)}\t"
    tail = f"\t{int(run_id)}\t{loaded_at.isoformat(sep=' ')}\n"
    objects = plan.to_load
    dates: dict[int, str] = {}  # whole seconds -> their text (files written together share them)
    for start in range(0, len(objects), rows):
        lines = []
        append = lines.append
        for o in objects[start:start + rows]:
            if o.mtime_ns is not None:
                seconds, ns = divmod(o.mtime_ns, 1_000_000_000)
                date = dates.get(seconds)
                if date is None:
                    date = dates[seconds] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
                modified = f"{date}.{ns // 1000:06d}"
            else:
                modified = o.last_modified.isoformat(sep=" ") if o.last_modified is not None else "\\N"
            append(f"{head}{copy_escape(o.url)}\t{o.size}\t{copy_escape(o.version)}\t{modified}{tail}")
        yield "".join(lines).encode("utf-8")


def manifest_url(manifest_prefix: str, run_id: int | None, table: str) -> str:
    """Where a run's manifest for one table goes: <MANIFEST_PREFIX>/run-000042/staging_events.manifest.
    A run that failed leaves its manifest, which the next run (same id) overwrites. (run_id None: a dry run
    that could not read the next run's id.)"""
    run = f"{run_id:06d}" if run_id is not None else "NNNNNN"
    return f"{manifest_prefix.rstrip('/')}/run-{run}/{table}.manifest"


def manifest_document(objects: Sequence[ListedObject]) -> bytes:
    """A COPY manifest naming exactly `objects`; every entry is mandatory, so an object that disappears
    before the COPY fails the load (and the run) instead of being skipped silently."""
    return orjson.dumps({"entries": [{"url": o.url, "mandatory": True, "meta": {"content_length": o.size}}
                                     for o in objects]}, option=orjson.OPT_INDENT_2)


def write_manifest(client, url: str, document: bytes) -> None:
    """Put the manifest on S3, retrying transient faults (LoadError naming the location and the fix if that fails)."""
    try:
        s3io.put_bytes(client, url, document, "application/json")
    except (LoadError, *s3io.aws_errors()) as exc:  # kept failing; ClientError, no credentials, endpoint unreachable
        raise LoadError(f"cannot write the COPY manifest {url}: {exc} (check [S3] MANIFEST_PREFIX: a location "
                        "your AWS credentials may write and the cluster's IAM role may read)") from None
