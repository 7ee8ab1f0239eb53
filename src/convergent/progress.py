"""Progress bars of the steps (one home): tqdm on stderr, which every rule redirects with stdout
into its job's log under results/logs/.

On a terminal the bar is tqdm's own.  Anywhere else (a log file) tqdm would write one ``\\r``
update after another onto a single ever-growing line; here each shown update is a whole line
instead, and at most about ``LOG_LINES`` of them are written per bar (one every 1/LOG_LINES of
the total, and no more often than every ``LOG_INTERVAL`` seconds), plus the first and the last
line: a log stays legible and still shows count, rate and ETA.  Nothing is written before the
job's bars have run ``LOG_DELAY`` seconds: a job that takes a moment, or fails at once, keeps a
log of its own lines only (a bad input stays a one-line error).

Analyses stay pure: they take an optional ``advance(n)`` callback (a bar's ``update``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm

#: at most this many progress lines per bar in a log (besides its first and last line)
LOG_LINES = 20
#: seconds between two progress lines of one bar in a log, at least
LOG_INTERVAL = 5.0
#: seconds after this job's first bar started before any bar writes to a log
LOG_DELAY = 3.0
_job_start: float | None = None  # when this process made its first bar


class _LogBar(tqdm):
    """tqdm writing whole lines (no carriage returns), for a stream that is not a terminal."""

    _closing = False

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg == "":  # tqdm clearing its line: nothing to clear in a log
            return True
        if not self._closing and self.total is not None and self.n >= self.total:
            return True  # the closing line (overall rate) reports the end: no duplicate
        # tqdm's close() ends its last display with a newline of its own
        self.fp.write((str(self) if msg is None else msg) + ("" if self._closing else "\n"))
        self.fp.flush()
        return True

    def close(self) -> None:
        self._closing = True
        super().close()


def progress(
    total: int | None,
    unit: str,
    desc: str,
    iterable: Iterable | None = None,
    *,
    file: TextIO | None = None,
    lines: int = LOG_LINES,
    interval: float = LOG_INTERVAL,
    delay: float | None = None,
) -> tqdm:
    """A progress bar of ``total`` ``unit`` (e.g. ``img``, ``pair``) named ``desc``, on
    ``file`` (default: the current stderr); use it as a context manager and call ``update(n)``
    (or pass it as an analysis's ``advance``), or iterate it when ``iterable`` is given.  Not a
    terminal: whole lines, at most ``lines`` of them and one per ``interval`` seconds (plus the
    first and the last), none before the job's bars have run ``delay`` seconds (default
    ``LOG_DELAY``)."""
    global _job_start
    stream = sys.stderr if file is None else file
    options: dict[str, Any] = {"total": total, "unit": unit, "desc": desc, "file": stream}
    if stream.isatty():
        return tqdm(iterable, **options)
    now = time.time()
    _job_start = now if _job_start is None else _job_start
    wait = LOG_DELAY if delay is None else delay
    return _LogBar(
        iterable,
        **options,
        miniters=max(1, math.ceil(total / lines)) if total else None,
        mininterval=interval,
        maxinterval=math.inf,  # tqdm's monitor thread would otherwise force extra lines
        delay=max(0.0, _job_start + wait - now),
        ascii=True,
    )
