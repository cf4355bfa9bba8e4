"""The optional C accelerator of the COPY emulation (native.c), built at install time and loaded with ctypes.

Converting JSON to COPY text in Python costs several µs per log event, more than the server needs to ingest
the row; native.c does the common case in well under a microsecond. It is an accelerator, not a second
implementation: it converts only the lines it is sure about (flat objects of scalars whose values every
column takes as they are, see native.c) and declines every other line, which the Python path then handles
exactly as it always does (sparkify.copy.rows and sparkify.copy.convert are the reference; tests compare the
two on edge cases, fuzzed lines and the real data).

Where the library comes from: `make build` (tools/build_native.py) compiles native.c into LIBRARY, the file
beside this one, when the checkout is installed. This module loads that file and no other: nothing is
compiled at run time, and no library path is taken from the environment or a cache. It loads it only if
  - the file belongs to this user (or root) and is not group- or world-writable, nor is its directory
    world-writable (another local user could otherwise swap the code this process runs);
  - it was built from the native.c beside it: the build bakes the source's SHA-256 into the library, and a
    library from another version (a `git pull` without `make build`) is refused before it is loaded.
Otherwise, without a compiler at install time, or with SPARKIFY_NATIVE=0, everything runs in pure Python
(same results, slower) and one INFO line says why.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from sparkify.copy.convert import Column, Options

log = logging.getLogger("sparkify.copy")

SOURCE = Path(__file__).with_name("native.c")
LIBRARY = Path(__file__).with_name("_native.so")  # built by `make build` (tools/build_native.py); nothing else
HASH_MARKER = b"sparkify-native-source-sha256:"
DONE, DECLINED, FULL = 0, 1, 2
MAX_LINE = 4 * 1024 * 1024  # as native.c's MAX_LINE: longer lines are always declined
_KINDS = {"varchar": 1, "text": 1, "int2": 2, "int4": 3, "int8": 4, "float8": 5, "bool": 7}
K_TS_MS = 6

_lib: ctypes.CDLL | None = None
_lib_error: str | None = None
_off_said = False  # SPARKIFY_NATIVE=0 was logged (once per process, as a refusal is)
NOT_USED = "the C converter is not used (%s): converting in pure Python (same results, slower)"
_read_files = None  # sparkify_read_files through a CDLL handle: it runs without the GIL
_list_dir = None  # sparkify_list_dir, also without the GIL
_list_stat = None  # sparkify_list_stat, also without the GIL
_buffers = threading.local()
_load_lock = threading.Lock()
READ_BUFFER_BYTES = 2 * 1024 * 1024


class _Spec(ctypes.Structure):
    _fields_ = [
        ("ncols", ctypes.c_int),
        ("keys", ctypes.c_char_p),
        ("key_off", ctypes.POINTER(ctypes.c_int)),
        ("key_len", ctypes.POINTER(ctypes.c_int)),
        ("kind", ctypes.POINTER(ctypes.c_int)),
        ("maxlen", ctypes.POINTER(ctypes.c_long)),
        ("not_null", ctypes.POINTER(ctypes.c_int)),
        ("emptyasnull", ctypes.c_int),
        ("blanksasnull", ctypes.c_int),
    ]


class Refused(Exception):
    """The library cannot be used; the message says why and what to do."""


def enabled() -> bool:
    return os.environ.get("SPARKIFY_NATIVE", "1").strip().lower() not in ("0", "no", "false", "off")


def source_hash() -> str:
    """The SHA-256 of the native.c beside this module (what a usable library was built from)."""
    try:
        return hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    except OSError as exc:
        raise Refused(f"cannot read {SOURCE.name} to check the library against it ({exc.strerror})") from None


def check_file(path: Path) -> None:
    """Refuse a library another local user could have written (owner, mode, directory)."""
    try:
        st = os.stat(path)
        parent = os.stat(path.parent)
    except FileNotFoundError:
        raise Refused(f"{path.name} is not built (run `make build`; it needs a C compiler)") from None
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{path} is not a regular file")
    geteuid = getattr(os, "geteuid", None)  # (no owners to compare on Windows)
    if geteuid is not None and st.st_uid not in (geteuid(), 0):
        raise Refused(f"{path} belongs to another user (uid {st.st_uid}): run `make build` as yourself")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Refused(f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o}): run `make build`")
    if parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX:
        raise Refused(f"{path.parent} is writable by every user: a library there could be replaced")


def built_from(data: bytes) -> str | None:
    """The source hash baked into a library's bytes, or None."""
    i = data.find(HASH_MARKER)
    if i < 0:
        return None
    return data[i + len(HASH_MARKER):i + len(HASH_MARKER) + 64].decode("ascii", "replace")


def check_built_from_source(path: Path) -> None:
    """Refuse a library built from another native.c (checked in its bytes, before it is loaded)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror}") from None
    if built_from(data) != source_hash():
        raise Refused(f"{path.name} was built from another version of {SOURCE.name}: run `make build`")


def load_library() -> ctypes.CDLL | None:
    """The converter library (LIBRARY), or None (SPARKIFY_NATIVE=0, or it cannot be used: logged once)."""
    global _off_said
    if not enabled():
        if not _off_said:
            with _load_lock:
                if not _off_said:
                    _off_said = True
                    log.info(NOT_USED, "SPARKIFY_NATIVE=0")
        return None
    if _lib is None and _lib_error is None:
        with _load_lock:
            if _lib is None and _lib_error is None:
                _load(LIBRARY)
    return _lib


def unavailable_reason() -> str | None:
    """Why load_library() gives None ("SPARKIFY_NATIVE=0", or why the library was refused), else None."""
    if not enabled():
        return "SPARKIFY_NATIVE=0"
    return _lib_error


def use_library(path: Path) -> ctypes.CDLL:
    """Load the library at `path` instead of LIBRARY, with the same checks; raise Refused if it cannot be used.

    For the test session only (tests/conftest.py's --native-lib option loads the sanitizer build this way);
    the toolkit never calls it, and no environment variable or configuration can point the loader elsewhere."""
    global _lib, _lib_error, _read_files, _list_dir, _list_stat
    with _load_lock:
        _lib = _lib_error = _read_files = _list_dir = _list_stat = None
        _load(Path(path), quiet=True)
        if _lib is None:
            raise Refused(_lib_error or "not loaded")
    return _lib


def _load(path: Path, quiet: bool = False) -> None:
    global _lib, _lib_error, _read_files, _list_dir, _list_stat
    try:
        check_file(path)
        check_built_from_source(path)
        lib = ctypes.PyDLL(str(path))  # keeps the GIL: short calls, no convoy with the reader threads
        baked = lib.sparkify_source_hash
        baked.restype = ctypes.c_char_p
        if built_from(baked()) != source_hash():  # the file changed between the check and the load
            raise Refused(f"{path.name} was built from another version of {SOURCE.name}: run `make build`")
        fn = lib.sparkify_convert
        fn.argtypes = [ctypes.POINTER(_Spec), ctypes.c_char_p, ctypes.c_long, ctypes.c_char_p, ctypes.c_long,
                       ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_long)]
        fn.restype = ctypes.c_int
        nogil = ctypes.CDLL(str(path), use_errno=True)
        reader = nogil.sparkify_read_files
        reader.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p, ctypes.c_long,
                           ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_int)]
        reader.restype = ctypes.c_long
        lister = nogil.sparkify_list_dir
        lister.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_long]
        lister.restype = ctypes.c_long
        stat_lister = nogil.sparkify_list_stat
        stat_lister.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_long, ctypes.POINTER(ctypes.c_long),
                                ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
        stat_lister.restype = ctypes.c_long
    except (Refused, OSError, AttributeError) as exc:  # OSError: dlopen; AttributeError: a missing function
        _lib_error = str(exc)
        if not quiet:
            log.info(NOT_USED, exc)
        return
    _read_files, _list_dir, _list_stat, _lib = reader, lister, stat_lister, lib


def _kind(col: Column, opts: Options) -> int | None:
    if col.kind == "timestamp":
        return K_TS_MS if (opts.timeformat or "").lower() == "epochmillisecs" else None
    return _KINDS.get(col.kind)


def supported(columns: Sequence[Column], paths: Sequence[tuple], opts: Options, ignorecase: bool) -> bool:
    """Whether native.c can take this COPY's lines (one member name per column, supported types/options)."""
    if ignorecase:  # (TRUNCATECOLUMNS, ACCEPTINVCHARS: native.c declines the values they change)
        return False
    if not columns or len(columns) > 256:
        return False
    for col, path in zip(columns, paths):
        if len(path) != 1 or type(path[0]) is not str or _kind(col, opts) is None:
            return False
        if not path[0].isascii() or "\\" in path[0] or '"' in path[0]:
            return False
    return True


class NativeConverter:
    """native.c bound to one COPY's columns."""

    def __init__(self, lib: ctypes.CDLL, columns: Sequence[Column], paths: Sequence[tuple], opts: Options,
                 out_bytes: int = 2 * MAX_LINE + (1 << 20)):
        keys = [p[0].encode("ascii") for p in paths]
        n = len(columns)
        offsets, off = [], 0
        for k in keys:
            offsets.append(off)
            off += len(k)
        self._keys = b"".join(keys)
        self._arrays = (
            (ctypes.c_int * n)(*offsets),
            (ctypes.c_int * n)(*[len(k) for k in keys]),
            (ctypes.c_int * n)(*[_kind(c, opts) for c in columns]),
            (ctypes.c_long * n)(*[c.length if c.kind == "varchar" and c.length is not None else -1 for c in columns]),
            (ctypes.c_int * n)(*[1 if c.not_null else 0 for c in columns]),
        )
        self._spec = _Spec(n, self._keys, *self._arrays, int(opts.emptyasnull), int(opts.blanksasnull))
        self._fn = lib.sparkify_convert
        self._out = ctypes.create_string_buffer(out_bytes)
        self._out_bytes = out_bytes
        self._pos = ctypes.c_long()
        self._len = ctypes.c_long()
        self._rows = ctypes.c_long()

    def convert(self, buf: bytes, pos: int, end: int) -> tuple[int, int, bytes, int]:
        """Convert the lines of buf[pos:end]: (status, position reached, COPY text, rows)."""
        self._pos.value = pos
        status = self._fn(ctypes.byref(self._spec), buf, end, self._out, self._out_bytes,
                          ctypes.byref(self._pos), ctypes.byref(self._len), ctypes.byref(self._rows))
        rows = self._rows.value
        if status == FULL and rows == 0:
            status = DECLINED
        return status, self._pos.value, ctypes.string_at(self._out, self._len.value) if rows else b"", rows


def read_files(paths: Sequence[str], max_bytes: int) -> tuple[list[bytes | int], bytes | None]:
    """The contents of small local files, read in C without the GIL: (contents, joined).

    contents[i]: bytes, or -1 for a file bigger than `max_bytes`, or -2 for a file that could not be read
    (the caller opens it itself, which reports why). joined: if every file is one non-empty line, their
    lines, each ended by a newline, in order (for one native conversion call); else None.
    Requires load_library() to have succeeded."""
    out = getattr(_buffers, "out", None)
    if out is None:
        out = _buffers.out = ctypes.create_string_buffer(max(READ_BUFFER_BYTES, 2 * (max_bytes + 2)))
    contents: list[bytes | int] = []
    blobs: list[bytes] = []
    all_one_line = True
    i = 0
    while i < len(paths):
        batch = paths[i:]
        n = len(batch)
        lens = (ctypes.c_long * n)()
        one_line = (ctypes.c_int * n)()
        names = b"\0".join(os.fsencode(p) for p in batch) + b"\0"
        used = _read_files(names, n, max_bytes, out, len(out), lens, one_line)
        blob = ctypes.string_at(out, used)
        blobs.append(blob)
        at = 0
        for k in range(n):
            size = lens[k]
            if size == -3:
                break
            if size >= 0:
                contents.append(blob[at:at + size])
                at += size + (1 if one_line[k] and (size == 0 or blob[at + size - 1:at + size] != b"\n") else 0)
            else:
                contents.append(size)
            all_one_line = all_one_line and bool(one_line[k])
            i += 1
    return contents, (b"".join(blobs) if all_one_line and contents else None)


def list_dir(path: str) -> list[tuple[str, str]] | None:
    """(kind, name) of a directory's entries, kind 'd' (directory), 'f' (regular file) or '?' (ask the
    file system); None if the directory cannot be listed this way (the caller uses os.scandir)."""
    if _list_dir is None:
        return None
    out = getattr(_buffers, "names", None)
    if out is None:
        out = _buffers.names = ctypes.create_string_buffer(1 << 20)
    used = _list_dir(os.fsencode(path), out, len(out))
    if used < 0:
        return None
    blob = ctypes.string_at(out, used)
    return [(chr(item[0]), os.fsdecode(item[1:])) for item in blob.split(b"\0")[:-1]]


def list_stat(path: str) -> tuple[list[str], bytes, list[int], list[int]] | None:
    """A directory's entries as the load ledger lists them, in one call: (names, kinds, sizes, mtimes_ns),
    kinds one byte per entry (b'd' directory, b'f' regular file, b'o' other), symbolic links followed and
    entries gone meanwhile left out. None without the library (the caller lists with os.scandir); OSError if
    the directory cannot be read or an entry cannot be stat()ed."""
    if _list_stat is None:
        return None
    used = ctypes.c_long(0)
    while True:
        bufs = getattr(_buffers, "stat", None)
        if bufs is None:
            entries = getattr(_buffers, "stat_entries", 4096)
            bufs = _buffers.stat = (ctypes.create_string_buffer(entries * 64), ctypes.create_string_buffer(entries),
                                    (ctypes.c_int64 * entries)(), (ctypes.c_int64 * entries)(), entries)
        names, kinds, sizes, mtimes, entries = bufs
        n = _list_stat(os.fsencode(path), names, len(names), ctypes.byref(used), kinds, sizes, mtimes, entries)
        if n != -2:
            break
        _buffers.stat_entries, _buffers.stat = entries * 4, None  # a larger directory than any before
    if n < 0:
        err = ctypes.get_errno() or errno.EIO
        raise OSError(err, os.strerror(err), path)
    blob = ctypes.string_at(names, used.value)
    try:  # the common case: every name valid UTF-8, decoded at once
        decoded = blob.decode("utf-8").split("\0")[:n]
    except UnicodeDecodeError:  # as os.scandir gives them: undecodable bytes as lone surrogates
        decoded = [os.fsdecode(b) for b in blob.split(b"\0")[:n]]
    return decoded, kinds.raw[:n], sizes[:n], mtimes[:n]


def converter(columns: Sequence[Column], paths: Sequence[tuple], opts: Options,
              ignorecase: bool = False) -> NativeConverter | None:
    """A native converter for this COPY, or None (unsupported columns, disabled, or the library unusable)."""
    if not supported(columns, paths, opts, ignorecase):
        return None
    lib = load_library()  # (None with SPARKIFY_NATIVE=0)
    if lib is None:
        return None
    return NativeConverter(lib, columns, paths, opts)
