"""The problem record shared by every importer and validator.

A :class:`Problem` carries an English message *template* (the gettext msgid)
plus the values to fill it with, so the web layer can translate the template
first and format afterwards. Mark templates with :func:`N_` where they are
defined so Babel can extract them (``-k N_``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)


def N_(s: str) -> str:
    """Mark ``s`` as a translatable message template without translating it."""
    return s


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a user's input.

    Parameters
    ----------
    severity : str
        ``"error"`` (the record cannot be used) or ``"warning"``.
    code : str
        Stable machine code such as ``"coord_not_numeric"``.
    message : str
        English template with ``{placeholders}``; this is the gettext msgid.
    params : Mapping
        Values for the placeholders (copied; treat as read-only). Left out of
        the hash so problems can go in sets.
    file : str, optional
        File name as the user gave it.
    row : int, optional
        Row as the user sees it: in spreadsheets the header is row 1 and the
        first data row is row 2; for header-less formats (GeoJSON, shapefile)
        the 1-based feature number.
    field : str, optional
        Column name as spelled in the user's file.
    """

    severity: str
    code: str
    message: str
    params: Mapping = field(default_factory=dict, hash=False)
    file: str | None = None
    row: int | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            msg = f"severity must be one of {SEVERITIES}, got {self.severity!r}"
            raise ValueError(msg)
        # Own copy so later changes to the caller's dict cannot leak in; a plain
        # dict (not a mappingproxy) keeps the record picklable for worker pools.
        object.__setattr__(self, "params", dict(self.params))

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        """``"file, row R, field F"`` with absent parts left out."""
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)

    def text(self, translate: Callable[[str], str] = lambda s: s) -> str:
        """Render the problem for people.

        ``translate`` is applied to the template *before* formatting so the
        msgid stays the untouched English template.
        """
        body = translate(self.message).format(**self.params)
        where = self.location()
        return f"{where}: {body}" if where else body

    def to_dict(self) -> dict:
        """Plain-JSON form (template and params kept apart, plus rendered text)."""
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "params": dict(self.params),
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "text": self.text(),
        }


def error(code: str, message: str, **kwargs) -> Problem:
    """Shorthand for ``Problem("error", code, message, **kwargs)``."""
    return Problem(ERROR, code, message, **kwargs)


def warning(code: str, message: str, **kwargs) -> Problem:
    """Shorthand for ``Problem("warning", code, message, **kwargs)``."""
    return Problem(WARNING, code, message, **kwargs)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems with severity ``"error"``."""
    return [p for p in problems if p.severity == ERROR]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    """The problems with severity ``"warning"``."""
    return [p for p in problems if p.severity == WARNING]


class HasProblems:
    """Mixin for an outcome with a ``problems`` sequence (an import, a validation): its
    ``errors`` and ``warnings``."""

    problems: tuple

    @property
    def errors(self) -> list[Problem]:
        return errors(self.problems)

    @property
    def warnings(self) -> list[Problem]:
        return warnings(self.problems)


# --------------------------------------------------------------------------- bounded reports
#: Problems listed one by one in a report; beyond this only counts per kind are kept, so
#: a file of 300,000 bad rows gives a readable report in bounded memory.
MAX_LISTED = 1000

#: Code of the record that stands for problems not listed one by one.
MORE = "more_problems"


def add_limited(out: list, indices, make: Callable[[int], Problem], *, code: str, severity: str = ERROR,
                file=None, field=None, rows=None, limit: int = MAX_LISTED) -> None:
    """Append ``make(i)`` for the first ``limit`` of ``indices``, then one record for the rest.

    Parameters
    ----------
    out : list
        Where the problems go.
    indices : sequence of int
        Positions of the failing records.
    make : callable
        Builds the problem of one position (called at most ``limit`` times).
    code, severity, file, field
        Describe the problems not listed (the kind they share).
    rows : array-like, optional
        Row numbers by position; the rows not listed are kept in the record's
        ``params["rows"]`` (an int64 array) so callers can still mark those rows bad;
        :func:`cap_problems` drops it from the final report.
    """
    indices = list(indices) if not hasattr(indices, "__len__") else indices
    n = len(indices)
    for i in indices[:limit]:
        out.append(make(int(i)))
    if n > limit:
        rest = indices[limit:]
        params = {"kind": code, "more": n - limit, "total": n}
        if rows is not None:
            import numpy as np  # an int64 array: 8 bytes a row instead of a Python int's 36

            params["rows"] = np.asarray(rows)[np.asarray(rest, dtype="int64")].astype("int64")
        out.append(Problem(severity, MORE, N_("{more} more problems of kind {kind} are not listed ({total} in all)"),
                           params=params, file=file, field=field))


def cap_problems(problems: Iterable[Problem], *, limit: int = MAX_LISTED) -> tuple[list[Problem], dict]:
    """A report of at most ``limit`` listed problems plus one summary line per cut kind.

    Errors come first, then warnings, each by row. Records made by :func:`add_limited`
    count towards their kind.

    Returns
    -------
    (problems, counts)
        The listed problems followed by summary problems (code ``"more_problems"``,
        params ``kind``, ``more``, ``total``), and ``{(severity, kind): total}`` over
        every problem found.
    """
    counts: dict = {}
    listed: list[Problem] = []
    for p in problems:
        if p.code == MORE:
            key = (p.severity, p.params["kind"])
            counts[key] = counts.get(key, 0) + int(p.params["more"])
            continue
        key = (p.severity, p.code)
        counts[key] = counts.get(key, 0) + 1
        listed.append(p)
    listed.sort(key=lambda p: (p.severity != ERROR, p.row if p.row is not None else -1))
    shown = listed[:limit]
    if len(shown) == len(listed) and sum(counts.values()) == len(listed):
        return shown, counts
    shown_counts: dict = {}
    for p in shown:
        shown_counts[(p.severity, p.code)] = shown_counts.get((p.severity, p.code), 0) + 1
    summary = []
    for (severity, kind), total in sorted(counts.items(), key=lambda kv: (kv[0][0] != ERROR, -kv[1])):
        more = total - shown_counts.get((severity, kind), 0)
        if more > 0:
            summary.append(Problem(severity, MORE,
                                   N_("{more} more problems of kind {kind} are not listed ({total} in all)"),
                                   params={"kind": kind, "more": more, "total": total}))
    return shown + summary, counts
