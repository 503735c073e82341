"""Following dossiers: the citizen's list, a dossier's page, the actions on it, its files.

Routes parse the request, call the dossiers service and render its plain dicts. Every id in
a URL reaches the service, which scopes it to the signed-in citizen: another citizen's
dossier or file is NotFound, exactly like one that does not exist
(tests/dossiers/test_access_matrix.py walks every such route).

The actions answer Post/Redirect/Get: on success a message is flashed and the dossier page
is shown again by a GET; on a refusal (ValidationFailed 400, Conflict 409) the dossier page
is rendered at once with the message beside the form that was sent.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from urllib.parse import quote

from flask import flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.dossiers import bp, queries, service
from portal.dossiers.page_forms import (
    SUPPLEMENT_PREFIX,
    ConfirmForm,
    DossierFilterForm,
    RatingForm,
    SupplementForm,
    WithdrawForm,
)
from portal.errors import Conflict, PortalError, ValidationFailed, errors_into
from portal.i18n import select_locale
from portal.payments.queries import dossier_payments

PER_PAGE = 20

# A citizen's file is offered as a download, never shown inline: the browser neither guesses
# its type nor runs anything in it, and no cache keeps a copy.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


# ------------------------------------------------------------------------------ my dossiers


@bp.get("/ho-so")
def my_dossiers():
    form = DossierFilterForm(select_locale())
    if not form.validate():
        return render_template(
            "dossiers/following/list.html", form=form, results=None, drafts=[], query={}
        ), 400
    params = form.params()
    results = queries.list_dossiers(
        current_user,
        status=params["status"],
        unsafe_code_query=params["q"],
        page=params["page"],
        per_page=PER_PAGE,
    )
    filtered = params["status"] is not None or params["q"] or params["page"] > 1
    drafts = [] if filtered else queries.list_drafts(current_user)
    results["pages"] = max(1, math.ceil(results["total"] / PER_PAGE))
    query = {"status": params["status"], "q": params["q"] or None}
    return render_template(
        "dossiers/following/list.html",
        form=form,
        results=results,
        drafts=drafts,
        query={name: value for name, value in query.items() if value is not None},
    )


# ---------------------------------------------------------------------------- one dossier


@bp.get("/ho-so/<int:dossier_id>")
def dossier_page(dossier_id: int):
    return _dossier_page(dossier_id)


@bp.post("/ho-so/<int:dossier_id>/rut")
def withdraw(dossier_id: int):
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _dossier_page(dossier_id, failed="withdraw", form=form, status=400)
    try:
        service.request_withdrawal(current_user, dossier_id, form.reason.data)
    except (ValidationFailed, Conflict) as exc:
        return _refused(dossier_id, "withdraw", form, exc)
    flash(_("Your dossier is withdrawn. The agency has been told."), "success")
    return redirect(url_for("dossiers.dossier_page", dossier_id=dossier_id))


@bp.post("/ho-so/<int:dossier_id>/bo-sung")
def supplement_upload(dossier_id: int):
    form = SupplementForm()
    form.validate_on_submit()  # the CSRF token is checked before any view runs
    try:
        added = service.supplement(current_user, dossier_id, form.document_files())
    except (ValidationFailed, Conflict) as exc:
        return _refused(dossier_id, "supplement", form, exc)
    flash(
        ngettext(
            "%(num)d file added. When you have added everything, send the supplement.",
            "%(num)d files added. When you have added everything, send the supplement.",
            len(added),
        ),
        "success",
    )
    return redirect(url_for("dossiers.dossier_page", dossier_id=dossier_id, _anchor="supplement"))


@bp.post("/ho-so/<int:dossier_id>/bo-sung/xong")
def supplement_done(dossier_id: int):
    form = ConfirmForm()
    form.validate_on_submit()
    try:
        service.complete_supplement(current_user, dossier_id)
    except (ValidationFailed, Conflict) as exc:
        return _refused(dossier_id, "complete", form, exc)
    flash(_("Your supplement is sent. The agency is processing your dossier again."), "success")
    return redirect(url_for("dossiers.dossier_page", dossier_id=dossier_id))


@bp.post("/ho-so/<int:dossier_id>/danh-gia")
def rate(dossier_id: int):
    form = RatingForm()
    if not form.validate_on_submit():
        return _dossier_page(dossier_id, failed="rating", form=form, status=400)
    try:
        service.rate(current_user, dossier_id, form.value.data, form.comment.data)
    except (ValidationFailed, Conflict) as exc:
        return _refused(dossier_id, "rating", form, exc)
    flash(_("Thank you for rating this dossier."), "success")
    return redirect(url_for("dossiers.dossier_page", dossier_id=dossier_id, _anchor="rating"))


@bp.get("/ho-so/tep/<int:attachment_id>")
def attachment_download(attachment_id: int):
    path, name, content_type = service.open_attachment(current_user, attachment_id)
    response = send_file(
        path, mimetype=content_type, as_attachment=True, download_name=name, conditional=False, etag=False
    )
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers.update(DOWNLOAD_HEADERS)
    return response


# ------------------------------------------------------------------------------- helpers


FORMS = {
    "withdraw": WithdrawForm,
    "supplement": SupplementForm,
    "complete": ConfirmForm,
    "rating": RatingForm,
}


def _dossier_page(
    dossier_id: int, *, failed: str | None = None, form=None, message: str | None = None, status: int = 200
):
    """The dossier page; ``failed`` names the form that was sent and refused (shown with
    ``form``'s values and errors, and ``message`` at the top)."""
    dossier = queries.get_dossier_for_owner(current_user, dossier_id)
    # The other forms start empty, whatever the request carried.
    forms = {name: (form if name == failed else cls(formdata=None)) for name, cls in FORMS.items()}
    if failed and not message:
        message = _("Please correct the fields marked below.")
    return render_template(
        "dossiers/following/dossier.html",
        d=dossier,
        forms=forms,
        failed=failed,
        message=message,
        supplement_prefix=SUPPLEMENT_PREFIX,
        new_supplement_files=_new_supplement_files(dossier),
        fees=dossier_payments(dossier["id"]),
    ), status


def _refused(dossier_id: int, name: str, form, exc: PortalError):
    """Show the service's refusal beside the form that asked."""
    errors_into(form, exc, shown=exc.message)
    return _dossier_page(dossier_id, failed=name, form=form, message=exc.message, status=exc.status_code)


def _new_supplement_files(dossier: dict) -> list[dict]:
    """The files added since the open supplement request, to list beside its form."""
    requested = dossier.get("supplement_requested_at")
    if not dossier["can_supplement"] or not requested:
        return []
    since = datetime.fromisoformat(requested)
    return [
        {**attachment, "document_name": document["name"]}
        for document in dossier["documents"]
        for attachment in document["attachments"]
        if attachment["kind"] == "supplement" and datetime.fromisoformat(attachment["uploaded_at"]) >= since
    ]


def content_disposition(name: str) -> str:
    """``attachment`` with the name twice (RFC 6266): plain ASCII for old clients, and the
    real Vietnamese name as UTF-8 (RFC 5987), which every current browser prefers."""
    ascii_name = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = ascii_name.encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(ch for ch in ascii_name if ch.isprintable() and ch not in '"\\;').strip()
    stem, dot, extension = ascii_name.rpartition(".")
    ascii_name = f"{stem.strip() or 'tai-lieu'}.{extension}" if dot else (ascii_name or "tai-lieu")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
