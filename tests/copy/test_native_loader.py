"""Where the C converter comes from: only sparkify/copy/_native.so, built by `make build`, checked before it is
loaded (owner, mode, the source it was built from); anything else means pure Python and one INFO line.
Nothing is compiled or written at run time."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sparkify.copy import native
from sparkify.copy.convert import Options, column_from_catalog
from sparkify.copy.rows import RowBuilder
from tests.helpers.native_diff import line, run


@pytest.fixture
def fresh(monkeypatch):
    """The loader as in a new process (the session's library is back after the test)."""
    for name in ("_lib", "_lib_error", "_read_files", "_list_dir"):
        monkeypatch.setattr(native, name, None)
    monkeypatch.setattr(native, "_off_said", False)
    monkeypatch.setenv("SPARKIFY_NATIVE", "1")


@pytest.fixture
def lib_copy(native_library, tmp_path) -> Path:
    """A copy of the session's library in a directory of its own (mode 0755)."""
    directory = tmp_path / "lib"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    target = directory / "_native.so"
    shutil.copyfile(native_library._name, target)
    os.chmod(target, 0o755)
    return target


def _mapped(path: Path) -> bool:
    """Whether `path` is mapped into this process (Linux)."""
    return str(path) in Path("/proc/self/maps").read_text()


def _info_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sparkify.copy" and r.levelname == "INFO"]


def test_the_toolkit_loads_the_library_beside_its_loader(fresh, native_library):
    if not native.LIBRARY.exists():
        pytest.skip("this session loads its library from --native-lib and no `make build` library exists")
    lib = native.load_library()
    assert Path(lib._name) == native.LIBRARY == Path(native.__file__).with_name("_native.so")


def test_a_copy_with_the_right_source_hash_loads(fresh, lib_copy):
    assert native.use_library(lib_copy) is not None
    assert _mapped(lib_copy)


def test_without_the_library_one_info_line_and_pure_python(fresh, monkeypatch, tmp_path, caplog):
    """A checkout without `make build` (or without a compiler): every COPY works, in Python; said once."""
    monkeypatch.setattr(native, "LIBRARY", tmp_path / "_native.so")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("something ran a program at run time"))
    caplog.set_level("INFO", logger="sparkify.copy")
    assert native.load_library() is None
    assert native.load_library() is None
    assert _info_lines(caplog) == [
        ("the C converter is not used (_native.so is not built (run `make build`; it needs a C compiler)): "
         "converting in pure Python (same results, slower)")]
    columns = [column_from_catalog("s8", "character varying(8)"), column_from_catalog("nn", "integer", True)]
    builder = RowBuilder(columns, [("s8",), ("nn",)], Options())
    assert builder.native is None
    assert run(builder, line() + b"\n") == ([["abc", 7]], [], 1)
    assert not (tmp_path / "cache").exists() and os.listdir(tmp_path / "tmp") == []  # nothing built or cached


def test_switched_off_one_info_line_and_pure_python(fresh, monkeypatch, caplog):
    """SPARKIFY_NATIVE=0: every COPY in Python, the library not even opened; said once, as the other reasons are."""
    monkeypatch.setenv("SPARKIFY_NATIVE", "0")
    caplog.set_level("INFO", logger="sparkify.copy")
    assert native.load_library() is None
    assert native.load_library() is None
    assert _info_lines(caplog) == [
        "the C converter is not used (SPARKIFY_NATIVE=0): converting in pure Python (same results, slower)"]
    builder = RowBuilder([column_from_catalog("s8", "character varying(8)")], [("s8",)], Options())
    assert builder.native is None
    assert native._lib is None and native._lib_error is None  # not tried


def test_a_library_from_another_source_is_refused_before_it_is_loaded(fresh, lib_copy, monkeypatch, caplog):
    """After a `git pull` that changed native.c, without `make build`: pure Python, never the stale ABI."""
    data = lib_copy.read_bytes()
    baked = native.built_from(data)
    assert baked == native.source_hash()
    lib_copy.write_bytes(data.replace(baked.encode(), b"0" * 64))
    with pytest.raises(native.Refused, match=r"_native\.so was built from another version of native\.c: "
                                            r"run `make build`"):
        native.use_library(lib_copy)
    assert not _mapped(lib_copy)

    for name in ("_lib", "_lib_error"):
        monkeypatch.setattr(native, name, None)
    monkeypatch.setattr(native, "LIBRARY", lib_copy)
    caplog.set_level("INFO", logger="sparkify.copy")
    assert native.load_library() is None
    assert [m for m in _info_lines(caplog) if "run `make build`" in m and "pure Python" in m]


def test_an_edited_source_makes_the_built_library_stale(fresh, lib_copy, monkeypatch, tmp_path):
    source = tmp_path / "native.c"
    source.write_bytes(native.SOURCE.read_bytes() + b"\n/* edited */\n")
    monkeypatch.setattr(native, "SOURCE", source)
    with pytest.raises(native.Refused, match="built from another version"):
        native.use_library(lib_copy)


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777])
def test_a_library_others_may_write_is_refused(fresh, lib_copy, mode):
    os.chmod(lib_copy, mode)
    with pytest.raises(native.Refused, match=f"writable by other users \\(mode {mode:o}\\)"):
        native.use_library(lib_copy)
    assert not _mapped(lib_copy)


def test_a_library_in_a_world_writable_directory_is_refused(fresh, lib_copy):
    os.chmod(lib_copy.parent, 0o777)
    with pytest.raises(native.Refused, match="is writable by every user"):
        native.use_library(lib_copy)
    os.chmod(lib_copy.parent, 0o1777)  # sticky (like /tmp): others cannot replace our file
    assert native.use_library(lib_copy) is not None


@pytest.mark.skipif(getattr(os, "geteuid", lambda: -1)() != 0, reason="changing a file's owner needs root")
def test_a_library_of_another_user_is_refused(fresh, lib_copy):
    os.chown(lib_copy, 65534, 65534)
    with pytest.raises(native.Refused, match=r"belongs to another user \(uid 65534\)"):
        native.use_library(lib_copy)
    assert not _mapped(lib_copy)


def test_no_attribute_error_where_there_are_no_user_ids(fresh, lib_copy, monkeypatch):
    """Windows has no os.geteuid: the owner check is skipped, nothing raises AttributeError."""
    monkeypatch.delattr(os, "geteuid")
    assert native.use_library(lib_copy) is not None
    from sparkify import localdb

    assert localdb._euid() is None


def test_the_loader_takes_no_path_from_the_environment():
    """The loader's only path is LIBRARY: no environment variable, cache directory or temporary directory."""
    text = Path(native.__file__).read_text()
    assert text.count("os.environ") == 1 and 'os.environ.get("SPARKIFY_NATIVE"' in text
    for word in ("tempfile", "gettempdir", "XDG_CACHE_HOME", "expanduser", "subprocess"):
        assert word not in text, word
