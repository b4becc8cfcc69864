"""Typed errors of the project library (proposals and their review workflow).

They sit on the :mod:`geo.errors` kinds, so every adapter answers them the same way
(403 forbidden, 404 not found, 409 conflict, 400 invalid; CLI exit 2). Their messages are
composed where they are raised (who acted, which status) and kept as ``detail``.
"""
from __future__ import annotations

from typing import Any, Mapping

from geo.errors import Conflict, Forbidden, InvalidInput, NotFound, RuralplanError, TooLarge

__all__ = ["FieldMessage", "AttachmentRejected", "AttachmentTooLarge", "AttachmentType", "AttachmentEmpty",
           "TooManyAttachments", "AttachmentNotFound", "ProposalInvalid", "ProposalNotFound", "WorkflowError",
           "ForbiddenTransition", "InvalidTransition", "ConflictError", "UnknownLayerName", "UnknownExportFormat"]


class FieldMessage(str):
    """A validation message of one field: the English text (what ``str`` gives, so it
    reads as before everywhere) plus its msgid and params, for adapters to show it in the
    reader's language (``text(gettext)``; the msgid is a ``str.format`` template like
    :class:`geo.report.Problem`'s)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params: Any) -> "FieldMessage":
        obj = super().__new__(cls, msgid.format(**params))
        obj.msgid, obj.params = msgid, params
        return obj

    def text(self, translate) -> str:
        return translate(self.msgid).format(**self.params)

    def __reduce__(self):  # pickles (worker pools) with its msgid and params
        return (_field_message, (self.msgid, self.params))


def _field_message(msgid: str, params: dict) -> FieldMessage:
    return FieldMessage(msgid, **params)


class ProposalInvalid(InvalidInput):
    """Validation failed; ``errors`` maps a field name (or ``"geometry"``) to a message,
    ``labels`` a field name to its ``(zh, en)`` label (the raiser's schema: this module
    does not import the proposal schema, which imports it)."""

    code = "proposal.invalid"
    en = "The proposal is not valid: {fields}"
    zh = "项目申报信息有误：{fields}"

    def __init__(self, errors: Mapping[str, str], *, labels: Mapping[str, tuple[str, str]] | None = None):
        self.errors = dict(errors)
        self.labels = dict(labels or {})
        super().__init__(fields="; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    def __str__(self) -> str:
        return self.params["fields"]

    def message(self, lang: str = "en", *, translate=None) -> str:
        """Every field by its label and its message in ``lang``: field messages
        (:class:`FieldMessage`, ``"required"``) through ``translate`` — the adapter's
        gettext in ``lang`` (flask-babel's, or :func:`web.i18n.catalog_gettext` on the
        command line); without it they stay in English."""
        chinese = str(lang or "").lower().startswith("zh")
        tr = translate or (lambda s: s)
        labels = {name: (zh if chinese else en) for name, (zh, en) in self.labels.items()}
        parts = []
        for name, msg in self.errors.items():
            text = msg.text(tr) if isinstance(msg, FieldMessage) else tr(str(msg))
            parts.append(f"{labels.get(name, name)}{'：' if chinese else ': '}{text}")
        return (self.zh if chinese else self.en).format(fields=("；" if chinese else "; ").join(parts))


class ProposalNotFound(NotFound):
    """No proposal with that id."""

    code = "proposal.not_found"
    en = "no proposal with id {id}"
    zh = "没有编号为 {id} 的项目"


class WorkflowError(RuralplanError):
    """Base class of workflow refusals; the message is the ``detail`` composed at raise time."""

    code = "workflow.error"

    def __init__(self, message: str, **params: Any):
        super().__init__(detail=message, **params)


class ForbiddenTransition(WorkflowError, Forbidden):
    """The actor's role or scope may not take this action (HTTP 403)."""

    code = "workflow.forbidden"


class InvalidTransition(WorkflowError, InvalidInput):
    """The action does not exist for the proposal's status, or its reason is missing."""

    code = "workflow.invalid_transition"


class ConflictError(WorkflowError, Conflict):
    """Someone else changed the proposal first (HTTP 409). Nothing is lost.

    Attributes
    ----------
    current : Proposal
        The proposal as it is now.
    last : dict or None
        The step that won (actor, role, action, to_status, at).
    comment : str or None
        The loser's comment, handed back so the UI can show it again.
    """

    code = "workflow.conflict"

    def __init__(self, message: str, *, current=None, last: dict | None = None, comment: str | None = None):
        super().__init__(message)
        self.current = current
        self.last = last
        self.comment = comment

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "message": self.message(lang),
            "status": None if self.current is None else self.current.status,
            "version": None if self.current is None else self.current.version,
            "last": self.last,
            "your_comment": self.comment,
        }


# --------------------------------------------------------------------------- attachments
class AttachmentRejected(InvalidInput):
    """A file that cannot be attached to a proposal; ``file`` names it (HTTP 4xx)."""

    code = "attachment.rejected"


class AttachmentType(AttachmentRejected):
    code = "attachment.type"
    en = "{file}: only PDF, PNG, JPEG or WebP files can be attached; its content is {found}"
    zh = "{file}：只能上传 PDF、PNG、JPEG 或 WebP 文件；该文件内容为 {found}"


class AttachmentEmpty(AttachmentRejected):
    code = "attachment.empty"
    en = "{file} is empty"
    zh = "{file} 是空文件"


class AttachmentTooLarge(AttachmentRejected, TooLarge):
    code = "attachment.too_large"
    kind = "too_large"
    en = "{file}: more than {limit_mb} MB (the limit per file)"
    zh = "{file}：超过每个文件 {limit_mb} MB 的上限"


class TooManyAttachments(AttachmentRejected):
    code = "attachment.too_many"
    en = "{file}: a proposal may have at most {limit} attachments (it has {have})"
    zh = "{file}：每个项目最多 {limit} 个附件（已有 {have} 个）"


class AttachmentNotFound(NotFound):
    code = "attachment.not_found"
    en = "no attachment {id} on proposal {proposal_id}"
    zh = "项目 {proposal_id} 没有编号为 {id} 的附件"


class UnknownLayerName(InvalidInput):
    """A layer name the schemas do not know (``layers.schema.get_schema``)."""

    code = "layer.unknown_name"
    en = "unknown layer {layer}; expected one of {expected}"
    zh = "没有图层 {layer}；可用的图层：{expected}"


class UnknownExportFormat(InvalidInput):
    """An export format (or output suffix) the exporter does not write."""

    code = "export.unknown_format"
    en = "unknown export format {fmt}; expected one of {expected}"
    zh = "不支持的导出格式 {fmt}；可用：{expected}"
