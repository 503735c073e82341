"""Back-office pages of the catalog: past imports, and starting one (administrators)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.catalog import admin_bp, backoffice
from portal.catalog.forms import StartImportForm
from portal.staff import current_staff


def _imports_page(form: StartImportForm, status: int = 200):
    runs, has_next = backoffice.list_imports(current_staff(), request.args.get("page", 1, type=int) or 1)
    return render_template("catalog/admin/imports.html", runs=runs, has_next=has_next, form=form), status


@admin_bp.get("/nhap")
def imports():
    return _imports_page(StartImportForm())


@admin_bp.post("/nhap")
def start_import():
    form = StartImportForm()
    if not form.validate_on_submit():
        return _imports_page(form, 400)
    backoffice.start_bundled_import(current_staff())
    flash(_("The import is started. It runs in the background: refresh this page to see it."), "success")
    return redirect(url_for("catalog_admin.imports"))


@admin_bp.get("/nhap/<int:import_id>")
def import_run(import_id: int):
    return render_template("catalog/admin/import.html", run=backoffice.import_run(current_staff(), import_id))
