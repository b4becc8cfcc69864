"""The data page: layer overview, downloads in four formats, and uploads into a layer."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from flask import (Blueprint, abort, after_this_request, flash, g, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Optional, Regexp

from geo.osm import is_osm_path
from layers.schema import LAYERS, get_schema

from ..services import exports, visibility
from ..app import NavItem, current_workspace
from ..auth import permission_required
from ..i18n import current_lang, label, problem_text, sorted_problems
from ..services.users import has_permission

bp = Blueprint("data", __name__, url_prefix="/data")
NAV = [NavItem("data.index", _l("Data"), 20)]

EXPORT_FORMATS = {
    "geojson": ("GeoJSON", "application/geo+json"),
    "gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
    "csv": ("CSV", "text/csv"),
    "xlsx": ("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".zip", ".pbf", ".osm", ".osm.gz",
                   ".osm.bz2")
#: A shapefile is several files: uploaded one by one they cannot be read.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx")
CRS_CHOICES = ("auto", "wgs84", "cgcs2000", "gcj02", "bd09")


class UploadForm(FlaskForm):
    layer = SelectField(_l("Layer"))
    file = FileField(_l("File"), validators=[FileRequired()])
    crs = SelectField(_l("Coordinate system of the coordinates"), default="auto")
    epsg = StringField(_l("or EPSG code (e.g. 4546 for a shapefile without .prj)"),
                       validators=[Optional(), Regexp(r"^\s*(?:EPSG:)?\d{4,5}\s*$", flags=re.IGNORECASE,
                                                      message=_l("An EPSG code is 4 or 5 digits, e.g. 4546."))])
    replace = BooleanField(_l("Replace the whole layer (otherwise add and update by ID)"))
    skip_bad_rows = BooleanField(_l("Import the good rows and skip rows with errors"))

    def fill_choices(self) -> None:
        self.layer.choices = [(name, label(schema)) for name, schema in LAYERS.items()]
        self.crs.choices = [
            ("auto", _("As the file declares (tables: WGS84)")), ("wgs84", _("WGS84 (GPS)")), ("cgcs2000", _("CGCS2000")),
            ("gcj02", _("GCJ-02 (Amap, Tencent)")), ("bd09", _("BD-09 (Baidu)")),
        ]


def may_download(layer: str) -> bool:
    schema = get_schema(layer)
    permission = "households" if schema.sensitive else "read"
    return has_permission(g.get("user"), permission)


def layer_rows(ws) -> list[dict]:
    return [
        {"name": i.name, "label": label(LAYERS[i.name]), "count": i.count,
         "geometry": i.geometry_type, "downloadable": may_download(i.name)}
        for i in ws.info()
    ]


@bp.route("/")
@permission_required("read")
def index():
    ws = current_workspace()
    form = UploadForm()
    form.fill_choices()
    return render_template("data.html", layers=layer_rows(ws), form=form, formats=EXPORT_FORMATS, report=None)


@bp.route("/upload", methods=["POST"])
@permission_required("import")
def upload():
    ws = current_workspace()
    form = UploadForm()
    form.fill_choices()
    if not form.validate_on_submit():
        flash(str(form.epsg.errors[0]) if form.epsg.errors else _("Choose a layer and a file."), "error")
        return render_template("data.html", layers=layer_rows(ws), form=form, formats=EXPORT_FORMATS,
                               report=None), 400
    report = run_import(ws, form)
    if report["written"]:
        flash(_("Import finished: %(added)s added, %(updated)s updated.",
                added=report["added"], updated=report["updated"]), "success")
    # 200 either way: the page (with its report) is the answer; the API returns 422.
    return render_template("data.html", layers=layer_rows(ws), form=form, formats=EXPORT_FORMATS, report=report)


class UploadRejected(Exception):
    """An upload that was not imported; ``str(exc)`` is translated and names no server path.

    ``status`` is the HTTP status for the API: 413 for a file over a limit, else 400.
    """

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


def upload_limits(ws):
    """The workspace's upload limits (workspace meta ``upload_limits``: ``max_unzipped_mb``,
    ``max_rows``; the defaults of :class:`geo.limits.ReadLimits` otherwise)."""
    from geo.limits import ReadLimits

    try:
        return ReadLimits.from_settings(ws.meta().get("upload_limits"))
    except (TypeError, ValueError):
        return ReadLimits()  # a malformed setting does not lift the limits


def upload_type_problem(original: str) -> str | None:
    """Why a file of this name cannot be imported (translated), or None."""
    suffix = Path(original).suffix.lower()
    if is_osm_path(original):
        return None
    if suffix in SHAPEFILE_PARTS:
        return _("A shapefile is several files: put its .shp, .dbf, .shx, .prj and .cpg files into one .zip "
                 "file and upload the .zip.")
    if suffix == ".xls":
        return _("Old Excel files (.xls) cannot be read: open the file in Excel or WPS and save it as .xlsx.")
    if suffix not in UPLOAD_SUFFIXES or not re.fullmatch(r"\.[a-z0-9]+", suffix):
        return _("Files of this type cannot be imported; use one of: %(kinds)s.", kinds=", ".join(UPLOAD_SUFFIXES))
    return None


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name (no client directories, no control characters)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name or "upload"


#: Absolute paths (POSIX or Windows) in error texts: only their last part is kept.
_SERVER_PATH = re.compile(r"(?:/vsi[a-z]+/)?(?:[A-Za-z]:)?[\\/](?:[^\s'\"()<>;,\\/]+[\\/])+")


def public_detail(text: str, tmpdir: str | None = None) -> str:
    """An exception text without server paths (the temporary directory, the workspace...)."""
    if tmpdir:
        text = text.replace(str(tmpdir) + os.sep, "").replace(str(tmpdir), "")
    return _SERVER_PATH.sub("", text)


def import_upload(ws, layer: str, upload, **options):
    """Import the uploaded file (werkzeug ``FileStorage``) into ``layer``: the outcome.

    The file is saved under its own name in a private temporary directory, so problems
    name the user's file, never ``upload.csv`` or a server path. Raises
    :class:`UploadRejected` for a file type that cannot be imported, a file over the
    workspace's upload limits (unzipped size, rows: checked before reading) or a file
    that cannot be read.
    """
    from geo.errors import RuralplanError
    from geo.limits import check_file
    from layers.importer import import_file

    from ..i18n import current_lang

    original = upload_name(upload.filename)
    problem = upload_type_problem(original)
    if problem:
        raise UploadRejected(f"{original}: {problem}")
    suffix = Path(original).suffix.lower()
    stem = Path(original).stem.lstrip(".")[:60] or "upload"  # 60 CJK characters: 180 bytes
    tmpdir = tempfile.mkdtemp(prefix="rp-upload-")
    try:
        path = Path(tmpdir) / f"{stem}{suffix}"
        upload.save(path)  # streamed to disk by werkzeug; the request size is capped (MAX_CONTENT_LENGTH)
        try:
            check_file(path, upload_limits(ws), name=original)
        except RuralplanError as exc:
            raise UploadRejected(exc.message(current_lang()), status=exc.http_status) from None
        except zipfile.BadZipFile:
            raise UploadRejected(_("The file could not be imported: %(detail)s",
                                   detail=f"{original}: not a readable zip file")) from None
        try:
            return import_file(ws, layer, path, display_name=original, **options)
        except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
            detail = public_detail(str(exc), tmpdir)
            raise UploadRejected(_("The file could not be imported: %(detail)s", detail=detail)) from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def form_crs(form: UploadForm) -> str:
    """The coordinate system chosen on the form: an EPSG code typed in wins over the list."""
    code = (form.epsg.data or "").strip().upper().removeprefix("EPSG:")
    return f"EPSG:{code}" if code else form.crs.data


def run_import(ws, form: UploadForm) -> dict:
    """Import the upload and describe the outcome for the page."""
    upload = form.file.data
    original = upload_name(upload.filename)
    base = {"file": original, "layer": label(get_schema(form.layer.data)), "added": 0, "updated": 0,
            "skipped_rows": [], "written": False}
    try:
        outcome = import_upload(ws, form.layer.data, upload, crs=form_crs(form), replace=form.replace.data,
                                skip_bad_rows=form.skip_bad_rows.data)
    except UploadRejected as exc:
        return {**base, "errors": [str(exc)], "warnings": []}
    return {
        **base,
        "written": outcome.ok,
        "added": sum(outcome.added.values()),
        "updated": sum(outcome.updated.values()),
        "skipped_rows": list(outcome.skipped_rows),
        # every problem found, also those only counted in the report's summary lines
        "error_count": outcome.count("error"),
        "warning_count": outcome.count("warning"),
        "errors": [problem_text(p) for p in sorted_problems(outcome.problems) if p.is_error],
        "warnings": [problem_text(p) for p in sorted_problems(outcome.problems) if not p.is_error],
    }


@bp.route("/download/<layer>.<fmt>")
@permission_required("read")
def download(layer: str, fmt: str):
    ws = current_workspace()
    if layer not in LAYERS or fmt not in EXPORT_FORMATS:
        abort(404)
    if not may_download(layer):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)
    import pandas as pd

    from geo.vector import write_vector

    # only the rows this user may see (no household pairings for anonymous visitors...)
    frame = visibility.visible_frame(ws, layer, g.get("user"))
    tmpdir = tempfile.mkdtemp(prefix="rp-export-")

    @after_this_request
    def cleanup(response):
        response.call_on_close(lambda: shutil.rmtree(tmpdir, ignore_errors=True))
        return response

    # as layers.exporter.export_layer does, for the visible rows
    data = frame if get_schema(layer).spatial else pd.DataFrame(frame)
    path = write_vector(data, Path(tmpdir) / f"{layer}.{fmt}", fmt=fmt, layer=layer)
    schema = get_schema(layer)
    lang = current_lang()
    codes = request.args.get("codes") in ("1", "true", "yes")
    if not codes:  # headers and values in the reader's language; xlsx keeps the codes in a 2nd sheet
        exports.relabel(path, schema, fmt=fmt, lang=lang)
    stem = layer if codes or lang == "en" else f"{schema.zh}-{layer}"
    return send_file(path, mimetype=EXPORT_FORMATS[fmt][1], as_attachment=True,
                     download_name=f"{stem}.{fmt}")


@bp.route("/template/<layer>.xlsx")
@permission_required("read")
def template(layer: str):
    """The layer's Excel import template (no data: headers, units, drop-downs, an example)."""
    import io

    from layers.templates import template_bytes

    if layer not in LAYERS:
        abort(404)
    return send_file(io.BytesIO(template_bytes(layer)), mimetype=EXPORT_FORMATS["xlsx"][1], as_attachment=True,
                     download_name=f"{layer}_template.xlsx")
