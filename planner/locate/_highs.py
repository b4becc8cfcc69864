"""Thin wrapper around ``highspy`` for the location MILPs.

Every model in :mod:`planner.locate` builds its constraint matrix as a
``scipy.sparse`` matrix and hands it to :func:`solve_milp`, which passes it to
HiGHS in one ``passModel`` call (no modelling layer: building 10^5 rows
through ``addRow`` costs more than solving most of these models).

Two guarantees every caller relies on:

* HiGHS never writes to stdout (``--json`` output would break): its one-time
  banner, printed by the first ``Highs()`` of a process before any option can
  be set, is captured at the file-descriptor level when this module is
  imported and sent to the ``planner.locate.highs`` debug log, and every
  instance gets ``output_flag = False`` before anything else is passed; with
  that logger at DEBUG level the solver log goes there through HiGHS's
  logging callback instead.
* The returned ``x`` is the solution of the returned objective: HiGHS 1.16
  can report the optimum found in presolve's reduced space while
  ``getSolution()`` still holds the ``setSolution`` warm start (seen on set
  covering: objective 17, solution with 20 sites).  ``objective`` is always
  recomputed as ``c @ x + offset`` from a row- and bound-feasible ``x``;
  when it disagrees with the solver's, the model is solved again without the
  start, and the status is "optimal" only if the recomputed objective meets
  the proven bound.
"""
from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from ._deadline import Deadline, milp_setup_s

# HiGHS's own MIP gap defaults to 1e-4, which is not "optimal" for a planner
# comparing two layouts that differ by a few minutes of travel; every model in
# this package asks for a tighter gap (objectives are sums of at most ~1e7).
DEFAULT_MIP_REL_GAP = 1e-7

_HIGHS_INF = highspy.kHighsInf

log = logging.getLogger("planner.locate.highs")
_banner_lock = threading.Lock()
_banner_done = False


def _flush_c_stdio() -> None:
    """``fflush(NULL)``: C's stdout buffer must empty into the redirected descriptor."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def _swallow_banner() -> None:
    """Create the process's first ``Highs()`` with fd 1 pointed at a temporary file.

    HiGHS prints its banner from the constructor of the first instance (only
    once per process), before ``output_flag`` can be set; a Python-level
    ``redirect_stdout`` does not see C++ ``printf``.  The text goes to the
    debug log.
    """
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        try:
            fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
            saved = os.dup(fd)
        except (AttributeError, ValueError, OSError):
            fd, saved = 1, None
        try:
            with tempfile.TemporaryFile() as tmp:
                if saved is not None:
                    os.dup2(tmp.fileno(), fd)
                try:
                    highspy.Highs()
                finally:
                    _flush_c_stdio()
                    if saved is not None:
                        os.dup2(saved, fd)
                        os.close(saved)
                tmp.seek(0)
                text = tmp.read().decode("utf-8", "replace").strip()
            if text:
                log.debug("%s", text)
        finally:
            _banner_done = True


def new_highs() -> highspy.Highs:
    """A ``Highs`` instance that never writes to stdout (see the module docstring)."""
    _swallow_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if log.isEnabledFor(logging.DEBUG):
        # The solver log goes to the debug log, never to the console.
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)

        def _to_log(event) -> None:
            msg = getattr(event, "message", "")
            if msg:
                log.debug("%s", str(msg).rstrip())

        try:
            h.cbLogging.subscribe(_to_log)
        except AttributeError:  # older highspy: keep it silent
            h.setOptionValue("output_flag", False)
    return h


_swallow_banner()


def _not_started(c, A, row_lower, row_upper, col_lower, col_upper, integer, offset, start, t0) -> MilpOutcome:
    """The outcome of a MILP left unstarted for lack of time: the start if it is feasible, no bound."""
    x, obj = None, math.nan
    if start is not None:
        v = np.asarray(start, dtype=np.float64)
        tol = 1e-6
        ok = len(v) == len(c) and np.isfinite(v).all()
        ok = ok and not ((v < np.asarray(col_lower) - tol).any() or (v > np.asarray(col_upper) + tol).any())
        is_int = np.asarray(integer, dtype=bool)
        ok = ok and not (np.abs(v[is_int] - np.round(v[is_int])) > tol).any()
        if ok and A.shape[0]:
            act = A @ v
            lo, hi = np.asarray(row_lower, dtype=np.float64), np.asarray(row_upper, dtype=np.float64)
            scale = tol * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lo), lo, 0.0)),
                                                     np.abs(np.where(np.isfinite(hi), hi, 0.0))))
            ok = not ((act < lo - scale).any() or (act > hi + scale).any())
        if ok:
            x, obj = v, float(np.asarray(c, dtype=np.float64) @ v + offset)
    log.debug("MILP with %d non-zeros not started: not enough time left to set it up", A.nnz)
    return MilpOutcome("time_limit", x, obj, math.nan, time.perf_counter() - t0, 0)


@dataclass(frozen=True)
class MilpOutcome:
    """Raw outcome of one HiGHS run, in the model's own (maximise/minimise) sense."""

    status: str  # "optimal" | "time_limit" | "feasible" | "infeasible" | "error"
    x: np.ndarray | None
    objective: float
    bound: float
    seconds: float
    nodes: int


def solve_milp(
    c: np.ndarray,
    A: sp.spmatrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integer: np.ndarray,
    *,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit_s: float = 60.0,
    start: np.ndarray | None = None,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    objective_cutoff: float | None = None,
    options: dict | None = None,
    deadline: Deadline | None = None,
) -> MilpOutcome:
    """Solve ``opt c@x + offset`` s.t. ``row_lower <= A@x <= row_upper``, bounds, integrality.

    Parameters
    ----------
    c, A, row_lower, row_upper, col_lower, col_upper
        LP data; ``np.inf`` bounds are translated to HiGHS infinity.
    integer
        Boolean mask of integer columns.
    maximize
        Objective sense.
    offset
        Constant added to the objective (and bound).
    time_limit_s
        HiGHS wall-clock limit.
    start
        Optional full primal vector passed with ``setSolution`` as incumbent;
        HiGHS checks it and ignores it when infeasible.
    mip_rel_gap
        Relative gap at which HiGHS declares optimality.
    objective_cutoff
        Optional HiGHS ``objective_bound``: prune everything not better than it.
    options
        Extra HiGHS options (name -> value), applied last.
    deadline
        The call's :class:`~planner.locate._deadline.Deadline`: the limit is
        also cut to the time it leaves, and HiGHS is not started at all when
        that cannot even cover its uninterruptible set-up
        (:func:`~planner.locate._deadline.milp_setup_s`, scaled by the
        machine's load): the outcome is then "time_limit" with the start (if
        feasible) as solution and no bound.

    Returns
    -------
    MilpOutcome
    """
    t0 = time.perf_counter()
    n_col = int(len(c))
    if n_col == 0:
        # Nothing to decide (everything reduced away): HiGHS reports "model empty".
        return MilpOutcome("optimal", np.zeros(0), float(offset), float(offset), time.perf_counter() - t0, 0)
    if deadline is not None:
        time_limit_s = min(float(time_limit_s), deadline.left())
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    n_row = int(A.shape[0])
    slow = deadline.slowdown() if deadline is not None else 1.0
    # Presolve does not check the limit either: about as long again (0.1 CPU s on a
    # 73k-non-zero capacitated-coverage model).
    presolve = 1.0 if (options or {}).get("presolve") == "off" else 2.0
    if time_limit_s < milp_setup_s(A.nnz) * presolve * slow:
        # Loading and setting up the model alone would overrun the limit (HiGHS
        # cannot be interrupted before its search starts): do not start it.
        return _not_started(c, A, row_lower, row_upper, col_lower, col_upper, integer, offset, start, t0)
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit_s, 1e-3)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    # Small absolute gap: objectives here are travel minutes or tonnes, where
    # 1e-6 is noise; the default (1e-6) is kept but stated for the reader.
    h.setOptionValue("mip_abs_gap", 1e-6)
    if objective_cutoff is not None:
        h.setOptionValue("objective_bound", float(objective_cutoff))
    if start is not None:
        # Feasibility jump (a primal heuristic run before the root LP) is pointless with an
        # incumbent given, and it checks neither the time limit nor the interrupt callbacks:
        # on a 71k-row radius p-median it ran 2-3 s past a 1 s limit. (Older HiGHS lacks
        # the option and answers with a warning status, not an exception.)
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)

    def fin(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64).copy()
        a[np.isposinf(a)] = _HIGHS_INF
        a[np.isneginf(a)] = -_HIGHS_INF
        return a

    integrality = np.where(np.asarray(integer, dtype=bool), 1, 0).astype(np.int32)
    if n_row == 0:
        # HiGHS rejects a row-wise matrix with no rows; give it a dummy free row.
        A = sp.csr_matrix((1, n_col))
        row_lower = np.array([-np.inf])
        row_upper = np.array([np.inf])
        n_row = 1
    status = h.passModel(
        n_col,
        n_row,
        int(A.nnz),
        2,  # MatrixFormat.kRowwise
        -1 if maximize else 1,
        float(offset),
        fin(c),
        fin(col_lower),
        fin(col_upper),
        fin(row_lower),
        fin(row_upper),
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        return MilpOutcome("error", None, math.nan, math.nan, time.perf_counter() - t0, 0)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    # HiGHS checks ``time_limit`` only now and then (0.2-0.6 s late on a 900 x 900
    # p-median): its interrupt callbacks stop it at the deadline itself.
    hard_deadline = t0 + float(max(time_limit_s, 1e-3))

    def _stop_at_deadline(event) -> None:
        if time.perf_counter() > hard_deadline:
            event.interrupt()

    for hook in ("cbMipInterrupt", "cbSimplexInterrupt", "cbIpmInterrupt"):
        try:
            getattr(h, hook).subscribe(_stop_at_deadline)
        except AttributeError:  # older highspy: the time limit alone
            pass
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_sol else None
    reported = float(info.objective_function_value) if has_sol else math.nan
    is_mip = bool(integrality.any())
    bound = float(info.mip_dual_bound) if is_mip else reported
    MS = highspy.HighsModelStatus
    if model_status == MS.kOptimal:
        st = "optimal"
        if not is_mip or (has_sol and not math.isfinite(bound)):
            # A MIP that presolve solves outright comes back optimal with
            # mip_dual_bound = -inf (seen with an equality row pinning z's);
            # the optimum HiGHS proved is its reported objective.
            bound = reported
    elif model_status == MS.kInfeasible:
        st = "infeasible"
    elif model_status in (MS.kTimeLimit, MS.kInterrupt, MS.kIterationLimit, MS.kSolutionLimit):
        st = "time_limit"
    elif model_status == MS.kObjectiveBound:
        # Cut-off proved that nothing beats ``objective_cutoff``.
        st = "infeasible"
    else:
        st = "feasible" if has_sol else "error"
    if not math.isfinite(bound):
        bound = math.nan
    nodes = int(info.mip_node_count)
    sense = -1.0 if maximize else 1.0
    c64 = np.asarray(c, dtype=np.float64)
    lo_r, hi_r = np.asarray(row_lower, dtype=np.float64), np.asarray(row_upper, dtype=np.float64)
    lo_c, hi_c = np.asarray(col_lower, dtype=np.float64), np.asarray(col_upper, dtype=np.float64)
    is_int = np.asarray(integer, dtype=bool)

    def evaluate(v):
        """``c @ v + offset`` if ``v`` satisfies rows, bounds and integrality, else None."""
        if v is None or len(v) != n_col or not np.isfinite(v).all():
            return None
        tol = 1e-6
        if (v < lo_c - tol).any() or (v > hi_c + tol).any():
            return None
        if is_int.any() and (np.abs(v[is_int] - np.round(v[is_int])) > tol).any():
            return None
        act = A @ v if A.shape[1] == n_col else None
        if act is not None and len(act) == len(lo_r):
            scale = tol * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lo_r), lo_r, 0.0)),
                                                     np.abs(np.where(np.isfinite(hi_r), hi_r, 0.0))))
            if (act < lo_r - scale).any() or (act > hi_r + scale).any():
                return None
        return float(c64 @ v + offset)

    obj = evaluate(x)
    if x is not None and (obj is None or abs(obj - reported) > 1e-6 * max(1.0, abs(reported))):
        # HiGHS's objective is not that of the solution it hands back (see the
        # module docstring): solve again without the start, keep the better
        # of the checked solutions and the stronger proven bound.
        log.debug("HiGHS reported objective %r but its solution evaluates to %r; solving again without the start",
                  reported, obj)
        elapsed = time.perf_counter() - t0
        again = None
        if start is not None and time_limit_s - elapsed > 1e-3:
            again = solve_milp(
                c, A, row_lower, row_upper, col_lower, col_upper, integer, maximize=maximize, offset=offset,
                time_limit_s=time_limit_s - elapsed, start=None, mip_rel_gap=mip_rel_gap,
                objective_cutoff=objective_cutoff, options=options, deadline=deadline)
            nodes += again.nodes
        cands = [(obj, x)] if obj is not None else []
        if again is not None and again.x is not None:
            cands.append((again.objective, again.x))
        if start is not None:
            v0 = evaluate(np.asarray(start, dtype=np.float64))
            if v0 is not None:
                cands.append((v0, np.asarray(start, dtype=np.float64)))
        if cands:
            obj, x = min(cands, key=lambda t: sense * t[0])
        else:
            obj, x = math.nan, None
        if again is not None and math.isfinite(again.bound):
            bound = again.bound if not math.isfinite(bound) else (
                max(bound, again.bound) if not maximize else min(bound, again.bound))
        if again is not None and st == "infeasible":
            st = again.status
    if obj is None:
        obj = math.nan
    if x is not None and st in ("optimal", "feasible", "time_limit"):
        # "optimal" only when the checked objective meets the proven bound.
        proven = math.isfinite(bound) and sense * (obj - bound) <= max(
            mip_rel_gap * max(abs(obj), 1e-9), 1e-6) * 10
        if st == "optimal" and not proven:
            st = "feasible"
        if math.isfinite(bound) and sense * (obj - bound) < 0:
            # A bound cannot beat a feasible solution: keep what is proven.
            bound = obj
    return MilpOutcome(st, x, obj, bound, time.perf_counter() - t0, nodes)
