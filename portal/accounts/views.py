"""Account pages: thin routes that parse a form, call one service function, render."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import account_bp, bp, oidc, queries, service
from portal.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EmailForm,
    NewPasswordForm,
    RegisterForm,
    SignInForm,
)
from portal.errors import PortalError, errors_into
from portal.i18n import select_locale
from portal.security import safe_next_url

NEXT_KEY = "_next"


@bp.route("/dang-ky", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            service.register(
                full_name=form.full_name.data,
                unsafe_email=form.email.data,
                unsafe_phone=form.phone.data,
                unsafe_id_number=form.id_number.data,
                password=form.password.data,
                locale=select_locale(),
            )
        except PortalError as exc:
            errors_into(form, exc)
        else:
            return render_template("accounts/registered.html", email=form.email.data)
    return render_template(
        "accounts/register.html", form=form
    ), 400 if form.errors or form.form_errors else 200


@bp.route("/xac-nhan-email", methods=["GET", "POST"])
def verify_email():
    # A GET only shows the button: mail scanners that open links must not use the token.
    form, token = ConfirmForm(), request.args.get("token", "")
    if form.validate_on_submit():
        try:
            service.verify_email(token)
        except PortalError as exc:
            return render_template("accounts/token_invalid.html", message=exc.message), 400
        flash(_("Your e-mail address is confirmed. You can sign in now."), "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/verify_email.html", form=form, token=token)


@bp.route("/gui-lai-xac-nhan", methods=["GET", "POST"])
def resend_verification():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            service.resend_verification(form.email.data)
        except PortalError as exc:
            errors_into(form, exc)
        else:
            return render_template("accounts/check_mail.html")
    return render_template("accounts/resend_verification.html", form=form)


@bp.route("/dang-nhap", methods=["GET", "POST"])
def sign_in():
    form, status = SignInForm(), 200
    next_url = safe_next_url(request.args.get("next"))
    if form.validate_on_submit():
        try:
            service.sign_in_with_password(form.identifier.data, form.password.data)
        except PortalError as exc:
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            return redirect(next_url)
    return render_template(
        "accounts/sign_in.html", form=form, next_url=next_url, oidc_enabled=oidc.enabled()
    ), status


@bp.get("/dang-nhap/dinh-danh")
def sign_in_national_id():
    if not oidc.enabled():
        return render_template(
            "accounts/token_invalid.html",
            message=_("Sign-in with the national identity account is not available."),
        ), 404
    session[NEXT_KEY] = safe_next_url(request.args.get("next"))
    return oidc.client().authorize_redirect(url_for("accounts.national_id_callback", _external=True))


@bp.get("/dang-nhap/dinh-danh/callback")
def national_id_callback():
    next_url = session.pop(NEXT_KEY, "/")
    try:
        service.sign_in_with_identity_response(oidc.client())
    except PortalError as exc:
        return render_template("accounts/token_invalid.html", message=exc.message), exc.status_code
    return redirect(safe_next_url(next_url))


@bp.route("/quen-mat-khau", methods=["GET", "POST"])
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            service.request_password_reset(form.email.data)
        except PortalError as exc:
            errors_into(form, exc)
            return render_template("accounts/forgot_password.html", form=form), exc.status_code
        return render_template("accounts/check_mail.html")
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/dat-lai-mat-khau", methods=["GET", "POST"])
def reset_password():
    form, token = NewPasswordForm(), request.args.get("token", "")
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except PortalError as exc:
            errors_into(form, exc)
            return render_template("accounts/reset_password.html", form=form, token=token), 400
        flash(_("Your password is changed. Sign in with the new one."), "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form, token=token)


@account_bp.get("")
def profile():
    return render_template(
        "accounts/profile.html", account=queries.account_overview(current_user), form=ConfirmForm()
    )


@account_bp.post("/dang-xuat")
def sign_out():
    if ConfirmForm().validate_on_submit():
        service.sign_out()
        flash(_("You are signed out."), "success")
    return redirect(url_for("catalog.home"))


@account_bp.post("/dang-xuat-moi-noi")
def sign_out_everywhere():
    if ConfirmForm().validate_on_submit():
        service.sign_out_everywhere(current_user._get_current_object())
        flash(_("You are signed out on every device."), "success")
    return redirect(url_for("accounts.sign_in"))


@account_bp.route("/doi-mat-khau", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(
                current_user._get_current_object(), form.current_password.data or "", form.new_password.data
            )
        except PortalError as exc:
            errors_into(form, exc)
        else:
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("account.profile"))
    return render_template("accounts/change_password.html", form=form), 400 if form.errors else 200
