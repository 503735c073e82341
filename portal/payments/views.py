"""The citizen's payment pages: start, the pay page (card via Stripe.js), its confirm
call, the return page (the real state, asked of the gateway) and the receipt download."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.errors import Conflict, NotFound
from portal.payments import bp, queries, receipts, service
from portal.payments.forms import PayForm
from portal.payments.gateway import GatewayError

DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _pay_page_csp() -> str:
    """The portal's policy, plus the gateway's script, frames and API (Stripe.js)."""
    config = current_app.config
    script = _origin(config.get("STRIPE_JS_URL"))
    api = (
        _origin(config.get("STRIPE_PUBLIC_API_BASE") or config.get("STRIPE_API_BASE"))
        or "https://api.stripe.com"
    )
    return (
        f"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' {script}; "
        f"connect-src 'self' {script} {api}; frame-src {script} https://hooks.stripe.com; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


@bp.post("/ho-so/<int:dossier_id>/thanh-toan")
def start(dossier_id: int):
    PayForm().validate_on_submit()  # the CSRF token is checked before any view runs
    try:
        payment = service.start_payment(current_user, dossier_id)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("dossiers.dossier_page", dossier_id=dossier_id))
    except GatewayError:
        flash(
            _("The payment service cannot be reached right now. Please try again in a few minutes."), "error"
        )
        return redirect(url_for("dossiers.dossier_page", dossier_id=dossier_id))
    return redirect(url_for("payments.pay_page", payment_id=payment["id"]))


@bp.get("/thanh-toan/<int:payment_id>")
def pay_page(payment_id: int):
    payment = service.payment_page(current_user, payment_id)
    if payment["state"] not in ("created", "processing"):
        return redirect(url_for("payments.result_page", payment_id=payment_id))
    response = current_app.make_response(
        render_template(
            "payments/pay.html",
            p=payment,
            js_url=current_app.config.get("STRIPE_JS_URL"),
            publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY") or "",
        )
    )
    response.headers["Content-Security-Policy"] = _pay_page_csp()
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/thanh-toan/<int:payment_id>/xac-nhan")
def confirm(payment_id: int):
    body = request.get_json(silent=True)
    unsafe_method = body.get("payment_method") if isinstance(body, dict) else None
    payment = service.confirm_payment(current_user, payment_id, unsafe_method)
    return jsonify(
        {
            "state": payment["state"],
            "requires_action": payment["requires_action"],
            "client_secret": payment.get("client_secret") if payment["requires_action"] else None,
            "return_url": url_for("payments.result_page", payment_id=payment_id),
        }
    )


@bp.get("/thanh-toan/<int:payment_id>/ket-qua")
def result_page(payment_id: int):
    payment = service.refresh_payment(current_user, payment_id)
    response = current_app.make_response(render_template("payments/result.html", p=payment))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/bien-lai/<int:receipt_id>")
def receipt_download(receipt_id: int):
    receipt = queries.find_receipt_for_viewer(current_user, receipt_id)
    if receipt is None:
        raise NotFound(_("This receipt does not exist or is not yours."))
    response = current_app.response_class(receipts.render_pdf(receipt), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{receipts.file_name(receipt)}"'
    response.headers.update(DOWNLOAD_HEADERS)
    return response
