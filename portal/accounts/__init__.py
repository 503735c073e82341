"""Citizens' accounts: public sign-up and sign-in pages, and the signed-in account pages.

Two blueprints, each with its guard declared here: ``accounts`` (public: register, sign
in, verify, reset, national ID) and ``account`` (``require_citizen``: profile, sessions,
password, sign out).
"""

from flask import Blueprint, jsonify, redirect, request, url_for
from flask_login import current_user

from portal.security import guard, public_access


def require_citizen():
    """Signed-in citizens only: pages redirect to sign-in (coming back here), APIs get 401."""
    if current_user.is_authenticated:
        return None
    if request.path.startswith("/api/"):
        response = jsonify(
            {"status_code": 401, "errors": [{"error": "Unauthorized", "message": "sign in first"}]}
        )
        response.status_code = 401
        return response
    return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))


bp = guard(Blueprint("accounts", __name__, url_prefix="/tai-khoan"), public_access)
account_bp = guard(Blueprint("account", __name__, url_prefix="/tai-khoan"), require_citizen)

from portal.accounts import views  # noqa: E402,F401
