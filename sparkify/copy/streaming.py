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
    COPY release the GIL). An exception of the producer is raised here, in order; close() stops it."""

    def __init__(self, chunks: Iterator[bytes], depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._chunks = chunks
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
            for chunk in self._chunks:
                if not self._put(("data", chunk)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(("error", exc))
        finally:
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


def prepare_copy(conn, spec: CopySpec, *, start: bool = True) -> PreparedCopy:
    """Set up an emulated COPY on `conn` (catalog, JSONPaths, listing) and, with `start`, begin reading and
    converting its files in a thread, so that the work overlaps with whatever `conn` does before
    emulate_copy(conn, spec, prepared=...) sends the result (etl.py: the previous table's COPY). Errors are
    kept and raised by emulate_copy, so they surface in the COPY's turn."""
    prepared = PreparedCopy(spec)
    try:
        prepared.load = setup_producer(conn, spec)
    except LoadError as exc:
        prepared.error = exc
        return prepared
    if start:
        prepared.chunks = Background(prepared.load.chunks(), depth=PREFETCH_CHUNKS)
    return prepared
