"""Distance-decay functions of the attendance model (:mod:`planner.locate.attendance`).

Kept apart from the solver so the answer check (:mod:`planner.locate.certify`) can
re-evaluate attendance without importing the solvers (no import cycle).
"""
from __future__ import annotations

import numpy as np

__all__ = ["DECAYS", "DEFAULT_BETA", "decay_factor"]

DECAYS = ("linear", "power", "exponential")
#: Default ``beta`` per decay: power 1 (half the demand at 2 minutes, a tenth at 10);
#: exponential 0.05 per minute (half the demand at about 14 minutes).
DEFAULT_BETA = {"linear": None, "power": 1.0, "exponential": 0.05}


def decay_factor(minutes, *, decay: str = "linear", cutoff_min: float, beta: float | None = None) -> np.ndarray:
    """Share of demand that attends a site ``minutes`` away (0 beyond ``cutoff_min`` or unreachable).

    Parameters
    ----------
    minutes : array_like
        Travel minutes (``inf`` unreachable).
    decay : {"linear", "power", "exponential"}
        See the module docstring.
    cutoff_min : float
        No attendance beyond this many minutes.
    beta : float, optional
        Decay parameter (power exponent, or per-minute exponential rate);
        defaults in :data:`DEFAULT_BETA`.

    Returns
    -------
    ndarray
        Values in [0, 1], same shape as ``minutes``.
    """
    d = np.asarray(minutes, dtype=np.float64)
    if decay not in DECAYS:
        msg = f"decay must be one of {', '.join(DECAYS)}, got {decay!r}"
        raise ValueError(msg)
    b = DEFAULT_BETA[decay] if beta is None else float(beta)
    inside = np.isfinite(d) & (d <= cutoff_min + 1e-9)
    dd = np.where(inside, d, 0.0)
    if decay == "linear":
        f = 1.0 - dd / cutoff_min
    elif decay == "power":
        with np.errstate(divide="ignore"):
            f = np.minimum(1.0, np.where(dd > 0, dd, 1e-300) ** -b)
    else:
        f = np.exp(-b * dd)
    return np.where(inside, np.clip(f, 0.0, 1.0), 0.0)
