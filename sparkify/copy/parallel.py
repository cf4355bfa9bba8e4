"""Parsing large local inputs in worker processes, so that Python's work uses the cores PostgreSQL leaves free.

Used only without the C converter (sparkify.copy.native): with it, one process converts faster than the
server ingests.

One Python process parses and converts about 200,000 log events per second; the server ingests COPY text
about twice as fast. For large local inputs, the emulator therefore forks worker processes (the `fork` start
method: they inherit the generated hot loop, nothing is pickled but bytes) and gives them *segments*: a file,
or a byte range of a big file cut at line boundaries. Each worker converts its segment into COPY text and
sends it back with its rejected records; the main process feeds the results to COPY in segment order, so the
rows, the line numbers and MAXERROR are exactly those of the sequential path.

A segment's bytes are those of the lines that START in [start, end): a worker skips the partial line at its
start (the previous segment's last line) and finishes its last line past `end`. If a JSON value is still open
at the end of a segment (pretty-printed data whose object crosses the cut), the segment's output is dropped
and the main process loads the rest of that file sequentially from the segment's start.

Memory stays flat: each worker holds one segment (SEGMENT_BYTES of input and its output), and at most
QUEUE_DEPTH finished results wait per worker.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import sys
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from sparkify.copy.records import ObjectTooLarge, Recovery
from sparkify.copy.sources import SourceFile
from sparkify.errors import LoadError

log = logging.getLogger("sparkify.copy")

SEGMENT_BYTES = 8 * 1024 * 1024
PARALLEL_MIN_BYTES = 48 * 1024 * 1024  # below this, forking costs more than it saves
FILE_COST_BYTES = 16 * 1024  # what opening and reading one small file costs, in bytes of parsing
QUEUE_DEPTH = 2


def worker_count() -> int:
    """Worker processes to use (0: stay sequential). Needs `fork` (Linux) and at least 2 CPUs; the
    environment variable SPARKIFY_COPY_WORKERS overrides the count (0 disables the workers)."""
    override = os.environ.get("SPARKIFY_COPY_WORKERS", "").strip()
    if override.isdigit():
        return int(override) if "fork" in multiprocessing.get_all_start_methods() else 0
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(cpus, 4)


@dataclass(frozen=True)
class Segment:
    index: int
    src: SourceFile
    start: int
    end: int  # exclusive; the last segment of a file ends at the file's size
    last: bool  # the file's last segment


def plan_segments(sources: Iterator[SourceFile], segment_bytes: int | None = None) -> Iterator[Segment]:
    segment_bytes = segment_bytes or SEGMENT_BYTES
    index = 0
    for src in sources:
        size = src.size if src.size is not None else os.path.getsize(src.url)
        start = 0
        while True:
            end = min(size, start + segment_bytes)
            yield Segment(index, src, start, end, end >= size)
            index += 1
            if end >= size:
                break
            start = end


def plan_batches(segments: Iterator[Segment], batch_bytes: int | None = None) -> Iterator[list[Segment]]:
    """Consecutive segments grouped into tasks of about `batch_bytes` (many small files make one task)."""
    batch_bytes = batch_bytes or SEGMENT_BYTES
    batch: list[Segment] = []
    size = 0
    for seg in segments:
        batch.append(seg)
        size += seg.end - seg.start + 256  # + a little per file: opening one costs something too
        if size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def read_segment(path: str, start: int, end: int) -> bytes:
    """The bytes of the lines that start in [start, end)."""
    with open(path, "rb") as fh:
        if start > 0:
            fh.seek(start - 1)
            if fh.read(1) != b"\n":
                fh.readline()  # the rest of a line that started in the previous segment
        begin = fh.tell()
        if begin >= end:
            return b""
        data = fh.read(end - begin)
        if data and not data.endswith(b"\n"):
            data += fh.readline()
        return data


class _SegmentSink:
    """Collects a worker's rejected records (as stl_load_errors dicts, line numbers relative to the segment)."""

    def __init__(self, load):
        self.load = load
        self.errors: list[dict] = []

    def reject(self, src, lineno, raw, column, reject) -> None:
        self.errors.append(self.load._error(src, lineno, raw, column, reject))


def _convert_segment(load, segment: Segment) -> tuple:
    from sparkify.copy.emulator import _FileContext

    data = read_segment(segment.src.url, segment.start, segment.end)
    sink = _SegmentSink(load)
    recovery = Recovery(load.spec.acceptinvchars)
    ctx = _FileContext(sink, load.builder, segment.src, recovery)
    if segment.start > 0:
        ctx.lineno = 0  # relative; the main process adds the line offset
    parts: list[bytes] = []
    rows = 0
    for payload, n in load.builder.pump_bytes(io.BytesIO(data), ctx):
        rows += n
        parts.append(payload)
    spilled = recovery.open_at_eof and not segment.last
    return ("ok", segment.index, b"".join(parts), rows, sink.errors, ctx.lineno, spilled)


def _convert_one(load, segment: Segment) -> tuple:
    try:
        return _convert_segment(load, segment)
    except ObjectTooLarge as exc:
        return ("too_large", segment.index, exc.lineno, exc.size)
    except BaseException as exc:  # reported to (and raised by) the main process
        return ("error", segment.index, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _worker_main(load, tasks, results) -> None:
    while True:
        batch = tasks.recv()
        if batch is None:
            return
        results.put([_convert_one(load, segment) for segment in batch])


class ParallelProducer:
    """Runs the workers for one COPY and yields COPY text in segment order (see the module docstring)."""

    def __init__(self, load, workers: int):
        self.load = load
        self.n = workers
        self.procs: list = []

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.tasks = []
        self.results = []
        for i in range(self.n):
            parent_end, child_end = ctx.Pipe()
            results = ctx.Queue(maxsize=QUEUE_DEPTH)
            proc = ctx.Process(target=_worker_main, args=(self.load, child_end, results),
                               name=f"sparkify-copy-{i}", daemon=True)
            proc.start()
            child_end.close()
            self.procs.append(proc)
            self.tasks.append(parent_end)
            self.results.append(results)

    def close(self) -> None:
        for conn in getattr(self, "tasks", []):
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
        for proc in self.procs:
            proc.join(timeout=0.5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2)
        for q in getattr(self, "results", []):
            q.close()
            q.cancel_join_thread()
        self.procs = []

    def chunks(self, sources: Iterator[SourceFile]) -> Iterator[bytes]:
        load = self.load
        self._start()
        try:
            batches = plan_batches(plan_segments(sources))
            inflight: deque[tuple[list[Segment], int]] = deque()
            per_worker = [0] * self.n
            next_worker = 0
            exhausted = False

            def feed() -> None:
                nonlocal next_worker, exhausted
                while not exhausted and per_worker[next_worker] < QUEUE_DEPTH + 1:
                    batch = next(batches, None)
                    if batch is None:
                        exhausted = True
                        return
                    self.tasks[next_worker].send(batch)
                    inflight.append((batch, next_worker))
                    per_worker[next_worker] += 1
                    next_worker = (next_worker + 1) % self.n

            self.line_offset = 0
            self.skip_url: str | None = None
            feed()
            while inflight:
                batch, w = inflight.popleft()
                results = self._get(w)
                per_worker[w] -= 1
                feed()
                for seg, result in zip(batch, results):
                    yield from self._consume(seg, result)
                load._report()
        finally:
            self.close()

    def _consume(self, seg: Segment, result: tuple) -> Iterator[bytes]:
        load = self.load
        if seg.start == 0:
            self.line_offset = 0
            load.current = (seg.src.url, seg.src.key)
        if seg.src.url == self.skip_url:
            if seg.last:
                self._file_done(seg)
            return
        kind = result[0]
        if kind == "too_large":
            raise ObjectTooLarge(result[2] + self.line_offset, result[3])
        if kind == "error":
            raise LoadError(f"a COPY worker failed on {seg.src.key}: {result[2]}\n{result[3]}")
        _, _, payload, rows, errors, lines, spilled = result
        if spilled:
            log.debug("%s: a JSON value crosses byte %d; loading the rest sequentially", seg.src.key, seg.end)
            self.skip_url = seg.src.url
            yield from self._sequential_rest(seg, self.line_offset)
        else:
            for error in errors:
                error["line_number"] += self.line_offset
                load.add_error(error)
            self.line_offset += lines
            if payload:
                load.loaded += rows
                yield payload
        if seg.last:
            self._file_done(seg)

    def _get(self, w: int):
        while True:
            try:
                return self.results[w].get(timeout=5)
            except Exception as exc:  # queue.Empty: check that the worker is alive
                if not self.procs[w].is_alive():
                    raise LoadError(f"a COPY worker process died (exit code {self.procs[w].exitcode})") from exc

    def _file_done(self, seg: Segment) -> None:
        self.load.files_done += 1
        self.load.bytes += seg.src.size or 0

    def _sequential_rest(self, seg: Segment, line_offset: int) -> Iterator[bytes]:
        """Load seg.src from seg.start to its end in this process (a value crossed a segment boundary)."""
        from sparkify.copy.emulator import _FileContext

        load = self.load
        recovery = Recovery(load.spec.acceptinvchars)
        ctx = _FileContext(load, load.builder, seg.src, recovery, lineno=line_offset)
        with open(seg.src.url, "rb") as fh:
            if seg.start > 0:
                fh.seek(seg.start - 1)
                if fh.read(1) != b"\n":
                    fh.readline()
            for payload, rows in load.builder.pump_bytes(fh, ctx):
                load.loaded += rows
                yield payload
