"""Filing a dossier online: the start page, the draft form with its documents, the receipt.

Routes parse the request, call the dossiers service and render its plain dicts. The draft's
questions come from the online service's JSON Schema: ``form_render`` turns it into fields
and the posted form back into answers. Every id is looked up by the service for the signed-in
citizen, so another citizen's draft, file or dossier is a 404 (NotFound propagates). Every
POST carries its CSRF token: CSRFProtect refuses one without it (400) before any route runs.

A draft that was filed meanwhile (a second click on Submit, the back button after filing)
leads to its receipt rather than to an error.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.catalog import service as catalog
from portal.dossiers import bp, form_render, queries, service
from portal.dossiers.forms import FilingForm, UploadForm
from portal.errors import Conflict, NotFound, ValidationFailed

# The other dossier pages (portal.dossiers.views) are linked by path: they may be served
# by a module this one does not import.
MY_DOSSIERS = "/ho-so"


def _citizen():
    return current_user._get_current_object()


@bp.route("/dich-vu/<int:online_service_id>/nop-ho-so", methods=["GET", "POST"])
def start(online_service_id: int):
    form, problem = FilingForm(), None
    if form.validate_on_submit():
        try:
            draft_id = service.create_draft(_citizen(), online_service_id)
        except Conflict as exc:  # too many drafts: say so on the page, with the drafts listed
            problem = exc.message
        else:
            return redirect(url_for(".draft", draft_id=draft_id))
    overview = service.filing_overview(_citizen(), online_service_id)
    page = render_template(
        "dossiers/filing/start.html", s=overview, form=form, problem=problem, my_dossiers=MY_DOSSIERS
    )
    return page, 409 if problem else 200


@bp.get("/ho-so/nhap/<int:draft_id>")
def draft(draft_id: int):
    found = _draft_or_none(draft_id)
    if found is None:
        return redirect(url_for(".receipt", dossier_id=draft_id))
    return _draft_page(found)


@bp.post("/ho-so/nhap/<int:draft_id>")
def save(draft_id: int):
    found = _draft_or_none(draft_id)
    if found is None:
        return redirect(url_for(".receipt", dossier_id=draft_id))
    answers = form_render.parse(found["form_schema"], request.form)
    try:
        service.save_draft(_citizen(), draft_id, answers)
    except ValidationFailed as exc:
        return _draft_page(found, answers=answers, errors=exc.errors()), 400
    flash(_("Your answers are saved. You can come back and finish later."), "success")
    return redirect(url_for(".draft", draft_id=draft_id))


@bp.post("/ho-so/nhap/<int:draft_id>/nop")
def submit(draft_id: int):
    found = _draft_or_none(draft_id)
    if found is None:
        return redirect(url_for(".receipt", dossier_id=draft_id))
    answers = form_render.parse(found["form_schema"], request.form)
    try:
        # What was typed is kept first, so a refusal below loses none of it.
        service.save_draft(_citizen(), draft_id, answers)
        filed = service.submit(_citizen(), draft_id)
    except ValidationFailed as exc:
        return _draft_page(found, answers=answers, errors=exc.errors()), 400
    except (Conflict, NotFound) as exc:
        if _filed_meanwhile(exc, draft_id):
            return redirect(url_for(".receipt", dossier_id=draft_id))
        raise
    return redirect(url_for(".receipt", dossier_id=filed["id"]))


@bp.post("/ho-so/nhap/<int:draft_id>/tep")
def upload(draft_id: int):
    form = UploadForm()
    key = form.document_key.data or ""
    if form.validate_on_submit():
        try:
            attached = service.add_attachment(_citizen(), draft_id, key, form.file.data)
        except ValidationFailed as exc:
            problems = [item["message"] for item in exc.errors()]
        else:
            flash(_("“%(name)s” is attached.", name=attached["name"]), "success")
            return redirect(url_for(".draft", draft_id=draft_id, _anchor=form_render.document_id(key)))
    else:
        problems = [*form.document_key.errors, *form.file.errors] or [_("Choose a file to attach.")]
    errors = [
        {"error": "ValidationError", "field": form_render.document_path(key), "message": m} for m in problems
    ]
    return _draft_page(queries.get_draft(_citizen(), draft_id), errors=errors), 400


@bp.post("/ho-so/nhap/<int:draft_id>/tep/<int:attachment_id>/xoa")
def remove_file(draft_id: int, attachment_id: int):
    service.remove_attachment(_citizen(), attachment_id, dossier_id=draft_id)
    flash(_("The file is removed."), "success")
    return redirect(url_for(".draft", draft_id=draft_id, _anchor="documents"))


@bp.post("/ho-so/nhap/<int:draft_id>/huy")
def discard(draft_id: int):
    service.discard_draft(_citizen(), draft_id)
    flash(_("The draft and its files are deleted."), "success")
    return redirect(MY_DOSSIERS)


@bp.get("/ho-so/<int:dossier_id>/bien-nhan")
def receipt(dossier_id: int):
    dossier = queries.get_dossier_for_owner(_citizen(), dossier_id)
    return render_template(
        "dossiers/filing/receipt.html",
        d=dossier,
        my_dossiers=MY_DOSSIERS,
        dossier_url=f"{MY_DOSSIERS}/{dossier['id']}",
        mailed_to=(current_user.email or dossier["applicant"]["email"]) if dossier["channel"] == 2 else None,
    )


# ------------------------------------------------------------------------------- helpers


def _draft_or_none(draft_id: int) -> dict | None:
    """The citizen's draft, or None when it has been filed (then it has a receipt).

    :raises NotFound: neither a draft nor a dossier of this citizen.
    """
    try:
        return queries.get_draft(_citizen(), draft_id)
    except NotFound:
        queries.get_dossier_for_owner(_citizen(), draft_id)
        return None


def _filed_meanwhile(exc: Exception, draft_id: int) -> bool:
    """Whether ``exc`` only says the draft was filed by another request in the meantime."""
    if isinstance(exc, Conflict) and exc.token != "AlreadySubmitted":
        return False
    try:
        queries.get_dossier_for_owner(_citizen(), draft_id)
    except NotFound:
        return False
    return True


def _draft_page(draft: dict, *, answers: dict | None = None, errors: list[dict] | None = None) -> str:
    """The draft page: the form as last typed (``answers``) or saved, errors by their fields."""
    try:
        listed = catalog.procedure(draft["procedure_code"])["documents"] or []
    except NotFound:  # a procedure gone from the catalog: its documents are still the draft's
        listed = []
    form = form_render.describe(
        draft["form_schema"],
        draft["form_data"] if answers is None else answers,
        errors=errors,
        provinces=catalog.provinces(),
    )
    return render_template(
        "dossiers/filing/draft.html",
        draft=draft,
        fields=form["fields"],
        summary=form["summary"],
        documents=form_render.document_slots(draft["documents"], listed, errors),
        form=FilingForm(),
        my_dossiers=MY_DOSSIERS,
    )


@bp.app_template_filter("filing_size")
def filing_size(size: int | None) -> str:
    """A file size for people: ``840 B``, ``12 KB``, ``1.5 MB`` (powers of 1024)."""
    size = int(size or 0)
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + " MB"
