"""Every script: --help works, and a bad config gives one line on stderr and exit code 2."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ["create_tables", "etl", "analytics", "stop_local"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name, capsys):
    module = importlib.import_module(name)
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--config PATH" in out and f"{name}.py" in out


@pytest.mark.parametrize("name", SCRIPTS)
def test_bad_config_is_one_line_and_exit_2(name, tmp_path, capsys):
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[WAREHOUSE]\nENGINE = redshift\n[CLUSTER]\nDB_PASSWORD = Very-Secret-9\n")
    assert importlib.import_module(name).main(["--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"{name}.py: {cfg}: [CLUSTER] HOST is required for ENGINE = redshift; ")
    assert "Very-Secret-9" not in err


def test_scripts_run_as_commands(tmp_path):
    """`python etl.py --help` from another directory: the scripts find their package."""
    result = subprocess.run([sys.executable, str(ROOT / "etl.py"), "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "--dry-run" in result.stdout and "stop_local.py" in result.stdout


def test_make_demo_report_and_stop_use_the_built_in_default_whatever_dwh_cfg_holds():
    """make demo must never reach the warehouse a ./dwh.cfg names (create_tables.py drops its tables), and make
    stop/clean must stop the server whose data make clean deletes: each script that reads a configuration gets
    --sample (the commands as make would run them, from `make -n`)."""
    out = subprocess.run(["make", "-n", "demo", "report", "stop"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    calls = [line.split() for line in out.splitlines() if line.startswith(".venv/bin/python ")]
    scripts = [c for c in calls if c[1] in {f"{s}.py" for s in SCRIPTS}]
    assert [c[1] for c in scripts] == ["create_tables.py", "etl.py", "analytics.py", "analytics.py",
                                       "stop_local.py"]
    assert all("--sample" in c for c in scripts), scripts


@pytest.mark.parametrize("name, says", [
    ("etl", "it lists the sources and reads the load ledger, read-only"),  # docs/redshift.md#the-dry-run
    ("analytics", "connect to nothing"),
])
def test_the_dry_run_help_says_what_it_reads(name, says, capsys):
    with pytest.raises(SystemExit):
        importlib.import_module(name).main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert says in out
    assert name != "etl" or "connect to nothing" not in out and "connects to nothing" not in out
