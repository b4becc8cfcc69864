"""One deadline for a whole placement call: model building, solver, explanations.

A time limit is a promise to the planner waiting on the page: the answer
comes within ``time_limit_s`` (+ 10 %), explanations included.  Every stage
that can take long asks the same :class:`Deadline` before it starts
("is there time for this?") and while it runs ("stop now?"); a stage that
cannot fit returns what it has -- the heuristic layout with the bound proven
so far, status "time_limit" -- instead of starting.

HiGHS checks its interrupt callbacks only once its MIP search runs; loading
the model and setting up the search (``passModel``, ``setSolution``, the
MIP solver's data structures, even with presolve off) cannot be interrupted
and cost about 1.5 CPU microseconds per matrix non-zero on this project's
2-core machine (measured on the p-median radius model, n = 200-900:
0.15 CPU s at 1.1e5 non-zeros, 3.6 CPU s at 2.2e6).  :func:`milp_setup_s`
is that estimate (doubled when HiGHS presolves: presolve does not check the
limit either); :meth:`Deadline.affords` scales it by how much slower than
CPU time the wall clock has run so far in this call (a loaded machine), so a
MILP that could not even be set up before the deadline is never started.
"""
from __future__ import annotations

import math
import time

__all__ = ["Deadline", "EXPLAIN_TAIL", "GREEDY_CHUNK_S", "greedy_add_s", "lagrangian_setup_s", "milp_setup_s",
           "MILP_SETUP_S_PER_NNZ", "swaps_affordable"]

#: Share of the limit kept back from the explanations for assembling and
#: certifying the result (which do not check the clock: they take milliseconds).
EXPLAIN_TAIL = 0.03

#: CPU seconds HiGHS spends per constraint-matrix non-zero before its first
#: interrupt check (load, warm start, MIP set-up); measured, rounded up.
MILP_SETUP_S_PER_NNZ = 2.0e-6
#: Fixed part of that set-up (a ``Highs()`` instance, option calls).
MILP_SETUP_S_FIXED = 0.005


#: CPU seconds per (demand, candidate) pair of one vertex-substitution scan
#: (the compiled p-median swap search; ~1.5 ns measured at n = 900, rounded up).
SWAP_SCAN_S_PER_PAIR = 4e-9


#: CPU seconds per (demand, candidate) pair of one greedy addition (the compiled
#: p-median greedy; the same scan as a swap's, rounded up alike).
GREEDY_SCAN_S_PER_PAIR = 4e-9
#: CPU seconds of compiled greedy between two reads of the clock.
GREEDY_CHUNK_S = 0.01


def greedy_add_s(n: int, m: int) -> float:
    """Estimated CPU seconds of one greedy addition on an ``n x m`` p-median."""
    return GREEDY_SCAN_S_PER_PAIR * max(1, n) * max(1, m)


#: CPU seconds per cost-matrix entry of the p-median Lagrangian's set-up (a row-wise
#: argsort and gather: 28 ms measured at 900 x 900, rounded up).
LAGRANGIAN_SETUP_S_PER_ENTRY = 6e-8


def lagrangian_setup_s(n: int, m: int) -> float:
    """Estimated CPU seconds to set up the p-median Lagrangian relaxation on ``n x m``."""
    return LAGRANGIAN_SETUP_S_PER_ENTRY * max(1, n) * max(1, m)


def swaps_affordable(deadline: "Deadline", n: int, m: int) -> int:
    """How many full swap scans of an ``n x m`` p-median fit before ``deadline`` (at least 1)."""
    per = SWAP_SCAN_S_PER_PAIR * max(1, n) * max(1, m) * deadline.slowdown()
    return int(max(1, min(100_000, deadline.left() / per)))


def milp_setup_s(nnz: int | float) -> float:
    """CPU seconds before HiGHS can be interrupted, for a matrix with ``nnz`` non-zeros."""
    return MILP_SETUP_S_FIXED + MILP_SETUP_S_PER_NNZ * max(0.0, float(nnz))


class Deadline:
    """A wall-clock deadline ``limit_s`` seconds after creation (``time.perf_counter``).

    Parameters
    ----------
    limit_s : float
        Seconds from now; ``math.inf`` for none.
    clock, cpu_clock : callable, optional
        Wall and CPU clocks (tests pass fakes); default ``time.perf_counter``
        and ``time.process_time``, read at call time so that a monkeypatched
        ``time.perf_counter`` is honoured.
    """

    def __init__(self, limit_s: float, *, clock=None, cpu_clock=None):
        self._clock = clock
        self._cpu_clock = cpu_clock
        self.limit_s = float(limit_s)
        self.t0 = self.now()
        self.c0 = self._cpu()
        self.at = self.t0 + self.limit_s

    def now(self) -> float:
        return (self._clock or time.perf_counter)()

    def _cpu(self) -> float:
        return (self._cpu_clock or time.process_time)()

    @classmethod
    def at_time(cls, at: float, *, clock=None) -> Deadline:
        """The deadline at ``time.perf_counter()`` value ``at`` (for code holding a float)."""
        d = cls(math.inf, clock=clock)
        d.at = float(at)
        d.limit_s = d.at - d.t0
        return d

    def left(self) -> float:
        """Seconds until the deadline (0 once passed)."""
        return max(0.0, self.at - self.now())

    def expired(self) -> bool:
        return self.now() > self.at

    def elapsed(self) -> float:
        return self.now() - self.t0

    def slowdown(self) -> float:
        """Wall seconds per CPU second seen so far in this call (>= 1; 1 until 50 ms have passed).

        On a machine shared with other work the wall clock runs faster than
        this process's CPU time; estimates made in CPU seconds are scaled by it.
        """
        wall = self.elapsed()
        cpu = self._cpu() - self.c0
        if wall < 0.05 or cpu <= 1e-3:
            return 1.0
        return min(8.0, max(1.0, wall / cpu))

    def affords(self, cpu_seconds: float, *, reserve_s: float = 0.0) -> bool:
        """Is there time for work estimated at ``cpu_seconds`` (plus ``reserve_s`` kept back)?"""
        return self.left() - reserve_s >= cpu_seconds * self.slowdown()

    def part(self, share: float) -> Deadline:
        """A deadline ``share`` (0..1) of the time left from now, never past this one."""
        d = Deadline(math.inf, clock=self._clock, cpu_clock=self._cpu_clock)
        d.at = min(self.at, d.t0 + max(0.0, share) * self.left())
        d.limit_s = d.at - d.t0
        return d

    def solver_s(self, reserve: float = 0.0) -> float:
        """Seconds a solver may use now: the time left minus ``reserve`` of the whole limit (>= 1 ms)."""
        keep = reserve * self.limit_s if math.isfinite(self.limit_s) else 0.0
        return max(1e-3, self.left() - keep)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Deadline(limit_s={self.limit_s:g}, left={self.left():.3f})"
