"""Staff accounts and sign-in: password, then a TOTP code (enrolled at first sign-in).

Each public function is one transaction. Security events are audited with
``record_now`` when the operation then fails (so the rollback keeps them).
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import UTC, datetime

import pyotp
import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _

from portal.accounts.passwords import hash_password, password_problems, verify_password
from portal.audit.service import record, record_now
from portal.db import transactional
from portal.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from portal.extensions import db
from portal.ratelimit import check, hit
from portal.staff import sessions
from portal.staff.models import StaffUser
from portal.staff.roles import OFFICER, ROLES, require
from services_catalog.models import Agency

SIGNIN_LIMIT_ACCOUNT = "5 per 15 minutes"
SIGNIN_LIMIT_ADDRESS = "20 per 15 minutes"
TOTP_LIMIT = "5 per 15 minutes"
PASSWORD_CHANGE_LIMIT = "5 per 15 minutes"
ISSUER = "OpenDVC"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
_CODE = re.compile(r"^[0-9]{6}$")


def _req():
    from flask import has_request_context

    return request if has_request_context() else None


# ------------------------------------------------------------------------------ sign-in


@transactional
def begin_sign_in(unsafe_email: str, password: str) -> StaffUser:
    """Check the password; the browser then owes a two-factor code (or its enrolment).

    :raises RateLimited: too many attempts for this account or from this address.
    :raises Unauthorized: wrong credentials or inactive account (one answer for all).
    """
    email = (unsafe_email or "").strip().lower()[:254]
    address = request.remote_addr or "-"
    check(SIGNIN_LIMIT_ACCOUNT, "staff-signin-account", email)
    check(SIGNIN_LIMIT_ADDRESS, "staff-signin-address", address)
    staff = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email)) if email else None
    if (
        staff is None
        or not staff.is_active
        or not verify_password(staff.password_hash if staff else None, password)
    ):
        hit(SIGNIN_LIMIT_ACCOUNT, "staff-signin-account", email)
        hit(SIGNIN_LIMIT_ADDRESS, "staff-signin-address", address)
        record_now(
            None,
            "staff.sign_in_failed",
            ("staff_users", staff.id if staff else None),
            {"email": email},
            _req(),
        )
        raise Unauthorized(_("The sign-in details are not correct."), token="InvalidCredentials")
    sessions.begin_pending(staff)
    record(staff, "staff.password_accepted", staff, {}, _req())
    return staff


def _accept_code(staff: StaffUser, unsafe_code: str) -> bool:
    """Whether the code is valid now (one step of clock drift either way) and newer than
    the last accepted one; remembers its step so it cannot be used twice."""
    code = (unsafe_code or "").replace(" ", "")
    if not _CODE.match(code):
        return False
    totp = pyotp.TOTP(staff.totp_secret)
    now = time.time()
    current_step = totp.timecode(datetime.fromtimestamp(now, UTC))
    for offset in (-1, 0, 1):
        step = current_step + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            if staff.totp_last_step is not None and step <= staff.totp_last_step:
                return False
            staff.totp_last_step = step
            return True
    return False


@transactional
def finish_sign_in(unsafe_code: str) -> StaffUser:
    """Check the two-factor code of the halfway signed-in staff member and sign them in.

    :raises Unauthorized: no sign-in in progress (or it expired), or the code is wrong.
    :raises RateLimited: too many codes tried for this account.
    """
    staff = sessions.pending_staff()
    if staff is None or staff.totp_confirmed_at is None:
        raise Unauthorized(_("Your sign-in has expired. Please start again."), token="SignInExpired")
    check(TOTP_LIMIT, "staff-totp", str(staff.id))
    if not _accept_code(staff, unsafe_code):
        hit(TOTP_LIMIT, "staff-totp", str(staff.id))
        record_now(staff, "staff.two_factor_failed", staff, {}, _req())
        raise Unauthorized(_("The code is not correct."), token="InvalidCode")
    sessions.start_session(staff)
    record(staff, "staff.signed_in", staff, {}, _req())
    return staff


def enrolment(staff: StaffUser) -> dict:
    """What the person needs to add the account to an authenticator app."""
    uri = pyotp.TOTP(staff.totp_secret).provisioning_uri(name=staff.email, issuer_name=ISSUER)
    secret = staff.totp_secret
    return {"secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), "uri": uri}


@transactional
def confirm_enrolment(unsafe_code: str) -> StaffUser:
    """The first sign-in: prove the authenticator holds the secret, then sign in.

    :raises Unauthorized: no sign-in in progress, already enrolled, or the code is wrong.
    """
    staff = sessions.pending_staff()
    if staff is None or staff.totp_confirmed_at is not None:
        raise Unauthorized(_("Your sign-in has expired. Please start again."), token="SignInExpired")
    check(TOTP_LIMIT, "staff-totp", str(staff.id))
    if not _accept_code(staff, unsafe_code):
        hit(TOTP_LIMIT, "staff-totp", str(staff.id))
        record_now(staff, "staff.two_factor_failed", staff, {"enrolment": True}, _req())
        raise Unauthorized(_("The code is not correct."), token="InvalidCode")
    from portal.db import utcnow

    staff.totp_confirmed_at = utcnow()
    record(staff, "staff.two_factor_enrolled", staff, {}, _req())
    sessions.start_session(staff)
    record(staff, "staff.signed_in", staff, {}, _req())
    return staff


@transactional
def sign_out(staff: StaffUser) -> None:
    record(staff, "staff.signed_out", staff, {}, _req())
    sessions.end_session()


@transactional
def change_own_password(staff: StaffUser, current_password: str, new_password: str) -> int:
    """A signed-in staff member changes their own password, under the citizens' policy
    (portal.accounts.passwords: argon2id, 8 to 128 characters, not common or guessable, not
    built from their name or e-mail). Every other session of theirs ends; this one stays.
    Returns how many other sessions were ended. The audit entry never holds a password.

    :raises RateLimited: too many wrong current passwords for this account.
    :raises ValidationFailed: the current password is wrong, or the new one is refused
        (entries name ``current_password`` or ``new_password``).
    """
    check(PASSWORD_CHANGE_LIMIT, "staff-password", str(staff.id))
    if not verify_password(staff.password_hash, current_password or ""):
        hit(PASSWORD_CHANGE_LIMIT, "staff-password", str(staff.id))
        record_now(staff, "staff.password_change_failed", staff, {}, _req())
        message = _("The current password is not correct.")
        raise ValidationFailed(
            message, details=[{"error": "ValidationError", "field": "current_password", "message": message}]
        )
    problems = password_problems(new_password or "", user_inputs=[staff.full_name, staff.email])
    if not problems and hmac.compare_digest(new_password.encode(), (current_password or "").encode()):
        problems = [_("Choose a new password, different from the current one.")]
    if problems:
        raise ValidationFailed(
            problems[0],
            details=[{"error": "ValidationError", "field": "new_password", "message": p} for p in problems],
        )
    staff.password_hash = hash_password(new_password)
    staff.password_must_change = False
    ended = sessions.revoke_all(staff.id, keep=sessions.current_record())
    record(staff, "staff.password_changed", staff, {"other_sessions_ended": ended}, _req())
    return ended


# ------------------------------------------------------------------------------ accounts


def _validate(email: str, full_name: str, role: str, password: str | None) -> list[dict]:
    errors = []
    if len(email) > 254 or not _EMAIL.match(email):
        errors.append(
            {"error": "ValidationError", "field": "email", "message": _("Enter a valid e-mail address.")}
        )
    if not 2 <= len(full_name.strip()) <= 100:
        errors.append(
            {
                "error": "ValidationError",
                "field": "full_name",
                "message": _("Enter the full name (2 to 100 characters)."),
            }
        )
    if role not in ROLES:
        errors.append({"error": "ValidationError", "field": "role", "message": _("Choose a role.")})
    if password is not None:
        errors += [
            {"error": "ValidationError", "field": "password", "message": p}
            for p in password_problems(password, user_inputs=[full_name, email])
        ]
    return errors


def _agencies(codes: list[str]) -> list[Agency]:
    clean = [c.strip() for c in codes if c and c.strip()]
    if not clean:
        return []
    found = db.session.scalars(
        sa.select(Agency).where(sa.or_(Agency.code.in_(clean), Agency.portal_code.in_(clean)))
    ).all()
    known = {a.code for a in found} | {a.portal_code for a in found}
    unknown = [c for c in clean if c not in known]
    if unknown:
        raise ValidationFailed(
            _("Unknown agency code: %(code)s", code=unknown[0]),
            details=[
                {
                    "error": "ValidationError",
                    "field": "agencies",
                    "message": _("Unknown agency code: %(code)s", code=unknown[0]),
                }
            ],
        )
    return list(found)


def _create(
    actor, *, email: str, full_name: str, role: str, password: str, agency_codes: list[str]
) -> StaffUser:
    email = (email or "").strip().lower()
    errors = _validate(email, full_name or "", role, password)
    if errors:
        raise ValidationFailed(errors[0]["message"], details=errors)
    agencies = _agencies(agency_codes)
    if role == OFFICER and not agencies:
        message = _("An agency officer needs at least one agency.")
        raise ValidationFailed(
            message, details=[{"error": "ValidationError", "field": "agencies", "message": message}]
        )
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)) is not None:
        message = _("A staff account with this e-mail address exists already.")
        raise Conflict(message, details=[{"error": "Conflict", "field": "email", "message": message}])
    staff = StaffUser(
        email=email,
        full_name=full_name.strip(),
        role=role,
        password_hash=hash_password(password),
        totp_secret=pyotp.random_base32(),
        created_by_id=getattr(actor, "id", None),
        agencies=agencies if role == OFFICER else [],
    )
    db.session.add(staff)
    db.session.flush()
    record(
        actor,
        "staff.created",
        staff,
        {"email": email, "role": role, "agencies": [a.key for a in staff.agencies]},
        _req(),
    )
    return staff


@transactional
def create_first_admin(*, email: str, full_name: str, password: str) -> StaffUser:
    """The command-line way to the first administrator (no one can sign in to make one).

    :raises ValidationFailed: invalid details. :raises Conflict: the e-mail is taken.
    """
    return _create("cli", email=email, full_name=full_name, role="admin", password=password, agency_codes=[])


@transactional
def create_staff_from_cli(
    *, email: str, full_name: str, role: str, password: str, agency_codes: list[str]
) -> StaffUser:
    return _create(
        "cli", email=email, full_name=full_name, role=role, password=password, agency_codes=agency_codes
    )


@transactional
def create_staff(
    actor: StaffUser, *, email: str, full_name: str, role: str, password: str, agency_codes: list[str]
) -> StaffUser:
    """An administrator creates a staff account; its owner enrols two-factor at first sign-in.

    :raises Forbidden: the actor is not an administrator.
    :raises ValidationFailed: invalid details. :raises Conflict: the e-mail is taken.
    """
    require(actor, "staff.manage")
    return _create(
        actor, email=email, full_name=full_name, role=role, password=password, agency_codes=agency_codes
    )


def _get(staff_id: int) -> StaffUser:
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound(_("No such staff account."))
    return staff


@transactional
def update_staff(
    actor: StaffUser, staff_id: int, *, role: str, is_active: bool, agency_codes: list[str]
) -> None:
    """Change a staff member's role, agencies or whether the account may sign in.

    Deactivating ends every session at once. An administrator cannot lock themselves out.

    :raises Forbidden, NotFound, ValidationFailed:
    """
    require(actor, "staff.manage")
    staff = _get(staff_id)
    if role not in ROLES:
        raise ValidationFailed(_("Choose a role."))
    if staff.id == actor.id and (role != staff.role or not is_active):
        raise ValidationFailed(_("You cannot change your own role or deactivate yourself."))
    agencies = _agencies(agency_codes) if role == OFFICER else []
    if role == OFFICER and not agencies:
        raise ValidationFailed(_("An agency officer needs at least one agency."))
    before = {
        "role": staff.role,
        "is_active": staff.is_active,
        "agencies": sorted(a.key for a in staff.agencies),
    }
    staff.role, staff.is_active, staff.agencies = role, is_active, agencies
    after = {"role": role, "is_active": is_active, "agencies": sorted(a.key for a in agencies)}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not is_active or before["role"] != role:
        sessions.revoke_all(staff.id)
    record(actor, "staff.updated", staff, changes, _req())


@transactional
def reset_password(actor: StaffUser, staff_id: int) -> str:
    """Issue a temporary password for another staff account, returned once to show to the
    administrator (never stored in clear, never audited). Its owner must choose their own
    at the next sign-in; every session of theirs ends now. Two-factor sign-in is unchanged.

    :raises Forbidden: the actor is not an administrator. :raises NotFound:
    :raises ValidationFailed: the actor's own account (use the password page).
    """
    require(actor, "staff.manage")
    staff = _get(staff_id)
    if staff.id == actor.id:
        raise ValidationFailed(_("Change your own password on your password page."))
    temporary = "-".join(secrets.token_urlsafe(6) for _part in range(3))
    staff.password_hash = hash_password(temporary)
    staff.password_must_change = True
    sessions.revoke_all(staff.id)
    record(actor, "staff.password_reset", staff, {}, _req())
    return temporary


@transactional
def reset_two_factor(actor: StaffUser, staff_id: int) -> None:
    """A new secret; the person enrols again at the next sign-in. Their sessions end.

    :raises Forbidden, NotFound:
    """
    require(actor, "staff.manage")
    staff = _get(staff_id)
    staff.totp_secret = pyotp.random_base32()
    staff.totp_confirmed_at = None
    staff.totp_last_step = None
    sessions.revoke_all(staff.id)
    record(actor, "staff.two_factor_reset", staff, {}, _req())
