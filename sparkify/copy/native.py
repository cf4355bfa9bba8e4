"""The optional C accelerator of the COPY emulation (native.c), compiled on first use and loaded with ctypes.

Converting JSON to COPY text in Python costs ~5-6 µs per log event, more than the server needs to ingest
the row; native.c does the common case in well under a microsecond. It is an accelerator, not a second
implementation: it converts only the lines it is sure about (flat objects of scalars whose values every
column takes as they are, see native.c) and declines every other line, which the Python path then handles
exactly as it always does (sparkify.copy.rows is the reference; tests load the same inputs both ways and
compare the staged rows).

Building: the first COPY compiles native.c with the system's C compiler (`cc`, or $CC) into
$XDG_CACHE_HOME/sparkify/ (default ~/.cache/sparkify/), named by a hash of the source, so later runs
load it at once. Without a compiler, or with SPARKIFY_NATIVE=0, everything runs in pure Python (slower,
same results); the reason is logged once.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from sparkify.copy.convert import Column, Options

log = logging.getLogger("sparkify.copy")

SOURCE = Path(__file__).with_name("native.c")
CFLAGS = ["-O2", "-shared", "-fPIC", "-std=c99"]
DONE, DECLINED, FULL = 0, 1, 2
MAX_LINE = 4 * 1024 * 1024  # as native.c's MAX_LINE: longer lines are always declined
_KINDS = {"varchar": 1, "text": 1, "int2": 2, "int4": 3, "int8": 4, "float8": 5, "bool": 7}
K_TS_MS = 6

_lib: ctypes.CDLL | None = None
_lib_error: str | None = None
_read_files = None  # sparkify_read_files through a CDLL handle: it runs without the GIL
_list_dir = None  # sparkify_list_dir, also without the GIL
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


def enabled() -> bool:
    return os.environ.get("SPARKIFY_NATIVE", "1").strip().lower() not in ("0", "no", "false", "off")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sparkify"


def _compiler() -> list[str] | None:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    parts = cc.split()
    if parts and shutil.which(parts[0]):
        return parts
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return [name]
    return None


def library_path(directory: Path | None = None) -> Path:
    tag = f"{' '.join(CFLAGS)} {sys.platform} {platform.machine()}".encode()
    digest = hashlib.sha256(SOURCE.read_bytes() + tag).hexdigest()[:16]
    return (directory or _cache_dir()) / f"sparkify_native-{digest}.so"


def _built_library() -> Path:
    """The compiled library: from the cache, else compiled now (into a private temporary directory if the
    cache directory is not writable)."""
    path = library_path()
    if path.exists():
        return path
    if _compiler() is None:
        raise OSError("no C compiler found (cc, gcc or clang; or set CC)")
    try:
        log.debug("compiling the native COPY converter into %s", path)
        build(path)
        return path
    except PermissionError:
        fallback = library_path(Path(tempfile.gettempdir()) / f"sparkify-{os.getuid()}")
        if not fallback.exists():
            log.debug("compiling the native COPY converter into %s", fallback)
            build(fallback)
        return fallback


def build(target: Path) -> None:
    """Compile native.c into `target` (atomically: a concurrent build never leaves a partial file)."""
    cc = _compiler()
    if cc is None:
        raise OSError("no C compiler found (cc, gcc or clang; or set CC)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        proc = subprocess.run([*cc, *CFLAGS, "-o", tmp, str(SOURCE)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise OSError(f"{' '.join(cc)} failed: {(proc.stderr or proc.stdout).strip()[:500]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_library() -> ctypes.CDLL | None:
    """The compiled converter (compiled now if needed), or None (the reason is logged once)."""
    global _lib_error
    if _lib is not None or _lib_error is not None:
        return _lib
    if not enabled():
        _lib_error = "SPARKIFY_NATIVE=0"
        return None
    with _load_lock:
        if _lib is None and _lib_error is None:
            _load()
    return _lib


def _load() -> None:
    global _lib, _lib_error, _read_files, _list_dir
    try:
        path = _built_library()
        lib = ctypes.PyDLL(str(path))  # keeps the GIL: short calls, no convoy with the reader threads
        fn = lib.sparkify_convert
        fn.argtypes = [ctypes.POINTER(_Spec), ctypes.c_char_p, ctypes.c_long, ctypes.c_char_p, ctypes.c_long,
                       ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_long)]
        fn.restype = ctypes.c_int
        reader = ctypes.CDLL(str(path)).sparkify_read_files
        reader.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p, ctypes.c_long,
                           ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_int)]
        reader.restype = ctypes.c_long
        _read_files = reader
        lister = ctypes.CDLL(str(path)).sparkify_list_dir
        lister.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_long]
        lister.restype = ctypes.c_long
        _list_dir = lister
        _lib = lib
    except (OSError, subprocess.SubprocessError) as exc:
        _lib_error = str(exc)
        log.info("the native COPY converter is not available (%s): using the pure-Python converter "
                 "(same results, slower)", exc)


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


def converter(columns: Sequence[Column], paths: Sequence[tuple], opts: Options,
              ignorecase: bool = False) -> NativeConverter | None:
    """A native converter for this COPY, or None (unsupported columns, disabled, or no compiler)."""
    if not enabled() or not supported(columns, paths, opts, ignorecase):
        return None
    lib = load_library()
    if lib is None:
        return None
    return NativeConverter(lib, columns, paths, opts)
