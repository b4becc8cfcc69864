"""``python -m planner.locate._warm``: compile the location models' numba kernels now.

numba compiles a kernel on its first call (3-10 s per module on this machine)
and caches it on disk (``cache=True``); later processes load it from the
cache (about 0.3 s for the p-median kernels).  The solvers load them before
their clock starts (:func:`planner.locate.pmedian.warm_kernels`,
:func:`planner.locate._pcenter_exact.warm_kernels`), as an import would be; ``make
install`` runs this module so that a fresh install compiles at install time,
not inside a planner's first answer.
"""
from __future__ import annotations

from ._pcenter_exact import warm_kernels as warm_pcenter
from .pmedian import warm_kernels as warm_pmedian

if __name__ == "__main__":
    warm_pmedian()
    warm_pcenter()
