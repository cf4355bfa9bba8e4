"""Threads that overlap the emulated COPY's work: a producer converts the next chunks of COPY text while
psycopg2 sends the previous one (the native converter's read-ahead and psycopg2's COPY release the GIL).

`Background` runs a chunk generator in a thread, a bounded number of chunks ahead; `ChunkReader` hands chunks
to cursor.copy_expert as a file-like object; `prepare_copy` starts the next COPY's conversion while the
current one is sent (etl.py's two staging tables overlap).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from sparkify.copy.producer import ChunkProducer, setup_producer
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError


class ChunkReader:
    """A file-like object for cursor.copy_expert: read() returns the next chunk of the generator."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            return next(self._chunks, b"")
        except BaseException as exc:  # remembered: psycopg2 reports its own "error in .read() call"
            self.error = exc
            raise

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - psycopg2 only calls read()
        return self.read(size)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class Background:
    """`chunks`, produced by a thread (started at once) up to `depth` chunks ahead, so that converting the
    next chunk overlaps with sending the previous one (the native converter's read-ahead and psycopg2's
    COPY release the GIL). An exception of the producer is raised here, in order; close() stops it.
    `after`: the thread produces nothing until that event is set (or it is closed). `ahead`: set once the
    consumer has taken START_NEXT_AFTER chunks, or the thread has stopped producing (see prepare_copy)."""

    def __init__(self, chunks: Iterator[bytes], depth: int = 4, *, after: threading.Event | None = None,
                 ahead: threading.Event | None = None):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._chunks = chunks
        self._after = after
        self._ahead = ahead
        self._taken = 0
        self._thread = threading.Thread(target=self._run, name="sparkify-copy-producer", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            if self._after is not None:
                while not self._after.wait(0.05):
                    if self._stop.is_set():
                        return
            for chunk in self._chunks:
                if not self._put(("data", chunk)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(("error", exc))
        finally:
            if self._ahead is not None:
                self._ahead.set()
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Background:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        kind, item = self._queue.get()
        if kind == "data":
            self._taken += 1
            if self._ahead is not None and self._taken == START_NEXT_AFTER:
                self._ahead.set()
            return item
        self.close()
        if kind == "end":
            raise StopIteration
        raise item

    def close(self) -> None:
        self._done = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


class PreparedCopy:
    """An emulated COPY whose reading and converting already runs (see prepare_copy): up to
    PREFETCH_CHUNKS chunks of COPY text wait for emulate_copy(..., prepared=this) to send them."""

    def __init__(self, spec: CopySpec):
        self.spec = spec
        self.load: ChunkProducer | None = None
        self.chunks: Iterator[bytes] | None = None
        self.error: BaseException | None = None  # a setup error, raised by emulate_copy, in its turn

    def close(self) -> None:
        """Stop the producer (emulate_copy does it; call it for a prepared COPY that will not run)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


PREFETCH_CHUNKS = 8  # chunks of SEND_BYTES (32 MB of COPY text) converted ahead for a prepared COPY
START_NEXT_AFTER = 8  # chunks the running COPY sends before the prepared ones begin converting (prepare_copy)


def prepare_copy(conn, spec: CopySpec, *, start: bool = True, after: threading.Event | None = None) -> PreparedCopy:
    """Set up an emulated COPY on `conn` (catalog, JSONPaths, listing) and, with `start`, begin reading and
    converting its files in a thread, so that the work overlaps with whatever `conn` does before
    emulate_copy(conn, spec, prepared=...) sends the result (etl.py: the previous table's COPY). Errors are
    kept and raised by emulate_copy, so they surface in the COPY's turn.

    `after`: the thread begins once that event is set: etl.py sets it when the COPY before has sent its first
    START_NEXT_AFTER chunks (32 MB) or converted all it had. A COPY's start is when its converter has no lead
    (the server waits for each of its first chunks); a second converter reading 100,000 song files then, on two
    cores, delays every one of them. 1,000,000 events and 100,000 songs (2026-12-07): the events' COPY 3.0-3.1 s
    with the songs converted from its start, 2.72-2.75 s with them held back for 8 chunks (2.83-2.88 s for 4,
    2.91-2.95 s for 2, 2.66-2.70 s until the events' last chunk, but then the songs' COPY takes 0.3 s instead of
    0.11 s)."""
    prepared = PreparedCopy(spec)
    try:
        prepared.load = setup_producer(conn, spec)
    except LoadError as exc:
        prepared.error = exc
        return prepared
    if start:
        prepared.chunks = Background(prepared.load.chunks(), depth=PREFETCH_CHUNKS, after=after)
    return prepared
