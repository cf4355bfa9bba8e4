"""Where a COPY's data comes from: a key prefix (local or S3), or a manifest; and how each file is read.

Redshift's FROM value is a KEY PREFIX, not a directory: 's3://b/log_data/2018/11/2018-11-0' loads the
objects whose keys start with that string (days 1-9), and 'custdata' also matches 'custdata_1/...'. Local
paths follow the same rule on the full path string. Files are listed lazily in lexicographic order of
their full path (the order S3 lists keys in), so a huge tree is never held in memory.

S3: boto3 clients are made inside functions (default credential chain; `spec.endpoint_url` for
S3-compatible stores; boto3 itself honours AWS_ENDPOINT_URL); every S3 call goes through sparkify.s3io,
which retries transient faults (a listing page, an object read whole or resumed where its body broke).
Listing is paginated and done once. `read_all` reads ahead with a bounded thread pool (S3 objects one by
one, small local files in batches) and hands the contents over in listing order.

Hostile sources: a local file whose name is not UTF-8 fails the COPY with one line naming it, its bytes
escaped (S3 keys, sys_load_error_detail and the load ledger are UTF-8: such a file must be renamed); a manifest
read from S3 may name only s3:// objects, as Redshift's manifests do.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from sparkify import s3io
from sparkify.awsnames import is_s3, split_s3
from sparkify.copy import native
from sparkify.errors import LoadError

log = logging.getLogger("sparkify.copy")

FETCH_WORKERS = 8
PREFETCH_LIMIT_BYTES = 8 * 1024 * 1024  # objects up to this size are read whole by the fetch threads
SMALL_FILE_BYTES = 64 * 1024  # local files up to this size are read whole by the fetch threads
LOCAL_BATCH = 256  # local files per read-ahead task
READ_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """One data file: `url` as sys_load_error_detail.file_name shows it, `key` as users see it."""

    url: str  # s3://bucket/key, or the absolute local path
    key: str  # the S3 key, or the local path relative to the source prefix's parent
    size: int | None = None
    etag: str | None = None  # S3 listings only
    last_modified: object = None  # S3 listings only: the object's LastModified (an aware datetime)


def s3_client(endpoint_url: str | None = None, region: str | None = None):
    """A boto3 S3 client for sparkify.s3io's calls (thread-safe once made), with a connection per reading thread."""
    return s3io.s3_client(endpoint_url, region, pool=FETCH_WORKERS + 2)


# --------------------------------------------------------------------------- listing

def local_prefix(prefix: str) -> str:
    """The absolute path prefix a local FROM value stands for (a trailing separator is kept)."""
    absolute = os.path.abspath(os.path.expanduser(prefix))
    if prefix.endswith(("/", os.sep)) and not absolute.endswith(os.sep):
        absolute += os.sep
    return absolute


def _entries(directory: str) -> list[tuple[str, str, bool, bool]] | None:
    """(sort key, path, is_dir, is_file) of a directory's entries (None if it cannot be listed). From the
    entries' types (d_type): no stat per entry, but for symbolic links, which are followed."""
    listed = native.list_dir(directory) if native.load_library() is not None else None
    if listed is not None:
        base = directory if directory.endswith(os.sep) else directory + os.sep
        entries = []
        for kind, name in listed:
            path = base + name
            is_dir = kind == "d" or (kind == "?" and os.path.isdir(path))
            is_file = kind == "f" or (kind == "?" and not is_dir and os.path.isfile(path))
            entries.append((name + (os.sep if is_dir else ""), path, is_dir, is_file))
        return entries
    try:
        with os.scandir(directory) as it:
            return [(e.name + (os.sep if is_dir else ""), e.path, is_dir, is_dir or e.is_file())
                    for e in it for is_dir in (e.is_dir(),)]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None


def _walk(directory: str, prefix: str) -> Iterator[str]:
    """Paths of the files under `directory` that start with `prefix`, in lexicographic order of their full
    path (a directory sorts as its name plus a separator). Iterative: one generator level, however deep."""
    entries = _entries(directory)
    if entries is None:
        return
    entries.sort()
    stack = [iter(entries)]
    while stack:
        for _, path, is_dir, is_file in stack[-1]:
            if is_dir:
                as_dir = path + os.sep
                if as_dir.startswith(prefix) or prefix.startswith(as_dir):
                    sub = _entries(path)
                    if sub:
                        sub.sort()
                        stack.append(iter(sub))
                        break
            elif is_file and path.startswith(prefix):
                yield path
        else:
            stack.pop()


def list_local(prefix: str) -> Iterator[SourceFile]:
    """Every regular file whose absolute path starts with `prefix`, in lexicographic path order (sizes are
    not read here: one stat per file costs more than reading a small file; readers find the size)."""
    full = local_prefix(prefix)
    parent = os.path.dirname(full.rstrip(os.sep)) if full.endswith(os.sep) else os.path.dirname(full)
    walk_from = full.rstrip(os.sep) if full.endswith(os.sep) else parent
    cut = len(parent.rstrip(os.sep)) + 1
    for path in _walk(walk_from or os.sep, full):
        yield SourceFile(url=utf8_name(path), key=path[cut:])


def utf8_name(path: str) -> str:
    """`path` itself if its name is valid UTF-8; else LoadError naming it with its bytes escaped. (Undecodable
    bytes of a file name come from the file system as lone surrogates, which no UTF-8 text can hold.)"""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise LoadError(f"{shown}: the file name is not valid UTF-8 (S3 keys, sys_load_error_detail and the load ledger "
                        "are UTF-8): rename the file") from None
    return path


def list_s3(client, url: str) -> Iterator[SourceFile]:
    """Every object whose key starts with the URI's key prefix (paginated, each page retried; folder markers
    skipped)."""
    bucket, prefix = split_s3(url)
    try:
        for page in s3io.list_pages(client, bucket, prefix):
            yield from _page_objects(bucket, page)
    except s3io.aws_errors() as exc:  # NoSuchBucket, AccessDenied, no credentials, endpoint unreachable
        raise LoadError(f"cannot list {url}: {exc} (check the bucket name, the credentials of the default chain "
                        "and, for an S3-compatible store, [S3] ENDPOINT_URL)") from None


def _page_objects(bucket: str, page: dict) -> Iterator[SourceFile]:
    for obj in page.get("Contents", ()):
        key = obj["Key"]
        if key.endswith("/") and obj.get("Size", 0) == 0:
            continue
        yield SourceFile(url=f"s3://{bucket}/{key}", key=key, size=obj.get("Size"), etag=obj.get("ETag"),
                         last_modified=obj.get("LastModified"))


def read_location(location: str, *, client_factory=None, what: str = "file") -> bytes:
    """The whole content of a small file (JSONPaths, manifest): local path or s3:// URI."""
    if is_s3(location):
        client = client_factory() if client_factory else s3_client()
        try:
            return s3io.read_bytes(client, location)
        except client.exceptions.NoSuchKey:
            raise LoadError(f"{what} {location} does not exist") from None
        except LoadError as exc:  # kept failing (retried)
            raise LoadError(f"{what}: {exc}") from None
        except s3io.aws_errors() as exc:  # 403, no bucket, ...
            raise LoadError(f"cannot read {what} {location}: {exc}") from None
    try:
        with open(os.path.expanduser(location), "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise LoadError(f"{what} {location} does not exist") from None
    except OSError as exc:
        raise LoadError(f"cannot read {what} {location}: {exc.strerror}") from None


def _object_exists(client, url: str) -> int | None:
    """The size of the object or local file at `url`, or None if it does not exist."""
    if is_s3(url):
        try:
            return s3io.head_size(client, url)
        except LoadError as exc:  # kept failing (retried)
            raise LoadError(f"manifest entry: {exc}") from None
        except s3io.aws_errors() as exc:
            raise LoadError(f"cannot read manifest entry {url}: {exc}") from None
    return os.path.getsize(url) if os.path.isfile(url) else None


def list_manifest(manifest_location: str, client_factory) -> Iterator[SourceFile]:
    """The files a manifest names: {"entries": [{"url": "s3://...", "mandatory": true}, ...]}.
    A missing mandatory file fails the COPY (naming it); a missing optional one is skipped. Whether each
    exists is asked MANIFEST_BATCH entries at a time, by FETCH_WORKERS threads (one HEAD per S3 object)."""
    data = read_location(manifest_location, client_factory=client_factory, what="manifest")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LoadError(f"manifest {manifest_location} is not valid JSON ({exc})") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise LoadError(f'manifest {manifest_location} must hold {{"entries": [{{"url": ..., "mandatory": ...}}]}}')
    on_s3 = is_s3(manifest_location)
    base = os.path.dirname(os.path.dirname(os.path.abspath(manifest_location))) if not on_s3 else ""
    checked = [_manifest_entry(manifest_location, on_s3, i, entry) for i, entry in enumerate(entries)]
    client = client_factory() if any(is_s3(path) for path, _, _ in checked) else None
    with ThreadPoolExecutor(FETCH_WORKERS, thread_name_prefix="sparkify-manifest") as pool:
        for start in range(0, len(checked), MANIFEST_BATCH):
            batch = checked[start:start + MANIFEST_BATCH]
            sizes = pool.map(lambda item: _object_exists(client, item[0]), batch)
            for (path, url, mandatory), size in zip(batch, sizes):
                if size is None:
                    if mandatory:
                        raise LoadError(f"manifest {manifest_location}: mandatory file {url} does not exist "
                                        "(fix the manifest or set \"mandatory\": false)")
                    log.warning("manifest %s: optional file %s does not exist; skipped", manifest_location, url)
                    continue
                if is_s3(path):
                    key = split_s3(path)[1]
                else:
                    key = os.path.relpath(path, base) if path.startswith(base + os.sep) else path
                yield SourceFile(url=utf8_name(path), key=key, size=size)


MANIFEST_BATCH = 256


def _manifest_entry(manifest_location: str, on_s3: bool, i: int, entry) -> tuple[str, str, bool]:
    """(path or s3:// URL, the url as written, mandatory) of entry `i`, checked: a manifest on S3 may name S3
    objects only (AWS, "Using a manifest to specify data files": "The URL in the manifest must specify the
    bucket name and full object path for the file"; the emulator reads local manifests too, for local files)."""
    url = entry.get("url") if isinstance(entry, dict) else None
    if not isinstance(url, str) or not url:
        raise LoadError(f"manifest {manifest_location}: entry {i} has no \"url\"")
    if not is_s3(url):
        if on_s3:
            raise LoadError(f"manifest {manifest_location}: entry {i} {url!r} is not an s3:// URL (a manifest on S3 "
                            "may name only S3 objects, as Redshift's may)")
        return os.path.abspath(os.path.expanduser(url)), url, bool(entry.get("mandatory", False))
    try:
        split_s3(url)
    except ValueError as exc:
        raise LoadError(f"manifest {manifest_location}: entry {i}: {exc}") from None
    return url, url, bool(entry.get("mandatory", False))


# --------------------------------------------------------------------------- reading

def open_local(source: SourceFile) -> BinaryIO:
    try:
        return open(source.url, "rb", buffering=READ_BUFFER)
    except FileNotFoundError:
        raise LoadError(f"file {source.url} disappeared while the COPY ran") from None


def file_size(source: SourceFile) -> int:
    """The size of a source (from the listing; a local file's is read from the file system)."""
    if source.size is not None:
        return source.size
    try:
        return os.path.getsize(source.url)
    except OSError:
        return 0


def _fetch(client, source: SourceFile) -> BinaryIO | bytes:
    """An object's content: whole up to PREFETCH_LIMIT_BYTES, else a stream that resumes where it breaks."""
    if source.size is not None and source.size <= PREFETCH_LIMIT_BYTES:
        return s3io.read_bytes(client, source.url)
    return s3io.open_stream(client, source.url, READ_BUFFER)


def _read_small(path: str) -> bytes | None:
    """The whole file if it has at most SMALL_FILE_BYTES, else None (it is then streamed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise LoadError(f"file {path} disappeared while the COPY ran") from None
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}") from None
    try:
        parts = []
        total = 0
        while True:
            data = os.read(fd, SMALL_FILE_BYTES + 1 - total)
            if not data:
                return b"".join(parts)
            parts.append(data)
            total += len(data)
            if total > SMALL_FILE_BYTES:
                return None
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


@dataclass
class LocalBatch:
    """Consecutive local files read by one read-ahead task. `joined`: when every file is one non-empty
    line (one song per file), their lines in order, each newline-terminated (one native conversion)."""

    sources: list[SourceFile]
    contents: list[bytes | None]  # None: bigger than SMALL_FILE_BYTES, streamed
    joined: bytes | None = None

    def items(self) -> Iterator[tuple[SourceFile, bytes | BinaryIO]]:
        for src, data in zip(self.sources, self.contents):
            yield src, (data if data is not None else open_local(src))


def _read_batch(paths: list[str]) -> tuple[list[bytes | None], bytes | None]:
    if native.load_library() is None:
        return [_read_small(p) for p in paths], None
    # in C, without the GIL: one call per batch instead of four system calls and Python work per file
    contents, joined = native.read_files(paths, SMALL_FILE_BYTES)
    return [data if type(data) is bytes else None if data == -1 else _read_small(path)
            for path, data in zip(paths, contents)], joined


def read_all(sources: Iterator[SourceFile], client_factory, *,
             batches: bool = False) -> Iterator[tuple[SourceFile, bytes | BinaryIO] | LocalBatch]:
    """(source, content) for every source, in order: the whole content as bytes for S3 objects up to
    PREFETCH_LIMIT_BYTES and local files up to SMALL_FILE_BYTES, else a binary stream.

    A bounded thread pool reads ahead (the file system and S3 calls release the GIL): S3 objects one per
    task, local files in batches of LOCAL_BATCH (100,000 one-song files cost ~20 µs of system calls each,
    which the threads spread over the cores). At most about FETCH_WORKERS * 2 tasks are in flight.
    With `batches`, local files come as LocalBatch objects instead of one by one."""
    pool: ThreadPoolExecutor | None = None
    client = None
    window: deque[tuple[list[SourceFile], Future]] = deque()
    it = iter(sources)
    exhausted = False
    pending: SourceFile | None = None

    def next_task() -> tuple[list[SourceFile], Future] | None:
        nonlocal pool, client, exhausted, pending
        first = pending if pending is not None else next(it, None)
        pending = None
        if first is None:
            exhausted = True
            return None
        if pool is None:
            pool = ThreadPoolExecutor(FETCH_WORKERS, thread_name_prefix="sparkify-read")
        if is_s3(first.url):
            if client is None:
                client = client_factory()
            return [first], pool.submit(_fetch, client, first)
        batch = [first]
        while len(batch) < LOCAL_BATCH:
            nxt = next(it, None)
            if nxt is None:
                exhausted = True
                break
            if is_s3(nxt.url):
                pending = nxt
                break
            batch.append(nxt)
        return batch, pool.submit(_read_batch, [s.url for s in batch])

    try:
        while True:
            while not exhausted and len(window) < FETCH_WORKERS * 2:
                task = next_task()
                if task is None:
                    break
                window.append(task)
            if not window:
                return
            batch, fut = window.popleft()
            try:
                result = fut.result()
            except (OSError, *s3io.aws_errors()) as exc:
                raise LoadError(f"cannot read {batch[0].url}: {exc}") from None
            if is_s3(batch[0].url):
                yield batch[0], result
                continue
            local = LocalBatch(batch, *result)
            if batches:
                yield local
            else:
                yield from local.items()
    finally:
        for _, fut in window:
            fut.cancel()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
