"""Files attached to proposals (申报材料): PDF and images, stored in the workspace.

Each file is a row of ``rp_attachments`` (:data:`layers.app_schema.ATTACHMENTS`) with its
bytes as a BLOB, so the GeoPackage stays the one file a county copies. Files are checked
before anything is written: the type by its first bytes (magic numbers), not by the name
alone, and the name's extension must agree with the content; at most :data:`MAX_BYTES`
per file and :data:`MAX_COUNT` per proposal. Rows are never changed or deleted (the
attachments are part of the proposal's record, like its history).
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from . import app_schema
from .errors import (AttachmentEmpty, AttachmentNotFound, AttachmentRejected, AttachmentTooLarge, AttachmentType,
                     ProposalNotFound, TooManyAttachments)

#: Largest file accepted (bytes): scans of signed forms and site photos fit; whole
#: design drawings belong in the county's document system.
MAX_BYTES = 10 * 1024 * 1024
#: Most files per proposal.
MAX_COUNT = 20

#: (content type, allowed extensions, test on the first bytes), in the order tried.
KINDS: tuple[tuple[str, tuple[str, ...], object], ...] = (
    ("application/pdf", (".pdf",), lambda b: b.startswith(b"%PDF-")),
    ("image/png", (".png",), lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", (".jpg", ".jpeg"), lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image/webp", (".webp",), lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
)
_DESCRIBED = ((b"PK\x03\x04", "a zip archive or Office document", "zip 压缩包或 Office 文档"),
              (b"MZ", "a Windows program", "Windows 程序"), (b"\x7fELF", "a program", "可执行程序"),
              (b"<", "HTML/XML text", "HTML/XML 文本"), (b"GIF8", "a GIF image", "GIF 图片"),
              (b"II*\x00", "a TIFF image", "TIFF 图片"), (b"MM\x00*", "a TIFF image", "TIFF 图片"),
              (b"\xd0\xcf\x11\xe0", "an old Office document", "旧版 Office 文档"))


@dataclass(frozen=True)
class Attachment:
    """One stored file (without its bytes; :func:`read_attachment` gives them)."""

    id: int
    proposal_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: str


def clean_filename(name: str) -> str:
    """The file's own name as people read it: no folders, no control characters, ≤ 120 characters."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    base = base.lstrip(".") or "file"
    stem, ext = os.path.splitext(base)
    return stem[: 120 - len(ext)] + ext


def sniff(data: bytes) -> str | None:
    """The content type the first bytes show (one of :data:`KINDS`), or None."""
    for content_type, _exts, test in KINDS:
        if test(data[:16]):
            return content_type
    return None


def _found(data: bytes) -> dict[str, str]:
    """What the bytes are, as ``found_en``/``found_zh`` params of :class:`AttachmentType`."""
    for magic, en, zh in _DESCRIBED:
        if data.startswith(magic):
            return {"found_en": en, "found_zh": zh}
    return {"found_en": "not a PDF or an image", "found_zh": "既不是 PDF 也不是图片"}


def check_file(name: str, data: bytes) -> str:
    """The content type of one upload; raises a typed :class:`AttachmentRejected` naming it.

    Raises
    ------
    AttachmentEmpty, AttachmentTooLarge, AttachmentType
    """
    file = clean_filename(name)
    if not data:
        raise AttachmentEmpty(file=file)
    if len(data) > MAX_BYTES:
        raise AttachmentTooLarge(file=file, limit_mb=MAX_BYTES // (1024 * 1024))
    content_type = sniff(data)
    ext = os.path.splitext(file)[1].lower()
    if content_type is None:
        raise AttachmentType(file=file, **_found(data))
    allowed = next(exts for ct, exts, _t in KINDS if ct == content_type)
    if ext not in allowed:  # e.g. a PDF named .png, or a photo named .exe: the name would mislead the reader
        raise AttachmentType(file=file, found_en=f"{content_type} (named {ext or 'without an extension'})",
                             found_zh=f"{content_type}（扩展名却是 {ext or '空'}）")
    return content_type


def check_uploads(files: Iterable[tuple[str, bytes]], *, already: int = 0) -> list[str]:
    """Check every upload before anything is stored; their content types, in order."""
    files = list(files)
    types = [check_file(name, data) for name, data in files]
    if files and already + len(files) > MAX_COUNT:
        first_over = files[min(max(0, MAX_COUNT - already), len(files) - 1)][0]
        raise TooManyAttachments(file=clean_filename(first_over), limit=MAX_COUNT, have=already)
    return types


def _create(con) -> None:
    for statement in app_schema.ATTACHMENTS:
        con.execute(statement)


def add_attachments(ws, proposal_id: int, files: Iterable[tuple[str, bytes]], *,
                    uploaded_by: str) -> list[Attachment]:
    """Store files on a proposal in one transaction (all or none); returns what was stored.

    Raises
    ------
    AttachmentRejected
        A file's type, size or the count (names the file); nothing is stored.
    ProposalNotFound
    """
    from .proposals import utc_now

    files = list(files)
    if not files:
        return []
    types = check_uploads(files)
    with ws.transaction() as con:
        _create(con)
        if con.execute("SELECT 1 FROM rp_proposals WHERE id = ?", (int(proposal_id),)).fetchone() is None:
            raise ProposalNotFound(id=proposal_id)
        have = con.execute("SELECT COUNT(*) FROM rp_attachments WHERE proposal_id = ?",
                           (int(proposal_id),)).fetchone()[0]
        check_uploads(files, already=have)  # again under the write lock: two uploads at once
        now = utc_now()
        for (name, data), content_type in zip(files, types):
            con.execute(
                "INSERT INTO rp_attachments(proposal_id, filename, content_type, size_bytes, sha256, data,"
                " uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (int(proposal_id), clean_filename(name), content_type, len(data), hashlib.sha256(data).hexdigest(),
                 sqlite3.Binary(data), uploaded_by, now))
    return list_attachments(ws, proposal_id)[-len(files):]


def _has_table(con) -> bool:
    row = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rp_attachments'").fetchone()
    return row is not None


_COLUMNS = "id, proposal_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at"


def list_attachments(ws, proposal_id: int) -> list[Attachment]:
    """A proposal's files, oldest first."""
    with ws.connect() as con:
        if not _has_table(con):
            return []
        rows = con.execute(f"SELECT {_COLUMNS} FROM rp_attachments WHERE proposal_id = ? ORDER BY id",
                           (int(proposal_id),)).fetchall()
    return [Attachment(*r) for r in rows]


def read_attachment(ws, proposal_id: int, attachment_id: int) -> tuple[Attachment, bytes]:
    """One file and its bytes; :class:`AttachmentNotFound` unless it belongs to that proposal."""
    with ws.connect() as con:
        row = con.execute(f"SELECT {_COLUMNS}, data FROM rp_attachments WHERE id = ? AND proposal_id = ?",
                          (int(attachment_id), int(proposal_id))).fetchone() if _has_table(con) else None
    if row is None:
        raise AttachmentNotFound(id=attachment_id, proposal_id=proposal_id)
    return Attachment(*row[:8]), bytes(row[8])


def limits_text(lang: str = "zh") -> str:
    """The limits as the form states them."""
    mb = MAX_BYTES // (1024 * 1024)
    if str(lang).startswith("zh"):
        return f"PDF 或图片（PNG、JPEG、WebP），每个不超过 {mb} MB，每个项目最多 {MAX_COUNT} 个"
    return f"PDF or images (PNG, JPEG, WebP), at most {mb} MB each and {MAX_COUNT} per proposal"


__all__ = ["Attachment", "KINDS", "MAX_BYTES", "MAX_COUNT", "AttachmentRejected", "add_attachments", "check_file",
           "check_uploads", "clean_filename", "limits_text", "list_attachments", "read_attachment", "sniff"]
