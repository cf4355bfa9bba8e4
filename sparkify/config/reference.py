"""The reference generated from the key table: dwh.cfg.example, and the key tables of docs/configuration.md.

Both are written by `python tools/config_reference.py --write` and checked by the tests, so the example and the
documentation name exactly the keys the parser reads, with the same defaults.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from sparkify.config.keys import KEYS, SECTIONS, Key, Section
from sparkify.config.settings import PROJECT_DIR

EXAMPLE_PATH = PROJECT_DIR / "dwh.cfg.example"
DOCS_PATH = PROJECT_DIR / "docs" / "configuration.md"
WIDTH = 110

EXAMPLE_HEADER = """\
# Sparkify warehouse configuration. Copy to dwh.cfg (git-ignored) and edit; docs/configuration.md describes
# every key. Without any dwh.cfg the scripts use the built-in local default: ENGINE = local with generated
# sample data under .sparkify/, nothing to configure. A dwh.cfg holding a password should be readable by you
# only: chmod 600 dwh.cfg.
# (Generated from sparkify/config/keys.py by tools/config_reference.py: edit the table, not this file.)
"""

# <!-- keys:SECTION --> ... <!-- /keys --> in the documentation: the generated block of one section.
_BLOCK_RE = re.compile(r"(<!-- keys:(?P<section>\w+) -->\n)(?P<body>.*?)(<!-- /keys -->)", re.DOTALL)


def _plain(markdown: str) -> str:
    return markdown.replace("`", "")


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH - 2, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)


def _keys(section: Section) -> list[Key]:
    return [k for k in KEYS if k.section == section.name]


def _required(key: Key) -> str | None:
    if key.required is None:
        return None
    return "required" if key.required == "always" else f"required {key.required}"


def render_example() -> str:
    """The text of dwh.cfg.example."""
    lines = [EXAMPLE_HEADER.rstrip("\n")]
    for section in SECTIONS:
        lines += ["", f"[{section.name}]", *_comment(_plain(section.doc))]
        for key in _keys(section):
            notes = [_plain(key.doc)]
            if key.required:
                required = _plain(_required(key))
                notes.append(required[0].upper() + required[1:] + ".")
            if key.default_doc:
                notes.append(f"Unset: {_plain(key.default_doc)}.")
            setting = f"{key.name} = {key.example_value}".rstrip()
            lines += [*_comment(" ".join(notes)), setting if key.in_example else f"# {setting}"]
    return "\n".join(lines) + "\n"


def _default_cell(key: Key) -> str:
    if key.default_doc:
        text = key.default_doc
    elif isinstance(key.default, bool):
        text = f"`{str(key.default).lower()}`"
    elif key.default in (None, ()):
        text = "none"
    else:
        text = f"`{key.default}`"
    required = _required(key)
    return f"{text}; {required}" if required and text != "none" else (required or text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(section: Section) -> str:
    """A section's generated block: what it is for, who reads it, and the table of its keys."""
    rows = [section.doc, "", f"Read by: {section.read_by}.", "", "| key | value | default | meaning |",
            "|---|---|---|---|"]
    for key in _keys(section):
        rows.append(f"| `{key.name}` | {_cell(key.kind.describe())} | {_cell(_default_cell(key))} | "
                    f"{_cell(key.doc)} |")
    return "\n".join(rows) + "\n"


def render_docs(text: str) -> str:
    """`text` with each generated block (<!-- keys:SECTION --> ... <!-- /keys -->) rendered anew."""
    by_name = {s.name: s for s in SECTIONS}

    def block(m: re.Match) -> str:
        section = by_name.get(m.group("section"))
        if section is None:
            raise ValueError(f"unknown section in a generated block: {m.group('section')}")
        return f"{m.group(1)}{render_table(section)}{m.group(4)}"

    return _BLOCK_RE.sub(block, text)


def documented_sections(text: str) -> list[str]:
    """The sections whose generated table the documentation holds, in order."""
    return [m.group("section") for m in _BLOCK_RE.finditer(text)]


def stale_files(example: Path = EXAMPLE_PATH, docs: Path = DOCS_PATH) -> list[Path]:
    """The generated files that differ from what the table gives now."""
    stale = []
    if not example.is_file() or example.read_text(encoding="utf-8") != render_example():
        stale.append(example)
    text = docs.read_text(encoding="utf-8") if docs.is_file() else ""
    if render_docs(text) != text or documented_sections(text) != [s.name for s in SECTIONS]:
        stale.append(docs)
    return stale


def write_files(example: Path = EXAMPLE_PATH, docs: Path = DOCS_PATH) -> list[Path]:
    """Rewrite the generated parts; return the files that changed."""
    changed = []
    new_example = render_example()
    if not example.is_file() or example.read_text(encoding="utf-8") != new_example:
        example.write_text(new_example, encoding="utf-8")
        changed.append(example)
    text = docs.read_text(encoding="utf-8")
    new_text = render_docs(text)
    if new_text != text:
        docs.write_text(new_text, encoding="utf-8")
        changed.append(docs)
    return changed
