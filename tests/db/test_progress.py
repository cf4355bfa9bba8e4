"""etl.py reports its progress on stderr while it loads (every PROGRESS_LOG_EVERY seconds, here at every report
so that a short load shows it), and -q silences it."""

from __future__ import annotations

import re

import pytest

import etl
from sparkify.copy import producer
from sparkify.pipeline import load

PROGRESS = re.compile(r"INFO (staging_events|staging_songs): (\d+)/(\d+|\?) files, (\d+) records \(\d+/s\), "
                      r"(\d+) rejected$")


@pytest.fixture
def progress_cfg(schema, config_file, real_data, monkeypatch):
    monkeypatch.setattr(producer, "PROGRESS_EVERY", 0.0)  # the emulator reports after every file...
    monkeypatch.setattr(load, "PROGRESS_LOG_EVERY", 0.0)  # ...and etl.py logs every report
    cfg = config_file(log_data=real_data / "log_data" / "2018" / "11" / "2018-11-0",
                      log_jsonpath=real_data / "log_json_path.json", song_data=real_data / "song_data" / "A" / "A")
    return cfg


def test_etl_shows_its_progress(progress_cfg, capsys):
    capsys.readouterr()
    assert etl.main(["--config", str(progress_cfg)]) == 0
    err = capsys.readouterr().err
    lines = [m for m in (PROGRESS.search(line) for line in err.splitlines()) if m]
    events = [m for m in lines if m.group(1) == "staging_events"]
    assert len(events) >= 2, err
    records = [int(m.group(4)) for m in events]
    assert records == sorted(records) and records[-1] > 0  # it moves forward
    # (staging_songs is read and converted while staging_events loads: it may be done before its turn)


def test_quiet_silences_the_progress(progress_cfg, capsys):
    capsys.readouterr()
    assert etl.main(["--config", str(progress_cfg), "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("loaded staging_events ")
