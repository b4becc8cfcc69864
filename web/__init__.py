"""ruralplan's application layer (:mod:`web.services`, Flask-free) and its adapters: the
Flask app (:mod:`web.app`, :mod:`web.views`) and the ``ruralplan`` CLI (:mod:`web.cli`).

Importing this package imports no Flask; ``create_app`` is looked up in :mod:`web.app` on
first use, so ``from web import create_app`` keeps working.
"""


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_app"]
