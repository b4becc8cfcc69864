"""OR-Library p-median instances (Beasley 1985, "A note on solving large p-median problems", EJOR 21).

Pure functions over text: the caller reads the file.  Format: first line
``n m p`` (nodes, edges, medians), then ``m`` lines ``i j cost`` (1-based,
undirected).  Where an edge appears twice the LAST cost wins (Beasley's
convention).  The p-median cost matrix is the all-pairs shortest paths over
that graph; every node is both a demand point (weight 1) and a candidate.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

__all__ = ["OrlibPmedInstance", "make_orlib_like_text", "parse_orlib_pmed", "parse_pmedopt"]


@dataclass(frozen=True)
class OrlibPmedInstance:
    """One parsed instance: ``cost`` is the (n, n) shortest-path matrix."""

    n: int
    p: int
    edges: tuple[tuple[int, int, float], ...]  # 0-based (i < j), after "last wins"
    cost: np.ndarray


def _lines(text_or_lines: str | Iterable[str]) -> list[str]:
    if isinstance(text_or_lines, str):
        lines = text_or_lines.splitlines()
    else:
        lines = list(text_or_lines)
    return [ln for ln in (s.strip() for s in lines) if ln]


def parse_orlib_pmed(text_or_lines: str | Iterable[str]) -> OrlibPmedInstance:
    """Parse a ``pmedX.txt`` file's text (or its lines) and build the shortest-path matrix.

    Raises
    ------
    ValueError
        Malformed header or edge lines, or node numbers outside ``1..n``.
    """
    lines = _lines(text_or_lines)
    if not lines:
        msg = "empty OR-Library p-median text"
        raise ValueError(msg)
    head = lines[0].split()
    if len(head) != 3:
        msg = f"header must be 'n m p', got {lines[0]!r}"
        raise ValueError(msg)
    n, m, p = (int(v) for v in head)
    weights: dict[tuple[int, int], float] = {}
    for ln in lines[1:]:
        parts = ln.split()
        if len(parts) != 3:
            msg = f"edge line must be 'i j cost', got {ln!r}"
            raise ValueError(msg)
        i, j, c = int(parts[0]) - 1, int(parts[1]) - 1, float(parts[2])
        if not (0 <= i < n and 0 <= j < n):
            msg = f"edge {ln!r} refers to a node outside 1..{n}"
            raise ValueError(msg)
        if i == j:
            continue
        weights[(min(i, j), max(i, j))] = c  # later lines overwrite: last wins
    if len(lines) - 1 != m:
        msg = f"header announces {m} edges but {len(lines) - 1} edge lines follow"
        raise ValueError(msg)
    if weights:
        ij = np.array(list(weights.keys()), dtype=np.int64)
        v = np.array(list(weights.values()), dtype=np.float64)
    else:
        ij = np.zeros((0, 2), dtype=np.int64)
        v = np.zeros(0)
    # csgraph drops explicit zeros of a sparse matrix as "no edge"; a 0-cost
    # edge must stay an edge, so nudge it to the smallest positive float.
    v_graph = np.where(v == 0, np.finfo(float).tiny, v)
    g = sp.coo_matrix((v_graph, (ij[:, 0], ij[:, 1])), shape=(n, n)).tocsr()
    cost = shortest_path(g, method="D", directed=False)
    cost[cost < 1e-300] = 0.0
    edges = tuple((int(a), int(b), float(c)) for (a, b), c in zip(ij, v))
    return OrlibPmedInstance(n=n, p=p, edges=edges, cost=cost)


def parse_pmedopt(text_or_lines: str | Iterable[str]) -> dict[str, float]:
    """Parse ``pmedopt.txt`` into ``{"pmed1": 5819.0, ...}`` (header lines are skipped)."""
    out: dict[str, float] = {}
    for ln in _lines(text_or_lines):
        parts = ln.split()
        if len(parts) >= 2:
            try:
                out[parts[0]] = float(parts[-1])
            except ValueError:
                continue  # header line
    return out


def make_orlib_like_text(n: int, p: int, *, seed: int, n_edges: int | None = None) -> str:
    """A random p-median instance built as Beasley (1985) built pmed1-40, as ``pmedX.txt`` text.

    Beasley's files start with the Hamiltonian cycle ``1-2, 2-3, ..., n-1``
    (connectivity) followed by uniformly random node pairs (repeats allowed:
    the last cost wins when parsed), ``n_edges = n^2 / 50`` in all (pmed11:
    n=300, 1800 edges; pmed40: n=900, 16200), every cost a uniform integer
    in 1..100.  Seeded, so a benchmark or test names its instances by
    ``(n, p, seed)``; parse with :func:`parse_orlib_pmed`.
    """
    if n < 3 or not 1 <= p <= n:
        msg = f"need n >= 3 and 1 <= p <= n, got n={n}, p={p}"
        raise ValueError(msg)
    m = n * n // 50 if n_edges is None else int(n_edges)
    m = max(m, n)
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 101, m)
    a = np.empty(m, dtype=np.int64)
    b = np.empty(m, dtype=np.int64)
    a[:n] = np.arange(1, n + 1)
    b[:n] = np.r_[np.arange(2, n + 1), 1]
    extra = m - n
    i = rng.integers(1, n + 1, extra)
    j = (i - 1 + rng.integers(1, n, extra)) % n + 1  # j != i
    a[n:], b[n:] = i, j
    lines = [f"{n} {m} {p}"] + [f"{x} {y} {c}" for x, y, c in zip(a, b, cost)]
    return "\n".join(lines) + "\n"
