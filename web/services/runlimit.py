"""A per-caller cap on concurrent heavy analyses (placement, OD matrices, service areas,
coverage): one caller cannot tie up the server's cores with many runs at once.

A run takes a slot for its caller (the user name, or the client address for anonymous
visitors) or is refused at once with :class:`TooManyRuns` (HTTP 429 with Retry-After);
nothing queues, so memory stays bounded: the table holds only callers with a run in
progress. Cached answers need no slot.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from geo.errors import Busy

#: Heavy runs one caller may have in progress at once (config ``RURALPLAN_HEAVY_RUNS_PER_USER``).
DEFAULT_RUNS_PER_CALLER = 2
#: What the 429 answer suggests waiting (seconds).
RETRY_AFTER_S = 5

_lock = threading.Lock()
_running: dict[str, int] = {}


class TooManyRuns(Busy):
    code = "runs.busy"
    en = ("You already have {running} analyses running (at most {limit} at once); "
          "wait for one to finish and try again in {retry_after_s} s.")
    zh = "您已有 {running} 个分析正在运行（同时最多 {limit} 个）；请等其中一个完成，{retry_after_s} 秒后再试。"


@contextmanager
def heavy_run(caller: str, *, limit: int = DEFAULT_RUNS_PER_CALLER):
    """Hold one of ``caller``'s ``limit`` slots for the ``with`` block.

    Raises
    ------
    TooManyRuns
        ``caller`` already has ``limit`` runs in progress.
    """
    with _lock:
        running = _running.get(caller, 0)
        if running >= limit:
            raise TooManyRuns(running=running, limit=limit, retry_after_s=RETRY_AFTER_S)
        _running[caller] = running + 1
    try:
        yield
    finally:
        with _lock:
            left = _running.get(caller, 1) - 1
            if left > 0:
                _running[caller] = left
            else:
                _running.pop(caller, None)


def running(caller: str) -> int:
    """Runs ``caller`` has in progress now."""
    with _lock:
        return _running.get(caller, 0)
