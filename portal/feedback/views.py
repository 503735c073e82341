"""Citizens' feedback pages and the public Q&A: thin routes over service and queries."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.errors import PortalError, errors_into
from portal.feedback import bp, queries, service
from portal.feedback.forms import CATEGORY_LABELS, STATUS_LABELS, ActionForm, FeedbackForm, MessageForm
from portal.i18n import select_locale


def _citizen():
    # Only a visitor with a session cookie can be signed in: skip the lookup for the others.
    from flask import current_app

    if not request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):
        return None
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.context_processor
def labels():
    return {"category_labels": CATEGORY_LABELS, "status_labels": STATUS_LABELS}


@bp.route("/phan-anh-kien-nghi/gui", methods=["GET", "POST"])
def send():
    user = _citizen()
    form = FeedbackForm()
    if request.method == "GET":
        form.dossier_code.data = request.args.get("ho_so", "")[:64] or None
        form.procedure_code.data = request.args.get("thu_tuc", "")[:64] or None
    if form.validate_on_submit():
        try:
            ticket, _unused = service.submit(
                user,
                category=form.category.data,
                unsafe_title=form.title.data,
                unsafe_content=form.content.data,
                unsafe_contact_name=form.contact_name.data,
                unsafe_email=form.contact_email.data,
                unsafe_phone=form.contact_phone.data,
                unsafe_dossier_code=form.dossier_code.data,
                unsafe_procedure_code=form.procedure_code.data,
                unsafe_agency_code=form.agency_code.data,
                file=form.attachment.data,
                locale=select_locale(),
            )
        except PortalError as exc:
            if exc.status_code == 429:
                raise
            errors_into(form, exc)
        else:
            if user is not None:
                flash(
                    _("Your feedback is received. Its number is %(number)s.", number=ticket.number), "success"
                )
                return redirect(url_for("feedback.ticket", number=ticket.number))
            return render_template("feedback/check_mail.html")
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "feedback/send.html", form=form, user=user, mine=queries.citizen_tickets(user) if user else []
    ), status


@bp.route("/phan-anh-kien-nghi/xac-nhan", methods=["GET", "POST"])
def confirm():
    # A GET only shows the button: mail scanners that open links must not use the token.
    form, token = ActionForm(), request.args.get("ma", "")
    if form.validate_on_submit():
        try:
            ticket, access = service.confirm_guest(token)
        except PortalError as exc:
            return render_template("feedback/link_invalid.html", message=exc.message), 400
        flash(_("Your feedback is received. Its number is %(number)s.", number=ticket.number), "success")
        return redirect(url_for("feedback.ticket", number=ticket.number, ma=access))
    return render_template("feedback/confirm.html", form=form, token=token)


@bp.get("/phan-anh-kien-nghi/<number>")
def ticket(number: str):
    key = request.args.get("ma")
    view = queries.public_view(service.citizen_ticket(number, _citizen(), key))
    return render_template(
        "feedback/ticket.html", ticket=view, key=key, message_form=MessageForm(), action_form=ActionForm()
    )


@bp.post("/phan-anh-kien-nghi/<number>/bo-sung")
def add_information(number: str):
    key = request.args.get("ma")
    form = MessageForm()
    if form.validate_on_submit():
        try:
            service.add_information(number, _citizen(), key, form.body.data)
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            errors_into(form, exc)
        else:
            flash(_("Your information is added."), "success")
            return redirect(url_for("feedback.ticket", number=number, ma=key))
    view = queries.public_view(service.citizen_ticket(number, _citizen(), key))
    return render_template(
        "feedback/ticket.html", ticket=view, key=key, message_form=form, action_form=ActionForm()
    ), 400


@bp.post("/phan-anh-kien-nghi/<number>/dong")
def close(number: str):
    key = request.args.get("ma")
    if ActionForm().validate_on_submit():
        service.close(number, _citizen(), key)
        flash(_("Your feedback is closed."), "success")
    return redirect(url_for("feedback.ticket", number=number, ma=key))


@bp.get("/hoi-dap")
def answers():
    q = request.args.get("q", "")[:200]
    category = request.args.get("linh_vuc") if request.args.get("linh_vuc") in CATEGORY_LABELS else None
    page = request.args.get("page", 1, type=int) or 1
    items, has_next = queries.published_answers(q, category, page)
    return render_template(
        "feedback/answers.html", items=items, q=q, category=category, has_next=has_next, page=page
    )
