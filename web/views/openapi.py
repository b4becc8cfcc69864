"""The OpenAPI document of ``/api/v1``, generated from the operations' declarations
(:func:`.apispec.operation` on each view), so it cannot drift from what is enforced."""
from __future__ import annotations

from .apispec import document as _generate

DESCRIPTION = (
    "County rural-revitalization workspace: layers, road-network analyses and the project library. "
    "Reads are open or need a session cookie (setting); state changes need a role and the X-CSRFToken "
    "header from /api/v1/session. Every malformed request is answered 400 with error.field naming the "
    "parameter; heavy analyses are limited per user (429 with Retry-After).")


def document(base: str) -> dict:
    prefix = base.rstrip("/") or "/api/v1"
    return _generate(prefix, title="ruralplan API", description=DESCRIPTION)
