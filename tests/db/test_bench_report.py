"""bench/report.py's smoke test (no timing is asserted): two tiny samples loaded by etl.py into the benchmark's own
embedded server, analytics.py --html timed on each, the JSON object with the documented keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_bench_report_smoke(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "bench" / "report.py"), "--events", "300", "900", "--songs", "40",
         "--repeat", "1", "--json", "-q", "--cache-dir", str(tmp_path / "cache"), "--output", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        cwd=PROJECT_DIR, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # --json: the JSON object and nothing else on stdout
    assert json.loads(out.read_text()) == result
    assert [s["events"] for s in result["sizes"]] == [300, 900]
    for size in result["sizes"]:
        assert size["plays"] > 0 and size["load_s"] > 0 and size["report_s"] > 0 and size["report_bytes"] > 10_000
    assert set(result["targets"]) == {"report_growth", "report_vs_load"}
    assert result["report_growth"] == round(result["sizes"][1]["report_s"] / result["sizes"][0]["report_s"], 3)
    assert not (tmp_path / "cache" / "pgdata" / "postmaster.pid").exists()  # the server it started is stopped
