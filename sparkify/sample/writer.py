"""Writing a sample's files into a directory: the JSONPaths file, the song files and the log files, the song
files in a forked child process for big samples (file-system bound) while this one generates the logs."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sparkify.sample.catalog import Catalog
from sparkify.sample.events import LogGenerator
from sparkify.sample.formats import LOG_JSON_PATH_TEXT, PROGRESS_SECONDS, SampleError

log = logging.getLogger("sparkify.sample")

PARALLEL_MIN_SONGS = 2000      # below these sizes a child process costs more than it saves
PARALLEL_MIN_EVENTS = 100_000


def write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="ascii", newline="") as fh:
        fh.write(text)


def write_sample(root: Path, params: dict) -> dict:
    """Write log_json_path.json, song_data/ and log_data/ under `root`; return the summary counts.

    For big samples the song files (many small files: file-system bound) are written by a forked child
    process while this one generates the logs (CPU bound); a thread would not overlap them (it waits for
    the GIL after every system call). Only where forking is safe (see can_fork); otherwise one after the other.
    """
    t0 = time.monotonic()
    write_text(root / "log_json_path.json", LOG_JSON_PATH_TEXT)
    seed, n_songs = params["seed"], params["songs"]
    logs = LogGenerator(params, Catalog(seed, n_songs))
    if n_songs >= PARALLEL_MIN_SONGS and params["events"] >= PARALLEL_MIN_EVENTS and can_fork():
        songs = SongProcess(root / "song_data", seed, n_songs)
        try:
            logs.progress_note = songs.progress
            counts = logs.write(root / "log_data")
            _log_logs_done(counts, t0)
            songs.wait()
        finally:
            songs.stop()
    else:
        _write_song_files(root / "song_data", Catalog(seed, n_songs), _log_song_progress)
        counts = logs.write(root / "log_data")
        _log_logs_done(counts, t0)
    log.info("sample complete: %d events, %d song files in %.1f s", counts["events"], n_songs,
             time.monotonic() - t0)
    return {"songs": n_songs, **counts}


def can_fork() -> bool:
    """Fork a child only on Linux and in a single-threaded process (a fork copies no other thread, and
    their locks could be held). Not "spawn": it re-imports the caller's __main__, which breaks scripts
    without an `if __name__ == "__main__"` guard."""
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def _log_logs_done(counts: dict, t0: float) -> None:
    log.info("wrote %d events in %d log files after %.1f s", counts["events"], counts["log_files"],
             time.monotonic() - t0)


def _log_song_progress(done: int, total: int) -> None:
    log.info("song files: %d / %d", done, total)


def _write_song_files(song_root: Path, catalog: Catalog, progress: Callable[[int, int], None]) -> None:
    """Write song_data/A/B/C/<track_id>.json for every catalog song; call progress(done, total) now and then."""
    song_root.mkdir()
    made: set[str] = set()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    next_report = time.monotonic() + PROGRESS_SECONDS
    for i in range(catalog.size):
        track_id, text = catalog.song_file(i)
        sub = f"{track_id[2]}/{track_id[3]}/{track_id[4]}"
        if sub not in made:
            os.makedirs(song_root / sub, exist_ok=True)
            made.add(sub)
        fd = os.open(f"{song_root}/{sub}/{track_id}.json", flags, 0o644)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
        if i & 255 == 255 and time.monotonic() >= next_report:
            progress(i + 1, catalog.size)
            next_report = time.monotonic() + PROGRESS_SECONDS
    progress(catalog.size, catalog.size)


def _song_worker(song_root: str, seed: int, size: int, conn: multiprocessing.connection.Connection,
                 counter) -> None:
    """Child process body: write the song files, count progress in `counter` (a shared "q" Value),
    then send None or the error text."""
    def progress(done: int, _total: int) -> None:
        counter.value = done

    try:
        _write_song_files(Path(song_root), Catalog(seed, size), progress)
        conn.send(None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises SampleError
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


class SongProcess:
    """Writes the song files in a forked child process (which neither logs nor imports)."""

    def __init__(self, song_root: Path, seed: int, size: int):
        ctx = multiprocessing.get_context("fork")
        self.song_root, self.size = song_root, size
        self.counter = ctx.Value("q", 0, lock=False)
        self.conn, child_conn = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_song_worker, name="sparkify-sample-songs", daemon=True,
                                args=(str(song_root), seed, size, child_conn, self.counter))
        self.proc.start()
        child_conn.close()

    def progress(self) -> str:
        return f"song files: {self.counter.value} / {self.size}"

    def wait(self) -> None:
        """Block until the child is done; raise SampleError if it failed."""
        try:
            error = self.conn.recv()
        except EOFError:
            error = f"the process ended without a result (exit code {self.proc.exitcode})"
        self.proc.join()
        if error:
            raise SampleError(f"writing the song files under {self.song_root} failed: {error}")
        log.info("%s", self.progress())

    def stop(self) -> None:
        """End the child if it is still running (after a failure or an interrupt in this process)."""
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join()
        self.conn.close()
