"""The event log: users, sessions planned page by page, scheduled so that no user has two at once, rendered
as the bucket's JSON lines and merged into ts order (session by session: memory depends on the users)."""

from __future__ import annotations

import bisect
import heapq
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sparkify.sample.catalog import Catalog
from sparkify.sample.codec import K_LOG, K_USER, js_string, stream_seed
from sparkify.sample.formats import PROGRESS_SECONDS, SampleError
from sparkify.sample.logfiles import DayFiles, drain
from sparkify.sample.vocabulary import FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES, USER_AGENTS, USER_LOCATIONS

log = logging.getLogger("sparkify.sample")


_PAGE_HTTP = {"NextSong": ("PUT", 200), "Home": ("GET", 200), "Logout": ("PUT", 307), "Login": ("PUT", 307),
              "Settings": ("GET", 200), "Save Settings": ("PUT", 307), "Help": ("GET", 200), "About": ("GET", 200),
              "Upgrade": ("GET", 200), "Submit Upgrade": ("PUT", 307), "Downgrade": ("GET", 200),
              "Submit Downgrade": ("PUT", 307), "Error": ("GET", 404)}
_PAGE_FRAGMENT = {p: (f',"method":"{m}","page":{js_string(p)}', str(s)) for p, (m, s) in _PAGE_HTTP.items()}
_REDIRECTS = frozenset(("Logout", "Login", "Save Settings", "Submit Upgrade", "Submit Downgrade"))  # 1 s after


def _page_table(level: str) -> tuple[list[float], list[str]]:
    weights = {"NextSong": 880, "Home": 42, "Logout": 12, "Settings": 7, "Help": 5, "About": 3, "Error": 1.3}
    if level == "free":
        weights["Upgrade"] = 9
    else:
        weights["Downgrade"] = 10
    total = sum(weights.values())
    cum, acc = [], 0.0
    for w in weights.values():
        acc += w / total
        cum.append(acc)
    cum[-1] = 1.0
    return cum, list(weights)


_PAGES_LOGGED_IN = {"free": _page_table("free"), "paid": _page_table("paid")}
_NO_PLAY = ("null", "null", "null")
_LOGGED_OUT_USER = (',"firstName":null,"gender":null', ',"lastName":null', ',"location":null',
                    ',"registration":null', ',"userAgent":null,"userId":""}')


class LogGenerator:
    """Plans sessions, renders their lines and writes them, merged into ts order, to one file per day."""

    P_MATCH = 0.2          # NextSong plays of a catalog song (exact match)
    P_NEAR_MISS = 0.01     # catalog title and artist, another length
    P_LOGGED_OUT_START = 0.035
    P_HOME_START = 0.36
    MS = 796               # the bucket's ts values all end in 796 ms

    def __init__(self, params: dict, catalog: Catalog):
        self.p = params
        self.catalog = catalog
        self.seed = params["seed"]
        self.n_users = params["users"]
        self.rng = random.Random(stream_seed(self.seed, K_LOG, 0))
        start = params["start"]
        self.t_start = int(datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp())
        self.t_end = self.t_start + params["days"] * 86400   # exclusive
        self.busy = [0] * self.n_users                       # per user: no session may start before this (s)
        self.level = bytearray(b"\xff") * self.n_users       # per user: 0 free, 1 paid, 255 not yet seen
        self.seen = bytearray(self.n_users)
        self.user = lru_cache(maxsize=16384)(self._user)
        self.outside_size = max(2000, params["events"] // 8)  # songs outside the catalog that get played
        self._rng_user = random.Random()
        self.progress_note: Callable[[], str] | None = None  # extra text for the progress line

    # users -------------------------------------------------------------------------------------------------
    def _user(self, k: int) -> tuple:
        """(initial level, the five logged-in JSON fragments) of user k (userId str(k + 1))."""
        rng = self._rng_user
        rng.seed(stream_seed(self.seed, K_USER, k))
        gender = "F" if rng.random() < 0.5 else "M"
        first = rng.choice(FIRST_NAMES_F if gender == "F" else FIRST_NAMES_M)
        last = rng.choice(LAST_NAMES)
        location = rng.choice(USER_LOCATIONS)
        agent = rng.choice(USER_AGENTS)
        if "," in agent:
            agent = f'"{agent}"'
        registration = float((self.t_start - rng.randrange(86400, 86400 * 120)) * 1000 + self.MS)
        level = 1 if rng.random() < (0.75 if k < self.n_users // 5 else 0.4) else 0  # heavy users pay more often
        return level, (f',"firstName":{js_string(first)},"gender":"{gender}"', f',"lastName":{js_string(last)}',
                       f',"location":{js_string(location)}', f',"registration":{registration!r}',
                       f',"userAgent":{js_string(agent)},"userId":"{k + 1}"}}')

    def _pick_user(self) -> int:
        """A user for the next session. Skewed activity: low user numbers listen more (P(user 0) ~ users**-2/3)."""
        return int(self.n_users * self.rng.random() ** 1.5)

    # one session -------------------------------------------------------------------------------------------
    def _plan(self, n: int, level: int) -> list[tuple]:
        """Plan a session of up to n events: [(offset_s, page, logged_in, level, play, matches_catalog)]."""
        rng = self.rng
        rnd = rng.random
        events = []
        t = 0
        r = rnd()
        logged_in = True
        logged_out_only = False
        if r < self.P_LOGGED_OUT_START:
            logged_in = False
            logged_out_only = rnd() < 0.3
            if logged_out_only:  # a visitor who never logs in: a few pages only
                n = min(n, rng.randint(1, 4))
            forced = "Home"
        elif r < self.P_LOGGED_OUT_START + self.P_HOME_START:
            forced = "Home"
        else:
            forced = "NextSong"
        gap = 0
        lv = "paid" if level else "free"
        cum, pages = _PAGES_LOGGED_IN[lv]
        p_next = cum[0]
        pick_play = self._pick_play
        append = events.append
        for idx in range(n):
            if forced is not None:
                page, forced = forced, None
            elif not logged_in:
                x = rnd()
                if not logged_out_only and x < 0.55:
                    page = "Login"
                else:
                    page = "Home" if x < 0.85 else ("About" if x < 0.94 else "Help")
            else:
                x = rnd()
                page = "NextSong" if x < p_next else pages[bisect.bisect_right(cum, x)]
            if page == "NextSong":  # the fast path: most events
                t += gap
                play, is_match = pick_play()
                length = play[3]
                gap = int(length) + int(3 * rnd()) if rnd() < 0.92 else 1 + int((length - 1) * rnd())
                append((t, page, logged_in, lv, play, is_match))
                continue
            if idx:
                t += 1 if page in _REDIRECTS else gap
            gap = 2 + int(58 * rnd()) if rnd() < 0.5 else 60 + int(340 * rnd())
            append((t, page, logged_in, lv, None, 0))
            # what this page leads to
            if page == "Upgrade" and rnd() < 0.35:
                forced = "Submit Upgrade"
            elif page == "Submit Upgrade":
                lv, forced = "paid", "Home"
            elif page == "Downgrade" and rnd() < 0.03:
                forced = "Submit Downgrade"
            elif page == "Submit Downgrade":
                lv, forced = "free", "Home"
            elif page == "Settings" and rnd() < 0.2:
                forced = "Save Settings"
            elif page == "Logout":
                logged_in, forced = False, "Home"
            elif page == "Login":
                logged_in = True
                if rnd() < 0.7:
                    forced = "Home"
            if page.startswith("Submit"):
                cum, pages = _PAGES_LOGGED_IN[lv]
                p_next = cum[0]
        return events

    def _pick_play(self) -> tuple[tuple[str, str, str, float], int]:
        rng = self.rng
        r = rng.random()
        size = self.catalog.size
        if size and r < self.P_MATCH:
            k = int(size * rng.random() ** 2)         # popular songs are played more often
            for probe in range(4):
                play = self.catalog.play((k + probe) % size)
                if play is not None:
                    return play, 1
        elif size and r < self.P_MATCH + self.P_NEAR_MISS:
            return self.catalog.near_miss(int(size * rng.random()), rng), 0
        return self.catalog.outside_play(int(self.outside_size * rng.random() ** 2)), 0

    def _schedule(self, n: int, day_start: int, draw: int) -> tuple[int, int, list]:
        """Pick a user and plan a session of up to n events starting on the draw's day: (user, start, events).

        A user never has two sessions at once (so (userId, ts) stays unique), and a session never starts
        before `draw` (events before it are already written) nor after its day. A session that would
        outlast the range is cut at its end, like a month's export; the caller gives the events it did
        not get to another session.
        """
        last_ok = self.t_end - 1
        latest_start = min(day_start + 86399, last_ok)
        busy = self.busy
        for _ in range(12):
            u = self._pick_user()
            if max(draw, busy[u]) <= latest_start:
                break
        else:  # the users drawn are all busy for the rest of the day: the first free one
            offset = self.rng.randrange(self.n_users)
            for step in range(self.n_users):
                u = (offset + step) % self.n_users
                if max(draw, busy[u]) <= latest_start:
                    break
            else:
                raise SampleError(f"cannot fit {self.p['events']} events into {self.p['days']} days with "
                                  f"{self.n_users} users: pass more users or more days")
        start = max(draw, busy[u])
        events = self._plan(n, self._level(u))
        if start + events[-1][0] > last_ok:
            events = [e for e in events if start + e[0] <= last_ok]
        return u, start, events

    def _level(self, u: int) -> int:
        if self.level[u] == 255:
            self.level[u] = self.user(u)[0]
        return self.level[u]

    # the whole log ---------------------------------------------------------------------------------------
    def day_quotas(self) -> list[int]:
        """Events per day (sessions starting that day): rising through the range, a little noise, exact total."""
        days, total = self.p["days"], self.p["events"]
        rng = random.Random(stream_seed(self.seed, K_LOG, 1))
        start = date.fromisoformat(self.p["start"])
        weights = []
        for d in range(days):
            weekend = (start + timedelta(days=d)).weekday() >= 5
            weights.append((0.5 + d / days) * (0.75 + 0.5 * rng.random()) * (0.85 if weekend else 1.0))
        scale = total / sum(weights)
        exact = [w * scale for w in weights]
        quotas = [int(x) for x in exact]
        order = sorted(range(days), key=lambda d: (quotas[d] - exact[d], d))
        for d in order[: total - sum(quotas)]:
            quotas[d] += 1
        return quotas

    def write(self, log_root: Path) -> dict:
        """Write all day files; return the counts for the summary.

        Sessions are scheduled in order of their drawn start time and merged by (ts, session) through a heap,
        so events come out in global ts order and only the sessions still running are held in memory.
        """
        log_root.mkdir()
        out = DayFiles(log_root, date.fromisoformat(self.p["start"]), self.t_start)
        try:
            counts = self._write(out)
        finally:
            out.close()
        return {**counts, "log_files": out.files}

    def _write(self, out: DayFiles) -> dict:
        quotas = self.day_quotas()
        total = self.p["events"]
        rng = self.rng
        heap: list = []
        done = n_next = n_matched = 0
        session_id = 0
        next_report = time.monotonic() + PROGRESS_SECONDS
        for d, quota in enumerate(quotas):
            day_start = self.t_start + d * 86400
            sizes = []
            while quota > 0:
                n = min(quota, 1 + min(249, int(rng.lognormvariate(1.55, 1.05))))
                sizes.append(n)
                quota -= n
            span = 86400 if d < len(quotas) - 1 else 86400 - 7200  # the range's last sessions need room
            draws = sorted(day_start + rng.randrange(span) for _ in sizes)
            for n, draw in zip(sizes, draws):
                drain(heap, draw * 1000, out)
                while n > 0:  # a session may come out shorter than asked; the rest becomes another session
                    u, start, events = self._schedule(n, day_start, draw)
                    session_id += 1
                    n -= len(events)
                    done += len(events)
                    self.level[u] = _level_after(events[-1])
                    if not self.seen[u] and any(e[2] for e in events):  # logged in at least once
                        self.seen[u] = 1
                    self.busy[u] = start + events[-1][0] + rng.randrange(300, 7200)
                    lines, plays, matched = self._render(events, self.user(u)[1], session_id, start)
                    n_next += plays
                    n_matched += matched
                    heapq.heappush(heap, (lines[0][0], session_id, 0, lines))
                if time.monotonic() >= next_report:
                    note = f"; {self.progress_note()}" if self.progress_note else ""
                    log.info("log events: %d / %d (%.0f%%)%s", done, total, 100.0 * done / max(1, total), note)
                    next_report = time.monotonic() + PROGRESS_SECONDS
        drain(heap, None, out)
        return {"events": done, "next_song_events": n_next, "users": sum(self.seen), "matched_plays": n_matched}

    def _render(self, events: list, user_fragments: tuple, session_id: int,
                start: int) -> tuple[list[tuple[int, str]], int, int]:
        """The session's [(ts, line)] in order, its NextSong count and how many of those match the catalog."""
        ms = self.MS
        sid = str(session_id)
        out = []
        plays = matched = 0
        for item, (offset, page, logged_in, lv, play, is_match) in enumerate(events):
            if play is not None:
                plays += 1
                matched += is_match
            f1, f2, f3, f4, f5 = user_fragments if logged_in else _LOGGED_OUT_USER
            pm, status = _PAGE_FRAGMENT[page]
            artist, song, length = play[:3] if play is not None else _NO_PLAY
            ts = (start + offset) * 1000 + ms
            out.append((ts, (
                f'{{"artist":{artist},"auth":"{"Logged In" if logged_in else "Logged Out"}"{f1},'
                f'"itemInSession":{item}{f2},"length":{length},"level":"{lv}"{f3}{pm}{f4},"sessionId":{sid},'
                f'"song":{song},"status":{status},"ts":{ts}{f5}')))
        return out, plays, matched


def _level_after(event: tuple) -> int:
    """The user's level (0 free, 1 paid) after this event: a Submit page changes it for later events."""
    page, level = event[1], event[3]
    if page == "Submit Upgrade":
        return 1
    if page == "Submit Downgrade":
        return 0
    return 1 if level == "paid" else 0
