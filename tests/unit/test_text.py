"""sparkify.text.visible: control characters become visible escapes, ordinary text (non-ASCII included) stays;
log lines and error lines of the scripts go through it; so does every string of a chart before vl-convert."""

from __future__ import annotations

import io
import logging

import pytest

from sparkify import charts, cli
from sparkify.errors import LoadError
from sparkify.text import visible, visible_lines


@pytest.mark.parametrize("text, shown", [
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    ("a\x01b", "a\\x01b"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("line\nforged\r\tx", "line\\nforged\\r\\tx"),
    ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
    ("abc\u202egpj.exe", "abc\\u202egpj.exe"),
    ("\u2066x\u2069 \u2028", "\\u2066x\\u2069 \\u2028"),
    ("\ufffe\uffff", "\\ufffe\\uffff"),
    ("caf\udce9", "caf\\xe9"),  # an undecodable byte of a file name (surrogateescape)
    ("\ud800", "\\ud800"),
], ids=["osc title", "soh", "colours", "newline tab cr", "nul del csi", "rtl override", "isolates", "nonchars",
        "surrogateescape", "lone surrogate"])
def test_control_characters_become_visible_escapes(text, shown):
    assert visible(text) == shown


@pytest.mark.parametrize("text", ["Beyoncé", "東京 / Tōkyō", "Mötley Crüe 🤘", "שלום عربي", "tab-free \\x1b text",
                                  "a\u00a0b", "Zoë\u200dZ", ""])
def test_ordinary_text_is_kept_as_it_is(text):
    assert visible(text) == text


def test_values_and_kept_characters():
    assert visible(None) == "" and visible(42) == "42"
    assert visible_lines("one\x1b\ntwo\r\n") == "one\\x1b\ntwo\\r\n"


def test_log_lines_show_data_escaped_on_one_line(capsys):
    cli.setup_logging(level=logging.INFO)
    try:
        logging.getLogger("sparkify.test").warning("gone since loaded: %s", "/data/\x1b]2;x\x07\nFAKE ERROR line")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err
    assert err.rstrip("\n").endswith("gone since loaded: /data/\\x1b]2;x\\x07\\nFAKE ERROR line")


def test_an_error_line_shows_data_escaped(capsys):
    def body():
        raise LoadError('staging_events: COPY rejected 1 record; first: value "\x1b[2J\x1b[H" (see sys_load_error_detail)')

    assert cli.run("etl.py", body) == 1
    err = capsys.readouterr().err
    assert err == 'etl.py: staging_events: COPY rejected 1 record; first: value "\\x1b[2J\\x1b[H" (see sys_load_error_detail)\n'


def test_an_unexpected_error_line_shows_data_escaped(capsys):
    def body():
        raise ValueError("bad \x1b[31mred")

    assert cli.run("analytics.py", body) == 1
    assert "bad \\x1b[31mred" in capsys.readouterr().err


def test_every_string_of_a_chart_spec_is_made_safe():
    spec = {"data": {"values": [{"label": "1. \x01<b>x</b>", "n": 3}], "title": ["a\x1b", {"k\uffff": 2.5}]}}
    assert charts.safe_text(spec) == {"data": {"values": [{"label": "1. \\x01<b>x</b>", "n": 3}],
                                               "title": ["a\\x1b", {"k\\uffff": 2.5}]}}


CHART_CHILD = r"""
import sys
from sparkify import charts
from sparkify.text import visible
for char in sys.argv[1:]:
    char = chr(int(char, 16))
    svg = charts.to_svg(charts.ranked_bars([f"Ber{char}lin"], [3], x_title="listeners", y_title="location"))
    assert svg.startswith("<svg") and f"Ber{visible(char)}lin" in svg, svg
print("rendered", len(sys.argv) - 1)
"""


def test_charts_with_characters_xml_cannot_hold_render():
    """Without safe_text vl-convert aborts the process on these (a Rust panic, exit 134), so the charts are
    rendered in a child process: a regression fails this test instead of killing the test run."""
    import subprocess
    import sys
    from pathlib import Path

    chars = ["1", "1b", "8", "b", "1f", "fffe", "ffff"]
    done = subprocess.run([sys.executable, "-c", CHART_CHILD, *chars], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=300, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"rendered {len(chars)}"), done.stderr[-2000:]


def test_the_real_logging_handler_writes_to_the_stream_it_was_given():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(cli.VisibleFormatter("%(message)s"))
    record = logging.LogRecord("sparkify", logging.INFO, __file__, 1, "value %s", ("\x1b",), None)
    handler.emit(record)
    assert stream.getvalue() == "value \\x1b\n"
