"""Typed errors shared by every package: a stable code, parameters, and zh/en messages.

Each adapter translates a :class:`RuralplanError` exactly once: the web adapter to an
HTTP status (:attr:`RuralplanError.kind` → 400/403/404/409/413/429) and a message in the
visitor's language, the CLI to exit status 2 and a message in the terminal's language.
Nothing ever parses a message: callers branch on the class or on :attr:`code`.

Subclasses set ``code``, ``kind`` and the two message templates; the templates are
``str.format`` strings over the keyword parameters given at raise time::

    class BadSetting(InvalidInput):
        code = "setting.invalid"
        en = "Workspace setting {setting} is invalid: {reason_en}"
        zh = "工作空间设置 {setting} 无效：{reason_zh}"

    raise BadSetting(setting="network.speed_table", reason_en="…", reason_zh="…")

A parameter that itself needs translating is passed as two parameters ending in
``_en`` and ``_zh`` (as above); :meth:`RuralplanError.message` picks by language.
"""
from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "RuralplanError", "InvalidInput", "NotFound", "Forbidden", "Conflict", "Unavailable",
    "TooLarge", "Busy", "KIND_HTTP_STATUS",
]

#: The HTTP status of each kind (the web adapter's single mapping).
KIND_HTTP_STATUS = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409,
                    "unavailable": 409, "too_large": 413, "busy": 429}


class _SafeDict(dict):
    """``format_map`` helper: a missing parameter shows as ``{name}`` instead of raising."""

    def __missing__(self, key):
        return "{" + key + "}"


class RuralplanError(Exception):
    """Base of every error a user can cause or fix.

    Attributes
    ----------
    code : str
        Stable dotted identifier, e.g. ``"network.speed_invalid"``; tests and API
        clients branch on it.
    kind : str
        One of :data:`KIND_HTTP_STATUS`'s keys.
    params : dict
        The keyword arguments given at raise time (JSON-serialisable values).
    """

    code: ClassVar[str] = "error"
    kind: ClassVar[str] = "invalid"
    en: ClassVar[str] = "{detail}"
    zh: ClassVar[str] = "{detail}"

    def __init__(self, **params: Any):
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en", *, translate=None) -> str:
        """The message in ``lang`` (``"zh…"`` gives Chinese, anything else English).

        ``translate``: the adapter's gettext in ``lang``, for errors whose parameters carry
        msgids of the app's catalog (e.g. :class:`layers.errors.ProposalInvalid`'s field
        messages); ignored here."""
        chinese = str(lang or "").lower().startswith("zh")
        template = self.zh if chinese else self.en
        values = _SafeDict()
        for key, value in self.params.items():
            values[key] = value
        # "reason" is filled from reason_zh/reason_en so templates can say {reason}.
        suffix = "_zh" if chinese else "_en"
        for key, value in self.params.items():
            if key.endswith(suffix):
                values.setdefault(key[: -len(suffix)], value)
        return template.format_map(values)

    @property
    def http_status(self) -> int:
        return KIND_HTTP_STATUS.get(self.kind, 400)

    def to_dict(self, lang: str = "en") -> dict:
        """JSON body for an API answer: ``{"error": message, "code": code, "params": …}``."""
        return {"error": self.message(lang), "code": self.code,
                "params": {k: _jsonable(v) for k, v in self.params.items()}}


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class InvalidInput(RuralplanError, ValueError):
    """Input (a parameter, a file, a setting) that cannot be used as given (HTTP 400)."""

    code = "invalid"
    kind = "invalid"


class NotFound(RuralplanError, LookupError):
    """A named thing (layer, record, facility) does not exist (HTTP 404)."""

    code = "not_found"
    kind = "not_found"


class Forbidden(RuralplanError, PermissionError):
    """The caller's role or scope does not allow this (HTTP 403)."""

    code = "forbidden"
    kind = "forbidden"


class Conflict(RuralplanError):
    """The state changed under the caller or forbids the action now (HTTP 409)."""

    code = "conflict"
    kind = "conflict"


class Unavailable(RuralplanError):
    """The workspace lacks what the question needs, e.g. a road network (HTTP 409)."""

    code = "unavailable"
    kind = "unavailable"


class TooLarge(RuralplanError):
    """A file or request beyond a configured limit (HTTP 413)."""

    code = "too_large"
    kind = "too_large"


class Busy(RuralplanError):
    """Too many heavy runs at once for this caller (HTTP 429); try again shortly."""

    code = "busy"
    kind = "busy"
