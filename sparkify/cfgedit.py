"""Edit an INI file (dwh.cfg) in place: change a few keys, keep every other byte as the user wrote it.

configparser can read dwh.cfg but writing it back through configparser would drop the user's comments,
blank lines, key spelling and ordering. These functions edit the text instead:

* an existing key (matched case-insensitively, as configparser does; sections are case-sensitive, as
  configparser does) gets its value replaced on its own line, keeping the key's spelling and the
  spacing around the delimiter; a multi-line (continued) value is replaced by the single new value;
* a missing key is added after the last key of its section (after the header if the section has none);
* a missing section is added at the end of the file;
* every other line, including comments, is kept byte-for-byte (line endings too).

`updated_config_text` is the pure text transformation; `update_config` applies it to a file atomically
(temporary file in the same directory + os.replace), keeping the file's permission bits. The file is parsed
(before and after the edit) by sparkify.config, the one parser of dwh.cfg.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sparkify.config import parse_config_text
from sparkify.errors import ConfigError

Updates = Mapping[str, Mapping[str, str]]

# configparser: a section header is "[name]" on a stripped line (SECTCRE is matched, not fullmatched).
_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
# configparser's OPTCRE with the default delimiters ("=" and ":").
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
_COMMENT_PREFIXES = ("#", ";")


def _split_eol(line: str) -> tuple[str, str]:
    for eol in ("\r\n", "\n", "\r"):
        if line.endswith(eol):
            return line[: -len(eol)], eol
    return line, ""


def _indent(body: str) -> int:
    return len(body) - len(body.lstrip())


def _check_updates(updates: Updates) -> None:
    for section, values in updates.items():
        if not section or any(c in section for c in "[]\r\n"):
            raise ValueError(f"invalid section name: {section!r}")
        for key, value in values.items():
            if not key or key != key.strip() or any(c in key for c in "=:[]\r\n") or key[0] in _COMMENT_PREFIXES:
                raise ValueError(f"invalid key name: [{section}] {key!r}")
            if any(c in str(value) for c in "\r\n"):
                raise ValueError(f"[{section}] {key}: a value cannot contain a line break")


def updated_config_text(text: str, updates: Updates) -> str:
    """Return `text` with `updates` ({section: {key: value}}) applied; see the module docstring."""
    _check_updates(updates)
    lines = text.splitlines(keepends=True)
    eol_style = "\r\n" if "\r\n" in text else "\n"

    # One pass to index the file: sections (first occurrence wins), their key lines and extents.
    sections: dict[str, dict] = {}
    current: dict | None = None
    last_key: dict | None = None  # the option whose value may continue on the next lines
    for i, line in enumerate(lines):
        body, _ = _split_eol(line)
        stripped = body.strip()
        if not stripped:
            continue  # blank lines belong to a continued value only if a continuation line follows
        if stripped.startswith(_COMMENT_PREFIXES):
            continue
        if last_key is not None and _indent(body) > last_key["indent"]:
            last_key["end"] = i + 1  # continuation line of a multi-line value
            current["last_key_end"] = i + 1
            continue
        last_key = None
        m = _SECTION_RE.match(stripped)
        if m:
            name = m.group("header")
            current = sections.setdefault(name, {"header": i, "keys": {}, "last_key_end": None, "end": i + 1})
            if current["header"] != i:  # a duplicate section: configparser refuses those; edit the first one only
                current = {"header": i, "keys": {}, "last_key_end": None, "end": i + 1}
            continue
        if current is None:
            continue  # text before the first section: configparser would refuse it; leave it alone
        m = _OPTION_RE.match(stripped)
        if m and m.group("option"):
            key = m.group("option").lower()
            entry = {"line": i, "end": i + 1, "indent": _indent(body)}
            current["keys"].setdefault(key, entry)
            current["last_key_end"] = i + 1
            last_key = entry
    # Each section extends to its last non-blank line before the next header.
    ordered = sorted(sections.values(), key=lambda s: s["header"])
    for n, sec in enumerate(ordered):
        stop = ordered[n + 1]["header"] if n + 1 < len(ordered) else len(lines)
        end = sec["header"] + 1
        for j in range(sec["header"] + 1, stop):
            if lines[j].strip():
                end = j + 1
        sec["end"] = end

    replace: dict[int, tuple[int, str]] = {}  # first line -> (end line, new text)
    insert_after: dict[int, list[str]] = {}  # line index -> new lines to put after it
    new_sections: list[str] = []
    for section, values in updates.items():
        sec = sections.get(section)
        if sec is None:
            block = [f"[{section}]{eol_style}"] + [f"{k} = {v}{eol_style}" for k, v in values.items()]
            new_sections.append("".join(block))
            continue
        added: list[str] = []
        for key, value in values.items():
            entry = sec["keys"].get(key.lower())
            if entry is None:
                added.append(f"{key} = {value}{eol_style}")
                continue
            body, eol = _split_eol(lines[entry["line"]])
            m = re.match(r"(?P<prefix>\s*.*?\s*[=:]\s*)(?P<value>.*)$", body)
            prefix = m.group("prefix")
            if not m.group("value") and prefix.endswith(("=", ":")) and prefix[:-1] != prefix[:-1].rstrip():
                prefix += " "  # "KEY =" becomes "KEY = value", not "KEY =value"
            if entry["end"] > entry["line"] + 1 and not eol:
                eol = eol_style
            replace[entry["line"]] = (entry["end"], f"{prefix}{value}{eol or ''}")
        if added:
            anchor = (sec["last_key_end"] or sec["end"]) - 1
            insert_after.setdefault(anchor, []).extend(added)

    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in replace:
            end, new = replace[i]
            out.append(new)
            # keep comment lines that sat between continuation lines; drop the old value's lines
            for j in range(i + 1, end):
                if lines[j].strip().startswith(_COMMENT_PREFIXES):
                    out.append(lines[j])
            last = end - 1
            i = end
        else:
            out.append(lines[i])
            last = i
            i += 1
        if last in insert_after:
            if not out[-1].endswith(("\n", "\r")):
                out[-1] += eol_style
            out.extend(insert_after.pop(last))
    result = "".join(out)
    if new_sections:
        if result and not result.endswith(("\n", "\r")):
            result += eol_style
        if result.strip() and not result.endswith(eol_style * 2):
            result += eol_style
        result += eol_style.join(new_sections)
    return result


def update_config(path: Path | str, updates: Updates) -> bool:
    """Apply `updates` to the INI file at `path` in place, atomically, keeping its mode and other content.

    Returns whether the file changed. Raises ConfigError if the file cannot be read or parsed (nothing is
    written then).
    A symbolic link is followed: its target is rewritten and the link kept.
    """
    path = Path(os.path.realpath(path))
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], path=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(["cannot read: not UTF-8 text"], path=str(path)) from None
    parse_config_text(text, path)
    new_text = updated_config_text(text, updates)
    # Sanity check: the result parses and carries the new values.
    cp = parse_config_text(new_text, path)
    for section, values in updates.items():
        for key, value in values.items():
            if cp.get(section, key, fallback=None) != str(value).strip():
                raise ConfigError([f"internal error: [{section}] {key} was not written as expected"], path=str(path))
    if new_text == text:
        return False
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(new_text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        return True
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
