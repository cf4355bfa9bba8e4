"""Text from the data, made safe to show: control characters become visible escapes.

Values that come from the sources or the warehouse (titles, locations, user agents, file names, a rejected
record's value, a database error quoting a value) reach a terminal, a log line, the HTML report and its
charts. A control character there does harm: ESC and BEL sequences drive the terminal (colours, the window
title, hidden text), a newline forges a log line, a right-to-left override reorders what a reader sees, and
vl-convert aborts the whole process on a character XML cannot hold (U+0001, ESC, U+FFFF...).

`visible(text)` replaces each such character with a backslash escape a reader can see: `\\x1b` for ESC,
`\\x01`, `\\n` for a newline, `\\u202e` for a right-to-left override. Ordinary text, non-ASCII included
(accents, CJK, emoji, Arabic), is kept as it is. What is escaped:
- the C0 controls U+0000-U+001F (tab and newline included), DEL and the C1 controls U+0080-U+009F;
- the bidirectional embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, and the line and
  paragraph separators U+2028, U+2029;
- U+FFFE and U+FFFF, which are not characters;
- a lone surrogate: `\\xNN` for one that stands for an undecodable byte (Python's surrogateescape, as file
  names hold them), else `\\udNNN`.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text, keep: str = "") -> str:
    """`text` (str() of it) with every character listed in the module docstring replaced by its visible
    escape, except those in `keep` (e.g. "\\n" for text of several lines)."""
    text = "" if text is None else str(text)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: m[0] if m[0] in keep else _escape(m[0]), text)


def visible_lines(text) -> str:
    """`text` of several lines: every unsafe character escaped but the newlines between its lines."""
    return visible(text, keep="\n")
