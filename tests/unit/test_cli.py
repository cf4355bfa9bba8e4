"""sparkify.cli.run: what a script's user sees when its body fails (one line on stderr and an exit code; the
traceback only with --verbose)."""

from __future__ import annotations

import argparse
import logging

import pytest

from sparkify import cli
from sparkify.errors import ConfigError, LoadError


def _logging(verbose: bool = False, quiet: bool = False) -> None:
    cli.setup_logging(argparse.Namespace(verbose=verbose, quiet=quiet))


def test_success_returns_the_body_code(capsys):
    assert cli.run("x.py", lambda: None) == 0
    assert cli.run("x.py", lambda: 3) == 3
    assert capsys.readouterr() == ("", "")


def test_ctrl_c_is_exit_130_with_one_line(capsys):
    def body():
        raise KeyboardInterrupt

    _logging()
    assert cli.run("etl.py", body) == 130
    out, err = capsys.readouterr()
    assert (out, err) == ("", "etl.py: interrupted\n")


@pytest.mark.parametrize("error, code", [(LoadError("staging_events: COPY failed"), 1),
                                         (ConfigError(["[S3] LOG_DATA is required"], path="dwh.cfg"), 2)])
def test_library_errors_are_one_line_with_their_exit_code(capsys, error, code):
    def body():
        raise error

    _logging()
    assert cli.run("etl.py", body) == code
    err = capsys.readouterr().err
    assert err == f"etl.py: {error}\n" and err.count("\n") == 1


def test_an_unexpected_error_is_one_line_and_exit_1(capsys):
    def body():
        raise ZeroDivisionError("division by zero")

    _logging()
    assert cli.run("analytics.py", body) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("analytics.py: unexpected error: ZeroDivisionError: division by zero "
                   "(run with --verbose for the traceback)\n")


def test_with_verbose_an_unexpected_error_shows_its_traceback(capsys):
    def body():
        raise ZeroDivisionError("division by zero")

    _logging(verbose=True)
    with pytest.raises(ZeroDivisionError):  # the interpreter prints the traceback, exit code 1
        cli.run("analytics.py", body)
    assert capsys.readouterr().err == ""


def test_a_database_error_is_its_first_line(capsys):
    import psycopg2

    def body():
        raise psycopg2.OperationalError("server closed the connection unexpectedly\nThis probably means ...")

    _logging()
    assert cli.run("etl.py", body) == 1
    assert capsys.readouterr().err == "etl.py: database error: server closed the connection unexpectedly\n"


@pytest.mark.parametrize("flags, level", [([], logging.INFO), (["-v"], logging.DEBUG), (["-q"], logging.WARNING)])
def test_verbosity_flags_set_the_log_level(flags, level):
    args = cli.parser("x.py", "x").parse_args(flags)
    cli.setup_logging(args)
    assert logging.getLogger("sparkify").level == level


def test_a_closed_stdout_pipe_is_exit_1_without_a_message():
    """`analytics.py --json | head`: the reader goes away; the script stops quietly (as Python's docs advise),
    not with an 'unexpected error' line."""
    import subprocess
    import sys

    code = ("import sys\nfrom sparkify import cli\n"
            "def body():\n    for i in range(200000):\n        print('line', i)\n"
            "sys.exit(cli.run('x.py', body))\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.read(10) == b"line 0\nlin"
    p.stdout.close()
    err = p.stderr.read()
    p.stderr.close()
    assert (p.wait(timeout=60), err) == (1, b"")


def test_a_stdout_closed_before_the_first_write_is_exit_1_without_a_message():
    """`... | true`: the reader is gone before the script's output, still in its buffer, is written."""
    import os
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)
    code = "import sys; from sparkify import cli; sys.exit(cli.run('x.py', lambda: print('y' * 100)))"
    proc = subprocess.run([sys.executable, "-c", code], stdout=w, stderr=subprocess.PIPE, text=True, timeout=60,
                          check=False)
    os.close(w)
    assert (proc.returncode, proc.stderr) == (1, "")


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(capsys):
    def body():
        raise BrokenPipeError(32, "Broken pipe")

    _logging()
    assert cli.run("analytics.py", body) == 1
    assert capsys.readouterr().err.startswith("analytics.py: unexpected error: BrokenPipeError")


def test_sample_asks_for_the_built_in_default_and_excludes_config(capsys):
    from sparkify.config import BUILT_IN

    p = cli.parser("etl.py", "x")
    assert p.parse_args(["--sample"]).config is BUILT_IN
    assert p.parse_args([]).config is None
    with pytest.raises(SystemExit):
        p.parse_args(["--sample", "--config", "dwh.cfg"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, options", [
    ({}, {"--config", "--sample"}),
    ({"config_help": "a file that must exist"}, {"--config"}),
    ({"config": False}, set()),
])
def test_which_scripts_get_config_and_sample(kwargs, options):
    p = cli.parser("x.py", "x", **kwargs)
    given = {o for a in p._actions for o in a.option_strings} & {"--config", "--sample"}
    assert given == options


def test_the_description_is_the_docstrings_whole_first_paragraph():
    doc = "Create the warehouse, its role\nand its group, then write dwh.cfg.\n\nMore:\n  details here.\n"
    p = cli.parser("x.py", doc)
    assert p.description == "Create the warehouse, its role\nand its group, then write dwh.cfg."
    assert p.epilog == "More:\n  details here."
