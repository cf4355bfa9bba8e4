"""The sample-data generator: the bucket's exact formats and layout, the ETL's invariants, exact counts,
determinism, caching, atomic replacement, bounded memory and the generate_data.py command.

Format conventions are checked on the real udacity-dend files too, so a test cannot pass on a convention
the real data does not follow.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import json
import re
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import generate_data
from sparkify import sample
from sparkify.errors import SparkifyError
from sparkify.sample import SampleError, SampleSummary, catalog, ensure_sample, generate, store, writer
from sparkify.sample.events import LogGenerator

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "sparkify"
LOG_NAME = re.compile(r"^log_data/(\d{4})/(\d{2})/(\d{4})-(\d{2})-(\d{2})-events\.json$")
SONG_NAME = re.compile(r"^song_data/([A-Z])/([A-Z])/([A-Z])/(TR[A-Z0-9]{16})\.json$")
ID_SHAPES = {"track": re.compile(r"^TR[A-Z0-9]{16}$"), "song_id": re.compile(r"^SO[A-Z0-9]{16}$"),
             "artist_id": re.compile(r"^AR[A-Z0-9]{16}$")}
UNESCAPED_SLASH = re.compile(rb"(?<!\\)/")


# ----------------------------------------------------------------------------------------------- helpers

def canonical_log_line(obj: dict) -> str:
    """How the bucket writes an event: compact, keys as given, ASCII with \\uXXXX, '/' as '\\/'."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/")


def canonical_song_file(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).replace("/", "\\/")


def read_logs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "log_data").rglob("*.json"))}


def read_songs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "song_data").rglob("*.json"))}


def events_of(logs: dict[str, bytes]) -> list[dict]:
    return [json.loads(line) for data in logs.values() for line in data.split(b"\n")]


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def ts_date(ts: int) -> date:
    return datetime.fromtimestamp(ts / 1000, tz=UTC).date()


@pytest.fixture(scope="module")
def real() -> dict:
    if not (REAL / "log_data").is_dir():
        pytest.fail(f"real data not found at {REAL}: the shared/ folder must sit beside the project checkout")
    logs = read_logs(REAL)
    return {"logs": logs, "events": events_of(logs), "songs": read_songs(REAL)}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    """One sample shared by the read-only tests."""
    root = tmp_path_factory.mktemp("sample") / "sample"
    summary = generate(root, events=6000, songs=400, seed=7)
    logs = read_logs(root)
    return {"root": root, "summary": summary, "logs": logs, "events": events_of(logs), "songs": read_songs(root)}


# ----------------------------------------------------------------------------------------------- formats

def test_log_json_path_is_the_buckets(small):
    assert (small["root"] / "log_json_path.json").read_bytes() == (REAL / "log_json_path.json").read_bytes()


def test_log_files_layout_and_bytes_follow_the_bucket(small, real):
    for logs in (real["logs"], small["logs"]):
        for name, data in logs.items():
            m = LOG_NAME.match(name)
            assert m, name
            year, month, y2, m2, day = m.groups()
            assert (year, month) == (y2, m2), name
            assert data.endswith(b"}") and not data.endswith(b"\n"), f"{name}: no trailing newline, like the bucket"
            assert data.isascii() and not UNESCAPED_SLASH.search(data), name
            text = data.decode("ascii")
            lines = text.split("\n")
            objs = [json.loads(line) for line in lines]
            assert [canonical_log_line(o) for o in objs] == lines, name
            assert [o["ts"] for o in objs] == sorted(o["ts"] for o in objs), f"{name}: sorted by ts"
            assert {ts_date(o["ts"]) for o in objs} == {date(int(year), int(month), int(day))}, name


def test_event_keys_and_value_types_match_the_bucket(small, real):
    real_keys = list(real["events"][0])
    assert list(sample.LOG_KEYS) == real_keys and len(real_keys) == 18
    assert all(list(e) == real_keys for e in small["events"])

    def types(events):
        found = collections.defaultdict(set)
        for e in events:
            for k, v in e.items():
                found[k].add(type(v).__name__)
        return dict(found)

    assert types(small["events"]) == types(real["events"])  # e.g. userId str, registration float|None, ts int
    for events in (small["events"], real["events"]):
        agents = {e["userAgent"] for e in events if e["userAgent"]}
        assert any(a.startswith('"') and a.endswith('"') for a in agents)  # literal quotes, as in the bucket
        assert all(("," in a) == a.startswith('"') for a in agents)


def test_pages_logged_out_events_and_nulls_follow_the_bucket(small, real):
    def combos(events):
        return {(e["page"], e["method"], e["status"], e["auth"]) for e in events}

    ours, theirs = small["events"], real["events"]
    assert combos(ours) <= combos(theirs)
    real_pages = collections.Counter(e["page"] for e in theirs)
    assert {p for p, n in real_pages.items() if n >= 8} <= {e["page"] for e in ours} <= set(real_pages)

    def logged_out_shape(events):
        return {(e["page"], tuple(k for k, v in e.items() if v is None), e["userId"])
                for e in events if e["auth"] == "Logged Out"}

    assert logged_out_shape(ours) and logged_out_shape(ours) <= logged_out_shape(theirs)
    for e in ours:
        song_fields = (e["artist"], e["song"], e["length"])
        if e["page"] == "NextSong":
            assert None not in song_fields and e["auth"] == "Logged In"
        else:
            assert song_fields == (None, None, None)


def test_song_files_layout_and_bytes_follow_the_bucket(small, real):
    for songs in (real["songs"], small["songs"]):
        for name, data in songs.items():
            m = SONG_NAME.match(name)
            assert m, name
            a, b, c, track = m.groups()
            assert (a, b, c) == (track[2], track[3], track[4]), name
            assert data.isascii() and not data.endswith(b"\n") and not UNESCAPED_SLASH.search(data), name
            obj = json.loads(data)
            assert list(obj) == list(sample.SONG_KEYS) and data.decode() == canonical_song_file(obj), name
            assert ID_SHAPES["song_id"].match(obj["song_id"]) and ID_SHAPES["artist_id"].match(obj["artist_id"])
            assert obj["num_songs"] == 1 and isinstance(obj["duration"], float) and isinstance(obj["year"], int)


def test_song_catalog_has_the_real_datas_quirks(small):
    songs = [json.loads(d) for d in small["songs"].values()]
    assert len({s["song_id"] for s in songs}) == len(songs)
    assert any(s["artist_latitude"] is None for s in songs) and any(s["artist_latitude"] is not None for s in songs)
    assert any(s["artist_location"] == "" for s in songs) and any(s["year"] == 0 for s in songs)
    by_artist = collections.defaultdict(list)
    for s in songs:
        by_artist[s["artist_id"]].append(s)
    assert any(len(v) > 1 for v in by_artist.values()), "some artists have several songs"
    disagreeing = [v for v in by_artist.values()
                   if len({(s["artist_name"], s["artist_location"], s["artist_latitude"]) for s in v}) > 1]
    assert disagreeing, "some artist records disagree between song files (exercises dedup)"


# ----------------------------------------------------------------------------------------------- invariants

def test_invariants_the_etl_relies_on(small):
    events = small["events"]
    plays = [e for e in events if e["page"] == "NextSong"]
    assert all(e["userId"] != "" for e in plays)
    assert len({(e["sessionId"], e["itemInSession"]) for e in plays}) == len(plays)
    assert len({(e["userId"], e["ts"]) for e in plays}) == len(plays)
    sessions = collections.defaultdict(list)
    for e in events:
        sessions[e["sessionId"]].append(e)
    for sid, evs in sessions.items():
        assert len({e["userId"] for e in evs if e["userId"]}) <= 1, f"session {sid} belongs to one user"
        evs.sort(key=lambda e: e["itemInSession"])
        assert [e["itemInSession"] for e in evs] == list(range(len(evs))), sid
        assert all(a["ts"] < b["ts"] for a, b in itertools.pairwise(evs)), sid
    start = datetime(2018, 11, 1, tzinfo=UTC).timestamp() * 1000
    assert all(start <= e["ts"] < start + 30 * 86400 * 1000 for e in events)


def test_a_user_never_has_two_sessions_at_once(small):
    spans = collections.defaultdict(list)
    sessions = collections.defaultdict(list)
    for e in small["events"]:
        sessions[e["sessionId"]].append(e)
    for evs in sessions.values():
        users = {e["userId"] for e in evs if e["userId"]}
        if users:
            spans[users.pop()].append((min(e["ts"] for e in evs), max(e["ts"] for e in evs)))
    assert len(spans) > 1
    for uid, user_spans in spans.items():
        user_spans.sort()
        assert all(a_end < b_start for (_, a_end), (b_start, _) in itertools.pairwise(user_spans)), uid


def test_levels_change_only_through_submit_pages(small):
    by_user = collections.defaultdict(list)
    for e in small["events"]:
        if e["userId"]:
            by_user[e["userId"]].append(e)
    upgrades = 0
    for uid, evs in by_user.items():
        evs.sort(key=lambda e: e["ts"])
        for prev, cur in itertools.pairwise(evs):
            if prev["page"] == "Submit Upgrade":
                upgrades += 1
                assert (prev["level"], cur["level"]) == ("free", "paid"), uid
            elif prev["page"] == "Submit Downgrade":
                assert (prev["level"], cur["level"]) == ("paid", "free"), uid
            else:
                assert cur["level"] == prev["level"], uid
    assert upgrades >= 1


def test_proportions_are_realistic(small):
    events = small["events"]
    plays = [e for e in events if e["page"] == "NextSong"]
    assert 0.80 <= len(plays) / len(events) <= 0.90
    assert 0.15 <= small["summary"].matched_plays / len(plays) <= 0.25
    assert 0.005 <= sum(e["auth"] == "Logged Out" for e in events) / len(events) <= 0.08
    assert {e["status"] for e in events} == {200, 307, 404}
    assert {e["method"] for e in events} == {"GET", "PUT"}
    assert len({ts_date(e["ts"]) for e in events}) == 30


# ----------------------------------------------------------------------------------------------- counts

def test_summary_matches_an_independent_recount(small):
    s, events = small["summary"], small["events"]
    catalog = {(d["title"], d["artist_name"], d["duration"]) for d in map(json.loads, small["songs"].values())}
    plays = [e for e in events if e["page"] == "NextSong"]
    assert (s.events, s.songs, s.log_files) == (len(events), len(small["songs"]), len(small["logs"])) == (6000, 400, 30)
    assert s.next_song_events == len(plays)
    assert s.users == len({e["userId"] for e in events if e["userId"]})
    assert s.matched_plays == sum((e["song"], e["artist"], e["length"]) in catalog for e in plays) > 0
    near_misses = sum((e["song"], e["artist"]) in {c[:2] for c in catalog} for e in plays) - s.matched_plays
    assert near_misses > 0  # title and artist of a catalog song with another length
    recorded = json.loads((small["root"] / "SAMPLE.json").read_text())
    assert recorded["summary"] == s.to_dict() and recorded["params"]["users"] == sample.default_users(6000)


def test_users_who_never_log_in_are_not_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(LogGenerator, "P_LOGGED_OUT_START", 1.0)  # every session starts logged out
    s = generate(tmp_path / "s", events=400, songs=5, seed=8, users=400)  # many users with one session
    got = events_of(read_logs(tmp_path / "s"))
    assert s.users == len({e["userId"] for e in got if e["userId"]}) < s.events
    sessions = collections.defaultdict(set)
    for e in got:
        sessions[e["sessionId"]].add(e["userId"])
    assert any(ids == {""} for ids in sessions.values()), "some visitors never log in"


@pytest.mark.parametrize("events, songs, start, days, users", [
    (5, 3, date(2018, 11, 1), 30, None),      # fewer events than days: fewer files
    (0, 0, date(2018, 11, 1), 30, None),
    (900, 25, date(2019, 1, 30), 3, None),    # crosses a month: log_data/2019/01 and log_data/2019/02
    (1200, 10, date(2018, 11, 1), 1, 80),     # crowded: 15 events per user and day
])
def test_exact_counts_for_any_parameters(tmp_path, events, songs, start, days, users):
    s = generate(tmp_path / "s", events=events, songs=songs, seed=3, start=start, days=days, users=users)
    logs = read_logs(tmp_path / "s")
    got = events_of(logs) if logs else []
    assert (s.events, len(got), s.songs, len(read_songs(tmp_path / "s"))) == (events, events, songs, songs)
    assert s.log_files == len(logs) <= days
    assert all(start <= ts_date(e["ts"]) < start + timedelta(days=days) for e in got)
    assert [e["ts"] for e in got] == sorted(e["ts"] for e in got)
    assert len({(e["userId"], e["ts"]) for e in got if e["page"] == "NextSong"}) == s.next_song_events


def test_sessions_cut_at_the_end_of_the_range_keep_files_sorted(tmp_path, monkeypatch):
    cut = []
    schedule = LogGenerator._schedule

    def spy(self, n, day_start, draw):
        user, start, events = schedule(self, n, day_start, draw)
        if len(events) < n and start + events[-1][0] + 600 > self.t_end:
            cut.append(n - len(events))
        return user, start, events

    monkeypatch.setattr(LogGenerator, "_schedule", spy)
    s = generate(tmp_path / "s", events=3000, songs=10, seed=3, days=1)
    assert cut, "no session reached the end of the range: pick parameters that exercise the cut"
    got = events_of(read_logs(tmp_path / "s"))
    assert s.events == len(got) == 3000 and s.log_files == 1
    assert [e["ts"] for e in got] == sorted(e["ts"] for e in got)
    assert max(ts_date(e["ts"]) for e in got) == date(2018, 11, 1)


# ----------------------------------------------------------------------------------------------- determinism

def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    kw = {"events": 1500, "songs": 60}
    a, b, c = (generate(tmp_path / name, seed=seed, **kw).out_dir for name, seed in (("a", 5), ("b", 5), ("c", 6)))
    files_a, files_b, files_c = all_files(a), all_files(b), all_files(c)
    assert files_a == files_b
    logs = {k for k in files_a if k.startswith("log_data/")}
    assert logs and all(files_a[k] != files_c.get(k) for k in logs)
    assert {k for k in files_a if k.startswith("song_data/")}.isdisjoint(files_c)


def test_song_files_from_the_child_process_are_identical(tmp_path, monkeypatch):
    inline = generate(tmp_path / "inline", events=300, songs=80, seed=9).out_dir
    children = []
    song_process = writer.SongProcess

    def counted(*args):
        children.append(args)
        return song_process(*args)

    monkeypatch.setattr(writer, "PARALLEL_MIN_SONGS", 1)
    monkeypatch.setattr(writer, "PARALLEL_MIN_EVENTS", 1)
    monkeypatch.setattr(writer, "can_fork", lambda: True)  # other tests' threads may linger in this process
    monkeypatch.setattr(writer, "SongProcess", counted)
    forked = generate(tmp_path / "forked", events=300, songs=80, seed=9).out_dir
    assert len(children) == 1
    assert all_files(inline) == all_files(forked)


def test_a_failing_song_process_raises_a_sample_error(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "PARALLEL_MIN_SONGS", 1)
    monkeypatch.setattr(writer, "PARALLEL_MIN_EVENTS", 1)
    monkeypatch.setattr(writer, "can_fork", lambda: True)
    monkeypatch.setattr(catalog.Catalog, "song_file", lambda self, i: 1 / 0)
    with pytest.raises(SampleError, match="writing the song files under .* failed: ZeroDivisionError"):
        generate(tmp_path / "s", events=300, songs=20, seed=9)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------- caching, safety

def test_ensure_sample_reuses_a_matching_sample(tmp_path, monkeypatch):
    out = tmp_path / "sample"
    first = ensure_sample(out, events=400, songs=20, seed=1)
    real_generate = store.generate

    def must_not_run(*args, **kwargs):
        raise AssertionError("regenerated although the parameters match")

    monkeypatch.setattr(store, "generate", must_not_run)
    assert ensure_sample(out, events=400, songs=20, seed=1) == first
    assert ensure_sample(out, events=400, songs=20, seed=1, users=sample.default_users(400)) == first

    calls = []
    monkeypatch.setattr(store, "generate", lambda *a, **k: calls.append(k) or real_generate(*a, **k))
    second = ensure_sample(out, events=500, songs=20, seed=1)
    assert (second.events, len(calls)) == (500, 1)
    (out / "SAMPLE.json").unlink()
    assert ensure_sample(out, events=500, songs=20, seed=1) == second and len(calls) == 2


def test_concurrent_ensure_sample_calls_generate_once(tmp_path, monkeypatch):
    """The file lock serializes callers: the second waits for the first and then reuses its sample."""
    out = tmp_path / "sample"
    real_generate = store.generate
    calls = []

    def slow_generate(*args, **kwargs):
        calls.append(kwargs)
        time.sleep(0.5)  # long enough for the other caller to find no sample if nothing serialized them
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(store, "generate", slow_generate)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: ensure_sample(out, events=300, songs=10, seed=1), range(2)))
    assert len(calls) == 1 and results[0] == results[1]


def test_an_interrupted_run_leaves_the_previous_sample_intact(tmp_path, monkeypatch):
    out = tmp_path / "sample"
    generate(out, events=300, songs=10, seed=1)
    before = all_files(out)

    def interrupted(self, log_root):
        log_root.mkdir()
        (log_root / "half.json").write_text("{")
        raise KeyboardInterrupt

    monkeypatch.setattr(LogGenerator, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(out, events=600, songs=10, seed=2)
    assert all_files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]  # no temporary directory left behind


def test_refuses_to_replace_a_directory_that_is_not_a_sample(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "mine" / "log_data").mkdir()
    for make in (ensure_sample, generate):
        with pytest.raises(SampleError, match="refusing to replace .*mine: it holds notes.txt, so it is not a"):
            make(tmp_path / "mine", events=10, songs=1)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["log_data", "notes.txt"]


@pytest.mark.parametrize("kwargs, message", [
    ({"events": -1}, "events and songs must be >= 0"),
    ({"days": 0}, "days must be >= 1"),
    ({"users": 0}, "users must be >= 1"),
    ({"events": 50_000, "users": 3, "days": 30}, "need at least 112 users .* pass users=112 or more"),
    ({"seed": -5}, "seed must be in"),
    ({"start": "2018-11-01"}, "start must be a datetime.date"),
])
def test_bad_parameters_raise_a_sparkify_error_naming_the_fix(tmp_path, kwargs, message):
    with pytest.raises(SampleError, match=message) as info:
        generate(tmp_path / "s", **kwargs)
    assert isinstance(info.value, SparkifyError)
    assert not (tmp_path / "s").exists()


# ----------------------------------------------------------------------------------------------- memory

def test_events_are_streamed_not_held_in_memory(tmp_path):
    tracemalloc.start()
    try:
        generate(tmp_path / "s", events=30_000, songs=50, seed=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    log_bytes = sum(len(d) for d in read_logs(tmp_path / "s").values())
    assert peak < log_bytes / 2, f"peak {peak} bytes for {log_bytes} bytes of events (holding them all: > 1x)"


# ----------------------------------------------------------------------------------------------- the command

def test_generate_data_command(tmp_path, capsys):
    out = tmp_path / "cmd"
    args = ["--out", str(out), "--events", "300", "--songs", "12", "--seed", "4", "-q"]
    assert generate_data.main(args) == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "300 events" in line and "12 song files" in line
    assert read_sample_summary(out) == (300, 12)
    assert generate_data.main(args + ["--force", "--events", "301"]) == 0
    assert read_sample_summary(out) == (301, 12)

    assert generate_data.main(["--out", str(out), "--users", "0", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("generate_data.py: invalid sample parameters: users must be >= 1") and err.count("\n") == 1


def read_sample_summary(out: Path) -> tuple[int, int]:
    _params, summary = sample.read_sample(out)
    assert isinstance(summary, SampleSummary) and summary.out_dir == out
    return summary.events, summary.songs
