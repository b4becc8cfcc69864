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
