"""Account operations: register, verify, sign in and out, passwords, the national ID login.

Each public function is one transaction (``@transactional``). Messages are for people and
translated; errors never say whether an account exists for a given e-mail or number.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.accounts import sessions
from portal.accounts.models import AccountToken, IdentityLink, User
from portal.accounts.passwords import hash_password, needs_rehash, password_problems, verify_password
from portal.db import transactional, utcnow
from portal.errors import Forbidden, Unauthorized, ValidationFailed
from portal.extensions import db
from portal.mail import queue_mail
from portal.ratelimit import check, hit

VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
SIGNIN_LIMIT_ACCOUNT = "5 per 15 minutes"
SIGNIN_LIMIT_ADDRESS = "30 per 15 minutes"
RESET_LIMIT = "3 per hour"

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
_PHONE = re.compile(r"^0[35789][0-9]{8}$")
# The first three digits of a CCCD are the province of birth registration (001-096).
_ID_NUMBER = re.compile(r"^0(0[1-9]|[1-8][0-9]|9[0-6])[0-9]{9}$")


# --------------------------------------------------------------------------- validation


def normalize_email(unsafe: str | None) -> str | None:
    value = (unsafe or "").strip().lower()
    return value or None


def normalize_phone(unsafe: str | None) -> str | None:
    value = re.sub(r"[\s.-]", "", unsafe or "")
    if value.startswith("+84"):
        value = "0" + value[3:]
    elif value.startswith("84") and len(value) == 11:
        value = "0" + value[2:]
    return value or None


def _field_error(field: str, message: str) -> dict:
    return {"error": "ValidationError", "field": field, "message": message}


def validate_contact(
    *, full_name: str, email: str | None, phone: str | None, id_number: str | None
) -> list[dict]:
    errors = []
    if not 2 <= len(full_name.strip()) <= 100:
        errors.append(_field_error("full_name", _("Enter your full name (2 to 100 characters).")))
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        errors.append(_field_error("email", _("Enter a valid e-mail address.")))
    if phone is not None and not _PHONE.match(phone):
        errors.append(_field_error("phone", _("Enter a Vietnamese mobile number, e.g. 0912345678.")))
    if id_number is not None and not _ID_NUMBER.match(id_number):
        errors.append(_field_error("id_number", _("The ID number (CCCD) has 12 digits, e.g. 001090000001.")))
    if email is None and phone is None:
        errors.append(_field_error("email", _("Give an e-mail address or a mobile number.")))
    return errors


# -------------------------------------------------------------------------------- tokens


def _new_token(user: User, purpose: str, ttl: timedelta) -> str:
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id, purpose=purpose, token_hash=sessions.token_hash(raw), expires_at=utcnow() + ttl
        )
    )
    return raw


def _consume_token(raw: str, purpose: str) -> User:
    """The token's user, marking the token used.

    :raises ValidationFailed: unknown, used, expired or for another purpose.
    """
    if not raw or len(raw) > 200:
        raise ValidationFailed(_("This link is not valid or has expired."), token="InvalidToken")
    token = db.session.scalar(
        sa.select(AccountToken).where(AccountToken.token_hash == sessions.token_hash(raw)).with_for_update()
    )
    if (
        token is None
        or token.purpose != purpose
        or token.used_at is not None
        or sessions._aware(token.expires_at) <= utcnow()
    ):
        raise ValidationFailed(_("This link is not valid or has expired."), token="InvalidToken")
    token.used_at = utcnow()
    return db.session.get(User, token.user_id)


def _link(endpoint_path: str, token: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}{endpoint_path}?token={token}"


def _mail(user: User, template: str, subject: str, **context) -> None:
    with force_locale(user.locale or "vi"):
        text = render_template(f"accounts/mail/{template}.txt", user=user.serialize(), **context)
        queue_mail(user.email, _(subject), text)


# --------------------------------------------------------------------------- registration


@transactional
def register(
    *,
    full_name: str,
    unsafe_email: str | None,
    unsafe_phone: str | None,
    unsafe_id_number: str | None,
    password: str,
    locale: str = "vi",
) -> None:
    """Create an account and e-mail a verification link.

    When the e-mail is already registered, its owner is told by e-mail instead, and the
    answer is the same, so the form cannot be used to find out who has an account.

    :raises ValidationFailed: with one entry per invalid field (``field`` names it).
    """
    email = normalize_email(unsafe_email)
    phone = normalize_phone(unsafe_phone)
    id_number = (unsafe_id_number or "").strip() or None
    errors = validate_contact(full_name=full_name, email=email, phone=phone, id_number=id_number)
    errors += [
        _field_error("password", p)
        for p in password_problems(password, user_inputs=[full_name, email, phone, id_number])
    ]
    if errors:
        raise ValidationFailed(errors[0]["message"], details=errors)

    existing = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if existing is not None:
        _mail(
            existing,
            "already_registered",
            "Someone tried to register with your e-mail address",
            reset_url=f"{current_app.config['PUBLIC_URL']}/tai-khoan/quen-mat-khau",
        )
        return
    clash = (
        db.session.scalar(
            sa.select(User).where(
                sa.or_(
                    sa.and_(User.phone.is_not(None), User.phone == phone),
                    sa.and_(User.id_number.is_not(None), User.id_number == id_number),
                )
            )
        )
        if (phone or id_number)
        else None
    )
    if clash is not None:
        raise ValidationFailed(
            _(
                "An account with this mobile number or ID number may already exist. Sign in, or reset your password."
            ),
            details=[
                _field_error(
                    "phone" if phone else "id_number",
                    _(
                        "An account with this mobile number or ID number may already exist. "
                        "Sign in, or reset your password."
                    ),
                )
            ],
        )
    user = User(
        full_name=full_name.strip(),
        email=email,
        phone=phone,
        id_number=id_number,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        locale=locale if locale in ("vi", "en") else "vi",
    )
    db.session.add(user)
    db.session.flush()
    if email:
        token = _new_token(user, "verify_email", VERIFY_TTL)
        _mail(
            user,
            "verify_email",
            "Confirm your e-mail address",
            verify_url=_link("/tai-khoan/xac-nhan-email", token),
        )


@transactional
def verify_email(raw_token: str) -> None:
    """Mark the address of the token's account as verified.

    :raises ValidationFailed: the link is invalid, used or expired.
    """
    user = _consume_token(raw_token, "verify_email")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()


@transactional
def resend_verification(unsafe_email: str) -> None:
    """Send a new verification link if an unverified account has this address (silent otherwise)."""
    email = normalize_email(unsafe_email)
    hit(RESET_LIMIT, "verify", email or "-")
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is not None and user.email_verified_at is None:
        token = _new_token(user, "verify_email", VERIFY_TTL)
        _mail(
            user,
            "verify_email",
            "Confirm your e-mail address",
            verify_url=_link("/tai-khoan/xac-nhan-email", token),
        )


# ------------------------------------------------------------------------------ sign-in


def _find_by_identifier(identifier: str) -> User | None:
    value = identifier.strip()
    if "@" in value:
        return db.session.scalar(sa.select(User).where(User.email == normalize_email(value)))
    digits = normalize_phone(value) or ""
    if len(digits) == 12:
        return db.session.scalar(sa.select(User).where(User.id_number == digits))
    return db.session.scalar(sa.select(User).where(User.phone == digits))


@transactional
def sign_in_with_password(identifier: str, password: str) -> User:
    """Check the credentials and sign this browser in.

    :raises RateLimited: too many attempts for this account or from this address.
    :raises Unauthorized: wrong credentials (the same answer for an unknown account).
    :raises Forbidden: the e-mail address is not verified yet (token ``EmailNotVerified``).
    """
    key = (identifier or "").strip().lower()[:254]
    address = request.remote_addr or "-"
    check(SIGNIN_LIMIT_ACCOUNT, "signin-account", key)
    check(SIGNIN_LIMIT_ADDRESS, "signin-address", address)
    user = _find_by_identifier(key) if key else None
    if (
        user is None
        or not user.is_active
        or not verify_password(user.password_hash if user else None, password)
    ):
        hit(SIGNIN_LIMIT_ACCOUNT, "signin-account", key)
        hit(SIGNIN_LIMIT_ADDRESS, "signin-address", address)
        raise Unauthorized(_("The sign-in details are not correct."), token="InvalidCredentials")
    if user.email and user.email_verified_at is None:
        raise Forbidden(
            _("Please confirm your e-mail address first: use the link we sent you."), token="EmailNotVerified"
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    sessions.start_session(user, "password")
    return user


@transactional
def sign_out() -> None:
    sessions.end_session()


@transactional
def sign_out_everywhere(user: User) -> int:
    """Revoke every session of the account, this one included. Returns how many others."""
    current = sessions.current_session_record()
    count = sessions.revoke_sessions(user.id, keep=current)
    sessions.end_session()
    return count


def _set_password(user: User, new_password: str, *, field: str) -> None:
    """Check the policy against the account's own details, then store the new hash.

    :raises ValidationFailed: the password is refused (entries name ``field``).
    """
    problems = password_problems(
        new_password, user_inputs=[user.full_name, user.email, user.phone, user.id_number]
    )
    if problems:
        raise ValidationFailed(problems[0], details=[_field_error(field, p) for p in problems])
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()


@transactional
def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password; every other session is signed out, this one gets a new id.

    :raises ValidationFailed: the current password is wrong or the new one is refused.
    """
    if user.password_hash and not verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            _("The current password is not correct."),
            details=[_field_error("current_password", _("The current password is not correct."))],
        )
    _set_password(user, new_password, field="new_password")
    sessions.revoke_sessions(user.id)
    sessions.start_session(user, "password")


@transactional
def request_password_reset(unsafe_email: str) -> None:
    """E-mail a reset link if an account has this address. The same outcome either way.

    :raises RateLimited: too many requests for this address.
    """
    email = normalize_email(unsafe_email)
    hit(RESET_LIMIT, "reset", email or "-")
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is not None and user.is_active:
        token = _new_token(user, "reset_password", RESET_TTL)
        _mail(
            user,
            "reset_password",
            "Reset your password",
            reset_url=_link("/tai-khoan/dat-lai-mat-khau", token),
        )


@transactional
def reset_password(raw_token: str, new_password: str) -> None:
    """Set a new password with a reset link; every session of the account is signed out.

    :raises ValidationFailed: the link is invalid/used/expired, or the password is refused.
    """
    user = _consume_token(raw_token, "reset_password")
    _set_password(user, new_password, field="password")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the link reached the mailbox
    sessions.revoke_sessions(user.id)


# ------------------------------------------------------------------- national ID (OIDC)


def sign_in_with_identity_response(client) -> User:
    """Finish the provider's redirect: exchange the code, check the ID token, sign in.

    :raises Unauthorized: the provider refused, or the answer does not verify.
    """
    from authlib.integrations.base_client.errors import OAuthError

    if request.args.get("error"):
        raise Unauthorized(
            _("Sign-in with the national identity account was cancelled."), token="IdentityDenied"
        )
    try:
        token = client.authorize_access_token()
    except (OAuthError, ValueError, KeyError) as exc:
        raise Unauthorized(
            _("Sign-in with the national identity account failed. Please try again."), token="IdentityFailed"
        ) from exc
    claims = dict(token.get("userinfo") or {})
    if not claims:
        claims = dict(client.userinfo(token=token))
    issuer = client.load_server_metadata().get("issuer") or current_app.config["OIDC_ISSUER"]
    return sign_in_with_identity(issuer=issuer, claims=claims)


@transactional
def sign_in_with_identity(*, issuer: str, claims: dict) -> User:
    """Sign in with verified claims from the national identity provider.

    The first sign-in links an existing account with the same verified ID number, or
    creates one; later sign-ins find the link by (issuer, subject).

    :raises Unauthorized: the claims lack a subject.
    """
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise Unauthorized(_("The identity provider did not say who you are."), token="InvalidIdentity")
    link = db.session.scalar(
        sa.select(IdentityLink).where(IdentityLink.issuer == issuer, IdentityLink.subject == subject)
    )
    if link is not None:
        user = db.session.get(User, link.user_id)
    else:
        id_number = str(claims.get("id_number") or claims.get("cccd") or "").strip() or None
        if id_number is not None and not _ID_NUMBER.match(id_number):
            id_number = None
        email = normalize_email(claims.get("email")) if claims.get("email_verified") else None
        user = db.session.scalar(sa.select(User).where(User.id_number == id_number)) if id_number else None
        if user is None:
            if email and db.session.scalar(sa.select(User.id).where(User.email == email)):
                email = None  # an unverified claim on someone else's address: do not take it over
            name = str(claims.get("name") or claims.get("given_name") or _("Citizen"))[:100]
            phone = (
                normalize_phone(claims.get("phone_number")) if claims.get("phone_number_verified") else None
            )
            if phone and (
                not _PHONE.match(phone) or db.session.scalar(sa.select(User.id).where(User.phone == phone))
            ):
                phone = None
            user = User(
                full_name=name,
                email=email,
                id_number=id_number,
                phone=phone,
                email_verified_at=utcnow() if email else None,
            )
            db.session.add(user)
            db.session.flush()
        link = IdentityLink(user_id=user.id, issuer=issuer, subject=subject)
        db.session.add(link)
    link.last_used_at = utcnow()
    if not user.is_active:
        raise Unauthorized(_("This account is disabled."), token="AccountDisabled")
    sessions.start_session(user, "oidc")
    return user
