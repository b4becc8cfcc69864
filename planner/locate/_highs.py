"""Thin wrapper around ``highspy`` for the location MILPs.

Every model in :mod:`planner.locate` builds its constraint matrix as a
``scipy.sparse`` matrix and hands it to :func:`solve_milp`, which passes it to
HiGHS in one ``passModel`` call (no modelling layer: building 10^5 rows
through ``addRow`` costs more than solving most of these models).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

# HiGHS's own MIP gap defaults to 1e-4, which is not "optimal" for a planner
# comparing two layouts that differ by a few minutes of travel; every model in
# this package asks for a tighter gap (objectives are sums of at most ~1e7).
DEFAULT_MIP_REL_GAP = 1e-7

_HIGHS_INF = highspy.kHighsInf


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

    Returns
    -------
    MilpOutcome
    """
    t0 = time.perf_counter()
    n_col = int(len(c))
    if n_col == 0:
        # Nothing to decide (everything reduced away): HiGHS reports "model empty".
        return MilpOutcome("optimal", np.zeros(0), float(offset), float(offset), time.perf_counter() - t0, 0)
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    n_row = int(A.shape[0])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(time_limit_s, 1e-3)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    # Small absolute gap: objectives here are travel minutes or tonnes, where
    # 1e-6 is noise; the default (1e-6) is kept but stated for the reader.
    h.setOptionValue("mip_abs_gap", 1e-6)
    if objective_cutoff is not None:
        h.setOptionValue("objective_bound", float(objective_cutoff))
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
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_sol else None
    obj = float(info.objective_function_value) if has_sol else math.nan
    is_mip = bool(integrality.any())
    if is_mip:
        bound = float(info.mip_dual_bound)
    else:
        bound = obj
    MS = highspy.HighsModelStatus
    if model_status == MS.kOptimal:
        st = "optimal"
        if not is_mip or (has_sol and not math.isfinite(bound)):
            # A MIP that presolve solves outright comes back optimal with
            # mip_dual_bound = -inf (seen with an equality row pinning z's).
            bound = obj
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
    return MilpOutcome(st, x, obj, bound, time.perf_counter() - t0, int(info.mip_node_count))
