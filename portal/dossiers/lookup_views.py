"""The public lookup page: anyone who knows a dossier's code and the applicant's phone or
ID number sees its status (nothing personal).

A wrong code and a wrong phone or ID number get the same page (the service answers the
same NotFound for both); too many lookups get a 429 page; what was typed is checked by the
form first, so hostile input gets a readable 400 and never reaches the database.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from portal.dossiers import lookup_bp, service
from portal.dossiers.page_forms import LookupForm
from portal.errors import NotFound, RateLimited

# A result names a dossier's status: no shared cache or back button should keep it.
NO_STORE = {"Cache-Control": "private, no-store"}


@lookup_bp.route("/tra-cuu-ho-so", methods=["GET", "POST"])
def lookup():
    form = LookupForm()
    if not form.validate_on_submit():
        return _page(form), 400 if form.is_submitted() else 200
    try:
        result = service.public_lookup(form.code.data, form.secret.data)
    except NotFound as exc:
        return _page(form, message=exc.message), 404, NO_STORE
    except RateLimited:
        message = _(
            "Too many lookups from your connection or for this dossier code. Please wait 15 minutes "
            "and try again."
        )
        return _page(form, message=message, limited=True), 429, NO_STORE
    return _page(form, result=result), 200, NO_STORE


def _page(form: LookupForm, *, result: dict | None = None, message: str | None = None, limited: bool = False):
    if result is not None or message:
        form.secret.data = ""  # the phone or ID number is not written back into the page
    return render_template(
        "dossiers/lookup/lookup.html", form=form, result=result, message=message, limited=limited
    )
