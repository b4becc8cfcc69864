"""Flask extension instances, bound to an app in :func:`web.app.register_extensions`."""
from __future__ import annotations

from flask_babel import Babel
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
