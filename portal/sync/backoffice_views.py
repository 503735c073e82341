"""Back-office pages of partner sync: failed deliveries and partner credentials.

Thin routes over :mod:`portal.sync.backoffice`; permissions are checked there (and per
route by portal.staff.roles before the view runs).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.errors import Conflict, PortalError, ValidationFailed, errors_into
from portal.staff import current_staff
from portal.sync import backoffice, deliveries_bp, partners_bp
from portal.sync.forms import ActionForm, PartnerCreateForm, RetrySelectedForm, SwitchForm

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# ---------------------------------------------------------------------------- deliveries


def _filters() -> tuple[dict, dict]:
    """The list's filters from the query string, and a message per filter that is wrong."""
    args, problems = request.args, {}
    state = args.get("state", "failed")
    if state not in (*backoffice.STATES, "all"):
        problems["state"] = _("Choose a state from the list.")
        state = "failed"
    partner = args.get("partner", "").strip()
    if len(partner) > 32:
        problems["partner"] = _("A partner code has at most 32 characters.")
        partner = ""
    page = args.get("page", 1, type=int) or 1
    return {"state": state, "partner": partner, "page": page}, problems


def _list_page(form: RetrySelectedForm, status: int = 200):
    filters, problems = _filters()
    items, has_next = backoffice.list_deliveries(
        current_staff(),
        state=None if filters["state"] == "all" else filters["state"],
        partner_code=filters["partner"] or None,
        page=filters["page"],
    )
    html = render_template(
        "sync/deliveries.html",
        items=items,
        has_next=has_next,
        filters=filters,
        problems=problems,
        states=backoffice.STATES,
        partner_codes=backoffice.partner_codes(),
        form=form,
    )
    return html, 400 if problems and status == 200 else status


@deliveries_bp.get("/")
def failed():
    return _list_page(RetrySelectedForm())


@deliveries_bp.post("/gui-lai")
def retry_selected():
    form = RetrySelectedForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    try:
        count = backoffice.retry_deliveries(current_staff(), form.ids.data)
    except (ValidationFailed, Conflict) as exc:
        form.form_errors.append(exc.message)
        return _list_page(form, exc.status_code)
    flash(_("%(count)s deliveries are being sent again.", count=count), "success")
    return redirect(url_for("deliveries.failed", **request.args))


@deliveries_bp.get("/<delivery_id>")
def delivery(delivery_id: str, form=None, status: int = 200):
    item = backoffice.delivery_detail(current_staff(), delivery_id)
    return render_template("sync/delivery.html", d=item, form=form or ActionForm()), status


@deliveries_bp.post("/<delivery_id>/gui-lai")
def retry(delivery_id: str):
    form = ActionForm()
    form.validate_on_submit()  # the CSRF token is checked before any view runs
    try:
        backoffice.retry_delivery(current_staff(), delivery_id)
    except Conflict as exc:
        form.form_errors.append(exc.message)
        return delivery(delivery_id, form, exc.status_code)
    flash(_("The delivery is being sent again."), "success")
    return redirect(url_for("deliveries.delivery", delivery_id=delivery_id))


# --------------------------------------------------------------------------- credentials


def _partners_page(form: PartnerCreateForm | None = None, errors: list[str] | None = None, status=200):
    html = render_template(
        "sync/partners.html",
        partners=backoffice.list_partners(current_staff()),
        form=form or PartnerCreateForm(),
        action_form=ActionForm(),
        errors=errors or [],
    )
    return html, status


def _secret_page(code: str, secret: str, *, created: bool):
    # Shown on this response only: never stored, logged, flashed or cached.
    response = current_app.make_response(
        render_template("sync/partner_secret.html", code=code, secret=secret, created=created)
    )
    response.headers.update(NO_STORE)
    return response


@partners_bp.get("/")
def credentials():
    return _partners_page()


@partners_bp.post("/")
def create():
    form = PartnerCreateForm()
    if form.validate_on_submit():
        try:
            secret = backoffice.create_partner(
                current_staff(), code=form.code.data, name=form.name.data, base_url=form.base_url.data
            )
        except PortalError as exc:
            if exc.status_code in (403, 404):
                raise
            errors_into(form, exc)
            return _partners_page(form, status=exc.status_code)
        return _secret_page(form.code.data.strip(), secret, created=True)
    return _partners_page(form, status=400)


@partners_bp.post("/<code>/khoa-moi")
def rotate(code: str):
    ActionForm().validate_on_submit()
    try:
        secret = backoffice.rotate_secret(current_staff(), code)
    except Conflict as exc:
        return _partners_page(errors=[exc.message], status=exc.status_code)
    return _secret_page(code, secret, created=False)


@partners_bp.post("/<code>/khoa/<int:secret_id>/thu-hoi")
def revoke_secret(code: str, secret_id: int):
    ActionForm().validate_on_submit()
    try:
        backoffice.revoke_secret(current_staff(), code, secret_id)
    except Conflict as exc:
        return _partners_page(errors=[exc.message], status=exc.status_code)
    flash(_("The secret is revoked: requests signed with it are refused from now on."), "success")
    return redirect(url_for("partners.credentials"))


@partners_bp.post("/<code>/trang-thai")
def switch(code: str):
    form = SwitchForm()
    if not form.validate_on_submit():
        return _partners_page(errors=[_("Choose whether the partner is on or off.")], status=400)
    active = form.active.data == "on"
    backoffice.switch_partner(current_staff(), code, active=active)
    flash(_("The partner is on.") if active else _("The partner is off."), "success")
    return redirect(url_for("partners.credentials"))
