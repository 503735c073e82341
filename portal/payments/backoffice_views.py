"""Back-office pages of payments: search, a payment, its receipt, refunds, reconciliation.

Thin routes over :mod:`portal.payments.backoffice`; permissions are checked there (and per
route by portal.staff.roles before the view runs).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.errors import Conflict, ValidationFailed, errors_into
from portal.payments import admin_bp, backoffice, receipts
from portal.payments.forms import STATE_LABELS, PaymentSearchForm, ReconcileForm, RefundForm
from portal.staff import current_staff
from portal.workdays import VN_TZ

PRIVATE = {"Cache-Control": "private, no-store"}


@admin_bp.context_processor
def labels():
    return {"payment_state_labels": STATE_LABELS}


@admin_bp.get("/")
def search():
    form = PaymentSearchForm(formdata=request.args)
    searched = any(request.args.get(name) for name in form.data)
    items, has_next, status = [], False, 200
    if searched and not form.validate():
        status = 400
    elif searched:
        items, has_next = backoffice.search_payments(
            current_staff(),
            dossier_code=form.dossier_code.data or None,
            payment_id=form.payment_id.data,
            gateway_ref=form.gateway_ref.data or None,
            state=form.state.data or None,
            day_from=form.day_from.data,
            day_to=form.day_to.data,
            page=request.args.get("page", 1, type=int) or 1,
        )
    page = render_template(
        "payments/admin/search.html", form=form, items=items, has_next=has_next, searched=searched
    )
    return page, status


def _payment_page(payment_id: int, form: RefundForm | None = None, status: int = 200):
    detail = backoffice.payment_detail(current_staff(), payment_id)
    if form is None:
        form = RefundForm(data={"scope": "full", "expected": str(detail["refundable"])})
    else:
        # The amount left is the one shown now: a corrected form refunds against it.
        form.expected.data = str(detail["refundable"])
    response = current_app.make_response(
        (render_template("payments/admin/payment.html", p=detail, form=form), status)
    )
    response.headers.update(PRIVATE)
    return response


@admin_bp.get("/<int:payment_id>")
def payment(payment_id: int):
    return _payment_page(payment_id)


@admin_bp.get("/<int:payment_id>/bien-lai")
def receipt(payment_id: int):
    found = backoffice.receipt_for_staff(current_staff(), payment_id)
    response = current_app.response_class(receipts.render_pdf(found), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{receipts.file_name(found)}"'
    response.headers.update({**PRIVATE, "X-Content-Type-Options": "nosniff"})
    return response


@admin_bp.post("/<int:payment_id>/hoan-tien")
def refund(payment_id: int):
    form = RefundForm()
    if not form.validate_on_submit():
        form.form_errors.extend(form.expected.errors)
        return _payment_page(payment_id, form, 400)
    try:
        result = backoffice.refund(
            current_staff(),
            payment_id,
            full=form.scope.data == "full",
            amount=form.amount.data,
            reason=form.reason.data,
            expected_refundable=int(form.expected.data),
        )
    except (ValidationFailed, Conflict) as exc:
        errors_into(form, exc)
        return _payment_page(payment_id, form, exc.status_code)
    messages = {
        "succeeded": (_("The refund is made."), "success"),
        "pending": (_("The refund is asked of the gateway; its answer will show here."), "info"),
        "failed": (_("The gateway refused the refund: nothing was given back."), "error"),
    }
    flash(*messages.get(result["state"], messages["pending"]))
    return redirect(url_for("payments_admin.payment", payment_id=payment_id))


# ------------------------------------------------------------------------ reconciliation


def _default_range() -> dict:
    yesterday = datetime.now(VN_TZ).date() - timedelta(days=1)
    return {"day_from": yesterday - timedelta(days=6), "day_to": yesterday}


def _range_form() -> ReconcileForm:
    if request.method == "POST":
        return ReconcileForm()
    if request.args:
        return ReconcileForm(formdata=request.args, meta={"csrf": False})
    return ReconcileForm(formdata=None, data=_default_range(), meta={"csrf": False})


@admin_bp.route("/doi-soat", methods=["GET", "POST"])
def reconciliation():
    form, status, shown = _range_form(), 200, None
    if request.method == "POST":
        valid = form.validate_on_submit()
    else:
        # The opening page shows the default range, which needs no checking.
        valid = not request.args or form.validate()
    if valid:
        try:
            if request.method == "POST":
                days = backoffice.start_reconciliation(current_staff(), form.day_from.data, form.day_to.data)
                flash(
                    _("Reconciliation of %(count)s days is started; refresh to see it.", count=days),
                    "success",
                )
                return redirect(
                    url_for(
                        "payments_admin.reconciliation",
                        day_from=form.day_from.data.isoformat(),
                        day_to=form.day_to.data.isoformat(),
                    )
                )
            shown = backoffice.reconciliation(current_staff(), form.day_from.data, form.day_to.data)
        except ValidationFailed as exc:
            errors_into(form, exc)
            status = 400
    else:
        status = 400
    return render_template("payments/admin/reconciliation.html", form=form, shown=shown), status


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin_bp.get("/doi-soat.csv")
def reconciliation_csv():
    form = ReconcileForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        raise ValidationFailed(_("Choose the first and last day of the reconciliation."))
    shown = backoffice.reconciliation(current_staff(), form.day_from.data, form.day_to.data)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [
        "day",
        "run_id",
        "kind",
        "payment_id",
        "gateway_ref",
        "charge_ref",
        "gateway_amount",
        "portal_amount",
        "note",
    ]
    writer.writerow(columns)
    for item in shown["mismatches"]:
        writer.writerow([_cell(item[c]) for c in columns])
    name = f"doi-soat-{form.day_from.data.isoformat()}-{form.day_to.data.isoformat()}.csv"
    response = current_app.response_class("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers.update(PRIVATE)
    return response
