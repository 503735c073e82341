"""HTML routes of the catalog (filled in by the pages work)."""

from flask import render_template

from portal.catalog import bp


@bp.get("/")
def home():
    return render_template("catalog/home.html")
