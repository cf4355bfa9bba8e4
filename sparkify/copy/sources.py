"""Where a COPY's data comes from: a key prefix (local or S3), or a manifest; and how each file is read.

Redshift's FROM value is a KEY PREFIX, not a directory: 's3://b/log_data/2018/11/2018-11-0' loads the
objects whose keys start with that string (days 1-9), and 'custdata' also matches 'custdata_1/...'. Local
paths follow the same rule on the full path string. Files are listed lazily in lexicographic order of
their full path (the order S3 lists keys in), so a huge tree is never held in memory.

S3: boto3 clients are made inside functions (default credential chain; `spec.endpoint_url` for
S3-compatible stores; boto3 itself honours AWS_ENDPOINT_URL). Listing is paginated and done once;
objects are fetched by a bounded thread pool, ahead of the consumer, and handed over in listing order.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from sparkify.errors import LoadError

log = logging.getLogger("sparkify.copy")

FETCH_WORKERS = 8
PREFETCH_LIMIT_BYTES = 8 * 1024 * 1024  # objects up to this size are read whole by the fetch threads
READ_BUFFER = 1024 * 1024
_S3_RE = re.compile(r"^s3://([^/]+)/?(.*)$")


@dataclass(frozen=True)
class SourceFile:
    """One data file: `url` as stl_load_errors.filename shows it, `key` as users see it."""

    url: str  # s3://bucket/key, or the absolute local path
    key: str  # the S3 key, or the local path relative to the source prefix's parent
    size: int | None = None


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def split_s3(url: str) -> tuple[str, str]:
    m = _S3_RE.match(url)
    if not m or not m.group(1):
        raise LoadError(f"{url!r} is not an s3://bucket/key URI")
    return m.group(1), m.group(2)


def s3_client(endpoint_url: str | None = None, region: str | None = None):
    """A boto3 S3 client (thread-safe once made); credentials from the default chain."""
    import boto3

    kwargs = {}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if region:
        kwargs["region_name"] = region
    from botocore.config import Config as BotoConfig

    return boto3.client("s3", config=BotoConfig(max_pool_connections=FETCH_WORKERS + 2), **kwargs)


# --------------------------------------------------------------------------- listing

def _local_prefix(prefix: str) -> str:
    absolute = os.path.abspath(os.path.expanduser(prefix))
    if prefix.endswith(("/", os.sep)) and not absolute.endswith(os.sep):
        absolute += os.sep
    return absolute


def _walk(directory: str, prefix: str) -> Iterator[str]:
    try:
        with os.scandir(directory) as it:
            entries = [(e.name + (os.sep if e.is_dir() else ""), e.path, e.is_dir()) for e in it]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    entries.sort()
    for _, path, is_dir in entries:
        if is_dir:
            as_dir = path + os.sep
            if as_dir.startswith(prefix) or prefix.startswith(as_dir):
                yield from _walk(path, prefix)
        elif path.startswith(prefix):
            yield path


def list_local(prefix: str) -> Iterator[SourceFile]:
    """Every regular file whose absolute path starts with `prefix`, in lexicographic path order."""
    full = _local_prefix(prefix)
    parent = os.path.dirname(full.rstrip(os.sep)) if full.endswith(os.sep) else os.path.dirname(full)
    walk_from = full.rstrip(os.sep) if full.endswith(os.sep) else parent
    for path in _walk(walk_from or os.sep, full):
        if os.path.isfile(path):
            yield SourceFile(url=path, key=os.path.relpath(path, parent), size=os.path.getsize(path))


def list_s3(client, url: str) -> Iterator[SourceFile]:
    """Every object whose key starts with the URI's key prefix (paginated; folder markers skipped)."""
    bucket, prefix = split_s3(url)
    paginator = client.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            yield from _page_objects(bucket, page)
    except LoadError:
        raise
    except Exception as exc:  # botocore: NoSuchBucket, AccessDenied, no credentials, endpoint unreachable
        raise LoadError(f"cannot list {url}: {exc} (check the bucket name, the credentials of the default chain "
                        "and, for an S3-compatible store, [S3] ENDPOINT_URL)") from None


def _page_objects(bucket: str, page: dict) -> Iterator[SourceFile]:
    for obj in page.get("Contents", ()):
        key = obj["Key"]
        if key.endswith("/") and obj.get("Size", 0) == 0:
            continue
        yield SourceFile(url=f"s3://{bucket}/{key}", key=key, size=obj.get("Size"))


def read_location(location: str, *, client_factory=None, what: str = "file") -> bytes:
    """The whole content of a small file (JSONPaths, manifest): local path or s3:// URI."""
    if is_s3(location):
        bucket, key = split_s3(location)
        client = client_factory() if client_factory else s3_client()
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            raise LoadError(f"{what} {location} does not exist") from None
        except Exception as exc:  # botocore ClientError (403, no bucket, ...)
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
        bucket, key = split_s3(url)
        try:
            return client.head_object(Bucket=bucket, Key=key).get("ContentLength")
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise LoadError(f"cannot read manifest entry {url}: {exc}") from None
    return os.path.getsize(url) if os.path.isfile(url) else None


def list_manifest(manifest_location: str, client_factory) -> Iterator[SourceFile]:
    """The files a manifest names: {"entries": [{"url": "s3://...", "mandatory": true}, ...]}.
    A missing mandatory file fails the COPY (naming it); a missing optional one is skipped."""
    data = read_location(manifest_location, client_factory=client_factory, what="manifest")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LoadError(f"manifest {manifest_location} is not valid JSON ({exc})") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise LoadError(f'manifest {manifest_location} must hold {{"entries": [{{"url": ..., "mandatory": ...}}]}}')
    client = None
    base = os.path.dirname(os.path.dirname(os.path.abspath(manifest_location))) if not is_s3(manifest_location) else ""
    for i, entry in enumerate(entries):
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url:
            raise LoadError(f"manifest {manifest_location}: entry {i} has no \"url\"")
        mandatory = bool(entry.get("mandatory", False))
        if is_s3(url) and client is None:
            client = client_factory()
        local = not is_s3(url)
        path = os.path.abspath(os.path.expanduser(url)) if local else url
        size = _object_exists(client, path)
        if size is None:
            if mandatory:
                raise LoadError(f"manifest {manifest_location}: mandatory file {url} does not exist "
                                "(fix the manifest or set \"mandatory\": false)")
            log.warning("manifest %s: optional file %s does not exist; skipped", manifest_location, url)
            continue
        if not local:
            key = split_s3(url)[1]
        else:
            key = os.path.relpath(path, base) if path.startswith(base + os.sep) else path
        yield SourceFile(url=path, key=key, size=size)


# --------------------------------------------------------------------------- reading

class _BodyRaw(io.RawIOBase):
    """A raw stream over a botocore StreamingBody, so io.BufferedReader can split lines from it."""

    def __init__(self, body):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()


def open_local(source: SourceFile) -> BinaryIO:
    try:
        return open(source.url, "rb", buffering=READ_BUFFER)
    except FileNotFoundError:
        raise LoadError(f"file {source.url} disappeared while the COPY ran") from None


def _fetch(client, source: SourceFile) -> BinaryIO:
    bucket, key = split_s3(source.url)
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    if source.size is not None and source.size <= PREFETCH_LIMIT_BYTES:
        data = body.read()
        body.close()
        return io.BytesIO(data)
    return io.BufferedReader(_BodyRaw(body), READ_BUFFER)


def open_all(sources: Iterator[SourceFile], client_factory) -> Iterator[tuple[SourceFile, BinaryIO]]:
    """(source, binary stream) for every source, in order. S3 objects are fetched ahead by a bounded pool."""
    pool: ThreadPoolExecutor | None = None
    client = None
    window: deque[tuple[SourceFile, Future | None]] = deque()
    it = iter(sources)
    exhausted = False
    try:
        while True:
            while not exhausted and len(window) < FETCH_WORKERS * 2:
                try:
                    src = next(it)
                except StopIteration:
                    exhausted = True
                    break
                if is_s3(src.url):
                    if pool is None:
                        client = client_factory()
                        pool = ThreadPoolExecutor(FETCH_WORKERS, thread_name_prefix="sparkify-s3")
                    window.append((src, pool.submit(_fetch, client, src)))
                else:
                    window.append((src, None))
                if not is_s3(src.url):
                    break  # local files need no look-ahead
            if not window:
                return
            src, fut = window.popleft()
            if fut is None:
                yield src, open_local(src)
            else:
                try:
                    stream = fut.result()
                except Exception as exc:
                    raise LoadError(f"cannot read {src.url}: {exc}") from None
                yield src, stream
    finally:
        for _, fut in window:
            if fut is not None:
                fut.cancel()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
