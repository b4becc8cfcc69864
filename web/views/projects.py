"""The project library (项目库): list + map, proposal form, detail with evaluation and
review actions, portfolio, the 公示 notice (page and Excel), and the JSON API under
``/api/v1/proposals``.

Authorisation lives in :mod:`layers.workflow` (role and own village/town/sector), so the
pages, the API and the CLI enforce the same rules; a refused step is a 403, someone
else's earlier step a 409 that shows the winner and hands the reviewer's comment back.
"""
from __future__ import annotations

import io
import json
from typing import Annotated, Literal, Optional

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from pydantic import BaseModel, Field, field_validator
from wtforms import HiddenField

from geo.errors import RuralplanError
from layers import attachments as A
from layers import proposals as P
from layers import workflow as W

from .. import mapping, printmaps
from ..services import labels, project_eval, project_inbox, project_notice, project_place
from ..app import NavItem, current_workspace
from ..auth import login_required, permission_required
from ..formatting import beijing_today, format_count, format_quantity
from ..i18n import current_lang, label
from .apispec import BadField, BodyModel, Flag, Int64, QueryModel, heavy_run, ok, operation, validate_query
from .proposal_models import ProposalCreate, ProposalPatch, proposal_data

bp = Blueprint("projects", __name__)
NAV = [NavItem("projects.index", _l("Project library"), 40)]

ACTION_LABELS = {
    "submit": _l("Submit (village application)"),
    "approve": _l("Approve"),
    "return": _l("Return for revision"),
    "reject": _l("Reject"),
    "publish": _l("Publish the public notice"),
    "start": _l("Start implementation"),
    "complete": _l("Mark completed"),
}
#: "Submit" names who applies: a village, a town (跨村) or a sector (county-level).
SUBMIT_LABELS = {
    "village": _l("Submit (village application)"),
    "town": _l("Submit (town application)"),
    "county": _l("Submit (sector application)"),
}
#: What "approve" means at each stage.
APPROVE_LABELS = {
    "submitted": _l("Approve (town review)"),
    "town_approved": _l("Approve (sector assessment)"),
    "sector_approved": _l("Approve (county approval)"),
}
#: The analysis codes' labels (msgids in :mod:`web.services.labels`, shared with the CLI), lazily translated.
FLAG_LABELS = {code: _l(msgid) for code, msgid in labels.FLAG_LABELS.items()}
COMPONENT_LABELS = {code: _l(msgid) for code, msgid in labels.COMPONENT_LABELS.items()}
#: An alternative site is shown only when it serves more than this (in the coverage
#: measure) beyond the proposed site; otherwise the page says there is no better site.
ALTERNATIVE_MIN_EXTRA_GAIN = project_eval.ALTERNATIVE_MIN_EXTRA_GAIN
MEASURE_LABELS = {code: _l(msgid) for code, msgid in labels.MEASURE_LABELS.items()}


class ActionForm(FlaskForm):
    """Only for the CSRF token; the fields are read from the request."""

    version = HiddenField()


def _user():
    return g.get("user")


def _ws():
    return current_workspace()


def _proposal_or_404(ws, proposal_id: int) -> P.Proposal:
    try:
        return P.get_proposal(ws, proposal_id)
    except P.ProposalNotFound:
        abort(404)


def choice_label(choices, value) -> str:
    c = P.choice_of(choices, value)
    return label(c) if c else (value or "")


def constraint_label(kind: str | None) -> str:
    """A constraint zone kind (``basic_farmland``) by its schema label (永久基本农田)."""
    from layers.schema import CONSTRAINT_KINDS

    return choice_label(CONSTRAINT_KINDS, kind)


def better_alternative(evaluation: dict | None) -> dict | None:
    """The best alternative site if it serves more than the proposed site, else None."""
    alt = (evaluation or {}).get("alternative") or {}
    if alt.get("best") and (alt.get("extra_gain") or 0) > ALTERNATIVE_MIN_EXTRA_GAIN:
        return alt["best"]
    return None


def _map_features(evaluation: dict | None) -> list[dict]:
    """The evaluation's map features after the proposal's own, without alternatives that gain nothing."""
    out = []
    for f in (evaluation or {}).get("features", [])[1:]:
        props = f.get("properties") or {}
        if props.get("role") in ("best_alternative", "alternative") and \
                (props.get("extra_gain") or 0) <= ALTERNATIVE_MIN_EXTRA_GAIN:
            continue
        out.append(f)
    return out


def _village_names(ws, codes) -> dict[str, str]:
    """Village code → name for ``codes`` (codes not in the villages layer are left out)."""
    if not codes:
        return {}
    villages = ws.read_layer("villages")
    names = dict(zip(villages["code"].astype(str), villages["name"].astype(object)))
    return {c: names[c] for c in codes if names.get(c)}


@bp.app_context_processor
def project_helpers():
    return {
        "status_label": lambda v: choice_label(P.STATUSES, v),
        "category_label": lambda v: choice_label(P.CATEGORIES, v),
        "fund_label": lambda v: choice_label(P.FUND_SOURCES, v),
        "link_label": lambda v: choice_label(P.FARMER_LINKS, v),
        "level_label": lambda v: choice_label(P.LEVELS, v or "village"),
        "field_label": lambda name: label(P.get_field(name)),
        # called by the header only for a logged-in user (lazy: no query on other renders)
        "inbox_count": lambda: project_inbox.inbox_count(_ws(), _user()),
        "scope_display": lambda: project_inbox.scope_display(_ws(), _user()),
    }


# --------------------------------------------------------------------------- maps
def project_map(features: list[dict], *, mode: str, bounds=None) -> dict:
    """A folium map (site layout, local assets) that ``rpprojects.js`` fills with ``features``,
    over the county's boundaries and main roads for orientation."""
    from ..services import mapdata

    ws = _ws()
    bounds = bounds or mapdata.workspace_bounds(ws)
    m = mapping.site_map(bounds, config=current_app.config,
                         js=[("rpprojects", url_for("static", filename="js/rpprojects.js"))],
                         css=[("rpprojects_css", url_for("static", filename="css/projects.css"))])
    mapping.add_context(m, ws, control=False)
    parts = mapping.map_parts(m)
    # one palette for the screen and the printed map (web.printmaps): no status shares the alternatives' colour
    config = {"map": m.get_name(), "mode": mode, "bounds": bounds, "i18n": _js_messages(),
              "status_colors": printmaps.STATUS_COLORS, "role_styles": printmaps.ROLE_STYLES,
              "proposal_radius": printmaps.PROPOSAL_RADIUS}
    roles = {f["properties"].get("role") for f in features if f.get("properties")}
    statuses = {f["properties"].get("status") for f in features if (f.get("properties") or {}).get("role") == "proposal"}
    return {"parts": parts, "data": json.dumps({"type": "FeatureCollection", "features": features},
                                               ensure_ascii=False),
            "config": json.dumps(config, ensure_ascii=False), "mode": mode,
            # the legend lists what this map draws
            "legend_status": [i for i in printmaps.status_legend() if i["value"] in statuses or mode == "list"],
            "legend_roles": [i for i in printmaps.role_legend() if i["role"] in roles]}


def _js_messages() -> dict:
    return {
        "site": _("Proposed site"), "catchment_village": _("Village in the catchment"),
        "overlapping": _("Existing facility or approved project serving the same area"),
        "best_alternative": _("Best alternative site"), "alternative": _("Alternative site"),
        "conflict": _("Constraint conflict"), "minutes": _("min"), "open": _("Open"),
        "clear": _("Clear"), "point": _("Point"), "line": _("Line"), "polygon": _("Polygon"),
        "click_hint": _("Click the map to place the project (lines and polygons: click each vertex)."),
        "gain": _("Coverage gain"), "distance": _("km away"),
        "near_village": _("Nearest village"), "near_road": _("Nearest named road"), "km": _("km"),
    }


def _json_script(text: str) -> Markup:
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _proposal_feature(p: P.Proposal) -> dict:
    import shapely

    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(p.geometry)),
            "properties": {"role": "proposal", "id": p.id, "name": p.name, "status": p.status,
                           "status_label": choice_label(P.STATUSES, p.status),
                           "category_label": choice_label(P.CATEGORIES, p.category), "budget_wan": p.budget_wan,
                           "url": url_for("projects.detail", proposal_id=p.id)}}


# --------------------------------------------------------------------------- list
StatusValue = Literal[tuple(P.STATUS_VALUES)]  # type: ignore[valid-type]
CategoryValue = Literal[tuple(P.CATEGORY_VALUES)]  # type: ignore[valid-type]
Year = Annotated[int, Field(ge=1949, le=2200)]
Budget = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


class ProposalListQuery(QueryModel):
    """The project library's filters (page and API)."""

    status: list[StatusValue] = Field([], max_length=len(P.STATUS_VALUES) * 2,
                                      description="Only these statuses (repeatable)")
    town: Optional[str] = Field(None, max_length=100)
    category: Optional[CategoryValue] = None
    year: Optional[Year] = None
    min_budget: Optional[Budget] = Field(None, description="万元")
    max_budget: Optional[Budget] = Field(None, description="万元")
    q: Optional[str] = Field(None, max_length=200,
                             description="Text in name, content or village name (% and _ match themselves)")

    @field_validator("town", "q", "category", "year", "min_budget", "max_budget", mode="before")
    @classmethod
    def _blank_is_absent(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("status", mode="before")
    @classmethod
    def _blank_status_is_all(cls, values):
        # the page's status select sends status= for "All"
        return [v for v in values if not (isinstance(v, str) and not v.strip())] if isinstance(values, list) \
            else values

    def to_filter(self) -> P.ProposalFilter:
        return P.ProposalFilter(status=tuple(self.status) or None, town=self.town or None, category=self.category,
                                min_budget_wan=self.min_budget, max_budget_wan=self.max_budget, year=self.year,
                                text=self.q or None)


class PortfolioQuery(QueryModel):
    category: CategoryValue = "cold_chain"
    budget: Optional[Budget] = Field(None, description="万元 (the API needs it)")
    year: Optional[Year] = None

    _blank = field_validator("category", "budget", "year", mode="before")(
        lambda value: None if isinstance(value, str) and not value.strip() else value)

    @field_validator("category", mode="after")
    @classmethod
    def _default_category(cls, value):
        return value or "cold_chain"


class NoticeQuery(QueryModel):
    year: Optional[Year] = None

    _blank = field_validator("year", mode="before")(
        lambda value: None if isinstance(value, str) and not value.strip() else value)


def filters_from_request() -> P.ProposalFilter:
    """The page's filters, checked like the API's (400 naming the field)."""
    return validate_query(ProposalListQuery).to_filter()


def _towns(ws) -> list[str]:
    towns = ws.read_layer("towns")
    names = set(towns["name"].dropna().astype(str)) if len(towns) else set()
    villages = ws.read_layer("villages")
    names |= set(villages["town"].dropna().astype(str)) if len(villages) else set()
    return sorted(names)


@bp.route("/projects/")
@permission_required("read")
def index():
    ws = _ws()
    f = filters_from_request()
    items = P.list_proposals(ws, f)
    page_map = project_map([_proposal_feature(p) for p in items], mode="list")
    return render_template("projects/index.html", proposals=items, filters=f, towns=_towns(ws),
                           statuses=P.STATUSES, categories=P.CATEGORIES, page_map=page_map,
                           json_script=_json_script, can_create=W.may_create(_user()),
                           total_wan=sum(p.budget_wan for p in items))


@bp.route("/projects/inbox")
@login_required
def inbox():
    """待我审核: the proposals waiting for the logged-in user's decision, in their scope."""
    ws = _ws()
    user = _user()
    items = project_inbox.inbox(ws, user)
    has_inbox = project_inbox.inbox_count(ws, user) is not None
    flags = {pid: site_warning_text(f) for pid, f in project_place.outside_town_flags(ws, items).items()}
    return render_template("projects/inbox.html", proposals=items, has_inbox=has_inbox, site_flags=flags,
                           actions={p.id: [a for a in W.allowed_actions(user, p) if a in W.INBOX_ACTIONS]
                                    for p in items},
                           action_labels=ACTION_LABELS)


# --------------------------------------------------------------------------- form
def _village_choices(ws, user) -> list[dict]:
    """Villages for the form's select, with their centre (the site when none is drawn)."""
    villages = ws.read_layer("villages").sort_values(["town", "code"])
    rows = []
    for r in villages.itertuples():
        pt = None if r.geometry is None or r.geometry.is_empty else r.geometry.representative_point()
        rows.append({"code": str(r.code), "name": str(r.name), "town": str(r.town),
                     "lon": None if pt is None else round(pt.x, 6), "lat": None if pt is None else round(pt.y, 6)})
    if user is not None and user.role == "village_applicant":
        rows = [r for r in rows if r["code"] == user.scope]
    elif user is not None and user.role == "town_reviewer":
        rows = [r for r in rows if r["town"] == user.scope]
    return rows


def _levels_for(user) -> list:
    """The proposal levels ``user`` may propose at (planners and admins: all)."""
    own = W.LEVEL_OF_ROLE.get(getattr(user, "role", None))
    return [c for c in P.LEVELS if own is None or c.value == own]


def form_data_from_request() -> dict:
    """Form fields → the dict :func:`layers.proposals.clean_proposal_data` reads.

    A proposing reviewer's level and town come from their account, never from the form.
    """
    form = request.form
    data = {name: form.get(name, "") for name in P.FIELD_NAMES if name not in P.LIST_FIELDS}
    for name in ("commodities", "farmer_links", "beneficiary_villages"):
        data[name] = form.getlist(name)
    if "attachments" in form:  # file names typed on older forms; files themselves come as uploads
        data["attachments"] = form.get("attachments", "")
    data["geometry"] = form.get("geometry", "")
    user = _user()
    own = W.LEVEL_OF_ROLE.get(getattr(user, "role", None))
    if own is not None:
        data["level"] = own
    if (data.get("level") or "village") == "town" and user is not None and user.role == "town_reviewer":
        data["town"] = user.scope or ""
    return data  # a village's town and name follow the village (layers.proposals does it)


def _may_create_data(data: dict) -> bool:
    level = data.get("level") or "village"
    code = data.get("village_code")
    # a village's own proposal must name it; town and county projects may name none
    code = (code or "") if level == "village" else (code or None)
    return W.may_create(_user(), village_code=code, level=level, town=data.get("town") or None,
                        category=data.get("category") or None)


def _render_form(ws, *, proposal=None, values=None, errors=None, status=200):
    user = _user()
    values = values or (proposal.to_dict(geometry="wkt") if proposal else {"fund_source": "linkage",
                                                                          "year": beijing_today().year})
    if proposal is not None and "geometry" not in values:
        values["geometry"] = proposal.geometry_wkt
    features = []
    page_map = project_map(features, mode="edit")
    site_warning = None
    if proposal is not None and not errors:
        site_warning = site_warning_text(project_place.outside_town(ws, proposal))
    return render_template(
        "projects/form.html", proposal=proposal, values=values, errors=errors or {}, villages=_village_choices(ws, user),
        all_villages=_village_choices(ws, None), levels=_levels_for(user), towns=_towns(ws),
        own_level=W.LEVEL_OF_ROLE.get(getattr(user, "role", None)), site_warning=site_warning,
        attachment_limits=A.limits_text(current_lang()),
        categories=P.CATEGORIES, commodities=P.get_field("commodities").choices, fund_sources=P.FUND_SOURCES, construction_types=P.CONSTRUCTION_TYPES,
        farmer_links=P.FARMER_LINKS, page_map=page_map, json_script=_json_script, form=ActionForm(),
        error_text=_error_text,
    ), status


def _form_version(default: int | None = None) -> int:
    """The form's ``version`` (the one the reviewer saw); 400 naming it when not a 64-bit integer."""
    raw = (request.form.get("version") or "").strip()
    if not raw and default is not None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise BadField(field="version", location="form", reason_en="expected the proposal's version number",
                       reason_zh="应为项目的版本号")
    return value


def plausibility_messages(p) -> list[str]:
    """What looks wrong about a valid proposal, in the reader's language (shown, never blocking)."""
    texts = {
        "budget_high": _("The budget is %(b)s: more than %(limit)s is unusual for a village project. "
                         "Check the unit — the form asks for 万元 (10,000 yuan), not yuan.",
                         b=format_quantity(p.budget_wan, "wan", lang=current_lang()),
                         limit=format_quantity(P.VILLAGE_BUDGET_WARN_WAN, "wan", lang=current_lang())),
        "households_high": _("%(n)s beneficiary households is more than a county usually has: check the number.",
                             n=format_count(p.beneficiary_households)),
        "jobs_high": _("%(n)s jobs from one project is unusual: check the number.", n=format_count(p.expected_jobs)),
    }
    codes = P.plausibility_warnings(p.budget_wan, beneficiary_households=p.beneficiary_households,
                                    expected_jobs=p.expected_jobs)
    return [texts[c] for c in codes]


def _error_text(message: str) -> str:
    if message == "required":
        return _("required")
    # a FieldMessage: its msgid in the reader's language (gettext without arguments only translates)
    return message.text(_) if isinstance(message, P.FieldMessage) else message


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new():
    ws = _ws()
    if not W.may_create(_user()):
        abort(403)
    if request.method == "GET":
        return _render_form(ws)
    if not ActionForm().validate_on_submit():
        abort(400)
    data = form_data_from_request()
    if not _may_create_data(data):
        abort(403)
    uploads = _uploaded_files()
    try:
        A.check_uploads(uploads)  # bad files: nothing is saved, the form comes back naming them
        p = P.create_proposal(ws, data, created_by=_user().username)
    except P.ProposalInvalid as exc:
        return _render_form(ws, values=data, errors=exc.errors, status=422)
    except A.AttachmentRejected as exc:
        return _render_form(ws, values=data, errors={"attachments": exc.message(current_lang())},
                            status=exc.http_status)
    A.add_attachments(ws, p.id, uploads, uploaded_by=_user().username)
    flash(_("Proposal saved as a draft. Submit it when it is complete."), "success")
    _flash_saved_warnings(ws, p)
    return redirect(url_for("projects.detail", proposal_id=p.id), code=303)


def _uploaded_files() -> list[tuple[str, bytes]]:
    """The request's attachment files as (name, bytes); empty file inputs are left out."""
    out = []
    for storage in request.files.getlist("files"):
        if storage is None or not storage.filename:
            continue
        out.append((storage.filename, storage.read(A.MAX_BYTES + 1)))
    return out


def _flash_saved_warnings(ws, p) -> None:
    for message in plausibility_messages(p):
        flash(message, "warning")
    warning = site_warning_text(project_place.outside_town(ws, p))
    if warning:
        flash(warning, "warning")


def site_warning_text(outside) -> str | None:
    """The outside-town flag in the reader's language (None when the site is in its town)."""
    if outside is None:
        return None
    return _("The site lies outside %(town)s (the applicant's town), in %(found)s. Check the location; "
             "this does not block the proposal.", town=outside.town,
             found="、".join(outside.found_towns) or _("no town of the county"))


@bp.route("/projects/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    ws = _ws()
    p = _proposal_or_404(ws, proposal_id)
    if not W.may_edit(_user(), p):
        abort(403)
    if request.method == "GET":
        return _render_form(ws, proposal=p)
    if not ActionForm().validate_on_submit():
        abort(400)
    data = form_data_from_request()
    if _user().role in W.LEVEL_OF_ROLE and not _may_create_data(data):
        abort(403)
    uploads = _uploaded_files()
    try:
        A.check_uploads(uploads, already=len(A.list_attachments(ws, p.id)))
        p = P.update_proposal(ws, p.id, data, expected_version=_form_version(default=0))
    except P.ProposalInvalid as exc:
        return _render_form(ws, proposal=p, values=data, errors=exc.errors, status=422)
    except A.AttachmentRejected as exc:
        return _render_form(ws, proposal=p, values=data, errors={"attachments": exc.message(current_lang())},
                            status=exc.http_status)
    except W.ConflictError as exc:
        flash(str(exc), "error")
        return _render_form(ws, proposal=exc.current or p, values=data, status=409)
    A.add_attachments(ws, p.id, uploads, uploaded_by=_user().username)
    flash(_("Changes saved."), "success")
    _flash_saved_warnings(ws, p)
    return redirect(url_for("projects.detail", proposal_id=p.id), code=303)


# --------------------------------------------------------------------------- detail and actions
def _evaluation(ws, p: P.Proposal) -> tuple[dict | None, str | None]:
    try:
        return project_eval.evaluate(ws, p), None
    except RuralplanError as exc:  # e.g. a workspace without roads: show why, keep the page usable
        return None, exc.message(current_lang())


def _render_detail(ws, p: P.Proposal, *, status=200, conflict=None, error=None, comment=""):
    evaluation, eval_error = _evaluation(ws, p)
    user = _user()
    actions = [(a, str(APPROVE_LABELS.get(p.status, ACTION_LABELS[a]) if a == "approve"
                       else SUBMIT_LABELS.get(p.level, ACTION_LABELS[a]) if a == "submit" else ACTION_LABELS[a]))
               for a in W.allowed_actions(user, p)]
    features = [_proposal_feature(p)] + _map_features(evaluation)
    # a working copy's files: its unit and reviewers only (layers.workflow.may_read_attachments)
    files_readable = W.may_read_attachments(user, p)
    attachments = _readable_attachments(ws, user, p)
    return render_template(
        "projects/detail.html", p=p, evaluation=evaluation, eval_error=eval_error,
        timeline=_timeline(P.history(ws, p.id), attachments), attachments=attachments,
        may_attach=may_attach(user, p), attachment_limits=A.limits_text(current_lang()),
        files_readable=files_readable, site_warning=site_warning_text(project_place.outside_town(ws, p)), level_label=choice_label(P.LEVELS, p.level),
        actions=actions, may_edit=W.may_edit(user, p), sector=W.sector_for_category(p.category),
        conflict=conflict, error=error, comment=comment, form=ActionForm(), flag_labels=FLAG_LABELS,
        component_labels=COMPONENT_LABELS, measure_labels=MEASURE_LABELS,
        page_map=project_map(features, mode="detail"), json_script=_json_script,
        reason_required=W.REASON_REQUIRED, action_labels=ACTION_LABELS, constraint_label=constraint_label,
        better_alternative=better_alternative(evaluation), village_names=_village_names(ws, p.beneficiary_villages),
        plausibility=plausibility_messages(p),
    ), status


@bp.route("/projects/site-check")
@login_required
def site_check():
    """The form's live outside-town check: ``{"warning": text or null}`` for the site being drawn."""
    from types import SimpleNamespace

    ws = _ws()
    args = request.args
    level = args.get("level") or W.LEVEL_OF_ROLE.get(_user().role) or "village"
    town = (args.get("town") or "").strip()
    if _user().role == "town_reviewer" and level == "town":
        town = _user().scope or ""
    code = (args.get("village_code") or "").strip()
    if code:
        villages = ws.read_layer("villages")
        hit = villages[villages["code"].astype(str) == code]
        if len(hit):
            town = str(hit["town"].iloc[0])
    try:
        geometry = P.parse_geometry(args.get("geometry") or "")
    except ValueError:
        return {"warning": None}
    probe = SimpleNamespace(level=level, town=town, geometry=geometry)
    return {"warning": site_warning_text(project_place.outside_town(ws, probe))}


def _timeline(steps, attachments) -> list[tuple[str, str, object]]:
    """The history as people read it: workflow steps and uploaded files, by time."""
    rows = [("step", t.at, t) for t in steps] + [("file", a.uploaded_at, a) for a in attachments]
    return sorted(rows, key=lambda r: r[1] or "")


def may_attach(user, p: P.Proposal) -> bool:
    """The proposer while they may edit, and a reviewer whose decision the proposal waits for
    (their 论证 documents), may add files; everyone who may read the proposal may download them."""
    return W.may_edit(user, p) or bool(W.allowed_actions(user, p))


@bp.route("/projects/<int:proposal_id>/attachments", methods=["POST"])
@login_required
def upload_attachments(proposal_id: int):
    ws = _ws()
    if not ActionForm().validate_on_submit():
        abort(400)
    p = _proposal_or_404(ws, proposal_id)
    if not may_attach(_user(), p):
        abort(403)
    uploads = _uploaded_files()
    if not uploads:
        raise BadField(field="files", location="form", reason_en="choose at least one file",
                       reason_zh="请选择至少一个文件")
    # a bad file: the app's one handler answers with its status (400/413) naming the file
    stored = A.add_attachments(ws, p.id, uploads, uploaded_by=_user().username)
    flash(_("%(n)s file(s) attached.", n=len(stored)), "success")
    return redirect(url_for("projects.detail", proposal_id=p.id, _anchor="history"), code=303)


@bp.route("/projects/<int:proposal_id>/attachments/<int:attachment_id>")
@permission_required("read")
def download_attachment(proposal_id: int, attachment_id: int):
    ws = _ws()
    p = _proposal_or_404(ws, proposal_id)
    if not W.may_read_attachments(_user(), p):  # a draft's files: its unit and reviewers only
        abort(403)
    att, data = A.read_attachment(ws, proposal_id, attachment_id)
    # always a download (never rendered inline from our origin), with its own type
    return send_file(io.BytesIO(data), mimetype=att.content_type, as_attachment=True, download_name=att.filename,
                     etag=att.sha256, max_age=0)


@bp.route("/projects/<int:proposal_id>")
@permission_required("read")
def detail(proposal_id: int):
    ws = _ws()
    return _render_detail(ws, _proposal_or_404(ws, proposal_id))


def apply_transition(ws, p: P.Proposal, action: str, version: int, comment: str | None) -> P.Proposal:
    """Run one workflow step with the evaluation the reviewer saw attached."""
    evaluation = None
    if action in ("approve", "return", "reject", "publish"):
        shown, problem = _evaluation(ws, p)
        evaluation = project_eval.snapshot(shown) if shown else {"error": problem}
    return W.transition(ws, p.id, action, actor=_user(), expected_version=version, comment=comment,
                        evaluation=evaluation)


@bp.route("/projects/<int:proposal_id>/transition", methods=["POST"])
@login_required
def transition(proposal_id: int):
    ws = _ws()
    if not ActionForm().validate_on_submit():
        abort(400)
    p = _proposal_or_404(ws, proposal_id)
    action = request.form.get("action", "")
    comment = request.form.get("comment", "")
    version = _form_version()
    try:
        after = apply_transition(ws, p, action, version, comment)
    except W.ConflictError as exc:
        return _render_detail(ws, exc.current or p, status=409, conflict=exc, comment=exc.comment or "")
    except W.ForbiddenTransition:
        abort(403)
    except W.InvalidTransition as exc:
        return _render_detail(ws, p, status=400, error=str(exc), comment=comment)
    flash(_("%(action)s: the proposal is now “%(status)s”.", action=ACTION_LABELS[action],
            status=choice_label(P.STATUSES, after.status)), "success")
    return redirect(url_for("projects.detail", proposal_id=p.id), code=303)


# --------------------------------------------------------------------------- portfolio and notice
@bp.route("/projects/portfolio")
@permission_required("read")
def portfolio():
    ws = _ws()
    query = validate_query(PortfolioQuery)
    category, budget, year = query.category or "cold_chain", query.budget, query.year
    result, problem = None, None
    if budget is not None:
        try:
            with heavy_run():
                result = project_eval.portfolio_for(ws, category=category, budget_wan=budget, year=year)
        except RuralplanError as exc:  # shown on the page beside the form
            problem = exc.message(current_lang())
    return render_template("projects/portfolio.html", result=result, problem=problem, category=category,
                           budget=budget, year="" if year is None else year, categories=P.CATEGORIES,
                           measure_labels=MEASURE_LABELS)


def _year_arg():
    return validate_query(NoticeQuery).year


@bp.route("/projects/notice")
@permission_required("read")
def notice():
    ws = _ws()
    year = _year_arg()
    rows = project_notice.notice_rows(ws, year=year)
    top, sub = project_notice.header_rows()
    return render_template("projects/notice.html", rows=rows, columns=project_notice.COLUMNS,
                           header_top=top, header_sub=sub, total_wan=project_notice.notice_total_wan(rows),
                           total_span=project_notice.TOTAL_LABEL_SPAN,
                           title=project_notice.notice_title(ws, year), year=year,
                           footer=project_notice.notice_footer(ws, rows),
                           signature=project_notice.notice_signature(ws, rows))


@bp.route("/projects/notice.xlsx")
@permission_required("read")
def notice_xlsx():
    ws = _ws()
    year = _year_arg()
    buf = io.BytesIO()
    project_notice.write_notice_xlsx(ws, buf, year=year)
    buf.seek(0)
    # A non-ASCII name: Werkzeug sends it as filename*=UTF-8''… (RFC 5987) with an ASCII fallback.
    return send_file(buf, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=project_notice.notice_filename(ws, year))


# --------------------------------------------------------------------------- the library's Excel
@bp.route("/projects/library.xlsx")
@permission_required("read")
def library_xlsx():
    """The project library as the county's Excel (importable back unchanged), filters as on the list."""
    from layers.project_library import write_library_xlsx

    items = sorted(P.list_proposals(_ws(), filters_from_request()), key=lambda p: p.id)
    buf = io.BytesIO()
    write_library_xlsx(items, buf, lang=current_lang())
    buf.seek(0)
    name = f"{_ws().meta().get('county_name') or ''}项目库.xlsx" if current_lang() == "zh" else "project-library.xlsx"
    return send_file(buf, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=name)


@bp.route("/projects/import", methods=["GET", "POST"])
@permission_required("import")
def library_import():
    """Bulk import of the county's 项目库 Excel, with the same validation report as layer uploads."""
    import shutil
    import tempfile
    from pathlib import Path

    from layers.project_library import import_library

    from ..i18n import problem_text, sorted_problems
    from .data import upload_name

    ws = _ws()
    form = ActionForm()
    if request.method == "GET":
        return render_template("projects/import.html", form=form, report=None)
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadField(field="file", location="form", reason_en="choose a file", reason_zh="请选择文件")
    original = upload_name(upload.filename)
    suffix = Path(original).suffix.lower()
    tmpdir = tempfile.mkdtemp(prefix="rp-library-")
    try:
        path = Path(tmpdir) / f"library{suffix}"
        upload.save(path)
        outcome = import_library(ws, path, created_by=_user().username, display_name=original)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    problems = sorted_problems(outcome.problems)
    report = {"file": original, "written": outcome.written, "added": outcome.added, "unchanged": outcome.unchanged,
              "errors": [problem_text(p) for p in problems if p.is_error],
              "warnings": [problem_text(p) for p in problems if not p.is_error]}
    if outcome.written:
        flash(_("Project library imported: %(added)s added, %(unchanged)s unchanged.", added=outcome.added,
                unchanged=outcome.unchanged), "success")
    return render_template("projects/import.html", form=form, report=report), (200 if outcome.written else 422)


# --------------------------------------------------------------------------- JSON API
def _api_error(code: int, message: str, **extra):
    return {"error": {**extra, "code": code, "message": message}}, code


def _readable_attachments(ws, user, p: P.Proposal) -> list:
    """The files of ``p`` that ``user`` may see (none of a working copy not theirs to read)."""
    return A.list_attachments(ws, p.id) if W.may_read_attachments(user, p) else []


def _proposal_json(p: P.Proposal) -> dict:
    out = p.to_dict()
    if not W.may_read_attachments(_user(), p):
        out["attachments"] = []  # a working copy's file names are its unit's and reviewers' only
    out["allowed_actions"] = W.allowed_actions(_user(), p)
    out["may_edit"] = W.may_edit(_user(), p)
    out["url"] = url_for("projects.api_proposal", proposal_id=p.id)
    return out


def _conflict_json(exc: W.ConflictError):
    details = exc.to_dict()
    return _api_error(409, details.pop("message"), **details)


class ProposalPath(BaseModel):
    proposal_id: Int64 = Field(description="The proposal's id")


class TransitionsQuery(QueryModel):
    evaluation: Flag = Field(False, description="true: include each step's evaluation snapshot")


class EvaluationQuery(QueryModel):
    cutoff: Optional[Annotated[float, Field(gt=0, le=180, allow_inf_nan=False)]] = Field(
        None, description="Travel-time cutoff in minutes (default: the county setting)")
    radius: Optional[Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]] = Field(
        None, description="Search radius for alternative sites in kilometres")
    features: Flag = Field(False, description="true: include the map features")
    scenario: Optional[str] = Field(None, max_length=64,
                                    description="Evaluate on this network scenario (roads closed or slowed)")


class TransitionBody(BodyModel):
    action: Literal[tuple(W.ACTIONS)] = Field(description="The workflow step")  # type: ignore[valid-type]
    version: Int64 = Field(description="The proposal version you saw")
    comment: Optional[str] = Field(None, max_length=4000,
                                   description="The reviewer's opinion (required to return or reject)")


_PROPOSAL = {"type": "object", "required": ["id", "name", "status", "version"],
             "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "status": {"type": "string"},
                            "version": {"type": "integer"}, "allowed_actions": {"type": "array"},
                            "may_edit": {"type": "boolean"}, "url": {"type": "string"}}}
_OBJ = {"type": "object"}
_READ = (400, 401, 403, 404)
_WRITE = (400, 401, 403, 404, 409, 413, 422)


@bp.route("/api/v1/proposals", methods=["GET"])
@permission_required("read")
@operation("listProposals", "List proposals (filters as on the project library page)", query=ProposalListQuery,
           responses={200: ok("proposals and count", schema={"type": "object", "required": ["proposals", "count"],
                                                             "properties": {"proposals": {"type": "array",
                                                                                          "items": _PROPOSAL},
                                                                            "count": {"type": "integer"}}})},
           errors=(400, 401, 403))
def api_list(*, query: ProposalListQuery):
    items = P.list_proposals(_ws(), query.to_filter())
    return {"proposals": [_proposal_json(p) for p in items], "count": len(items)}


@bp.route("/api/v1/proposals", methods=["POST"])
@login_required
@operation("createProposal", "Create a proposal (village applicants: own village only)", body=ProposalCreate,
           csrf=True, responses={201: ok("The proposal", schema=_PROPOSAL)},
           errors=(400, 401, 403, 413, 422))
def api_create(*, body: ProposalCreate):
    data = proposal_data(body)
    own = W.LEVEL_OF_ROLE.get(_user().role)
    if own is not None:
        data.setdefault("level", own)
        if own == "town":
            data.setdefault("town", _user().scope)
    if not _may_create_data(data):
        abort(403)
    try:
        p = P.create_proposal(_ws(), data, created_by=_user().username)
    except P.ProposalInvalid as exc:
        return _api_error(422, exc.message(current_lang(), translate=_), fields=exc.errors)
    return _proposal_json(p), 201


@bp.route("/api/v1/proposals/<int:proposal_id>", methods=["GET"])
@permission_required("read")
@operation("getProposal", "One proposal", path=ProposalPath, responses={200: ok("The proposal", schema=_PROPOSAL)},
           errors=_READ)
def api_proposal(proposal_id: int):
    ws = _ws()
    p = _proposal_or_404(ws, proposal_id)
    out = _proposal_json(p)
    # the stored files (download URLs) and the outside-town flag, as the page shows them
    out["files"] = [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size_bytes": a.size_bytes,
                     "uploaded_by": a.uploaded_by, "uploaded_at": a.uploaded_at,
                     "url": url_for("projects.download_attachment", proposal_id=p.id, attachment_id=a.id)}
                    for a in _readable_attachments(ws, _user(), p)]
    flag = project_place.outside_town(ws, p)
    out["outside_town"] = None if flag is None else {"town": flag.town, "found_towns": list(flag.found_towns)}
    return out


@bp.route("/api/v1/proposals/<int:proposal_id>", methods=["PATCH"])
@login_required
@operation("updateProposal", "Edit a proposal (JSON with the integer version you edited)", path=ProposalPath,
           body=ProposalPatch, csrf=True, responses={200: ok("The proposal", schema=_PROPOSAL)}, errors=_WRITE)
def api_update(proposal_id: int, *, body: ProposalPatch):
    ws = _ws()
    p = _proposal_or_404(ws, proposal_id)
    if not W.may_edit(_user(), p):
        abort(403)
    changes = proposal_data(body, exclude={"version"})
    merged = {"level": p.level, "village_code": p.village_code, "town": p.town, "category": p.category, **changes}
    if _user().role in W.LEVEL_OF_ROLE and not _may_create_data(merged):
        abort(403)  # a proposer keeps a proposal in their own village, town or sector
    try:
        p = P.update_proposal(ws, p.id, changes, expected_version=body.version)
    except P.ProposalInvalid as exc:
        return _api_error(422, exc.message(current_lang(), translate=_), fields=exc.errors)
    except W.ConflictError as exc:
        return _conflict_json(exc)
    return _proposal_json(p)


@bp.route("/api/v1/proposals/<int:proposal_id>/transitions", methods=["GET"])
@permission_required("read")
@operation("listTransitions", "The proposal's review history", path=ProposalPath, query=TransitionsQuery,
           responses={200: ok("transitions", schema={"type": "object", "required": ["transitions"]})},
           errors=_READ)
def api_history(proposal_id: int, *, query: TransitionsQuery):
    ws = _ws()
    _proposal_or_404(ws, proposal_id)
    return {"transitions": [t.to_dict(include_evaluation=query.evaluation) for t in P.history(ws, proposal_id)]}


@bp.route("/api/v1/proposals/<int:proposal_id>/transitions", methods=["POST"])
@login_required
@operation("transitionProposal", "A review step: JSON with action, the integer version you saw and a comment",
           path=ProposalPath, body=TransitionBody, csrf=True,
           responses={200: ok("proposal and transition", schema={"type": "object",
                                                                  "required": ["proposal", "transition"]})},
           errors=(400, 401, 403, 404, 409, 413))
def api_transition(proposal_id: int, *, body: TransitionBody):
    ws = _ws()
    p = _proposal_or_404(ws, proposal_id)
    try:
        after = apply_transition(ws, p, body.action, body.version, body.comment)
    except W.ConflictError as exc:
        return _conflict_json(exc)
    except W.ForbiddenTransition as exc:
        return _api_error(403, str(exc))
    except W.InvalidTransition as exc:
        return _api_error(400, str(exc))
    return {"proposal": _proposal_json(after), "transition": P.history(ws, p.id)[-1].to_dict(include_evaluation=False)}


@bp.route("/api/v1/proposals/<int:proposal_id>/evaluation")
@permission_required("read")
@operation("evaluateProposal", "Evaluate a proposal: catchment, overlaps, alternatives, constraint conflicts",
           path=ProposalPath, query=EvaluationQuery, responses={200: ok("Evaluation", schema=_OBJ)},
           errors=(*_READ, 422, 429))
def api_evaluation(proposal_id: int, *, query: EvaluationQuery):
    ws = _ws()
    p = _proposal_or_404(ws, proposal_id)
    # typed errors (no roads, a bad setting, an unknown scenario) are answered by the app's one handler
    with heavy_run():
        result = project_eval.evaluate(ws, p, cutoff_min=query.cutoff, radius_km=query.radius,
                                       scenario=query.scenario)
    if not query.features:
        result = project_eval.snapshot(result)
    return result


@bp.route("/api/v1/proposals/portfolio")
@permission_required("read")
@operation("getPortfolio", "Best set of proposals of one category within a budget", query=PortfolioQuery,
           responses={200: ok("Portfolio", schema=_OBJ)}, errors=(400, 401, 403, 422, 429))
def api_portfolio(*, query: PortfolioQuery):
    if query.budget is None:
        raise BadField(field="budget", location="query", reason_en="required (万元)", reason_zh="缺少此参数（万元）")
    with heavy_run():  # typed errors: the app's one handler
        return project_eval.portfolio_for(_ws(), category=query.category or "cold_chain",
                                          budget_wan=query.budget, year=query.year)


@bp.route("/api/v1/proposals/workflow")
@operation("getWorkflow", "Review steps, sectors by category, statuses and actions",
           responses={200: ok("Workflow", schema={"type": "object",
                                                  "required": ["steps", "sectors", "statuses", "actions"]})},
           errors=())
def api_workflow():
    return {"steps": W.workflow_table(), "sectors": dict(W.SECTOR_BY_CATEGORY),
            "statuses": [s.value for s in P.STATUSES], "actions": list(W.ACTIONS)}
