"""The ruralplan web app (Flask). Build it with :func:`create_app`; nothing is built at import."""
from .app import create_app

__all__ = ["create_app"]
