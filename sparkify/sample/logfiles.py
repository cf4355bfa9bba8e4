"""The log files: events, arriving in ts order, written to one file per day (log_data/YYYY/MM/...)."""

from __future__ import annotations

import heapq
from datetime import date, timedelta
from pathlib import Path


def drain(heap: list, before_ms: int | None, out: DayFiles) -> None:
    """Write, in (ts, session) order, every pending event earlier than `before_ms` (all if None)."""
    write = out.write
    while heap and (before_ms is None or heap[0][0] < before_ms):
        ts, sid, idx, lines = heap[0]
        write(ts, lines[idx][1])
        idx += 1
        if idx < len(lines):
            heapq.heapreplace(heap, (lines[idx][0], sid, idx, lines))
        else:
            heapq.heappop(heap)


class DayFiles:
    """Appends lines, in ts order, to log_data/YYYY/MM/YYYY-MM-DD-events.json (a newline between lines,
    none at the end)."""

    def __init__(self, root: Path, first_day: date, t_start: int):
        self.root, self.first_day, self.t_start = root, first_day, t_start
        self.day = -1
        self.day_end_ms = -1
        self.fh = None
        self.files = 0

    def write(self, ts: int, line: str) -> None:
        if ts >= self.day_end_ms:
            self._open((ts // 1000 - self.t_start) // 86400)
            self.fh.write(line)
        else:
            self.fh.write("\n" + line)

    def _open(self, d: int) -> None:
        self.close()
        day = self.first_day + timedelta(days=d)
        folder = self.root / f"{day:%Y}" / f"{day:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        # open for the day's events, closed by the next _open or by close(): no with-block spans it
        self.fh = open(folder / f"{day:%Y-%m-%d}-events.json", "w", encoding="ascii", newline="",  # noqa: SIM115
                       buffering=1 << 20)
        self.files += 1
        self.day = d
        self.day_end_ms = (self.t_start + (d + 1) * 86400) * 1000

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
