"""Health checks for load balancers and orchestrators."""

from flask import Blueprint

from portal.security import guard, public_access

bp = guard(Blueprint("status", __name__), public_access)

from portal.status import views  # noqa: E402,F401
