"""dwh.cfg as a file: reading and parsing it, keys it should not hold, secrets in it, and who may read it."""

from __future__ import annotations

import configparser
import difflib
import logging
import os
import re
import stat
from pathlib import Path

from sparkify.config.keys import KEY_BY_NAME, KNOWN_KEYS
from sparkify.errors import ConfigError

log = logging.getLogger("sparkify.config")

# A key the table does not declare (a misspelt one, say) is treated as a secret if its name looks like one.
_SECRET_NAME_RE = re.compile(r"(?i)(password|secret|token|^key$|access_key)")
# Whether the platform has POSIX permission bits (Windows has none to check).
HAS_POSIX_MODES = os.name == "posix"


def read_config_file(path: Path) -> configparser.ConfigParser:
    """Parse an INI file; ConfigError (naming the file) if it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], path=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(["cannot read: not UTF-8 text"], path=str(path)) from None
    return parse_config_text(text, path)


def parse_config_text(text: str, path: Path | str) -> configparser.ConfigParser:
    """Parse INI text as dwh.cfg (no interpolation); ConfigError naming `path` if it does not parse."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError([f"cannot parse: {str(exc).splitlines()[0]}"], path=str(path)) from None
    return parser


def get_value(cp: configparser.ConfigParser, section: str, key: str) -> str | None:
    """The stripped value of section/key, without matching surrounding quotes; None if absent or empty."""
    if not cp.has_section(section):
        return None
    value = cp.get(section, key, fallback=None)
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    return value or None


def is_secret(section: str, key: str) -> bool:
    """Whether section/key holds a secret: as the key table says, or, for a key it does not declare, by name."""
    known = KEY_BY_NAME.get((section, key.upper()))
    return known.secret if known is not None else _SECRET_NAME_RE.search(key) is not None


def secret_keys(cp: configparser.ConfigParser) -> list[str]:
    """"[SECTION] KEY" of every secret key the file gives a value."""
    return [f"[{section}] {key.upper()}" for section in cp.sections() for key in cp[section]
            if is_secret(section, key) and get_value(cp, section, key)]


def file_secrets(cp: configparser.ConfigParser) -> tuple[str, ...]:
    """The values of the file's secret keys (for masking, never for use)."""
    values = (get_value(cp, section, key) for section in cp.sections() for key in cp[section]
              if is_secret(section, key))
    return tuple(v for v in values if v)


def warn_if_readable_by_others(path: Path, cp: configparser.ConfigParser) -> bool:
    """Warn if the file holds a secret and other users may read it (POSIX group or other read bits).

    Names the keys, never their values. Returns whether it warned."""
    secrets = secret_keys(cp)
    if not secrets or not HAS_POSIX_MODES:
        return False
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return False
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return False
    log.warning("%s holds %s and other users can read it (mode %04o): run chmod 600 %s", path,
                " and ".join(secrets), mode, path)
    return True


def unknown_keys(cp: configparser.ConfigParser) -> list[tuple[str, str | None, str]]:
    """(section, key, what it may have meant) for every key or section this toolkit does not read.

    `key` is None for an unknown section. The hint names the nearest known key of the section (difflib),
    or the section where the key belongs."""
    out: list[tuple[str, str | None, str]] = []
    for section in cp.sections():
        known = KNOWN_KEYS.get(section)
        if known is None:
            near = difflib.get_close_matches(section.upper(), list(KNOWN_KEYS), n=1, cutoff=0.6)
            out.append((section, None, f"did you mean [{near[0]}]?" if near else
                        f"known sections: {', '.join(f'[{s}]' for s in KNOWN_KEYS)}"))
            continue
        for key in cp[section]:
            upper = key.upper()
            if upper in known:
                continue
            home = next((s for s, keys in KNOWN_KEYS.items() if upper in keys), None)
            near = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
            if home:
                hint = f"it belongs in [{home}]"
            elif near:
                hint = f"did you mean {near[0]}?"
            else:
                hint = f"known keys: {', '.join(known)}"
            out.append((section, upper, hint))
    return out


def check_keys(cp: configparser.ConfigParser, path: Path | str | None, *, strict_sections: tuple[str, ...] = ()
               ) -> list[str]:
    """Warn about every unknown key or section; return the problems for those in `strict_sections`."""
    problems = []
    for section, key, hint in unknown_keys(cp):
        if key is None:
            log.warning("%s: unknown section [%s] is ignored (%s)", path or "config", section, hint)
        elif section in strict_sections:
            problems.append(f"[{section}] {key} is not a known key ({hint}); fix it, or remove it, so nothing is "
                            f"created or deleted on a misspelt setting")
        else:
            log.warning("%s: [%s] %s is not a known key and is ignored (%s)", path or "config", section, key, hint)
    return problems
