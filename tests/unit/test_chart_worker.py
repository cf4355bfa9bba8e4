"""The chart worker of `analytics.py --html` (sparkify.chart_worker): each chart it renders is the one this
process renders from the same records, hostile text included; a chart or a worker that fails makes the page
fail in one line that names the chart and why; whatever the libraries print never mixes with its answers;
and it is stopped when its report is done."""

from __future__ import annotations

import signal

import pytest

from sparkify import chart_worker, charts
from sparkify.chart_worker import ChartWorker
from sparkify.errors import ReportError

# Text the data can hold: control characters (vl-convert aborts its process on some), markup, bidi, quotes.
HOSTILE = "Ünïcødé \x1b[31m</svg><script>alert(1)</script> \u202e 'q' \"dq\" & \x01 \ufffe \U0001f3b5"

DAYS = ["2018-11-05", "2018-11-06"]
CASES = {
    "plays_by_day": ([{"day": DAYS[0], "level": "free", "plays": 3, "listeners": 2},
                      {"day": DAYS[1], "level": None, "plays": 1, "listeners": 1}],),
    "plays_by_hour": ([0] * 5 + [7] + [0] * 17 + [2],),
    "level_summary": ([{"level": "paid", "plays": 9, "listeners": 2, "users": 3},
                       {"level": HOSTILE, "plays": 1, "listeners": 1, "users": 0}],),
    "listeners_by_day": ([{"day": DAYS[0], "level": "paid", "plays": 3, "listeners": 2}],),
    "level_changes_by_day": ([{"day": DAYS[1], "upgrades": 2, "downgrades": 1}], DAYS),
    "ranked_bars": ([HOSTILE, "b" * 300, "1.5"], [3, 2, 1]),
    "bucket_bars": ([{"plays_from": 1, "plays_to": 1, "sessions": 4},
                     {"plays_from": 101, "plays_to": None, "sessions": 1}], "plays_from", "plays_to"),
    "catalog_match": ({"plays": 10, "matched_plays": 1, "unmatched_plays": 9},),
}
KWARGS = {"ranked_bars": {"x_title": "plays (count)", "y_title": HOSTILE},
          "bucket_bars": {"x_title": "plays per session (count)"}}


@pytest.fixture(scope="module")
def worker():
    with ChartWorker() as w:
        yield w


def test_every_chart_is_a_case():
    assert set(CASES) == set(charts.CHARTS)


@pytest.mark.parametrize("name", charts.CHARTS)
def test_the_worker_renders_each_chart_as_this_process_does(worker, name):
    args, kwargs = CASES[name], KWARGS.get(name, {})
    svg = worker.svg(name, *args, **kwargs)
    assert svg.startswith("<svg") and svg == charts.render(name, *args, **kwargs)


def test_the_worker_renders_with_the_vega_lite_of_this_process(worker):
    assert worker.vegalite_version() == charts.vegalite_version()


@pytest.mark.parametrize("name, message", [
    ("to_svg", "ValueError: no chart builder named 'to_svg': the charts are plays_by_day, "),
    ("__import__", "ValueError: no chart builder named '__import__'"),
])
def test_the_worker_renders_nothing_but_the_chart_builders(worker, name, message):
    with pytest.raises(ReportError) as raised:
        worker.svg(name, "os")
    assert str(raised.value).startswith(f"the report's chart {name} could not be rendered: {message}")
    assert worker.svg("plays_by_hour", [1] * 24).startswith("<svg"), "the worker stopped after an error"


def test_a_chart_that_fails_is_named_with_why(worker):
    with pytest.raises(ReportError, match=r"^the report's chart ranked_bars could not be rendered: TypeError: "
                                          r".*missing 2 required keyword-only arguments: 'x_title' and 'y_title'$"):
        worker.svg("ranked_bars", ["a"], [1])


def test_values_that_are_not_json_are_named_before_they_are_sent(worker):
    with pytest.raises(ReportError) as raised:
        worker.svg("plays_by_hour", {1, 2})
    assert str(raised.value) == ("the report's chart plays_by_hour could not be rendered: its values cannot be sent "
                                 "to the chart renderer: Object of type set is not JSON serializable")
    assert worker.svg("plays_by_hour", [1] * 24).startswith("<svg")


def test_a_worker_that_is_killed_says_so():
    with ChartWorker() as w:
        assert w.vegalite_version()
        w.process.kill()
        with pytest.raises(ReportError) as raised:
            w.svg("plays_by_hour", [1] * 24)
    assert str(raised.value) == ("the report's chart plays_by_hour could not be rendered: the chart renderer's "
                                 "process stopped (killed by SIGKILL): run analytics.py --html again; if it stops "
                                 "again, run with --verbose")


def test_a_worker_that_stops_says_how_and_the_last_thing_it_wrote(monkeypatch, caplog):
    monkeypatch.setattr(chart_worker, "BOOT", "import sys; sys.stderr.write('first\\nthread panicked at render\\n\\n'); "
                                              "sys.exit(3)")
    with caplog.at_level("DEBUG", logger="sparkify.chart_worker"), ChartWorker() as w, \
            pytest.raises(ReportError) as raised:
        w.svg("plays_by_hour", [1] * 24)
    assert str(raised.value).startswith("the chart renderer could not start: the chart renderer's process stopped "
                                        "(exit status 3): thread panicked at render: run analytics.py --html again")
    assert "first\nthread panicked at render" in caplog.text, "--verbose does not show what the worker wrote"


def test_a_worker_without_its_renderer_says_why(monkeypatch):
    monkeypatch.setattr(chart_worker, "BOOT", "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
                                              "sys.modules['vl_convert'] = None; "
                                              "from sparkify.chart_worker import serve; serve()")
    with ChartWorker() as w, pytest.raises(ReportError, match=r"^the chart renderer could not start: ModuleNotFoundError: "
                                                              r"import of vl_convert halted"):
        w.vegalite_version()


def test_a_worker_that_answers_outside_its_protocol_says_what(monkeypatch):
    monkeypatch.setattr(chart_worker, "BOOT", "print('Traceback (most recent call last):')")
    with ChartWorker() as w, pytest.raises(ReportError) as raised:
        w.vegalite_version()
    assert str(raised.value) == ("the chart renderer could not start: the chart renderer answered "
                                 "'Traceback (most recent call last):', which is not its protocol")


def test_what_the_libraries_print_stays_out_of_the_answers(monkeypatch):
    """A library that prints, from Python or from C (straight to file descriptor 1), while the worker renders."""
    monkeypatch.setattr(chart_worker, "BOOT", (
        "import json, os, sys; sys.path[:0] = json.loads(sys.argv[1]); from sparkify import charts; "
        "render = charts.render; "
        "charts.render = lambda *a, **k: (print('chatty'), os.write(1, b'chatty C\\n'), render(*a, **k))[-1]; "
        "from sparkify.chart_worker import serve; serve()"))
    with ChartWorker() as w:
        assert w.svg("plays_by_hour", [2] * 24) == charts.render("plays_by_hour", [2] * 24)


def test_a_finished_report_stops_its_worker_and_a_failed_one_kills_it_at_once():
    with ChartWorker() as w:
        w.vegalite_version()
    assert w.process.returncode == 0, "the worker did not end by itself when its input closed"
    assert all(f.closed for f in (w.process.stdin, w.process.stdout, w.process.stderr)), "a pipe left open"
    with pytest.raises(KeyError), ChartWorker() as w:
        raise KeyError("the report's queries failed while the worker was starting")
    assert w.process.returncode == -signal.SIGTERM
    assert all(f.closed for f in (w.process.stdin, w.process.stdout, w.process.stderr)), "a pipe left open"
