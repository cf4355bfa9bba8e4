"""Writing keys back into dwh.cfg (create_cluster.py's [CLUSTER] and [IAM_ROLE]) and keeping everything else.

configupdater edits the file as a document, so the user's comments, blank lines, other keys and their
order stay as written; only the edited lines change. Around it this module adds what a config file needs:

* an existing key (matched case-insensitively, as configparser does; sections are case-sensitive, as
  configparser does) gets its new value on its own line; comment lines inside a multi-line value it replaces
  are kept after it;
* a missing key goes after the last key of its section (after its comments if it has none);
* a missing section goes at the end of the file, after a blank line;
* new lines take the file's line ending (CRLF stays CRLF).

`update_config` refuses a file configparser cannot parse (nothing is written), writes atomically
(sparkify.files) keeping the file's permission bits, and re-parses the result to check every value landed.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from configupdater import ConfigUpdater
from configupdater.block import Space

from sparkify.config.inifile import parse_config_text
from sparkify.errors import ConfigError
from sparkify.files import atomic_write

Updates = Mapping[str, Mapping[str, str]]
_COMMENT_PREFIXES = ("#", ";")


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
    """Return `text` with `updates` ({section: {key: value}}) applied; see the module docstring.

    Raises ConfigError if configupdater cannot parse `text` (configparser's errors are its own)."""
    _check_updates(updates)
    crlf = "\r\n" in text
    doc = ConfigUpdater()
    try:
        doc.read_string(text.replace("\r\n", "\n"))
    except configparser.Error as exc:
        raise ConfigError([f"cannot parse: {str(exc).splitlines()[0]}"]) from None
    for section, values in updates.items():
        if not doc.has_section(section):
            _append_section(doc, section)
        sec = doc[section]
        for key, value in values.items():
            value = str(value)
            if sec.has_option(key):
                _set(sec[key], value)
            else:
                _add_option(sec, key, value)
    out = str(doc)
    return out.replace("\n", "\r\n") if crlf else out


def _set(option, value: str) -> None:
    """Give an existing option its new value, keeping comment lines that sat inside its old multi-line value."""
    comments = [line.strip() for line in option.lines[1:] if line.strip().startswith(_COMMENT_PREFIXES)]
    option.value = value
    for line in reversed(comments):
        option.add_after.comment(line, comment_prefix=line[0])


def _add_option(section, key: str, value: str) -> None:
    """Add key = value after the section's last option, or after its last comment, or at its top."""
    blocks = list(section.iter_blocks())
    anchor = next((b for b in reversed(blocks) if not isinstance(b, Space)), None)
    if anchor is None:
        section.insert_at(0).option(key, value)
    else:
        anchor.add_after.option(key, value)


def _append_section(doc: ConfigUpdater, name: str) -> None:
    """A new section at the end of the file, separated from what precedes it by one blank line."""
    last = doc.last_block
    if last is None:
        doc.add_section(name)
        return
    # Judged on the text so far, not on the last block's lines: a section this call has just added has none.
    if str(doc).endswith("\n\n"):
        last.add_after.section(name)
    else:
        last.add_after.space().section(name)


def update_config(path: Path | str, updates: Updates) -> bool:
    """Apply `updates` to the INI file at `path` in place, atomically, keeping its mode and other content.

    Returns whether the file changed. Raises ConfigError if the file cannot be read or parsed (nothing is
    written then). A symbolic link is followed: its target is rewritten and the link kept.
    """
    path = Path(os.path.realpath(path))
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], path=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(["cannot read: not UTF-8 text"], path=str(path)) from None
    parse_config_text(text, path)
    new_text = updated_config_text(text, updates)
    cp = parse_config_text(new_text, path)  # the result parses and carries the new values
    for section, values in updates.items():
        for key, value in values.items():
            if cp.get(section, key, fallback=None) != str(value).strip():
                raise ConfigError([f"internal error: [{section}] {key} was not written as expected"], path=str(path))
    if new_text == text:
        return False
    atomic_write(path, new_text.encode("utf-8"), mode=stat.S_IMODE(path.stat().st_mode))
    return True
