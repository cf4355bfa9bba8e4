"""The documentation's relative links resolve: every file a Markdown page links to exists, and every anchor
names a heading of its page (as GitHub renders it). Also the README stays a guide of at most 250 lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")])

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, with inline code removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose_lines(page.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        base = slug(m[2])
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(page: Path) -> list[str]:
    return [m[1] for line in prose_lines(page.read_text(encoding="utf-8"))
            for m in _LINK.finditer(_INLINE_CODE.sub("", line))]


def broken_links(page: Path) -> list[str]:
    """The relative links of `page` whose file does not exist or whose anchor is no heading of it."""
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ... (not checked: no network here)
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or ROOT not in (dest, *dest.parents):
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    return broken


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Redshift in a few commands", "redshift-in-a-few-commands"),
        ("Database credentials: a password or IAM", "database-credentials-a-password-or-iam"),
        ("Where a day's run goes", "where-a-days-run-goes"),
        ("Before paying: `--dry-run` and `--preflight`", "before-paying---dry-run-and---preflight"),
        ("Merge rules: re-runs and order", "merge-rules-re-runs-and-order"),
        ("See [the schema](docs/schema.md)", "see-the-schema"),
    ],
)
def test_slug_is_githubs(heading, expected):
    assert slug(heading) == expected


def test_duplicate_headings_are_numbered(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A\n## Tests\n```sh\n# not a heading\n```\n## Tests\n", encoding="utf-8")
    assert anchors(page) == {"a", "tests", "tests-1"}


def test_a_broken_link_is_found(tmp_path):
    page = ROOT / "README.md"
    bad = tmp_path / "bad.md"
    bad.write_text(f"[ok]({page}#quickstart) [gone]({tmp_path / 'missing.md'}) "
                   f"[anchor]({page}#no-such-heading) `[code](nowhere.md)`\n", encoding="utf-8")
    found = broken_links(bad)
    assert len(found) == 2 and "missing.md: no such file" in found[0] and "#no-such-heading" in found[1]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    assert broken_links(page) == []


def test_the_pages_are_found():
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {"README.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/schema.md"} <= names


def test_readme_is_a_short_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert "make demo" in readme and "make test" in readme
