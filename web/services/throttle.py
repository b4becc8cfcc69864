"""Login throttling: after a few wrong passwords for one user name, or many from one
address, further attempts wait an exponentially growing time (HTTP 429 + Retry-After).

Keys are counted separately (``user:alice``, ``addr:10.0.0.7``) so guessing one
account's password from many addresses and trying many accounts from one address are
both slowed down, while one colleague's typos do not lock out a whole office behind one
NAT address (the address allows more failures than a user name). The table is bounded:
at most ``max_keys`` entries, the least recently failed evicted first, and an entry is
forgotten ``forget_after_s`` after its last failure. Thread-safe; per process (a county
server runs one).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from geo.errors import Busy

__all__ = ["LoginThrottle", "TooManyLogins"]


class TooManyLogins(Busy):
    code = "login.throttled"
    en = "Too many failed logins; try again in {retry_after_s} s."
    zh = "登录失败次数过多，请 {retry_after_s} 秒后再试。"


@dataclass
class _Entry:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Failure counts per key with exponential lock-outs.

    Parameters
    ----------
    free_failures : dict
        Failures per key prefix after which each further attempt waits, e.g.
        ``{"user": 5, "addr": 20}``; other prefixes use ``"user"``'s.
    base_delay_s, max_delay_s : float
        The first lock-out and the cap; each further failure doubles it.
    forget_after_s : float
        An entry without failures for this long is dropped.
    max_keys : int
        Most entries kept (memory bound).
    """

    def __init__(self, *, free_failures=None, base_delay_s: float = 2.0, max_delay_s: float = 900.0,
                 forget_after_s: float = 3600.0, max_keys: int = 10000, clock=time.monotonic):
        self.free_failures = {"user": 5, "addr": 20, **(free_failures or {})}
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.forget_after_s = forget_after_s
        self.max_keys = max_keys
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _free(self, key: str) -> int:
        return self.free_failures.get(key.split(":", 1)[0], self.free_failures["user"])

    def _get(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last_failure > self.forget_after_s and now >= entry.locked_until:
            del self._entries[key]
            return None
        return entry

    def wait_s(self, keys) -> float:
        """Seconds until any of ``keys`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [entry.locked_until - now for key in keys if (entry := self._get(key, now)) is not None]
        return max([0.0, *waits])

    def check(self, keys) -> None:
        """Raise :class:`TooManyLogins` while any of ``keys`` is locked out."""
        wait = self.wait_s(keys)
        if wait > 0:
            raise TooManyLogins(retry_after_s=int(wait) + 1)

    def failure(self, keys) -> None:
        """Count one failed attempt against every key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                entry = self._get(key, now) or _Entry()
                entry.failures += 1
                entry.last_failure = now
                over = entry.failures - self._free(key) + 1  # the free_failures-th failure locks
                if over > 0:
                    delay = min(self.max_delay_s, self.base_delay_s * 2 ** min(over - 1, 30))
                    entry.locked_until = now + delay
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)

    def success(self, keys) -> None:
        """Forget ``keys`` (the user name after a correct password)."""
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
