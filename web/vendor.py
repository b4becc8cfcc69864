"""Third-party browser assets served from installed Python packages (no CDN).

``/vendor/leaflet/leaflet.js`` comes from ``xstatic-leaflet``,
``/vendor/markercluster/...`` from ``xstatic-leaflet-markercluster``.
"""
from __future__ import annotations

import importlib

from flask import Blueprint, abort, send_from_directory

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

PACKAGES = {
    "leaflet": "xstatic.pkg.leaflet",
    "markercluster": "xstatic.pkg.leaflet_markercluster",
}


def package_dir(name: str) -> str:
    if name not in PACKAGES:
        abort(404)
    return importlib.import_module(PACKAGES[name]).BASE_DIR


@bp.route("/<package>/<path:filename>")
def asset(package: str, filename: str):
    # send_from_directory refuses paths that leave the directory.
    return send_from_directory(package_dir(package), filename, max_age=7 * 24 * 3600)
