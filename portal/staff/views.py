"""Back-office pages: staff sign-in, overview, staff accounts, audit log. Thin routes."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.audit import queries as audit_queries
from portal.errors import PortalError, errors_into
from portal.security import safe_next_url
from portal.staff import auth_bp, bp, current_staff, queries, service, sessions
from portal.staff.forms import (
    ActionForm,
    CodeForm,
    PasswordChangeForm,
    StaffCreateForm,
    StaffEditForm,
    StaffSignInForm,
)
from portal.staff.roles import NAV_ITEMS, ROLE_LABELS, can, require

NEXT_KEY = "_st_next"


@bp.app_context_processor
def backoffice_layout():
    """Navigation of the back office, for the staff member of this request only."""

    def backoffice_nav():
        staff = current_staff()
        if staff is None:
            return []
        return [
            {"endpoint": endpoint, "label": label, "url": url_for(endpoint)}
            for endpoint, label, permission in NAV_ITEMS
            if endpoint in current_app.view_functions and can(staff, permission)
        ]

    return {"backoffice_nav": backoffice_nav, "role_labels": ROLE_LABELS}


# ------------------------------------------------------------------------------ sign-in


@auth_bp.route("/dang-nhap", methods=["GET", "POST"])
def sign_in():
    form, status = StaffSignInForm(), 200
    next_url = safe_next_url(request.args.get("next"), url_for("staff.home"))
    if form.validate_on_submit():
        try:
            staff = service.begin_sign_in(form.email.data, form.password.data)
        except PortalError as exc:
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            from flask import session

            session[NEXT_KEY] = next_url
            endpoint = "staff_auth.two_factor" if staff.totp_confirmed_at else "staff_auth.enrol"
            return redirect(url_for(endpoint))
    return render_template("staff/sign_in.html", form=form), status


@auth_bp.route("/xac-thuc", methods=["GET", "POST"])
def two_factor():
    form, status = CodeForm(), 200
    if sessions.pending_staff() is None:
        return redirect(url_for("staff_auth.sign_in"))
    if form.validate_on_submit():
        try:
            service.finish_sign_in(form.code.data)
        except PortalError as exc:
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            return _after_sign_in()
    return render_template("staff/two_factor.html", form=form), status


@auth_bp.route("/kich-hoat-xac-thuc", methods=["GET", "POST"])
def enrol():
    form, status = CodeForm(), 200
    staff = sessions.pending_staff()
    if staff is None or staff.totp_confirmed_at is not None:
        return redirect(url_for("staff_auth.sign_in"))
    if form.validate_on_submit():
        try:
            service.confirm_enrolment(form.code.data)
        except PortalError as exc:
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            return _after_sign_in()
    return render_template("staff/enrol.html", form=form, enrolment=service.enrolment(staff)), status


def _after_sign_in():
    from flask import session

    return redirect(safe_next_url(session.pop(NEXT_KEY, None), url_for("staff.home")))


# ------------------------------------------------------------------------------ pages


@bp.get("/")
def home():
    from portal.feedback import queries as feedback_queries

    require(current_staff(), "backoffice.home")
    return render_template("staff/home.html", counts=feedback_queries.queue_counts(current_staff()))


@bp.post("/dang-xuat")
def sign_out():
    if ActionForm().validate_on_submit():
        service.sign_out(current_staff())
        flash(_("You are signed out."), "success")
    return redirect(url_for("staff_auth.sign_in"))


@bp.route("/mat-khau", methods=["GET", "POST"])
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            ended = service.change_own_password(
                current_staff(), form.current_password.data, form.new_password.data
            )
        except PortalError as exc:
            if exc.status_code not in (400, 409):
                raise
            errors_into(form, exc)
        else:
            flash(_("Your password is changed. Other sessions signed out: %(n)d.", n=ended), "success")
            return redirect(url_for("staff.home"))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("staff/password.html", form=form), status


@bp.get("/nhan-vien")
def accounts():
    return render_template(
        "staff/accounts.html", people=queries.staff_list(current_staff()), form=StaffCreateForm()
    )


@bp.post("/nhan-vien")
def create_account():
    require(current_staff(), "staff.manage")
    form = StaffCreateForm()
    if form.validate_on_submit():
        try:
            service.create_staff(
                current_staff(),
                email=form.email.data,
                full_name=form.full_name.data,
                role=form.role.data,
                password=form.password.data,
                agency_codes=(form.agencies.data or "").split(","),
            )
        except PortalError as exc:
            errors_into(form, exc)
        else:
            flash(
                _("The staff account is created. Its owner sets up two-factor sign-in at first sign-in."),
                "success",
            )
            return redirect(url_for("staff.accounts"))
    return render_template("staff/accounts.html", people=queries.staff_list(current_staff()), form=form), 400


@bp.route("/nhan-vien/<int:staff_id>", methods=["GET", "POST"])
def account(staff_id: int):
    person = queries.staff_member(current_staff(), staff_id)
    form = StaffEditForm(
        data={
            "role": person["role"],
            "is_active": person["is_active"],
            "agencies": ", ".join(person["agencies"]),
        }
    )
    if form.validate_on_submit():
        try:
            service.update_staff(
                current_staff(),
                staff_id,
                role=form.role.data,
                is_active=bool(form.is_active.data),
                agency_codes=(form.agencies.data or "").split(","),
            )
        except PortalError as exc:
            errors_into(form, exc)
        else:
            flash(_("The staff account is updated."), "success")
            return redirect(url_for("staff.account", staff_id=staff_id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("staff/account.html", person=person, form=form, action_form=ActionForm()), status


@bp.post("/nhan-vien/<int:staff_id>/dat-lai-mat-khau")
def reset_password(staff_id: int):
    require(current_staff(), "staff.manage")
    form, temporary, status = ActionForm(), None, 400
    if form.validate_on_submit():
        try:
            temporary = service.reset_password(current_staff(), staff_id)
            status = 200
        except PortalError as exc:
            if exc.status_code != 400:
                raise
            form.form_errors.append(exc.message)
    person = queries.staff_member(current_staff(), staff_id)
    edit_form = StaffEditForm(
        formdata=None,
        data={
            "role": person["role"],
            "is_active": person["is_active"],
            "agencies": ", ".join(person["agencies"]),
        },
    )
    # Shown in this response only: never flashed, stored in the session or cached.
    response = make_response(
        render_template(
            "staff/account.html",
            person=person,
            form=edit_form,
            action_form=form,
            temporary_password=temporary,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/nhan-vien/<int:staff_id>/dat-lai-xac-thuc")
def reset_two_factor(staff_id: int):
    require(current_staff(), "staff.manage")
    if ActionForm().validate_on_submit():
        service.reset_two_factor(current_staff(), staff_id)
        flash(_("Two-factor sign-in is reset: the person sets it up again at the next sign-in."), "success")
    return redirect(url_for("staff.account", staff_id=staff_id))


@bp.get("/nhat-ky")
def audit():
    require(current_staff(), "audit.view")
    args = request.args
    entries, has_next = audit_queries.search(
        actor=args.get("actor", "")[:100] or None,
        action=args.get("action", "")[:64] or None,
        target_type=args.get("target_type", "")[:32] or None,
        target_id=args.get("target_id", "")[:64] or None,
        day_from=_day(args.get("from")),
        day_to=_day(args.get("to")),
        page=args.get("page", 1, type=int) or 1,
    )
    return render_template("staff/audit.html", entries=entries, has_next=has_next, args=args)


def _day(unsafe: str | None) -> date | None:
    try:
        return date.fromisoformat(unsafe) if unsafe else None
    except ValueError:
        return None
