"""Catalog pages: home, search, procedure page. Open to everyone."""

from flask import Blueprint

from portal.security import guard, public_access

bp = guard(Blueprint("catalog", __name__), public_access)
