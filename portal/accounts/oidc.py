"""The national identity provider (OpenID Connect, authorization code flow) via Authlib.

Configured by OIDC_ISSUER (discovery at <issuer>/.well-known/openid-configuration),
OIDC_CLIENT_ID and OIDC_CLIENT_SECRET. State and nonce live in the server-side session.
One Authlib registry per app, so each app (and each test) talks to its own provider.
"""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

PROVIDER = "national_id"


def init_oidc(app: Flask) -> None:
    oauth = OAuth(app)
    app.extensions["portal_oauth"] = oauth
    if app.config.get("OIDC_ISSUER"):
        register_provider(app)


def register_provider(app: Flask) -> None:
    """(Re)register the provider from the app's configuration."""
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    oauth = app.extensions["portal_oauth"]
    oauth._clients.pop(PROVIDER, None)  # a changed configuration must not reuse the old client
    oauth.register(
        PROVIDER,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"], "timeout": 10},
    )


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


def client():
    return current_app.extensions["portal_oauth"].create_client(PROVIDER)
