"""The API's description: the OpenAPI document and a readable page rendered from it. Public."""

from flask import Blueprint

from portal.security import guard, public_access

bp = guard(Blueprint("apidocs", __name__), public_access)
