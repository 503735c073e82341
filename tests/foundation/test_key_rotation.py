"""Rotating SECRET_KEY: the fallbacks reach Flask and Flask-WTF, and sign-ins survive.

Partner secrets and signed file links are in tests/sync/test_key_rotation.py.
"""

from __future__ import annotations

import secrets

from flask.sessions import SecureCookieSessionInterface

from portal.accounts.passwords import hash_password
from portal.config import load_config
from portal.db import utcnow
from portal.extensions import db
from tests.dossiers.support import make_user
from tests.web import csrf_token

PASSWORD = "bánh mì pate trứng ốp la"
SIGN_IN = "/tai-khoan/dang-nhap"


def new_key() -> str:
    return secrets.token_hex(32)


def _citizen() -> str:
    user = make_user()
    user.password_hash, user.email_verified_at = hash_password(PASSWORD), utcnow()
    db.session.commit()
    return user.email


def test_secret_key_fallbacks_are_read_from_the_environment_as_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", " older-key , old-key,,")
    assert load_config("testing").SECRET_KEY_FALLBACKS == ["older-key", "old-key"]
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert load_config("testing").SECRET_KEY_FALLBACKS == []


def test_flask_itself_accepts_what_it_signed_with_a_key_now_in_secret_key_fallbacks(app, rekey):
    old = app.config["SECRET_KEY"]
    cookies = SecureCookieSessionInterface()
    cookie = cookies.get_signing_serializer(app).dumps({"lang": "vi"})
    rekey(new_key(), old)
    assert cookies.get_signing_serializer(app).loads(cookie) == {"lang": "vi"}


def test_a_form_loaded_before_secret_key_changed_still_posts_while_the_old_key_is_a_fallback(app, rekey):
    email, old, new = _citizen(), app.config["SECRET_KEY"], new_key()
    with_fallback, without = app.test_client(), app.test_client()
    tokens = [csrf_token(c.get(SIGN_IN).get_data(as_text=True)) for c in (with_fallback, without)]
    form = {"identifier": email, "password": PASSWORD}

    rekey(new, old)
    assert with_fallback.post(SIGN_IN, data={**form, "csrf_token": tokens[0]}).status_code == 302
    rekey(new)
    refused = without.post(SIGN_IN, data={**form, "csrf_token": tokens[1]}, headers={"Accept": "text/html"})
    assert refused.status_code == 400
    fresh = csrf_token(without.get(SIGN_IN).get_data(as_text=True))  # signed with the new key
    assert without.post(SIGN_IN, data={**form, "csrf_token": fresh}).status_code == 302


def test_a_signed_in_citizen_stays_signed_in_when_secret_key_changes_even_without_a_fallback(app, rekey):
    # The session cookie is a random id of a server-side session (Flask-Session, unsigned):
    # SECRET_KEY plays no part in it.
    email, client = _citizen(), app.test_client()
    token = csrf_token(client.get(SIGN_IN).get_data(as_text=True))
    assert (
        client.post(
            SIGN_IN, data={"identifier": email, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    assert client.get("/tai-khoan").status_code == 200
    rekey(new_key())
    assert client.get("/tai-khoan").status_code == 200
